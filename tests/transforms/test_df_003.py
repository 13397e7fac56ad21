"""df-003: ENTRYPOINT + CMD."""
from __future__ import annotations

import pytest

from orchfix import documents
from orchfix.fixer import fix_document
from orchfix.registry import all_transforms
from orchfix.transform import Context, Safety
from orchfix.workspace import Workspace
from tests.corpus import needs_corpus
from tests.helpers import fix, hadolint_parses, run
from tests.transforms.dockerfile_corpus import check_corpus

ID = "df-003"


@pytest.mark.parametrize(("entrypoint", "kept", "moved"), [
    ('["gunicorn", "--workers", "4", "--bind=0.0.0.0:80"]', '["gunicorn"]', '["--workers", "4", "--bind=0.0.0.0:80"]'),
    ('["python", "-u", "app.py", "--port", "8080"]', '["python", "-u", "app.py"]', '["--port", "8080"]'),
    ('["python3.12", "-m", "uvicorn", "--reload"]', '["python3.12", "-m", "uvicorn"]', '["--reload"]'),
    ('["node", "--require", "dd-trace/init", "dist/server.js", "--inspect"]',
     '["node", "--require", "dd-trace/init", "dist/server.js"]', '["--inspect"]'),
    ('["java", "-Xmx512m", "-jar", "/app.jar", "--spring.profiles.active=prod"]',
     '["java", "-Xmx512m", "-jar", "/app.jar"]', '["--spring.profiles.active=prod"]'),
    ('["java", "-cp", "app:lib/*", "com.example.Main", "-v"]', '["java", "-cp", "app:lib/*", "com.example.Main"]', '["-v"]'),
    ('["dotnet", "Api.dll", "--urls", "http://+:80"]', '["dotnet", "Api.dll"]', '["--urls", "http://+:80"]'),
    ('["sh", "/start.sh", "-v"]', '["sh", "/start.sh"]', '["-v"]'),
    ('["/usr/bin/tini", "--", "node", "server.js", "--port", "80"]', '["/usr/bin/tini", "--", "node", "server.js"]',
     '["--port", "80"]'),
    ('["dumb-init", "redis-server", "--appendonly", "yes"]', '["dumb-init", "redis-server"]', '["--appendonly", "yes"]'),
    ('["privoxy", "--no-daemon", "--config", "/etc/privoxy/config"]', '["privoxy", "--no-daemon"]',
     '["--config", "/etc/privoxy/config"]'),
    ('["nginx", "-g", "daemon off;", "-c", "/etc/nginx/alt.conf"]', '["nginx", "-g", "daemon off;"]',
     '["-c", "/etc/nginx/alt.conf"]'),
    ('["/docker-entrypoint.sh", "postgres"]', '["/docker-entrypoint.sh"]', '["postgres"]'),
    ('[ "coredns", "-log" ]', '[ "coredns" ]', '[ "-log" ]'),
    ('["app","--name","caf\\u00e9"]', '["app"]', '["--name","caf\\u00e9"]'),
])
def test_moves_defaults_to_cmd(entrypoint, kept, moved):
    before = f"FROM alpine\nENTRYPOINT {entrypoint}\nEXPOSE 80\n"
    after = fix(ID, before)
    assert after == f"FROM alpine\nENTRYPOINT {kept}\nCMD {moved}\nEXPOSE 80\n"
    assert hadolint_parses(after)


@pytest.mark.parametrize(("before", "after"), [
    ('FROM alpine\r\nENTRYPOINT ["srv", "-v"]\r\n', 'FROM alpine\r\nENTRYPOINT ["srv"]\r\nCMD ["-v"]\r\n'),
    ('FROM alpine\nentrypoint ["srv", "-v"]', 'FROM alpine\nentrypoint ["srv"]\ncmd ["-v"]'),
    ('FROM alpine AS a\n    ENTRYPOINT ["srv", "-v"]\n', 'FROM alpine AS a\n    ENTRYPOINT ["srv"]\n    CMD ["-v"]\n'),
    ('FROM alpine\nENTRYPOINT ["srv", \\\n    "--port", "80"]\nUSER app\n',
     'FROM alpine\nENTRYPOINT ["srv"]\nCMD ["--port", "80"]\nUSER app\n'),
    ('# escape=`\nFROM alpine\nENTRYPOINT ["srv", `\n    "-v"]\n', '# escape=`\nFROM alpine\nENTRYPOINT ["srv"]\nCMD ["-v"]\n'),
    # per stage: the build stage's CMD does not count for the final one, and only the last ENTRYPOINT matters
    ('FROM golang AS build\nCMD ["go", "test"]\nFROM alpine\nENTRYPOINT ["old"]\nENTRYPOINT ["srv", "-v"]\n',
     'FROM golang AS build\nCMD ["go", "test"]\nFROM alpine\nENTRYPOINT ["old"]\nENTRYPOINT ["srv"]\nCMD ["-v"]\n'),
])
def test_layout(before, after):
    assert fix(ID, before) == after
    assert hadolint_parses(after)


