"""What a build context's ``.dockerignore`` should leave out, shared by io-004 and cm-004.

- :func:`target`: the ignore file that applies to a Dockerfile (BuildKit reads
  ``<Dockerfile>.dockerignore`` beside it first, else ``<context>/.dockerignore``) and every
  Dockerfile of the workspace it applies to, so all of them yield the same file.
- :func:`plan`: the entries to write, by group, for the context's stacks
  (:mod:`.stacks`: ``COMMON_IGNORE`` + each stack's ``ignore``), each checked against what the
  builds need (see *Build-context safety* below) and against what an existing file already
  covers (``pathspec`` with .dockerignore semantics: every pattern anchored at the context
  root, ``**`` for any depth, ``!`` exceptions, a pattern also leaves out what is under a
  matching folder; an entry is covered when its sample path is already left out, so
  ``**/node_modules`` covers ``node_modules`` and a ``*`` allow-list covers everything).
- :func:`render_new` / :func:`render_append`: the text, entries under short ``# group`` comments.

Build-context safety, in order:

- an entry is written only when the build does not need what it leaves out: dependency dirs
  (``node_modules``, ``vendor``, ``.venv``…) only when a RUN of the context's Dockerfiles
  installs that stack's dependencies; build output (``dist``, ``build``, ``target``, ``bin``…)
  only when a RUN builds it; ``.git`` only when no RUN, Makefile or script the build runs uses
  git and no setuptools-scm-style versioning reads it;
- no entry leaves out a path a COPY/ADD (not ``--from``; heredocs have no source) or a RUN bind
  mount of any Dockerfile of the context names as a source: the source itself, what a glob
  source matches, a folder above it. Secret entries (``.env*``, keys) get an exception line
  (``!path``) for it instead; other entries are dropped;
- no entry leaves out a file of the context that git tracks (no ``.gitignore`` from the
  repository top down ignores it): a tracked ``.env.production`` or ``ca.pem`` is project
  configuration (exception lines), a tracked ``build/`` or ``bin/`` is source (entry dropped).
  Without a ``.git`` folder above the context, every file present counts as tracked.
"""
from __future__ import annotations

import fnmatch
import os
import posixpath
import re
from collections import deque
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pathspec

from orchfix.documents.dockerfile import DockerfileDocument
from orchfix.text import Edit
from orchfix.transform import SideChange
from orchfix.workspace import Workspace

from . import stacks
from .contexts import build_context, dockerignore_file

#: at most this many files of a context are looked at for git-tracked files (breadth first)
WALK_LIMIT = 20000
_CACHE_ATTR = "_orchfix_dockerignore"

# --- groups and entries --------------------------------------------------------------------------

#: group key → comment line, in the order they are written
GROUPS = {
    "vcs": "version control",
    "secrets": "secrets and local settings",
    "deps": "dependencies (installed by the build)",
    "build": "build output (made by the build)",
    "caches": "caches and logs",
    "editor": "editor and OS files",
    "docker": "container build files",
}
#: groups whose entries cm-004 insists on, besides ``.git``
CRITICAL_GROUPS = ("secrets", "deps", "build")

_ENV_TEMPLATES = (".env.example", ".env.sample", ".env.template", ".env.dist")

#: where a command starts in a RUN: after a separator or a keyword, past VAR=value assignments
_AT = r"(?:^|[;&|(\n]|\b(?:then|do|else|exec|env|sudo|time|npx)\b)\s*(?:[A-Za-z_]\w*=\S*\s+)*(?:[\w./-]*/)?"
_END = r"(?=\s*(?:$|[;&|)\n]))"
_NODE_BUILD = (_AT + r"(?:(?:npm|pnpm|bun)\s+run(?:-script)?\s+[\w:.-]*build\b|yarn\s+(?:run\s+)?[\w:.-]*build\b"
               r"|(?:next|vite|ng|nuxt|nuxi|react-scripts|vue-cli-service|astro|svelte-kit|remix)\s+build\b"
               r"|(?:tsc|webpack)(?:\s|$|[;&|)]))")
_PY_BUILD = (r"\bpython[0-9.]*\s+-m\s+build\b|\bsetup\.py\s+(?:build|bdist\w*|sdist)\b|\bpip[0-9.]*\s+wheel\b"
             r"|\b(?:poetry|uv|hatch|pdm)\s+build\b")
