"""df-002: CMD/ENTRYPOINT exec form."""
from __future__ import annotations

import json

import pytest

from orchfix import documents
from orchfix.transform import Safety
from tests.corpus import needs_corpus
from tests.helpers import fix, hadolint_codes, hadolint_parses, run
from tests.transforms.dockerfile_corpus import check_corpus

ID = "df-002"


def exec_form(text: str, keyword: str = "CMD") -> list[str]:
    doc = documents.load("Dockerfile", "dockerfile", text)
    return [i.exec_form for i in doc.instructions if i.keyword == keyword][-1]


@pytest.mark.parametrize(("command", "array"), [
    ("node server.js", ["node", "server.js"]),
    ('"/usr/bin/run.sh"', ["/usr/bin/run.sh"]),
    ("java -jar /app.jar --name 'a b'", ["java", "-jar", "/app.jar", "--name", "a b"]),
    (r"printf 'a\nb'", ["printf", r"a\nb"]),
    (r"echo a\ b \"q\"", ["echo", "a b", '"q"']),
    ('echo "it\'s"', ["echo", "it's"]),
    ("echo héllo", ["echo", "héllo"]),
    ("exec nginx -g 'daemon off;'", ["nginx", "-g", "daemon off;"]),
    ("npm start && node x.js", ["/bin/sh", "-c", "npm start && exec node x.js"]),
    ("./migrate; ./serve", ["/bin/sh", "-c", "./migrate; exec ./serve"]),
    ("python app.py > /var/log/app.log 2>&1", ["/bin/sh", "-c", "exec python app.py > /var/log/app.log 2>&1"]),
    ("node $APP_MAIN", ["/bin/sh", "-c", "exec node $APP_MAIN"]),
    ("node dist/*.js", ["/bin/sh", "-c", "exec node dist/*.js"]),
    ("echo $(date)", ["/bin/sh", "-c", "exec echo $(date)"]),
    ('PORT=80 FOO="a b" node app.js', ["/bin/sh", "-c", 'PORT=80 FOO="a b" exec node app.js']),
    ("exec node app.js > out", ["/bin/sh", "-c", "exec node app.js > out"]),
    ("cat a.{txt,md}", ["/bin/sh", "-c", "exec cat a.{txt,md}"]),
    (r'echo "\$HOME"', ["/bin/sh", "-c", r'exec echo "\$HOME"']),
    ("a & b", ["/bin/sh", "-c", "a & exec b"]),
])
def test_converts(command, array):
    after = fix(ID, f"FROM alpine\nCMD {command}\n")
    assert after == f"FROM alpine\nCMD {json.dumps(array, ensure_ascii=False)}\n"
    assert exec_form(after) == array and hadolint_parses(after)


@pytest.mark.parametrize(("before", "after"), [
    ("FROM alpine\r\nCMD node a.js\r\nEXPOSE 80\r\n", 'FROM alpine\r\nCMD ["node", "a.js"]\r\nEXPOSE 80\r\n'),
    ("FROM alpine\ncmd node a.js\n", 'FROM alpine\ncmd ["node", "a.js"]\n'),
    ("FROM alpine\nentrypoint   node a.js   \n", 'FROM alpine\nentrypoint   ["node", "a.js"]\n'),
    ("FROM alpine\nCMD node \\\n    --port 80 \\\n    a.js\nUSER app\n",
     'FROM alpine\nCMD ["node", "--port", "80", "a.js"]\nUSER app\n'),
    ("# escape=`\nFROM alpine\nCMD node `\n    a.js\n", '# escape=`\nFROM alpine\nCMD ["node", "a.js"]\n'),
    ("FROM alpine\n  CMD node a.js", 'FROM alpine\n  CMD ["node", "a.js"]'),
    ("FROM node AS build\nCMD npm test\nFROM scratch\nCOPY --from=build /app /app\nCMD /app/server --port 80\n",
     'FROM node AS build\nCMD ["npm", "test"]\nFROM scratch\nCOPY --from=build /app /app\nCMD ["/app/server", "--port", "80"]\n'),
    ("FROM alpine\nHEALTHCHECK CMD wget -q localhost || exit 1\nCMD serve\n",
     'FROM alpine\nHEALTHCHECK CMD wget -q localhost || exit 1\nCMD ["serve"]\n'),
    ("FROM gcr.io/distroless/base:debug\nCMD a && b\n", 'FROM gcr.io/distroless/base:debug\nCMD ["/bin/sh", "-c", "a && exec b"]\n'),
])
def test_keeps_layout_around_the_instruction(before, after):
    assert fix(ID, before) == after
    assert hadolint_parses(after)


