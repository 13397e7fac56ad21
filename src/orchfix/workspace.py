"""The set of files a run covers, their kinds, and a view transforms read other files through.

Walks the given paths, honours ``.gitignore`` files (from the repository top down) and the
configured ``exclude`` patterns, never follows a symbolic link, and leaves out binary and
oversized files with a note. Paths are POSIX strings relative to the current directory when
under it, else absolute.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import pathspec

from orchfix import documents, kinds
from orchfix.documents import Document
from orchfix.text import Edit, apply_edits, decode

MAX_FILE_SIZE = 2 * 1024 * 1024
_HEAD = 64 * 1024
_ALWAYS_SKIPPED = {".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv", ".tox"}


@dataclass(frozen=True)
class FileEntry:
    path: str
    kind: str


@dataclass
class _Ignore:
    base: Path
    spec: pathspec.PathSpec

    def verdict(self, path: Path, is_dir: bool) -> bool | None:
        try:
            rel = path.relative_to(self.base).as_posix()
        except ValueError:
            return None
        return self.spec.check_file(rel + "/" if is_dir else rel).include


def _gitignore(folder: Path) -> _Ignore | None:
    file = folder / ".gitignore"
    if not file.is_file():
        return None
    lines = file.read_text(encoding="utf-8", errors="replace").splitlines()
    return _Ignore(folder, pathspec.GitIgnoreSpec.from_lines(lines))


def _repo_top(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return None


_CWD: tuple[str, Path] = ("", Path())


def _cwd() -> Path:
    """``Path.cwd()``, made once per current directory (a scan asks for every file)."""
    global _CWD
    cwd = os.getcwd()
    if _CWD[0] != cwd:
        _CWD = (cwd, Path(cwd))
    return _CWD[1]


def display(path: Path) -> str:
    """The path as shown to users and used as a key: relative to the cwd when under it."""
    try:
        return path.relative_to(_cwd()).as_posix()
    except ValueError:
        return path.as_posix()


class Staged(dict):
    """Staged texts by path. ``version`` is a new object after every change, so a cache that holds
    the version it was built at can tell by identity that nothing was staged since (an object the
    cache holds cannot be freed and reused, unlike an ``id()``).

    :meth:`checkpoint` and :meth:`restored` undo what a step staged (a transform that fails):
    the texts are copied on the first change after the checkpoint, not at every checkpoint."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.version = object()
        self._saved: dict | None = None
        self._watching = False

    def __reduce__(self):  # a copy in another process gets a version of its own
        return Staged, (dict(self),)

    def checkpoint(self) -> None:
        """Remember the current texts (lazily) until :meth:`release` or :meth:`restored`."""
        self._watching, self._saved = True, None

    def release(self) -> None:
        self._watching, self._saved = False, None

    def restored(self) -> "Staged":
        """The staged texts as they were at the checkpoint (this object when nothing changed)."""
        saved, changed = self._saved, self._watching and self._saved is not None
        self.release()
        return Staged(saved) if changed else self

    def _changing(self) -> None:
        if self._watching and self._saved is None:
            self._saved = dict(self)

    def __setitem__(self, key, value):
        self._changing()
        super().__setitem__(key, value)
        self.version = object()

    def __delitem__(self, key):
        self._changing()
        super().__delitem__(key)
        self.version = object()

    def __ior__(self, other):
        self._changing()
        result = super().__ior__(other)
        self.version = object()
        return result

    def update(self, *args, **kwargs):
        self._changing()
        super().update(*args, **kwargs)
        self.version = object()

    def setdefault(self, key, default=None):
        self._changing()
        result = super().setdefault(key, default)
        self.version = object()
        return result

    def pop(self, *args):
        self._changing()
        result = super().pop(*args)
        self.version = object()
        return result

    def popitem(self):
        self._changing()
        result = super().popitem()
        self.version = object()
        return result

    def clear(self):
        self._changing()
        super().clear()
        self.version = object()