_GRADLE_BUILD = r"\bgradlew?\b[^\n]*?\s(?::?[\w:-]*:)?(?:build|assemble\w*|jar|bootJar|shadowJar|installDist|dist\w+)\b"
_MAVEN_BUILD = r"\bmvnw?\b[^\n]*?\s(?:package|install|verify)\b"
_CARGO_BUILD = r"\bcargo\s+(?:build|install)\b"
_GO_BIN = r"\bgo\s+build\b[^\n]*?\s-o\s+(?:\./)?bin(?:/|\s|$)"

#: a RUN installing the stack's dependencies (stricter than stacks.py's detection regexes: a
#: dependency folder is left out only when the build really installs it again)
_INSTALLS = {
    "node": re.compile(_AT + r"(?:npm\s+(?:ci|install|i)\b|pnpm\s+(?:i|install)\b|bun\s+install\b"
                       r"|yarn(?:\s+install\b|\s+--(?!version)|" + _END + r"))", re.M),
    "python": re.compile(_AT + r"(?:(?:python[0-9.]*\s+-m\s+)?pip[0-9.]*\s+install\b|uv\s+(?:pip\s+install|sync)\b"
                         r"|(?:poetry|pipenv|pdm)\s+(?:install|sync)\b)", re.M),
    "go": re.compile(r"\bgo\s+mod\s+(?:download|vendor)\b"),
    "php": re.compile(_AT + r"composer(?:\.phar)?\s+install\b", re.M),
    "ruby": re.compile(_AT + r"bundle(?:\s+install\b|\s+--|" + _END + r")", re.M),
}


@dataclass(frozen=True)
class Rule:
    """How one knowledge entry (a name from stacks.py) is written and when."""

    group: str
    pattern: str
    #: exceptions written right after it (only those an existing file does not leave out already)
    exceptions: tuple[str, ...] = ()
    #: a regex a RUN of the context must match for a build-output entry
    built_by: str | None = None


#: stacks.py names → how they are written; a name stacks.py gains later defaults to a dependency dir
RULES: dict[str, Rule] = {
    # common
    ".git": Rule("vcs", ".git"),
    ".gitignore": Rule("vcs", ".gitignore"),
    ".env": Rule("secrets", "**/.env"),
    ".env.*": Rule("secrets", "**/.env.*", tuple(f"!**/{t}" for t in _ENV_TEMPLATES)),
    "*.pem": Rule("secrets", "**/*.pem"),
    "*.key": Rule("secrets", "**/*.key"),
    "id_rsa*": Rule("secrets", "**/id_rsa*"),
    ".DS_Store": Rule("editor", "**/.DS_Store"),
    ".idea": Rule("editor", ".idea"),
    ".vscode": Rule("editor", ".vscode"),
    "*.log": Rule("caches", "**/*.log"),
    "Dockerfile*": Rule("docker", "Dockerfile*"),
    "*.Dockerfile": Rule("docker", "*.Dockerfile"),
    ".dockerignore": Rule("docker", ".dockerignore"),
    "docker-compose*.yml": Rule("docker", "docker-compose*"),
    "compose*.yaml": Rule("docker", "compose*.y*ml"),
    # node
    "node_modules": Rule("deps", "**/node_modules"),
    ".yarn/cache": Rule("deps", ".yarn/cache"),
    "npm-debug.log*": Rule("caches", "**/npm-debug.log*"),
    "yarn-error.log": Rule("caches", "**/yarn-error.log"),
    ".npm": Rule("caches", ".npm"),
    "coverage": Rule("caches", "coverage"),
    ".next": Rule("build", ".next", built_by=_NODE_BUILD),
    "dist": Rule("build", "dist", built_by=f"{_NODE_BUILD}|{_PY_BUILD}"),
    "build": Rule("build", "build", built_by=f"{_NODE_BUILD}|{_GRADLE_BUILD}|{_PY_BUILD}"),
    # python
    "__pycache__": Rule("caches", "**/__pycache__"),
    "*.pyc": Rule("caches", "**/*.py[cod]"),
    ".venv": Rule("deps", ".venv"),
    "venv": Rule("deps", "venv"),
    ".pytest_cache": Rule("caches", "**/.pytest_cache"),
    ".mypy_cache": Rule("caches", "**/.mypy_cache"),
    ".tox": Rule("caches", ".tox"),
    "*.egg-info": Rule("caches", "**/*.egg-info"),
    # go, php, ruby, java, rust
    "bin": Rule("build", "bin", built_by=_GO_BIN),
    "vendor": Rule("deps", "vendor"),
    ".bundle": Rule("deps", ".bundle"),
    "vendor/bundle": Rule("deps", "vendor/bundle"),
    "log": Rule("caches", "log/*", ("!log/.keep",)),
    "tmp": Rule("caches", "tmp/*", ("!tmp/.keep",)),
    "target": Rule("build", "target", built_by=f"{_MAVEN_BUILD}|{_CARGO_BUILD}"),
    ".gradle": Rule("caches", ".gradle"),
}

