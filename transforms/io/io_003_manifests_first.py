from __future__ import annotations

import fnmatch
import posixpath
import re
from dataclasses import dataclass, field
from typing import Callable

from orchfix import shell
from orchfix.text import Edit, newline_of
from orchfix.transform import Safety, Transform
from orchfix.transforms._knowledge import contexts, dockerenv, npm, stacks

from . import _blocks

# instructions a whole-context COPY can move past: none of them reads or changes the copied files
_PASSABLE = {"ENV", "ARG", "LABEL", "EXPOSE", "USER", "HEALTHCHECK", "CMD", "ENTRYPOINT", "STOPSIGNAL",
             "MAINTAINER", "ONBUILD", "SHELL"}
# RUNs that work on the project's files: the sources must be there before them
_USES_SOURCES = re.compile(r"\b(?:npm run|pnpm run|yarn (?:run )?[\w:-]+|npx|go (?:build|test|generate|vet|install)|make|mvnw?|gradlew?"
                           r"|cargo|tsc|python[0-9.]* (?:setup\.py|manage\.py|-m (?:build|pytest))|pytest|chmod|chown|cp|mv|sed|rm)\b")

Exists = Callable[[str], bool]
Read = Callable[[str], "str | None"]


@dataclass
class Needs:
    """What an install reads from the project folder: ``files`` it fails without, ``optional``
    files and ``folders`` copied when present."""

    files: list[str] = field(default_factory=list)
    optional: list[str] = field(default_factory=list)
    folders: list[str] = field(default_factory=list)
    #: folders the install fills inside the project (a copy of the context must not overwrite them)
    writes: list[str] = field(default_factory=list)

    def add(self, other: "Needs") -> None:
        for name in ("files", "optional", "folders", "writes"):
            mine = getattr(self, name)
            mine.extend(x for x in getattr(other, name) if x not in mine)


class NeedsSources(Exception):
    """The install reads more than its manifests (the reason is the message)."""


# --- what each install command reads --------------------------------------------------------------

def _node(words: list[str], read: Read, exists: Exists) -> Needs:
    tool = words[0]
    text = read("package.json")
    pkg = npm.load(text)
    if text is not None and pkg is None:
        raise NeedsSources("package.json does not parse, so its install scripts cannot be checked")
    needs = Needs(files=["package.json"], optional=[".npmrc"], writes=["node_modules"])
    if pkg is None:
        return needs
    if pkg.get("workspaces"):
        raise NeedsSources("package.json declares workspaces: the install also reads each workspace's package.json")
    if "--ignore-scripts" not in words:
        ran = [s for s in npm.INSTALL_SCRIPTS if s in npm.scripts(pkg)]
        if ran:
            script = npm.scripts(pkg)[ran[0]]
            raise NeedsSources(f"package.json's scripts.{ran[0]} (`{script}`) runs during the install and may need the sources")
    for key in ("dependencies", "devDependencies", "optionalDependencies"):
        for name, spec in (pkg.get(key) or {}).items() if isinstance(pkg.get(key), dict) else ():
            if isinstance(spec, str) and re.match(r"(?:file|link|portal|workspace|patch):|\.{0,2}/", spec):
                raise NeedsSources(f"the dependency {name} (`{spec}`) comes from the project's own files")
    if tool == "npm":
        needs.optional += ["package-lock.json", "npm-shrinkwrap.json"]
    elif tool == "yarn":
        needs.optional += ["yarn.lock", ".yarnrc", ".yarnrc.yml"]
        yarnrc = read(".yarnrc.yml") or ""
        if re.search(r"^plugins\s*:", yarnrc, re.M):
            raise NeedsSources(".yarnrc.yml loads plugins from the project")
        match = re.search(r"^yarnPath\s*:\s*['\"]?([^'\"\s#]+)", yarnrc, re.M)
        if match:
            needs.files.append(posixpath.normpath(match.group(1)))
    elif tool == "pnpm":
        if exists("pnpm-workspace.yaml"):
            raise NeedsSources("pnpm-workspace.yaml makes it a workspace: the install also reads each package's package.json")
        if isinstance(pkg.get("pnpm"), dict) and pkg["pnpm"].get("patchedDependencies"):
            raise NeedsSources("package.json patches dependencies with files of the project")
        needs.optional += ["pnpm-lock.yaml", ".pnpmfile.cjs"]
    else:
        needs.optional += ["bun.lockb", "bun.lock", "bunfig.toml"]
    return needs


