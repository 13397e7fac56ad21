"""package.json scripts: what a script run comes down to, and where a build writes."""
from __future__ import annotations

import pytest

from orchfix.transforms._knowledge import npm


@pytest.mark.parametrize(("words", "expected"), [
    (["npm", "start"], ("npm", "start", [])),
    (["npm", "run-script", "serve", "--", "-p", "1"], ("npm", "serve", ["-p", "1"])),
    (["npm", "test"], ("npm", "test", [])),
    (["yarn", "dev"], ("yarn", "dev", [])),
    (["yarn", "run", "dev", "--port", "1"], None),  # an option yarn may read itself: a reason
    (["yarn", "dev", "x"], ("yarn", "dev", ["x"])),
    (["pnpm", "serve"], ("pnpm", "serve", [])),
    (["npm", "install"], None),
    (["yarn", "add", "x"], None),
    (["node", "a.js"], None),
])
def test_invocation(words, expected):
    found = npm.invocation(words)
    if expected is None:
        assert found is None or isinstance(found, str)
    else:
        assert isinstance(found, npm.Invocation) and (found.tool, found.script, found.args) == expected


@pytest.mark.parametrize(("words", "dev"), [
    (["nodemon", "a.js"], True), (["next", "dev"], True), (["next"], True), (["next", "start"], False),
    (["vite"], True), (["vite", "build"], False), (["node", "--watch", "a.js"], True), (["node", "a.js"], False),
    (["./node_modules/.bin/ts-node", "a.ts"], True),
])
def test_dev_tool(words, dev):
    assert bool(npm.dev_tool(words)) is dev


def test_resolve_follows_nested_scripts_and_defaults():
    pkg = {"scripts": {"start": "npm run serve", "serve": "node dist/a.js --x"}}
    assert npm.resolve(pkg, ["npm", "start"], lambda p: False).words == ["node", "dist/a.js", "--x"]
    assert npm.resolve(pkg, ["npm", "run", "serve", "--", "-v"], lambda p: False).words == ["node", "dist/a.js", "--x", "-v"]
    # `npm start -- -v` runs `npm run serve -v`, where npm takes -v itself
    assert "npm reads as its own options" in npm.resolve(pkg, ["npm", "start", "--", "-v"], lambda p: False).reason
    assert npm.resolve({}, ["npm", "start"], lambda p: p == "server.js").words == ["node", "server.js"]
    assert "no start script" in npm.resolve({}, ["npm", "start"], lambda p: False).reason
    assert npm.resolve({}, ["node", "x"], lambda p: False) is None


@pytest.mark.parametrize(("scripts", "files", "outputs"), [
    ({"build": "tsc"}, {"tsconfig.json": '{"compilerOptions": {/* c */ "outDir": "./out"}}'}, ["out"]),
    ({"build": "tsc && vite build"}, {"tsconfig.json": '{"compilerOptions": {"noEmit": true}}'}, ["dist"]),
    ({"build": "vite build"}, {"vite.config.ts": "export default { build: { outDir: 'web' } }"}, ["web"]),
    ({"build": "rimraf dist && webpack --mode production"}, {}, ["dist"]),
    ({"build": "webpack"}, {"webpack.config.js": "output: { path: path.resolve(__dirname, 'public/js') }"}, ["public/js"]),
    ({"build": "NODE_ENV=production next build"}, {"public": None}, [".next", "public"]),
    ({"build": "cross-env CI=1 react-scripts build"}, {}, ["build"]),
    ({"build": "npm run compile", "compile": "babel src -d lib"}, {}, ["lib"]),
    ({"build": "esbuild src/index.ts --bundle --outfile=dist/index.js"}, {}, ["dist"]),
    ({"build": "nest build"}, {}, ["dist"]),
    ({"build": "ng build"}, {}, ["dist"]),
])
def test_build_outputs(scripts, files, outputs):
    found, reason = npm.build_outputs({"scripts": scripts}, "build", files.get, lambda p: p in files)
    assert found == outputs, reason


@pytest.mark.parametrize(("scripts", "files", "reason"), [
    ({"build": "rollup -c"}, {}, "`rollup -c`"),
    ({"build": "tsc"}, {}, "tsconfig.json is not in the workspace"),
    ({"build": "tsc"}, {"tsconfig.json": '{"extends": "./base.json"}'}, "extends"),
    ({"build": "webpack"}, {"webpack.config.js": "module.exports = cfg"}, "webpack config"),
    ({}, {}, "no `build` script"),
])
def test_build_outputs_reports(scripts, files, reason):
    found, why = npm.build_outputs({"scripts": scripts}, "build", files.get, lambda p: p in files)
    assert found is None and reason in why