#: secret entries whose files dependency folders ship (certifi's cacert.pem, grpc's roots.pem)
_PACKAGED = ("**/*.pem", "**/*.key")

# git used by the build: a RUN, a Makefile or script it runs, or a versioning plugin reading .git
_GIT_USE = re.compile(
    r"(?<![\w.-])git\s+(?:-C\s+\S+\s+)?(?:describe|rev-parse|log|show|status|diff|rev-list|ls-files|tag|branch"
    r"|submodule|symbolic-ref|name-rev|cat-file|stash|checkout|reset|fetch|pull|for-each-ref|shortlog"
    r"|worktree|remote|update-index|archive(?!\s+--remote))\b")
_SCM_VERSION = re.compile(r"setuptools[_-]scm|hatch-vcs|versioningit|dunamai|poetry-dynamic-versioning|setuptools-git-versioning|\bpbr\b")
_MAKE = re.compile(r"(?<![\w.-])make\b")
_SCRIPT = re.compile(r"(?<![\w$])(?:\./)?((?:[\w.-]+/)*[\w.-]+\.(?:sh|bash|py|mk))\b")


# --- .dockerignore matching (pathspec) -----------------------------------------------------------

def _git_line(line: str) -> str | None:
    """A .dockerignore line as a gitignore pattern anchored at the root (None: no rule)."""
    if line.startswith("#"):
        return None
    text = line.strip()
    negate = text.startswith("!")
    if negate:
        text = text[1:].strip()
    if not text:
        return None
    text = posixpath.normpath(text).lstrip("/")  # BuildKit: filepath.Clean, then a leading / dropped
    if not text or text == ".":
        return None
    return ("!" if negate else "") + "/" + text


@lru_cache(maxsize=2048)
def _spec(lines: tuple[str, ...]) -> pathspec.PathSpec:
    return pathspec.GitIgnoreSpec.from_lines([g for g in map(_git_line, lines) if g])


def excluded(lines: tuple[str, ...] | list[str], path: str) -> bool:
    """Whether .dockerignore ``lines`` leave context-relative ``path`` out of the build context."""
    return bool(path) and _spec(tuple(lines)).check_file(path).include is True


def _sample(pattern: str) -> str:
    """A path the pattern matches at the top of the context: ``**/*.pem`` → ``x.pem``."""
    text = pattern.lstrip("!").strip().lstrip("/")
    while text.startswith("**/"):
        text = text[3:]
    text = re.sub(r"\[!?\^?(.)[^\]]*\]", r"\1", text)
    text = re.sub(r"\*+|\?", "x", text)
    text = re.sub(r"\\(.)", r"\1", text)
    return posixpath.normpath(text).lstrip("/") if text else ""


def covered(lines: tuple[str, ...] | list[str], pattern: str) -> bool:
    """Whether ``lines`` already leave out what ``pattern`` is about (its sample path)."""
    return excluded(lines, _sample(pattern))


def _escape(path: str) -> str:
    return re.sub(r"([*?\[\\])", r"\\\1", path)


# --- what the Dockerfiles take from the context --------------------------------------------------

_VAR = re.compile(r"\$(?:\{[^}]*\}|[A-Za-z_][A-Za-z0-9_]*)")
_REMOTE = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|git@)", re.I)
_GLOB = re.compile(r"[*?\[]")