def _requirements(path: str, read: Read, seen: set[str]) -> Needs:
    """A requirements file and the ones it includes (``-r``/``-c``), relative to the project."""
    if path in seen:
        return Needs()
    seen.add(path)
    needs = Needs(files=[path])
    text = read(path)
    if text is None:
        return needs
    base = posixpath.dirname(path)
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        match = re.match(r"(-r|--requirement|-c|--constraint)(?:\s+|=)(\S+)", line)
        if match:
            needs.add(_requirements(posixpath.normpath(posixpath.join(base, match.group(2))), read, seen))
        elif re.match(r"(-e|--editable)\b", line) or stacks.local_path(line):
            raise NeedsSources(f"{path} installs a local path (`{line}`), which is part of the sources")
    return needs


def _pip(words: list[str], read: Read, exists: Exists) -> Needs:
    args = words[2:] if words[1:2] == ["install"] else []
    needs, seen = Needs(), set()
    with_value = {"-r", "--requirement", "-c", "--constraint", "-i", "--index-url", "--extra-index-url", "-f",
                  "--find-links", "-t", "--target", "--prefix", "--root", "--platform", "--python-version"}
    for i, word in enumerate(args):
        name, eq, value = word.partition("=")
        if name in ("-r", "--requirement", "-c", "--constraint"):
            target = value if eq else (args[i + 1] if i + 1 < len(args) else None)
            if target is None or "$" in target:
                raise NeedsSources(f"`{' '.join(words)}` names its requirements through a variable")
            needs.add(_requirements(posixpath.normpath(target), read, seen))
        elif word in ("-e", "--editable"):
            raise NeedsSources(f"`{' '.join(words)}` installs the project itself in editable mode")
    local = [a for a in shell.positionals(args, with_value) if stacks.local_path(a)]
    if local:
        raise NeedsSources(f"`{' '.join(words)}` installs the local path {local[0]}, which is part of the sources")
    return needs


def _poetry(words: list[str], read: Read, exists: Exists) -> Needs:
    if "--no-root" not in words:
        raise NeedsSources("`poetry install` without --no-root installs the project itself, which needs its sources")
    if re.search(r"\bpath\s*=", read("pyproject.toml") or ""):
        raise NeedsSources("pyproject.toml has path dependencies, which are part of the sources")
    return Needs(files=["pyproject.toml"], optional=["poetry.lock", "poetry.toml"], writes=[".venv"])


def _pipenv(words: list[str], read: Read, exists: Exists) -> Needs:
    if any(w in ("-e", "--editable") or stacks.local_path(w) for w in words[2:]):
        raise NeedsSources(f"`{' '.join(words)}` installs a local path, which is part of the sources")
    if re.search(r"\bpath\s*=", read("Pipfile") or ""):
        raise NeedsSources("the Pipfile has path dependencies, which are part of the sources")
    return Needs(files=["Pipfile"], optional=["Pipfile.lock"])


def _uv(words: list[str], read: Read, exists: Exists) -> Needs:
    if "--no-install-project" not in words and "--no-install-workspace" not in words:
        raise NeedsSources("`uv sync` without --no-install-project installs the project itself, which needs its sources")
    text = read("pyproject.toml") or ""
    if "[tool.uv.workspace]" in text or re.search(r"\bpath\s*=", text):
        raise NeedsSources("pyproject.toml has workspace members or path sources, which are part of the sources")
    return Needs(files=["pyproject.toml"], optional=["uv.lock", ".python-version"], writes=[".venv"])


def _go(words: list[str], read: Read, exists: Exists) -> Needs:
    if exists("go.work"):
        raise NeedsSources("go.work makes it a workspace: the download also reads each module's go.mod")
    if re.search(r"=>\s*\.{1,2}/|=>\s*/", read("go.mod") or ""):
        raise NeedsSources("go.mod replaces a module with a local folder, which is part of the sources")
    return Needs(files=["go.mod"], optional=["go.sum"])


