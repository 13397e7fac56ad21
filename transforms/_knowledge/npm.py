"""package.json scripts: what ``npm start`` / ``yarn X`` / ``pnpm run X`` really run, and where a
build script writes its output.

Shared by cm-005 (write the script's command in exec form) and io-002 (the build output a
runtime stage copies, the command that runtime stage runs). Everything here works on a parsed
package.json (a dict) and two callbacks over the project folder (``exists(rel)``,
``read(rel)``), so it needs no Dockerfile.
"""
from __future__ import annotations

import json
import posixpath
import re
from dataclasses import dataclass, field
from typing import Callable

from orchfix import shell

Exists = Callable[[str], bool]
Read = Callable[[str], "str | None"]

#: scripts npm runs around an install (they may need the project's sources or dev tools)
INSTALL_SCRIPTS = ("preinstall", "install", "postinstall", "prepublish", "preprepare", "prepare", "postprepare")

_NPM_RUN = {"run", "run-script", "rum", "urn"}
_NPM_SCRIPT_ALIASES = {"start": "start", "test": "test", "t": "test", "tst": "test", "stop": "stop"}
# yarn 1 / berry and pnpm commands that are not scripts (`yarn X` runs script X otherwise)
_YARN_COMMANDS = {
    "access", "add", "audit", "autoclean", "bin", "cache", "check", "config", "constraints", "create", "dedupe", "dlx",
    "exec", "explain", "generate-lock-entry", "global", "help", "import", "info", "init", "install", "licenses",
    "link", "list", "login", "logout", "node", "npm", "outdated", "owner", "pack", "patch", "patch-commit", "plugin",
    "policies", "publish", "rebuild", "remove", "set", "tag", "team", "unlink", "unplug", "up", "upgrade",
    "upgrade-interactive", "version", "versions", "why", "workspace", "workspaces",
}
_PNPM_COMMANDS = _YARN_COMMANDS | {"i", "ci", "update", "prune", "fetch", "import", "store", "root", "ls", "env", "setup", "server", "deploy"}

#: what runs a development tool instead of the application (first word, or first two words)
DEV_TOOLS = {
    "nodemon": "the file watcher nodemon, a development tool",
    "ts-node": "ts-node, which compiles TypeScript on every start (build to JavaScript and run it with node)",
    "ts-node-dev": "the file watcher ts-node-dev, a development tool",
    "tsx": "tsx, which compiles TypeScript on every start (build to JavaScript and run it with node)",
    "babel-node": "babel-node, which compiles on every start and is not meant for production",
    "webpack-dev-server": "the webpack development server",
    "webpack serve": "the webpack development server",
    "react-scripts start": "the Create React App development server",
    "craco start": "the Create React App development server",
    "react-app-rewired start": "the Create React App development server",
    "vue-cli-service serve": "the Vue CLI development server",
    "ng serve": "the Angular development server",
    "next dev": "the Next.js development server",
    "next": "the Next.js development server",
    "nuxt dev": "the Nuxt development server",
    "nuxt": "the Nuxt development server",
    "vite": "the Vite development server",
    "vite dev": "the Vite development server",
    "vite serve": "the Vite development server",
    "vite preview": "Vite's preview server, which its docs say is not for production",
    "gatsby develop": "the Gatsby development server",
    "parcel": "the Parcel development server",
    "parcel serve": "the Parcel development server",
    "concurrently": "concurrently, which runs several processes under one parent",
    "npm-run-all": "npm-run-all, which runs several scripts under one parent",
    "run-p": "npm-run-all, which runs several scripts under one parent",
    "run-s": "npm-run-all, which runs several scripts under one parent",
    "node --watch": "node in watch mode, a development setting",
}

#: bins whose package has another name (the bin is in node_modules/.bin when the package is installed)
BIN_PACKAGES = {
    "pm2-runtime": "pm2", "tsc": "typescript", "ng": "@angular/cli", "vue-cli-service": "@vue/cli-service",
    "remix-serve": "@remix-run/serve", "nest": "@nestjs/cli", "strapi": "@strapi/strapi", "fastify": "fastify-cli",
    "react-router-serve": "@react-router/serve",
}

