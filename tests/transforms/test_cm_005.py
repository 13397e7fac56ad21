"""cm-005: graceful shutdown (the app, not npm, as PID 1)."""
from __future__ import annotations

import json
import re

import pytest

from orchfix.transform import Safety
from orchfix.workspace import Workspace
from tests.corpus import needs_corpus
from tests.helpers import hadolint_codes, hadolint_parses, reason_of, run
from tests.transforms.crossfile import corpus_copies, fixed, outcome
from tests.transforms.dockerfile_corpus import check_corpus

ID = "cm-005"
BASE = "FROM node:22-slim\nWORKDIR /app\nCOPY package*.json ./\nRUN npm ci --omit=dev\nCOPY . .\n"


def package(scripts: dict, **more) -> dict:
    return {"name": "web", "scripts": scripts, **more}


@pytest.mark.parametrize(("scripts", "cmd", "after"), [
    ({"start": "node dist/server.js"}, 'CMD ["npm", "start"]', 'CMD ["node", "dist/server.js"]'),
    ({"start": "node dist/server.js"}, "CMD npm start", 'CMD ["node", "dist/server.js"]'),
    ({"start": "node dist/server.js"}, "CMD exec npm start", 'CMD ["node", "dist/server.js"]'),
    ({"start": "node dist/server.js"}, 'CMD ["npm", "run", "start"]', 'CMD ["node", "dist/server.js"]'),
    ({"start": "node dist/server.js"}, 'CMD ["npm", "start", "--", "--port", "80"]', 'CMD ["node", "dist/server.js", "--port", "80"]'),
    ({"serve": "node --enable-source-maps -r dotenv/config build/index.js"}, 'CMD ["yarn", "serve"]',
     'CMD ["node", "--enable-source-maps", "-r", "dotenv/config", "build/index.js"]'),
    ({"serve": "node 'my app.js'"}, 'CMD ["yarn", "run", "serve"]', 'CMD ["node", "my app.js"]'),
    ({"prod": "node a.js"}, 'CMD ["pnpm", "prod"]', 'CMD ["node", "a.js"]'),
    ({"start": "npm run serve", "serve": "node a.js"}, 'CMD ["npm", "start"]', 'CMD ["node", "a.js"]'),
    ({"start": "./bin/www"}, 'CMD ["npm", "start"]', 'CMD ["./bin/www"]'),
    ({}, 'CMD ["npm", "start"]', 'CMD ["node", "server.js"]'),  # npm's default, server.js exists
    ({"start": "next start -p 3000"}, 'CMD ["npm", "start"]', 'CMD ["node_modules/.bin/next", "start", "-p", "3000"]'),
    ({"start": "pm2-runtime ecosystem.config.js"}, 'ENTRYPOINT ["npm", "start"]', 'ENTRYPOINT ["node_modules/.bin/pm2-runtime", "ecosystem.config.js"]'),
])
def test_writes_the_script_in_exec_form(tmp_path, monkeypatch, scripts, cmd, after):
    deps = {"dependencies": {"next": "14", "pm2": "5"}}
    layout = {"package.json": package(scripts, **deps), "server.js": "", "Dockerfile": f"{BASE}{cmd}\n"}
    result = fixed(ID, tmp_path, monkeypatch, layout)
    assert result == f"{BASE}{after}\n"
    assert hadolint_parses(result)


@pytest.mark.parametrize(("before", "after"), [
    ("FROM node:22\r\nWORKDIR /app\r\nCOPY . .\r\ncmd  npm start\r\nEXPOSE 3000\r\n",
     'FROM node:22\r\nWORKDIR /app\r\nCOPY . .\r\ncmd  ["node", "server.js"]\r\nEXPOSE 3000\r\n'),
    ("FROM node:22\nWORKDIR /app\nCOPY . .\nCMD npm \\\n    start\n", 'FROM node:22\nWORKDIR /app\nCOPY . .\nCMD ["node", "server.js"]\n'),
    ("# escape=`\nFROM node:22\nWORKDIR /app\nCOPY . .\nCMD npm `\n  start", '# escape=`\nFROM node:22\nWORKDIR /app\nCOPY . .\nCMD ["node", "server.js"]'),
    # multi-stage: the package.json a stage runs with came from the build stage, which copied it from the context
    ("FROM node:22 AS build\nWORKDIR /src\nCOPY . .\nRUN npm ci && npm run build\n\n"
     "FROM --platform=linux/amd64 node:22-alpine\nWORKDIR /app\nCOPY --from=build /src/package.json /src/dist ./\n"
     "CMD [\"npm\", \"start\"]\n",
     "FROM node:22 AS build\nWORKDIR /src\nCOPY . .\nRUN npm ci && npm run build\n\n"
     "FROM --platform=linux/amd64 node:22-alpine\nWORKDIR /app\nCOPY --from=build /src/package.json /src/dist ./\n"
     'CMD ["node", "server.js"]\n'),
    # ARG-based FROM and a stage built on another
    ("ARG V=22\nFROM node:${V} AS base\nWORKDIR /app\nCOPY . .\nFROM base\nCMD [\"npm\", \"start\"]\n",
     'ARG V=22\nFROM node:${V} AS base\nWORKDIR /app\nCOPY . .\nFROM base\nCMD ["node", "server.js"]\n'),
])
def test_layout_and_stages(tmp_path, monkeypatch, before, after):
    layout = {"package.json": package({"start": "node server.js"}), "Dockerfile": before}
    assert fixed(ID, tmp_path, monkeypatch, layout) == after