def test_is_unsafe():
    text = 'FROM alpine\nENTRYPOINT ["srv", "-v"]\n'
    outcome = run(ID, text, unsafe=False)
    assert outcome.text == text
    [finding] = outcome.remaining
    assert finding.fix and finding.safety is Safety.UNSAFE


@pytest.mark.parametrize("before", [
    'FROM alpine\nENTRYPOINT ["srv", "-v"]\nCMD ["--port", "80"]\n',
    'FROM alpine\nCMD ["--port", "80"]\nENTRYPOINT ["srv", "-v"]\n',
    'FROM alpine\nENTRYPOINT ["srv"]\n',
    'FROM alpine\nENTRYPOINT ["python", "app.py"]\n',
    'FROM alpine\nENTRYPOINT ["java", "-jar", "/app.jar"]\n',
    'FROM alpine\nENTRYPOINT ["java", "-cp", "app:lib/*", "com.example.Main"]\n',
    'FROM alpine\nENTRYPOINT ["/usr/bin/tini", "--"]\n',
    'FROM alpine\nENTRYPOINT ["bash", "-c"]\n',
    'FROM alpine\nENTRYPOINT ["sh", "-c", "/run.sh"]\n',
    'FROM alpine\nENTRYPOINT ["nginx", "-g", "daemon off;"]\n',
    'FROM alpine\nENTRYPOINT ["atom", "--foreground"]\n',
    "FROM alpine\nENTRYPOINT srv -v\n",
    "FROM alpine\nONBUILD ENTRYPOINT [\"srv\", \"-v\"]\n",
])
def test_leaves_alone(before):
    outcome = run(ID, before)
    assert outcome.text == before and not outcome.remaining


@pytest.mark.parametrize(("before", "reason"), [
    ('FROM alpine\nENTRYPOINT ["zkServer.sh", "start-foreground"]\n', "positional"),
    ('FROM alpine\nENTRYPOINT ["gunicorn", "--bind", ":80", "app:app"]\n', "`app:app` is a positional"),
    ('FROM alpine\nENTRYPOINT ["java", "-jar", "/mars.jar", "nc"]\n', "positional"),
    ('FROM alpine\nENTRYPOINT ["node", "--max-old-space-size", "4096", "server.js"]\n', "which word"),
    ('FROM alpine\nENTRYPOINT ["tini", "-g", "srv"]\n', "`--`"),
    ('FROM alpine\nENTRYPOINT ["srv", "-c", "x.conf", "--no-daemon"]\n', "foreground"),
    ('FROM alpine\nENTRYPOINT ["srv", \\\n# the port\n    "-p", "1"]\n', "comment lines"),
])
def test_reports_ambiguous(before, reason):
    outcome = run(ID, before)
    assert outcome.text == before
    [finding] = outcome.remaining
    assert finding.fix is None and reason in finding.reason


def test_after_df_002_converts_a_shell_form():
    cls = all_transforms()
    doc = documents.load("Dockerfile", "dockerfile", "FROM node\nENTRYPOINT node app.js --port 80\n")
    chain = [cls[t](Context(options=dict(cls[t].options), workspace=Workspace())) for t in ("df-002", "df-003")]
    outcome = fix_document(doc, chain, unsafe_ok=True)
    assert outcome.text == 'FROM node\nENTRYPOINT ["node", "app.js"]\nCMD ["--port", "80"]\n'


@needs_corpus
def test_corpus():
    assert check_corpus(ID, {"ENTRYPOINT"}, inserts="below")["files"] > 0