@dataclass
class Workspace:
    """Files by path with their kinds, plus staged edits to files (for cross-file fixes).

    Derived data (parsed documents, tables built from many files) is cached in the instance's
    ``__dict__``, keyed by the texts it was built from: ``staged`` is always a :class:`Staged`
    (a plain dict assigned to it is copied into one), whose ``version`` says whether anything
    was staged since.
    """

    files: dict[str, FileEntry] = field(default_factory=dict)
    notes: list[tuple[str, str]] = field(default_factory=list)
    staged: dict[str, str] = field(default_factory=Staged)

    def __setattr__(self, name, value):
        if name == "staged" and not isinstance(value, Staged):
            value = Staged(value)
        object.__setattr__(self, name, value)

    @classmethod
    def scan(cls, paths: list[str], exclude: list[str] | None = None, exclude_base: Path | None = None) -> "Workspace":
        ws = cls()
        excludes = [_Ignore(exclude_base or Path.cwd(), pathspec.GitIgnoreSpec.from_lines(exclude))] if exclude else []
        for given in paths or ["."]:
            path = Path(given).absolute()
            if path.is_symlink():
                ws.notes.append((display(path), "symbolic link, not followed"))
            elif path.is_file():
                ws._add(path, _in_chart(path.parent))
            elif path.is_dir():
                ws._walk(path, excludes + _ignores_above(path), _in_chart(path))
            else:
                raise FileNotFoundError(f"{given}: no such file or directory")
        return ws

    def _walk(self, folder: Path, ignores: list[_Ignore], in_chart: bool) -> None:
        own = _gitignore(folder)
        if own:
            ignores = ignores + [own]
        in_chart = in_chart or (folder / "Chart.yaml").is_file()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            self.notes.append((display(folder), f"not readable: {exc.strerror}"))
            return
        for entry in entries:
            path = Path(entry.path)
            if entry.is_symlink():
                continue  # never followed: a link can lead out of the tree or loop
            is_dir = entry.is_dir(follow_symlinks=False)
            if (is_dir and entry.name in _ALWAYS_SKIPPED) or _ignored(path, is_dir, ignores):
                continue
            if is_dir:
                self._walk(path, ignores, in_chart)
            elif entry.is_file(follow_symlinks=False):
                self._add(path, in_chart)

    def _add(self, path: Path, in_chart: bool) -> None:
        shown = display(path)
        try:
            size = path.stat().st_size
            with open(path, "rb") as handle:
                head = handle.read(_HEAD)
        except OSError as exc:
            self.notes.append((shown, f"not readable: {exc.strerror}"))
            return
        kind = kinds.classify(PurePosixPath(shown), head, in_chart)
        if kind == kinds.OTHER:
            return
        if b"\0" in head[:8192]:
            self.notes.append((shown, "binary file, skipped"))
        elif size > MAX_FILE_SIZE:
            self.notes.append((shown, f"larger than {MAX_FILE_SIZE:,} bytes, skipped"))
        else:
            self.files[shown] = FileEntry(shown, kind)

    # the view transforms use -------------------------------------------------------------

    def of_kind(self, kind: str) -> list[FileEntry]:
        """The files of one kind (grouped once; regrouped when files are added)."""
        cached = self.__dict__.get("_by_kind")
        if cached is None or cached[0] != len(self.files):
            groups: dict[str, list[FileEntry]] = {}
            for entry in self.files.values():
                groups.setdefault(entry.kind, []).append(entry)
            cached = self.__dict__["_by_kind"] = (len(self.files), groups)
        return list(cached[1].get(kind, ()))

    def exists(self, path: str) -> bool:
        return path in self.staged or Path(path).is_file()

    @staticmethod
    def is_dir(path: str) -> bool:
        return Path(path or ".").is_dir()

    def document(self, path: str) -> Document | None:
        """``path`` parsed as its kind (staged edits included); None when missing or unparsable.

        Parsed once per text: the same document is returned while the text stays the same, so
        callers must not change it.
        """
        text = self.read(path)
        entry = self.files.get(path)
        if text is None:
            return None
        try:
            return self.parse(path, entry.kind if entry else "text", text)
        except documents.ParseError:
            return None

    def parse(self, path: str, kind: str, text: str) -> Document:
        """``documents.load(path, kind, text)``, once per path, kind and text: the same document
        (or the same :class:`~orchfix.documents.ParseError`) while they stay the same, so
        callers must not change it."""
        cache = self.__dict__.get("_documents")
        if cache is None:
            cache = self.__dict__["_documents"] = {}
        hit = cache.get((path, kind))
        if hit is None or not (hit[0] is text or hit[0] == text):
            try:
                hit = (text, documents.load(path, kind, text), None)
            except documents.ParseError as exc:
                hit = (text, None, exc)
            cache[(path, kind)] = hit
        if hit[2] is not None:
            raise hit[2].with_traceback(None)
        return hit[1]

    def inherit(self, other: "Workspace") -> None:
        """Reuse the documents ``other`` parsed (another view of the same tree: an earlier round);
        each is checked against the text this workspace reads, so only unchanged files reuse."""
        parsed = other.__dict__.get("_documents")
        if parsed:
            self.__dict__.setdefault("_documents", {}).update(parsed)

    def read(self, path: str) -> str | None:
        """The text of ``path`` as the run sees it (staged edits included), or None."""
        return self.staged[path] if path in self.staged else self.read_disk(path)

    @staticmethod
    def read_disk(path: str) -> str | None:
        """The text of ``path`` on disk, or None when it does not exist."""
        try:
            return decode(Path(path).read_bytes())[0]
        except OSError:
            return None

    def stage(self, path: str, edits: list[Edit]) -> None:
        """Apply edits to the run's view of ``path`` (creating it when missing)."""
        self.staged[path] = apply_edits(self.read(path) or "", edits)


def _ignored(path: Path, is_dir: bool, ignores: list[_Ignore]) -> bool:
    for ignore in reversed(ignores):  # the deepest .gitignore decides first
        verdict = ignore.verdict(path, is_dir)
        if verdict is not None:
            return verdict
    return False


def _ignores_above(path: Path) -> list[_Ignore]:
    """The .gitignore files between the repository top and ``path`` (exclusive)."""
    top = _repo_top(path)
    if top is None or top == path:
        return []
    chain = [p for p in reversed(path.parents) if p == top or top in p.parents]
    return [ig for ig in map(_gitignore, chain) if ig]


def _in_chart(folder: Path) -> bool:
    return any((p / "Chart.yaml").is_file() for p in (folder, *folder.parents))