def test_package_json_in_a_subfolder_of_the_context(tmp_path, monkeypatch):
    """compose builds api/Dockerfile from the repository root; the Dockerfile copies api/ into /app."""
    dockerfile = "FROM node:22\nWORKDIR /app\nCOPY api/ .\nCMD [\"npm\", \"start\"]\n"
    layout = {"api/package.json": package({"start": "node main.js"}), "api/Dockerfile": dockerfile,
              "docker-compose.yml": "services:\n  api:\n    build:\n      context: .\n      dockerfile: api/Dockerfile\n"}
    assert fixed(ID, tmp_path, monkeypatch, layout, path="api/Dockerfile") == dockerfile.replace('["npm", "start"]', '["node", "main.js"]')


def test_entrypoint_with_cmd_is_unsafe(tmp_path, monkeypatch):
    layout = {"package.json": package({"start": "node server.js"}),
              "Dockerfile": "FROM node:22\nWORKDIR /app\nCOPY . .\nENTRYPOINT [\"npm\", \"start\"]\nCMD [\"--\", \"--port\", \"80\"]\n"}
    result = outcome(ID, tmp_path, monkeypatch, layout, unsafe=False)
    [finding] = result.remaining
    assert finding.fix and finding.safety is Safety.UNSAFE and result.text == layout["Dockerfile"]
    alone = outcome(ID, tmp_path, monkeypatch, {**layout, "Dockerfile": "FROM node:22\nWORKDIR /app\nCOPY . .\nENTRYPOINT npm start\n"}, unsafe=False)
    assert alone.applied and alone.applied[0].safety is Safety.SAFE


@pytest.mark.parametrize(("pkg", "cmd", "reason"), [
    (None, 'CMD ["npm", "start"]', "package.json in /app is not in the workspace"),
    ("{oops", 'CMD ["npm", "start"]', "does not parse"),
    (package({}), 'CMD ["yarn", "start"]', "no `start` script"),
    (package({}), 'CMD ["npm", "run", "serve"]', "no `serve` script"),
    (package({"dev": "nodemon server.js"}), 'CMD ["npm", "run", "dev"]', "runs the file watcher nodemon"),
    (package({"start": "ts-node src/index.ts"}), 'CMD ["npm", "start"]', "ts-node"),
    (package({"start": "react-scripts start"}, dependencies={"react-scripts": "5"}), 'CMD ["npm", "start"]', "Create React App development server"),
    (package({"start": "next dev"}), 'CMD ["npm", "start"]', "Next.js development server"),
    (package({"start": "vite"}), 'CMD ["npm", "start"]', "Vite development server"),
    (package({"start": "node --watch a.js"}), 'CMD ["npm", "start"]', "watch mode"),
    (package({"start": "NODE_ENV=production node a.js"}), 'CMD ["npm", "start"]', "sets environment variables"),
    (package({"start": "node migrate.js && node a.js"}), 'CMD ["npm", "start"]', "runs several commands"),
    (package({"start": "node $ENTRY"}), 'CMD ["npm", "start"]', "uses shell features (variable)"),
    (package({"start": "node a.js", "prestart": "node migrate.js"}), 'CMD ["npm", "start"]', "scripts.prestart"),
    (package({"start": "node a.js"}), 'CMD ["npm", "start", "--port", "80"]', "npm reads as its own options"),
    (package({"start": "node a.js"}), 'CMD ["npm", "--silent", "start"]', "options to npm itself"),
    (package({"start": "serve -s build"}), 'CMD ["npm", "start"]', "neither node nor a binary of a package"),
    (package({"start": "next start"}, devDependencies={"next": "14"}), 'CMD ["npm", "start"]', "devDependencies"),
])
def test_reports_what_it_cannot_rewrite(tmp_path, monkeypatch, pkg, cmd, reason):
    layout = {"Dockerfile": f"{BASE}{cmd}\n"}
    if pkg is not None:
        layout["package.json"] = pkg if isinstance(pkg, str) else json.dumps(pkg)
    result = outcome(ID, tmp_path, monkeypatch, layout)
    assert result.text == layout["Dockerfile"]
    assert reason in reason_of(result)