@dataclass(frozen=True)
class Source:
    """A context path a build names: ``path`` in .dockerignore syntax (variables as ``*``)."""

    path: str
    literal: bool
    dockerfile: str
    line: int
    keyword: str

    def where(self) -> str:
        return f"{self.keyword} {self.path} ({posixpath.basename(self.dockerfile) or self.dockerfile}:{self.line})"


def _context_path(raw: str) -> tuple[str, bool] | None:
    """A source as a context path and whether it is literal; None when it is outside the context."""
    text = _VAR.sub("*", raw)
    literal = text == raw and not _GLOB.search(text)
    text = posixpath.normpath(text.lstrip("/") or ".")
    if text == ".." or text.startswith("../"):
        return None
    return text, literal


def whole_context_copies(doc: DockerfileDocument) -> list:
    """COPY/ADD instructions (not ``--from``) that copy the whole context: source ``.``/``./``/``*``."""
    found = []
    for ins, word in _copy_words(doc):
        path = _context_path(word)
        if path is not None and (path[0] == "." or (word.strip() in ("*", "./*"))):
            if not any(f is ins for f in found):
                found.append(ins)
    return found


def _copy_words(doc: DockerfileDocument):
    """(instruction, source word) of every COPY/ADD that reads the build context."""
    for ins in doc.instructions:
        # ONBUILD triggers run in a child build, with that build's context
        if ins.keyword not in ("COPY", "ADD"):
            continue
        # --from copies out of another stage or image, not the context
        if ins.flags.get("from"):
            continue
        words = ins.exec_form if ins.exec_form is not None else ins.args.split()
        for word in (words or [])[:-1]:
            word = word if ins.exec_form is not None else word.strip("'\"")
            # a heredoc is inline content; ADD of a URL or git repository is fetched
            if word.startswith("<<") or (ins.keyword == "ADD" and _REMOTE.match(word)):
                continue
            yield ins, word


def _mounts(value: str) -> list[dict[str, str]]:
    """The ``--mount=`` options of a RUN (its leading flags)."""
    found = []
    for word in value.split():
        if not word.startswith("--"):
            break
        if word.startswith("--mount="):
            opts = {}
            for part in word[len("--mount="):].split(","):
                key, _, val = part.partition("=")
                opts[key.strip().lower()] = val.strip().strip("'\"")
            found.append(opts)
    return found


def sources(doc: DockerfileDocument) -> list[Source]:
    """The context paths a Dockerfile names (not the whole context): COPY/ADD sources, bind mounts."""
    found: list[Source] = []
    for ins, word in _copy_words(doc):
        path = _context_path(word)
        if path is None or path[0] == "." or word.strip() in ("*", "./*"):
            continue
        found.append(Source(path[0], path[1], doc.path, ins.line, ins.keyword))
    for ins in doc.instructions:
        if ins.keyword != "RUN":
            continue
        for opts in _mounts(ins.value):
            # cache, secret, ssh and tmpfs mounts, and binds from another stage, are not the context
            if opts.get("type", "bind") != "bind" or opts.get("from"):
                continue
            path = _context_path(opts.get("source") or opts.get("src") or ".")
            if path is not None and path[0] != ".":
                found.append(Source(path[0], path[1], doc.path, ins.line, "RUN --mount"))
    return found


def run_text(doc: DockerfileDocument) -> str:
    """Every RUN command of the Dockerfile (heredoc bodies included), one per line."""
    parts = []
    for ins in doc.instructions:
        if ins.keyword == "RUN":
            parts.append(re.sub(r"^(?:--\S+\s*)+", "", ins.value))
            parts.extend(h.body for h in ins.heredocs)
    return "\n".join(parts)


# --- the ignore file that applies, and the Dockerfiles it applies to -----------------------------

def _norm(path: str) -> str:
    path = posixpath.normpath(path) if path else "."
    return "" if path == "." else path


def join(context: str, name: str) -> str:
    return _norm(posixpath.join(context, name)) if context else name