def _bundle(words: list[str], read: Read, exists: Exists) -> Needs:
    text = read("Gemfile") or ""
    if re.search(r"^\s*(?:gemspec|eval_gemfile)\b|\bpath(?::|\s*=>)|\bfile:", text, re.M):
        raise NeedsSources("the Gemfile reads the project's own files (gemspec, path: or file:)")
    return Needs(files=["Gemfile"], optional=["Gemfile.lock"], writes=["vendor/bundle", ".bundle"])


def _composer(words: list[str], read: Read, exists: Exists) -> Needs:
    data = npm.load(read("composer.json"))
    if data is not None:
        scripts = data.get("scripts") if isinstance(data.get("scripts"), dict) else {}
        hooks = [k for k in ("pre-install-cmd", "post-install-cmd", "pre-autoload-dump", "post-autoload-dump") if k in scripts]
        if hooks and "--no-scripts" not in words:
            raise NeedsSources(f"composer.json's {hooks[0]} script runs during the install and may need the sources")
        if "--no-autoloader" not in words:
            if any(isinstance(data.get(k), dict) and ({"classmap", "files"} & set(data[k])) for k in ("autoload", "autoload-dev")):
                raise NeedsSources("the autoloader scans classmap/files entries, which are part of the sources (add --no-autoloader and dump it after the COPY)")
            if {"-o", "--optimize-autoloader", "-a", "--classmap-authoritative", "--apcu-autoloader"} & set(words):
                raise NeedsSources("an optimized autoloader scans the sources (add --no-autoloader and dump it after the COPY)")
        repos = data.get("repositories")
        if isinstance(repos, list) and any(isinstance(r, dict) and r.get("type") == "path" for r in repos):
            raise NeedsSources("composer.json has path repositories, which are part of the sources")
    return Needs(files=["composer.json"], optional=["composer.lock"], writes=["vendor"])


def _maven(words: list[str], read: Read, exists: Exists) -> Needs:
    if "<modules>" in (read("pom.xml") or ""):
        raise NeedsSources("pom.xml has modules: the build also reads each module's pom.xml")
    needs = Needs(files=["pom.xml"])
    if posixpath.basename(words[0]) == "mvnw":
        needs.files.append("mvnw")
        needs.folders.append(".mvn")
    return needs


def _gradle(words: list[str], read: Read, exists: Exists) -> Needs:
    settings = read("settings.gradle") or read("settings.gradle.kts") or ""
    if re.search(r"^\s*include\b", settings, re.M) or exists("buildSrc/build.gradle") or exists("buildSrc/build.gradle.kts"):
        raise NeedsSources("a multi-project build (include/buildSrc) reads more than the root build files")
    build = "build.gradle.kts" if exists("build.gradle.kts") else "build.gradle"
    needs = Needs(files=[build], optional=["settings.gradle", "settings.gradle.kts", "gradle.properties"])
    if posixpath.basename(words[0]) == "gradlew":
        needs.files.append("gradlew")
        needs.folders.append("gradle")
    return needs


def _cargo(words: list[str], read: Read, exists: Exists) -> Needs:
    raise NeedsSources("cargo reads src/main.rs or src/lib.rs to load the manifest, so `cargo fetch` needs sources (a stub main.rs is the usual workaround)")


def _reader(words: list[str]):
    """The analyser of an install command, or None when the words are not one."""
    first, rest = posixpath.basename(words[0]), words[1:]
    sub = rest[0] if rest else None
    if first in ("npm", "pnpm") and sub in ("ci", "install", "i") and not (stacks.GLOBAL & set(rest)):
        return _node
    if first == "yarn" and (sub is None or sub == "install" or sub.startswith("-")) and not (stacks.GLOBAL & set(rest)):
        return _node
    if first == "bun" and sub == "install":
        return _node
    if re.fullmatch(r"pip[0-9.]*", first) and sub == "install" and any(
            w.split("=")[0] in ("-r", "--requirement") for w in rest):
        return _pip
    if first == "poetry" and sub == "install":
        return _poetry
    if first == "pipenv" and sub in ("install", "sync"):
        return _pipenv
    if first == "uv" and sub == "sync":
        return _uv
    if first == "go" and rest[:2] == ["mod", "download"]:
        return _go
    if first == "bundle" and (sub is None or sub == "install" or sub.startswith("-")):
        return _bundle
    if first == "composer" and sub == "install":
        return _composer
    if first in ("mvn", "mvnw") and any(re.search(r"dependency:(?:go-offline|resolve)", w) for w in rest):
        return _maven
    if first in ("gradle", "gradlew") and "dependencies" in rest:
        return _gradle
    if first == "cargo" and sub == "fetch":
        return _cargo
    return None