def test_binaries_need_node_modules(tmp_path, monkeypatch):
    layout = {"package.json": package({"start": "next start"}, dependencies={"next": "14"}),
              "Dockerfile": "FROM node:22\nWORKDIR /app\nCOPY package.json .\nCMD [\"npm\", \"start\"]\n"}
    assert "does not install node_modules in /app" in reason_of(outcome(ID, tmp_path, monkeypatch, layout))
    layout["Dockerfile"] = ("FROM node:22 AS deps\nWORKDIR /app\nCOPY . .\nRUN npm ci\nFROM node:22-slim\nWORKDIR /srv\n"
                            "COPY --from=deps /app/node_modules ./node_modules\nCOPY package.json .\nCMD [\"npm\", \"start\"]\n")
    assert fixed(ID, tmp_path, monkeypatch, layout).endswith('CMD ["node_modules/.bin/next", "start"]\n')


def test_unknown_workdir_and_no_server_js(tmp_path, monkeypatch):
    layout = {"package.json": package({}), "Dockerfile": "FROM mycorp/node-base\nCOPY . .\nCMD [\"npm\", \"start\"]\n"}
    assert "working directory is unknown" in reason_of(outcome(ID, tmp_path, monkeypatch, layout))
    layout["Dockerfile"] = "FROM node:22\nWORKDIR /app\nCOPY . .\nCMD [\"npm\", \"start\"]\n"
    assert "no server.js" in reason_of(outcome(ID, tmp_path, monkeypatch, layout))


@pytest.mark.parametrize("dockerfile", [
    'FROM node:22\nCMD ["node", "server.js"]\n',
    "FROM node:22\nRUN npm start\n",
    'FROM node:22\nCMD ["npm", "install"]\n',
    'FROM node:22\nCMD ["yarn", "add", "x"]\n',
    "FROM node:22\nCMD npm start && tail -f /dev/null\n",
    "FROM node:22\nHEALTHCHECK CMD npm run health\n",
    "FROM node:22\nONBUILD CMD npm start\n",
    '# escape=`\nFROM mcr.microsoft.com/windows/servercore:ltsc2022\nCMD ["npm", "start"]\n',
])
def test_leaves_alone(tmp_path, monkeypatch, dockerfile):
    result = outcome(ID, tmp_path, monkeypatch, {"package.json": package({"start": "node a.js"}), "Dockerfile": dockerfile})
    assert result.text == dockerfile and not result.remaining


def test_without_workspace_it_reports():
    text = f'{BASE}CMD ["npm", "start"]\n'
    result = run(ID, text, path="srv/Dockerfile", workspace=Workspace())
    assert result.text == text and "not in the workspace (build context srv)" in reason_of(result)


def test_hadolint_sees_no_npm_in_cmd(tmp_path, monkeypatch):
    layout = {"package.json": package({"start": "node a.js"}), "Dockerfile": f"{BASE}CMD npm start\n"}
    assert "DL3025" in hadolint_codes(layout["Dockerfile"])
    assert "DL3025" not in hadolint_codes(fixed(ID, tmp_path, monkeypatch, layout))


@needs_corpus
def test_corpus():
    counts = check_corpus(ID, workspace=True)
    # the corpus has no package.json files: every npm start is reported with that reason
    assert counts["applied"] == 0
    assert sum(n for key, n in counts.items() if "package.json in" in key) >= 10


@needs_corpus
def test_corpus_files_with_a_package_json(tmp_path, monkeypatch):
    """Each corpus Dockerfile that starts through npm/yarn, given a package.json whose scripts are
    plain node commands: every such CMD is rewritten, the rest of the file untouched."""
    copies = corpus_copies(tmp_path, lambda t: re.search(r"^\s*(?:CMD|ENTRYPOINT).*\b(?:npm|yarn)\b", t, re.M) is not None)
    monkeypatch.chdir(tmp_path)
    for folder, _ in copies:
        (folder / "package.json").write_text(json.dumps(package({"start": "node server.js", "dev": "node dev.js", "serve": "node serve.js"})))
    workspace = Workspace.scan(["."])
    for folder, text in copies:
        path = f"{folder.name}/Dockerfile"
        result = run(ID, text, path=path, workspace=workspace)
        assert not result.errors, (path, result.errors)
        if "git clone" in text:  # its package.json comes from a clone, not from the context
            assert "not in the workspace" in reason_of(result) and not result.changed
            continue
        assert not result.remaining, (path, [f.reason for f in result.remaining])
        assert result.changed and run(ID, result.text, path=path, workspace=workspace).text == result.text
        assert hadolint_parses(result.text) or not hadolint_parses(text), path
        old, new = text.splitlines(), result.text.splitlines()
        assert len(old) == len(new)
        assert all(a == b or re.match(r"\s*(?:CMD|ENTRYPOINT)\s", a, re.I) for a, b in zip(old, new)), path
    assert len(copies) >= 8