#: commands a Node image has on PATH outside node_modules/.bin
SYSTEM_COMMANDS = {"node", "npm", "npx", "yarn", "pnpm", "corepack", "sh", "bash", "env", "exec", "tini", "dumb-init"}


def load(text: str | None) -> dict | None:
    """A package.json's content, or None when missing or not a JSON object."""
    if text is None:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def scripts(pkg: dict) -> dict[str, str]:
    found = pkg.get("scripts")
    return {k: v for k, v in found.items() if isinstance(v, str)} if isinstance(found, dict) else {}


def dependencies(pkg: dict, dev: bool = False) -> set[str]:
    """Names in ``dependencies`` (and ``devDependencies`` when ``dev``)."""
    keys = ("dependencies", "devDependencies") if dev else ("dependencies",)
    return {name for key in keys if isinstance(pkg.get(key), dict) for name in pkg[key]}


@dataclass
class Invocation:
    """``npm start`` / ``yarn run X`` …: the tool, the script name and the arguments passed on."""

    tool: str
    script: str
    args: list[str] = field(default_factory=list)


def invocation(words: list[str]) -> Invocation | str | None:
    """The script a command line runs through a package manager; a reason string when it is one
    but cannot be read (options for the package manager itself); None when it is no script run."""
    if len(words) < 2 or words[0] not in ("npm", "yarn", "pnpm"):
        return None
    tool, rest = words[0], words[1:]
    if rest[0].startswith("-"):
        return f"`{' '.join(words)}` passes options to {tool} itself"
    if tool == "npm":
        if rest[0] in _NPM_RUN:
            if len(rest) < 2:
                return None
            name, args = rest[1], rest[2:]
        elif rest[0] in _NPM_SCRIPT_ALIASES:
            name, args = _NPM_SCRIPT_ALIASES[rest[0]], rest[1:]
        else:
            return None
        if args and args[0] != "--":
            return f"`{' '.join(words)}` passes arguments that npm reads as its own options"
        return Invocation(tool, name, args[1:])
    commands = _YARN_COMMANDS if tool == "yarn" else _PNPM_COMMANDS
    if rest[0] == "run":
        if len(rest) < 2:
            return None
        name, args = rest[1], rest[2:]
    elif rest[0] in commands:
        return None
    else:
        name, args = rest[0], rest[1:]
    if any(a.startswith("-") and a != "--" for a in args[:1]):
        return f"`{' '.join(words)}` passes options that {tool} may read itself"
    return Invocation(tool, name, args[1:] if args[:1] == ["--"] else args)


def dev_tool(words: list[str]) -> str | None:
    """Why a command is a development tool rather than a production server, or None."""
    if not words:
        return None
    first = posixpath.basename(words[0])
    for key in (" ".join([first, *words[1:2]]), first):
        if key in DEV_TOOLS:
            # `next start`, `nuxt start`, `vite build` are not the bare dev commands
            if key in ("next", "nuxt", "vite", "parcel") and len(words) > 1 and not words[1].startswith("-"):
                continue
            return DEV_TOOLS[key]
    if first == "node" and any(w.startswith("--watch") for w in words[1:]):
        return DEV_TOOLS["node --watch"]
    return None


@dataclass
class Resolved:
    """What a script run comes down to: ``words`` (None with ``reason`` when it cannot be told or
    is not a plain command); ``scripts`` are the script names followed to get there."""

    words: list[str] | None
    reason: str | None = None
    scripts: list[str] = field(default_factory=list)

    @property
    def program(self) -> str | None:
        return self.words[0] if self.words else None


def _script_words(text: str) -> tuple[list[str] | None, str | None]:
    try:
        found = shell.features(text)
        words = shell.words(text) if not found else []
    except (ValueError, shell.ShellSyntaxError):
        return None, "does not parse as a shell command"
    if "assignment" in found:
        return None, "sets environment variables in front of the command"
    if "operator" in found:
        return None, "runs several commands"
    if found:
        return None, "uses shell features (" + ", ".join(sorted(found)) + ")"
    if not words:
        return None, "is empty"
    return words, None