def is_install(ins) -> bool:
    return ins.keyword == "RUN" and bool(stacks.installing(dockerenv.command_text(ins)))


def needs_of(ins, read: Read, exists: Exists) -> Needs:
    """What an install RUN reads; raises NeedsSources when it (or a command beside it) needs more."""
    if ins.heredocs:
        raise NeedsSources("the install runs in a heredoc script; move it by hand")
    if ins.exec_form is not None:
        raise NeedsSources("the install is in exec form; move it by hand")
    try:
        segments = shell.split(ins.args)
    except shell.ShellSyntaxError:
        raise NeedsSources("the RUN does not parse as a shell command") from None
    needs, installs = Needs(), 0
    for segment in segments:
        try:
            words = stacks.tool_words(shell.words(segment.text))
        except ValueError:
            raise NeedsSources(f"`{segment.text.strip()}` does not parse as a shell command") from None
        if not words:
            continue
        reader = _reader(words)
        if reader is not None:
            needs.add(reader(words, read, exists))
            installs += 1
        elif not stacks.harmless(words):
            raise NeedsSources(f"the same RUN also runs `{segment.text.strip()}`, which may read the sources; "
                               "give it a RUN of its own after the COPY")
    if not installs:
        raise NeedsSources("the install command could not be read")
    return needs


def _whole_context(ins) -> bool:
    if ins.keyword not in ("COPY", "ADD") or "from" in ins.flags:
        return False
    parts = contexts.copy_parts(ins)
    return parts is not None and len(parts[0]) == 1 and contexts.is_whole_context(parts[0][0])