def test_shell_option():
    after = fix(ID, "FROM alpine\nCMD a | b && c\n", options={"shell": "sh"})
    assert after == 'FROM alpine\nCMD ["sh", "-c", "a | b && exec c"]\n'


def test_entrypoint_with_cmd_is_unsafe():
    text = "FROM alpine\nENTRYPOINT run.sh --verbose\nCMD [\"--port\", \"80\"]\n"
    assert run(ID, text, unsafe=False).text == text
    [finding] = run(ID, text, unsafe=False).remaining
    assert finding.fix and finding.safety is Safety.UNSAFE
    assert fix(ID, text) == 'FROM alpine\nENTRYPOINT ["run.sh", "--verbose"]\nCMD ["--port", "80"]\n'
    alone = run(ID, "FROM alpine\nENTRYPOINT run.sh\n", unsafe=False)
    assert alone.applied and alone.applied[0].safety is Safety.SAFE


@pytest.mark.parametrize("before", [
    'FROM alpine\nCMD ["node", "a.js"]\n',
    "FROM alpine\nCMD []\n",
    "FROM alpine\nCMD\n",
    'FROM alpine\nENTRYPOINT [ "tini", "--" ]\n',
    "FROM alpine\nHEALTHCHECK --interval=5s CMD curl -f http://localhost/\n",
    "FROM alpine\nONBUILD CMD node app.js\n",
    "FROM alpine\nRUN node build.js\n",
])
def test_leaves_alone(before):
    outcome = run(ID, before)
    assert outcome.text == before and not outcome.remaining


@pytest.mark.parametrize(("before", "reason"), [
    ("FROM scratch\nCMD /app $FLAGS\n", "base image has none"),
    ("FROM gcr.io/distroless/static\nCMD a && b\n", "base image has none"),
    ("FROM base AS b\nSHELL [\"/bin/bash\", \"-c\"]\nFROM b\nCMD node a.js\n", "SHELL"),
    ("# escape=`\nFROM mcr.microsoft.com/windows/servercore:ltsc2022\nCMD C:\\app\\run.exe\n", "Windows"),
    ("FROM alpine\nCMD [\"node\", 'a.js']\n", "not a JSON array"),
    ("FROM alpine\nCMD a | b\n", "pipeline"),
    ("FROM alpine\nCMD a || b\n", "||"),
    ("FROM alpine\nCMD b &\n", "background"),
    ("FROM alpine\nCMD while true; do x; done\n", "compound"),
    ("FROM alpine\nCMD (cd /a && b)\n", "compound"),
    ("FROM alpine\nCMD trap 'rm x' EXIT; serve\n", "trap"),
    ("FROM alpine\nCMD serve; cd /\n", "builtin `cd`"),
    ("FROM alpine\nCMD FOO=1\n", "only sets variables"),
    ("FROM alpine\nCMD echo 'oops\n", "does not parse"),
    ("FROM alpine\nCMD node \\\n# the app\n    a.js\n", "comment lines"),
])
def test_reports_what_it_cannot_convert(before, reason):
    outcome = run(ID, before)
    assert outcome.text == before
    [finding] = outcome.remaining
    assert finding.fix is None and reason in finding.reason


def test_hadolint_dl3025_gone():
    before = "FROM alpine\nCMD node a.js --x 1\n"
    assert "DL3025" in hadolint_codes(before)
    assert "DL3025" not in hadolint_codes(fix(ID, before))


@needs_corpus
def test_corpus():
    assert check_corpus(ID, {"CMD", "ENTRYPOINT"}, inserts="below")["files"] > 0