def resolve(pkg: dict, words: list[str], exists: Exists, depth: int = 0) -> Resolved | None:
    """Follow ``npm start`` / ``yarn X`` … through package.json's scripts to a plain command.

    None when ``words`` is no script run. The result has ``words`` when the script is a single
    plain command that is not a development tool; else ``reason`` says why not.
    """
    found = invocation(words)
    if found is None:
        return None
    if isinstance(found, str):
        return Resolved(None, found)
    table = scripts(pkg)
    label = f"scripts.{found.script}"
    if found.script not in table:
        if found.script == "start" and found.tool in ("npm", "pnpm"):
            # npm and pnpm run `node server.js` when there is no start script
            if not exists("server.js"):
                return Resolved(None, "package.json has no start script and there is no server.js for npm's default", [found.script])
            return Resolved(["node", "server.js", *found.args], None, [found.script])
        return Resolved(None, f"package.json has no `{found.script}` script", [found.script])
    if found.tool != "pnpm":  # npm and yarn also run pre<name> and post<name>
        extra = [s for s in (f"pre{found.script}", f"post{found.script}") if s in table]
        if extra:
            return Resolved(None, f"{found.tool} also runs {' and '.join('scripts.' + s for s in extra)} around it", [found.script])
    text = table[found.script]
    command, why = _script_words(text)
    if command is None:
        return Resolved(None, f"{label} (`{text}`) {why}", [found.script])
    command = command + found.args
    tool = dev_tool(command)
    if tool:
        return Resolved(None, f"{label} (`{text}`) runs {tool}", [found.script])
    if depth < 5:
        nested = resolve(pkg, command, exists, depth + 1)
        if nested is not None:
            nested.scripts.insert(0, found.script)
            return nested
    return Resolved(command, None, [found.script])


def bin_package(program: str) -> str:
    """The package that installs the node_modules/.bin entry ``program``."""
    return BIN_PACKAGES.get(program, program)


# --- build output ------------------------------------------------------------------------------

_OUT_FLAGS = {
    "tsc": ("--outDir",), "vite": ("--outDir",), "vue-cli-service": ("--dest",), "ng": ("--output-path",),
    "webpack": ("--output-path", "-o"), "webpack-cli": ("--output-path", "-o"), "parcel": ("--dist-dir",),
    "babel": ("--out-dir", "-d"), "swc": ("--out-dir", "-d"), "tsup": ("--out-dir", "-d"),
    "esbuild": ("--outdir", "--outfile"),
}
_DEFAULT_OUT = {
    ("react-scripts", "build"): ["build"], ("craco", "build"): ["build"], ("react-app-rewired", "build"): ["build"],
    ("vue-cli-service", "build"): ["dist"], ("ng", "build"): ["dist"], ("parcel", "build"): ["dist"],
    ("astro", "build"): ["dist"], ("gatsby", "build"): ["public"], ("nuxt", "build"): [".output"],
    ("nuxt", "generate"): [".output"], ("tsup", None): ["dist"],
}
_CLEAN = {"rimraf", "rm", "del", "del-cli", "shx", "mkdirp", "echo", "cp", "cpx", "copyfiles", "npm-run-all", "run-s", "eslint", "prettier"}
_CONFIG_OUT = re.compile(r"""\boutDir\s*:\s*['"]([^'"]+)['"]""")
_WEBPACK_OUT = re.compile(r"""\bpath\s*:\s*path\.(?:resolve|join)\(\s*__dirname\s*,\s*['"]([^'"]+)['"]\s*\)""")
_JSON_COMMENT = re.compile(r'"(?:\\.|[^"\\])*"|//[^\n]*|/\*.*?\*/', re.S)


def _first_config(read: Read, names: list[str]) -> str | None:
    for name in names:
        text = read(name)
        if text is not None:
            return text
    return None


def _tsconfig_out(read: Read, project: str | None) -> tuple[str | None, str | None]:
    name = project or "tsconfig.json"
    text = read(name if name.endswith(".json") else posixpath.join(name, "tsconfig.json"))
    if text is None:
        return None, f"{name} is not in the workspace"
    try:
        data = json.loads(_JSON_COMMENT.sub(lambda m: m.group() if m.group().startswith('"') else "", text))
    except ValueError:
        return None, f"{name} does not parse"
    options = data.get("compilerOptions") if isinstance(data, dict) else None
    if isinstance(options, dict) and options.get("noEmit") is True:
        return "", None
    out = options.get("outDir") if isinstance(options, dict) else None
    if isinstance(out, str):
        return posixpath.normpath(posixpath.join(posixpath.dirname(name), out)), None
    if isinstance(data, dict) and data.get("extends"):
        return None, f"{name} takes its outDir from the config it extends"
    return None, f"{name} sets no outDir (tsc writes next to the sources)"