class ManifestsFirst(Transform):
    r"""Copy the dependency manifests and install before copying the rest of the sources.

    What it finds:
        A whole-context ``COPY . .`` (``COPY . /app``, ``COPY ./ ./``, ``ADD . .``) followed, in the
        same stage, by a dependency install (``npm ci``/``install``, ``yarn``, ``pnpm install``,
        ``pip install -r``, ``poetry install --no-root``, ``pipenv``, ``uv sync``,
        ``go mod download``, ``bundle install``, ``composer install``, Maven/Gradle dependency
        resolution). It writes ``COPY <manifests> <dest>`` right before the install and moves the
        whole-context COPY after it. The manifests are the files of the build context (the
        Dockerfile's folder, or the context a compose file names) that the install reads: the
        files its command names, package.json with the lockfile of that package manager,
        requirements files with the ones they include, go.mod + go.sum, Gemfile[.lock],
        composer.json/.lock, pyproject.toml + poetry.lock/uv.lock…, copied with the original
        COPY's ``--chown``/``--chmod``/``--link``.
        Reported without a fix: manifests not in the workspace, installs that need more than the
        manifests (``pip install -e .``, a local path in requirements.txt, ``poetry install``
        without ``--no-root``, a ``prepare``/``postinstall`` script, workspaces, local
        ``replace``/``path`` dependencies, composer scripts and classmap autoloading, another
        command in the same RUN such as ``npm run build``), and a WORKDIR, COPY, VOLUME or a RUN
        that works on the project's files (``npm run``, ``make``, ``chmod``…) between the COPY and
        the install.

    Why it matters:
        Docker reuses a layer only while everything it depends on is unchanged. After
        ``COPY . .`` any edit to any source file invalidates the install layer, so every build
        downloads and installs all dependencies again. With the manifests copied first, the
        install layer stays cached until the dependencies themselves change.

    Before:
        FROM node:22-slim
        WORKDIR /app
        COPY . .
        RUN npm ci --omit=dev
        CMD ["node", "server.js"]

    After:
        FROM node:22-slim
        WORKDIR /app
        COPY package.json package-lock.json ./
        RUN npm ci --omit=dev
        COPY . .
        CMD ["node", "server.js"]

    Options:
        None.

    Safety:
        Safe: the install sees the same manifests at the same paths, and the rest of the sources
        land where they did, right after it (a context that holds its own node_modules, vendor or
        .venv not excluded by .dockerignore is reported: it would be copied over the installed
        one). Unsafe when a RUN other than setup or cleanup (distro packages, global tools,
        caches) stands between the COPY and the install: it now runs before the sources are
        there.
    """

    id = "io-003"
    category = "io"
    title = "Dependency manifests first"
    safety = Safety.SAFE
    kinds = frozenset({"dockerfile"})
    options: dict = {}
    precheck = re.compile(r"""^\s*(?:copy|add)\b[^\n]*?[\s"]\.\/?[\s"]""", re.I | re.M)
    example_files = {
        "package.json": '{"name": "web", "version": "1.0.0", "dependencies": {"express": "^4.21.2"}}\n',
        "package-lock.json": '{"name": "web", "version": "1.0.0", "lockfileVersion": 3, "requires": true, "packages": {}}\n',
    }

    def check(self, doc):
        for stage in doc.stages:
            for index, ins in enumerate(stage.instructions):
                if not _whole_context(ins):
                    continue
                found = self._check(doc, ins, stage.instructions[index + 1:])
                if found is not None:
                    yield found

    def _check(self, doc, copy, after):
        """The finding for one whole-context COPY, or None when no install follows it."""
        between, install, blocker = [], None, None
        for ins in after:
            if is_install(ins):
                install = ins
                break
            if ins.keyword in ("COPY", "ADD", "WORKDIR", "VOLUME", "FROM"):
                blocker = blocker or ins
            between.append(ins)
        if install is None:
            return None
        message = (f"{install.raw_keyword} at line {install.line} installs dependencies after {copy.raw_keyword} of the "
                   "whole context: any source change re-runs the install")
        if blocker is not None:
            return self.finding(doc, copy.line, message, reason=(
                f"the {blocker.keyword} at line {blocker.line} between them would see a different result; reorder by hand"))
        uses = next((i for i in between if i.keyword == "RUN" and not _setup_only(i) and _USES_SOURCES.search(dockerenv.command_text(i))), None)
        if uses is not None:
            return self.finding(doc, copy.line, message, reason=(
                f"the RUN at line {uses.line} between them works on the project's files; reorder by hand"))
        if "$" in copy.value and any(i.keyword in ("ENV", "ARG") for i in between):
            return self.finding(doc, copy.line, message, reason="the COPY uses variables that an ENV/ARG between it and the install sets")
        edits, reason = self._edits(doc, copy, install)
        if edits is None:
            return self.finding(doc, copy.line, message, reason=reason)
        unsafe = [i for i in between if i.keyword == "RUN" and not _setup_only(i)]
        return self.finding(doc, copy.line, message, edits,
                            safety=Safety.UNSAFE if unsafe else None)

    def _edits(self, doc, copy, install):
        workspace = self.ctx.workspace
        context = contexts.build_context(workspace, doc.path)
        sources, dest = contexts.copy_parts(copy)
        workdir = contexts.workdir_at(doc, install)
        anchor = workdir or "/\0workdir"  # unknown, but the same for the COPY and the install
        if workdir is None and posixpath.isabs(dest):
            return None, "the working directory is unknown, so where the install runs in the copied tree cannot be told"
        target = contexts.container_path(anchor, dest)
        if posixpath.relpath(anchor, target).startswith(".."):
            return None, f"the install runs outside the folder the context is copied to ({dest})"

        def rel(name: str) -> str:
            """The context-relative path of a file the install names (relative to where it runs)."""
            found = posixpath.relpath(contexts.container_path(anchor, name), target)
            if found.startswith(".."):
                raise NeedsSources(f"the install reads {name}, which is outside the copied context")
            return found

        def exists(name: str) -> bool:
            path = rel(name)
            return workspace.exists(posixpath.join(context, path)) and not contexts.dockerignored(workspace, context, doc.path, path)

        def read(name: str) -> str | None:
            return workspace.read(posixpath.join(context, rel(name))) if exists(name) else None

        try:
            needs = needs_of(install, read, exists)
            where = context or "."
            missing = [f for f in needs.files if not exists(f)]
            if missing:
                return None, (f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not in the build context {where} "
                              "as the workspace sees it; run orchfix over the project with its manifests")
            clobbered = [w for w in needs.writes if workspace.is_dir(posixpath.join(context, rel(w)))
                         and not contexts.dockerignored(workspace, context, doc.path, rel(w))]
            if clobbered:
                return None, (f"the build context has its own {clobbered[0]}, which the moved COPY would copy over the "
                              f"installed one; add {clobbered[0]} to .dockerignore (io-004/cm-004) first")
            files = [rel(f) for f in needs.files + [f for f in needs.optional if exists(f)]]
            folders = [rel(f) for f in needs.folders if workspace.is_dir(posixpath.join(context, rel(f)))]
        except NeedsSources as exc:
            return None, str(exc)
        files = [f for f in dict.fromkeys(files) if not _copied_before(doc, copy, f, target)]
        lines = self._copy_lines(doc, copy, dest, files, folders)
        nl = newline_of(doc.text)
        indent = doc.text[install.start:install.keyword_start]
        moved = _blocks.block(doc, copy)
        edits = [_blocks.removal(doc, copy),
                 _blocks.insertion_after(doc, install, moved.text, apart=moved.apart)]
        if lines:
            edits.append(_insert_before(install, "".join(indent + line + nl for line in lines)))
        return edits, None

    @staticmethod
    def _copy_lines(doc, copy, dest: str, files: list[str], folders: list[str]) -> list[str]:
        """COPY lines for the manifests: one per destination folder, folders one each."""
        flags = [_blocks.flag_text(k, v) for k, v in copy.flags.items() if k in ("chown", "chmod", "link")]
        groups: dict[str, list[str]] = {}
        for path in files:
            groups.setdefault(posixpath.dirname(path), []).append(path)
        lines = [_blocks.copy_line(doc, flags, paths, _dest_dir(dest, sub), copy.raw_keyword) for sub, paths in groups.items()]
        lines += [_blocks.copy_line(doc, flags, [folder], _dest_dir(dest, folder), copy.raw_keyword) for folder in folders]
        return lines