@dataclass
class Target:
    """The .dockerignore that applies to a Dockerfile, and all the Dockerfiles it applies to."""

    context: str
    path: str
    exists: bool
    #: the Dockerfile's own ``<name>.dockerignore`` (applies to it alone)
    own: bool
    dockerfiles: list[DockerfileDocument]


def _cache(workspace: Workspace) -> dict:
    cache = getattr(workspace, _CACHE_ATTR, None)
    if cache is None:
        cache = {}
        setattr(workspace, _CACHE_ATTR, cache)
    return cache


def _sorted_contexts(workspace: Workspace) -> list[tuple[str, str]]:
    """(Dockerfile path, build context) for every Dockerfile of the workspace, in path order:
    computed once for a set of Dockerfiles."""
    cache = _cache(workspace)
    known = cache.get("files")
    if known is None or known[0] is not workspace.files or known[1] != len(workspace.files):
        paths = tuple(sorted(e.path for e in workspace.of_kind("dockerfile")))
        if cache.get("contexts", (None,))[0] != paths:
            cache["contexts"] = (paths, sorted({p: _norm(build_context(workspace, p)) for p in paths}.items()))
        cache["files"] = (workspace.files, len(workspace.files))
    return cache["contexts"][1]


def target(workspace: Workspace, doc: DockerfileDocument) -> Target:
    context = _norm(build_context(workspace, doc.path))
    path = dockerignore_file(workspace, context, doc.path)
    own = _norm(path) != join(context, ".dockerignore")
    docs = [doc]
    if not own:
        for other, ctx in _sorted_contexts(workspace):
            # another Dockerfile of the context without its own ignore file reads the same one
            if other == doc.path or ctx != context or workspace.exists(other + ".dockerignore"):
                continue
            parsed = workspace.document(other)
            if isinstance(parsed, DockerfileDocument):
                docs.append(parsed)
    return Target(context, path, workspace.exists(path), own, docs)


def outside(context: str) -> bool:
    """Whether the context lies above the current folder (``..``): not orchfix's to write into."""
    return context == ".." or context.startswith("../")


def writable(workspace: Workspace, tgt: Target) -> bool:
    """Whether orchfix may write the target's ignore file: its context is a folder of the tree
    being fixed (not above it, and there on disk)."""
    return not outside(tgt.context) and workspace.is_dir(tgt.context)


def new_file(tgt: Target, result: Plan) -> SideChange:
    """The side change creating the target's ignore file with the plan's entries."""
    return SideChange(tgt.path, [Edit.insert(0, render_new(result))])


def ancestor_ignore(context: str) -> str | None:
    """A .dockerignore in a folder above the context (a monorepo sign), looking no higher than the
    repository top, or the current folder when there is no repository."""
    folder = Path(context or ".").absolute()
    cwd = Path.cwd()
    top = next((p for p in (folder, *folder.parents) if (p / ".git").exists()), None)
    if top is None and (folder == cwd or cwd in folder.parents):
        top = cwd
    if top is None or top == folder:
        return None
    for parent in folder.parents:
        if (parent / ".dockerignore").is_file():
            return _display(parent / ".dockerignore")
        if parent == top:
            break
    return None


def _display(path: Path) -> str:
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return path.as_posix()


# --- what the context holds ----------------------------------------------------------------------

@dataclass
class _Files:
    """Files of a context that git tracks (breadth first, up to WALK_LIMIT), context-relative."""

    tracked: list[str] = field(default_factory=list)
    complete: bool = True


def _gitignore(folder: Path):
    file = folder / ".gitignore"
    if not file.is_file():
        return None
    try:
        lines = file.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    return folder, pathspec.GitIgnoreSpec.from_lines(lines)


def _git_ignored(path: Path, is_dir: bool, ignores: list) -> bool:
    for base, spec in reversed(ignores):  # the deepest .gitignore decides first
        try:
            rel = path.relative_to(base).as_posix()
        except ValueError:
            continue
        verdict = spec.check_file(rel + "/" if is_dir else rel).include
        if verdict is not None:
            return verdict
    return False


#: folders never walked into for tracked files: one marker file stands for them
_HEAVY = {"node_modules", ".venv", "venv", "__pycache__", ".tox", ".gradle"}