def _segment_outputs(words: list[str], read: Read, exists: Exists) -> tuple[list[str] | None, str | None]:
    """Output folders of one build command: a list (maybe empty for a cleanup), or a reason."""
    program = posixpath.basename(words[0])
    sub = words[1] if len(words) > 1 and not words[1].startswith("-") else None
    if program in ("npx", "pnpx") and len(words) > 1:
        return _segment_outputs(words[1:], read, exists)
    if program in _CLEAN:
        return [], None
    flag = shell.option_value(words, _OUT_FLAGS.get(program, ()))
    if flag:
        return [posixpath.dirname(flag) if program == "esbuild" and "--outfile" in " ".join(words) else flag], None
    if program == "next" and sub == "build":
        extra = [p for p in ("public", "next.config.js", "next.config.mjs", "next.config.ts") if exists(p)]
        return [".next", *extra], None
    if program == "vite" and sub in (None, "build") and "build" in words:
        config = _first_config(read, ["vite.config.ts", "vite.config.js", "vite.config.mjs", "vite.config.mts"])
        match = _CONFIG_OUT.search(config or "")
        return [match.group(1) if match else "dist"], None
    if program == "tsc":
        if "--noEmit" in words:
            return [], None
        out, reason = _tsconfig_out(read, shell.option_value(words, ("-p", "--project")))
        return ([out] if out else [], None) if out is not None else (None, reason)
    if program == "nest" and sub == "build":
        out, _ = _tsconfig_out(read, shell.option_value(words, ("-p", "--path")) or ("tsconfig.build.json" if exists("tsconfig.build.json") else None))
        return [out or "dist"], None
    if program in ("webpack", "webpack-cli"):
        config = _first_config(read, ["webpack.config.js", "webpack.config.ts", "webpack.config.cjs", "webpack.config.mjs"])
        if config is None:
            return ["dist"], None
        match = _WEBPACK_OUT.search(config)
        return ([match.group(1)], None) if match else (None, "the webpack config's output path cannot be read")
    for (name, command), outs in _DEFAULT_OUT.items():
        if program == name and (command is None or sub == command):
            return list(outs), None
    return None, f"`{' '.join(words)}`"


def build_outputs(pkg: dict, script: str, read: Read, exists: Exists, depth: int = 0) -> tuple[list[str] | None, str | None]:
    """The folders (and files) ``npm run <script>`` writes, relative to the project folder, or the
    reason they cannot be told."""
    table = scripts(pkg)
    if script not in table:
        return None, f"package.json has no `{script}` script"
    text = table[script]
    try:
        segments = shell.split(text)
    except shell.ShellSyntaxError:
        return None, f"scripts.{script} (`{text}`) does not parse"
    outputs: list[str] = []
    unknown: list[str] = []
    for segment in segments:
        try:
            words = shell.words(segment.text)
        except ValueError:
            return None, f"scripts.{script} (`{text}`) does not parse"
        while words and re.match(r"[A-Za-z_][A-Za-z0-9_]*=", words[0]):
            words = words[1:]  # NODE_ENV=production vite build
        if words[:1] == ["cross-env"]:
            words = [w for w in words[1:] if not re.match(r"[A-Za-z_][A-Za-z0-9_]*=", w)]
        if not words:
            continue
        nested = invocation(words)
        if isinstance(nested, Invocation) and depth < 5:
            found, reason = build_outputs(pkg, nested.script, read, exists, depth + 1)
            if found is None:
                return None, reason
            outputs.extend(found)
            continue
        found, reason = _segment_outputs(words, read, exists)
        if found is None:
            unknown.append(reason or segment.text.strip())
        else:
            outputs.extend(found)
    outputs = list(dict.fromkeys(posixpath.normpath(o) for o in outputs))
    if not outputs:
        detail = f": {', '.join(unknown)}" if unknown else ""
        return None, f"the output folder of scripts.{script} (`{text}`) cannot be told{detail}"
    return outputs, None