def _dest_dir(dest: str, sub: str) -> str:
    """The folder under the whole-context COPY's destination where ``sub`` (context-relative) lands,
    written like that destination and ending in ``/``."""
    joined = posixpath.normpath(posixpath.join(dest, sub)) if sub else posixpath.normpath(dest)
    if joined == ".":
        return "./"
    if (dest.startswith("./") or dest == ".") and not joined.startswith(("/", "./", "../")):
        joined = "./" + joined
    return joined.rstrip("/") + "/"


def _insert_before(ins, text: str) -> Edit:
    return Edit.insert(ins.start, text)


def _copied_before(doc, copy, path: str, target: str) -> bool:
    """Whether an earlier COPY of the stage already put context file ``path`` where the whole-context
    COPY (to container folder ``target``) puts it: ``COPY package*.json ./`` before ``COPY . .``."""
    wanted = posixpath.normpath(posixpath.join(target, path))
    for other in doc.stages[copy.stage].instructions:
        if other.start >= copy.start:
            break
        parts = contexts.copy_parts(other)
        if not parts or "from" in other.flags:
            continue
        sources, dest = parts
        dest_abs = contexts.container_path(contexts.workdir_at(doc, other) or "/\0workdir", dest)
        into = dest.endswith("/") or len(sources) > 1 or any(c in "".join(sources) for c in "*?[")
        for source in sources:
            source = posixpath.normpath(source)
            landed = posixpath.join(dest_abs, posixpath.basename(path)) if into else dest_abs
            if landed == wanted and fnmatch.fnmatchcase(path, source):
                return True
    return False


def _setup_only(ins) -> bool:
    """Whether a RUN only sets up the system (reads nothing of the project)."""
    if ins.heredocs or ins.exec_form is not None:
        return False
    try:
        return all(stacks.harmless(stacks.tool_words(shell.words(s.text))) for s in shell.split(ins.args))
    except (ValueError, shell.ShellSyntaxError):
        return False