def _tracked(workspace: Workspace, context: str) -> _Files:
    cache = _cache(workspace).setdefault("tracked", {})
    if context in cache:
        return cache[context]
    root = Path(context or ".").absolute()
    top = next((p for p in (root, *root.parents) if (p / ".git").exists()), root)
    chain = [p for p in reversed((root, *root.parents)) if p == top or top in p.parents]
    ignores = [g for g in map(_gitignore, chain) if g]
    files = _Files()
    queue = deque([(root, ignores)])
    seen = 0
    while queue:
        folder, ign = queue.popleft()
        if folder != root:
            own = _gitignore(folder)
            ign = ign + [own] if own else ign
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            if entry.is_symlink() or entry.name == ".git":
                continue
            path = Path(entry.path)
            is_dir = entry.is_dir(follow_symlinks=False)
            if _git_ignored(path, is_dir, ign):
                continue
            rel = path.relative_to(root).as_posix()
            seen += 1
            if seen > WALK_LIMIT:
                files.complete = False
                cache[context] = files
                return files
            if is_dir and entry.name in _HEAVY:
                files.tracked.append(rel + "/_")
            elif is_dir:
                queue.append((path, ign))
            else:
                files.tracked.append(rel)
    cache[context] = files
    return files


def _files_under(workspace: Workspace, context: str, folder: str, name: str, limit: int = 5000) -> list[str]:
    """Context-relative files under ``folder`` (git-ignored ones too) whose names match ``name``."""
    listed = _cache(workspace).setdefault("under", {})
    if (context, folder) not in listed:
        root = Path(context or ".").absolute()
        found: list[str] = []
        for dirpath, dirnames, filenames in os.walk(root / folder) if (root / folder).is_dir() else ():
            dirnames[:] = sorted(d for d in dirnames if d != ".git" and d not in _HEAVY)
            found += [(Path(dirpath) / f).relative_to(root).as_posix() for f in sorted(filenames)]
            if len(found) > limit:
                break
        listed[(context, folder)] = found
    return [p for p in listed[(context, folder)] if fnmatch.fnmatchcase(posixpath.basename(p), name)]


# --- the plan --------------------------------------------------------------------------------------

@dataclass
class Plan:
    """Lines to write by group; entries left out for build-context safety and entries the build's
    commands rule out (each with why)."""

    groups: dict[str, list[str]] = field(default_factory=dict)
    dropped: list[tuple[str, str]] = field(default_factory=list)
    ruled_out: list[tuple[str, str]] = field(default_factory=list)
    #: exception lines added for safety: (line, why)
    kept: list[tuple[str, str]] = field(default_factory=list)
    complete: bool = True

    @property
    def entries(self) -> list[str]:
        return [line for lines in self.groups.values() for line in lines if not line.startswith("!")]

    @property
    def lines(self) -> list[str]:
        return [line for lines in self.groups.values() for line in lines]

    def notes(self) -> str:
        """What the finding message says about safety: entries left out, exceptions added."""
        parts = []
        if self.dropped:
            parts.append("left in for the build: " + "; ".join(f"{p}: {why}" for p, why in self.dropped))
        if self.kept:
            parts.append("exceptions: " + "; ".join(f"{line} ({why})" for line, why in self.kept))
        if not self.complete:
            parts.append(f"the context has over {WALK_LIMIT} files, only the first were checked for tracked files")
        return f" ({'; '.join(parts)})" if parts else ""


def _read(workspace: Workspace, context: str, name: str) -> str:
    return workspace.read(join(context, name)) or ""


def _uses_git(workspace: Workspace, context: str, runs: str) -> str | None:
    """Why the build needs ``.git`` (None: it does not, as far as can be seen)."""
    match = _GIT_USE.search(runs)
    if match:
        return f"a RUN runs `{match.group().strip()}`"
    if _MAKE.search(runs):
        for name in ("Makefile", "makefile", "GNUmakefile"):
            if _GIT_USE.search(_read(workspace, context, name)):
                return f"a RUN runs make and {name} runs git"
    for script in sorted(set(_SCRIPT.findall(runs))):
        if _GIT_USE.search(_read(workspace, context, script)):
            return f"a RUN runs {script}, which runs git"
    for name in ("pyproject.toml", "setup.cfg", "setup.py"):
        if _SCM_VERSION.search(_read(workspace, context, name)):
            return f"{name} takes the version from git"
    if re.search(r"\b(?:npm|pnpm|yarn|bun)\b", runs) and _GIT_USE.search(_read(workspace, context, "package.json")):
        return "a package.json script runs git"
    return None


def _installs(stack: stacks.Stack, runs: str) -> bool:
    """Whether a RUN installs the stack's dependencies."""
    return bool(_INSTALLS.get(stack.name, stack.install).search(runs))


def critical(rule: Rule) -> bool:
    """Whether cm-004 adds the entry to an existing file: ``.git``, secrets, dependency and build dirs."""
    return rule.group in CRITICAL_GROUPS or rule.pattern == ".git"


def _candidates(workspace: Workspace, context: str, runs: str, critical_only: bool) -> tuple[list[Rule], list[tuple[str, str]]]:
    """The rules that apply to the context, in writing order, and the ones the build's needs rule out."""
    found = stacks.detect(workspace, context)
    found += [s for s in stacks.STACKS if s not in found and _installs(s, runs)]
    names: list[tuple[str, bool]] = [(n, True) for n in stacks.COMMON_IGNORE]
    for stack in found:
        names += [(n, _installs(stack, runs)) for n in stack.ignore]
    chosen: dict[str, Rule] = {}
    ruled_out: list[tuple[str, str]] = []
    git_reason = _uses_git(workspace, context, runs)
    for name, installs in names:
        rule = RULES.get(name, Rule("deps", name))
        if (critical_only and not critical(rule)) or rule.pattern in chosen:
            continue
        if rule.group == "deps" and not installs:
            ruled_out.append((rule.pattern, "no RUN installs the dependencies it holds"))
            continue
        if rule.group == "build" and not re.search(rule.built_by or r"(?!)", runs, re.M):
            ruled_out.append((rule.pattern, "no RUN builds it"))
            continue
        if name == ".git" and git_reason:
            ruled_out.append((rule.pattern, git_reason))
            continue
        chosen[rule.pattern] = rule
    # a pattern ruled out by one stack but wanted by another is wanted
    ruled_out = [(p, why) for p, why in dict(ruled_out).items() if p not in chosen]
    order = list(GROUPS)
    rules = sorted(chosen.values(), key=lambda r: order.index(r.group))
    return rules, ruled_out


def _newly(current: tuple[str, ...], lines: list[str], paths) -> list[str]:
    """The ``paths`` that ``lines`` appended to ``current`` leave out and ``current`` alone did not."""
    after = current + tuple(lines)
    return [p for p in paths if excluded(after, p) and not excluded(current, p)]


def plan(workspace: Workspace, tgt: Target, existing: str | None, critical_only: bool = False) -> Plan:
    """What to write into ``tgt.path`` (appended after ``existing`` text, or as a new file);
    ``critical_only``: only the entries cm-004 insists on. Computed once per input in a run."""
    key = (tgt.context, tgt.path, existing, critical_only, tuple(sorted((d.path, d.text) for d in tgt.dockerfiles)))
    plans = _cache(workspace).setdefault("plans", {})
    if key not in plans:
        plans[key] = _plan(workspace, tgt, existing, critical_only)
    return plans[key]


def _plan(workspace: Workspace, tgt: Target, existing: str | None, critical_only: bool) -> Plan:
    runs = "\n".join(run_text(d) for d in tgt.dockerfiles)
    srcs = [s for d in tgt.dockerfiles for s in sources(d)]
    rules, ruled_out = _candidates(workspace, tgt.context, runs, critical_only)
    files = _tracked(workspace, tgt.context)
    result = Plan(ruled_out=ruled_out, complete=files.complete)
    base = [] if existing is None else existing.splitlines()
    accepted: list[str] = []
    chosen = {r.pattern for r in rules}
    # dependency folders that stay in the context keep the certificates their packages ship
    kept_deps = sorted({r.pattern for r in (RULES.get(n) for s in stacks.STACKS for n in s.ignore)
                        if r and r.group == "deps" and r.pattern not in chosen
                        and Path(tgt.context or ".", r.pattern.lstrip("*/")).is_dir()})
    for rule in rules:
        current = tuple(base + accepted)
        # an existing line (or an entry written above) leaves it out already
        if covered(current, rule.pattern):
            continue
        # an exception the existing file contradicts would bring back what its author left out
        lines = [rule.pattern] + [x for x in rule.exceptions if existing is None or not excluded(current, _sample(x))]
        if rule.pattern in _PACKAGED:
            lines += [f"!{d}/**/{rule.pattern[3:]}" for d in kept_deps]
        safe = _make_safe(workspace, rule, current, lines, srcs, files, tgt.context)
        if isinstance(safe, str):
            result.dropped.append((rule.pattern, safe))
            continue
        result.kept.extend(safe[1])
        result.groups.setdefault(rule.group, []).extend(safe[0])
        accepted.extend(safe[0])
    return result


def _make_safe(workspace: Workspace, rule: Rule, current: tuple[str, ...], lines: list[str], srcs: list[Source],
               files: _Files, context: str) -> tuple[list[str], list[tuple[str, str]]] | str:
    """``lines`` plus the exception lines that keep what the build needs, with why each was
    added; or why the entry cannot be written at all."""
    secret = rule.group == "secrets"
    sample = _sample(rule.pattern)
    added: list[tuple[str, str]] = []

    def keep(line: str, why: str) -> bool:
        # an exception that brings back the entry's own sample path makes the entry pointless
        if not excluded(current + tuple(lines + [line]), sample):
            return False
        lines.append(line)
        added.append((line, why))
        return True

    # a path the build names (a folder above it is caught too; a glob by its sample path)
    for src in srcs:
        if not _newly(current, lines, [_sample(src.path)]):
            continue
        if not (secret and keep("!" + (_escape(src.path) if src.literal else src.path), f"{src.where()} names it")):
            return f"{src.where()} names it"
    # what a glob source would copy: the entry's own sample path
    for src in srcs:
        if not src.literal and _spec((src.path,)).check_file(sample).include and _newly(current, lines, [sample]):
            return f"{src.where()} copies what it matches"
    # files of the context that git tracks
    if rule.group in ("secrets", "deps", "build", "caches"):
        hits = _newly(current, lines, list(_spec((rule.pattern,)).match_files(files.tracked)))
        if hits and not secret:
            return f"{hits[0].removesuffix('/_')} is tracked by git"
        for line in _exceptions_for(rule.pattern, hits):
            if not keep(line, "tracked by git"):
                return f"{hits[0]} is tracked by git"
    # secret files inside a folder the build names
    if secret:
        name = rule.pattern.split("/")[-1]
        for src in srcs:
            if src.literal and _newly(current, lines, _files_under(workspace, context, src.path, name)):
                if not keep(f"!{_escape(src.path)}/**/{name}", f"{src.where()} names the folder holding it"):
                    return f"{src.where()} names a folder holding it"
    return lines, added


def _exceptions_for(pattern: str, hits: list[str]) -> list[str]:
    """Exception lines keeping ``hits``: each file, or ``dir/<pattern>`` for many in one folder."""
    by_dir: dict[str, list[str]] = {}
    for hit in hits:
        by_dir.setdefault(posixpath.dirname(hit), []).append(hit)
    name = pattern.split("/")[-1]
    out = []
    for folder, paths in sorted(by_dir.items()):
        if folder and len(paths) > 3:
            out.append(f"!{_escape(folder)}/{name}")
        else:
            out += ["!" + _escape(p) for p in sorted(paths)]
    return out


# --- rendering -----------------------------------------------------------------------------------

def render_new(result: Plan, newline: str = "\n") -> str:
    blocks = [newline.join([f"# {GROUPS[g]}", *lines]) for g, lines in result.groups.items() if lines]
    return (newline * 2).join(blocks) + newline if blocks else ""


def render_append(result: Plan, existing: str, newline: str) -> str:
    """The text to insert at the end of ``existing``: a final newline if it lacks one, a blank
    line unless it ends with one (or is empty), then the groups."""
    block = render_new(result, newline)
    if not block:
        return ""
    prefix = newline if existing and not existing.endswith("\n") else ""
    if existing.strip() and not (existing + prefix).endswith(("\n\n", "\r\n\r\n")):
        prefix += newline
    return prefix + block
