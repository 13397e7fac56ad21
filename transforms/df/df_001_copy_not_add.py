from __future__ import annotations

import re

from orchfix.text import Edit
from orchfix.transform import Safety, Transform
from orchfix.transforms._knowledge.dockerenv import keyword_like

_REMOTE = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|git@)|\.git(?:#.*)?$", re.I)
_ARCHIVE = re.compile(r"\.(?:tar|tgz|tbz2?|tb2|txz|tlz|tzst|tpz|tz|gz|bz2|xz|lz|lzma|lz4|z|zst|zstd)$", re.I)
_EXTENSION = re.compile(r"\.[A-Za-z0-9]+$")
_VARIABLE = re.compile(r"\$(?:\{[^}]*\}|[A-Za-z_][A-Za-z0-9_]*)")
_GLOB = re.compile(r"[*?[]")
# flags COPY understands the same way; any other (--checksum, --keep-git-dir, --unpack …) is ADD-only
_COPY_FLAGS = {"chown", "chmod", "link", "exclude"}


def _source_kind(source: str) -> str | None:
    """'add' when ADD is needed (URL, git, archive), a reason when it cannot be told, None when local."""
    path = source.strip("'\"")
    if path.startswith("<<"):
        return None  # a heredoc is inline content
    if _REMOTE.search(path) or _ARCHIVE.search(path):
        return "add"
    if path.startswith("$"):
        return f"`{path}` comes from a variable: ADD downloads it if it is a URL and unpacks it if it is a tar archive"
    tail = re.split(r"[*?\]}]|\$[A-Za-z_][A-Za-z0-9_]*", path)[-1]
    if (_VARIABLE.search(path) or _GLOB.search(path)) and not _EXTENSION.search(tail):
        return f"`{path}` may name a tar archive, which ADD unpacks and COPY does not"
    return None


class CopyNotAdd(Transform):
    r"""Use COPY for local files; keep ADD for what only ADD does.

    What it finds:
        ``ADD`` instructions (also ``ONBUILD ADD``) whose sources are all local files or folders:
        no URL, no git reference, no tar archive that ADD would unpack, no ADD-only flag
        (``--checksum``, ``--keep-git-dir``, ``--unpack``). A source built from a variable or a glob
        that could name an archive (``$SRC``, ``dist/*``) is reported, not rewritten.

    Why it matters:
        ADD fetches URLs and unpacks local tar archives; COPY only copies. Using COPY for plain
        files says what happens, avoids surprise extraction, and is what linters (hadolint DL3020)
        and Docker's best practices ask for.

    Before:
        FROM python:3.12-slim
        WORKDIR /app
        ADD --chown=app:app requirements.txt .
        ADD https://example.com/get-pip.py /tmp/
        ADD vendor.tar.gz /opt/vendor/

    After:
        FROM python:3.12-slim
        WORKDIR /app
        COPY --chown=app:app requirements.txt .
        ADD https://example.com/get-pip.py /tmp/
        ADD vendor.tar.gz /opt/vendor/

    Options:
        None.

    Safety:
        Safe: only the keyword changes (``add`` becomes ``copy`` in the same letter case); flags,
        sources and destination stay byte for byte. Archives are told by their extension, as
        hadolint does: a tar archive saved without one (ADD detects archives by content) would no
        longer be unpacked.
    """

    id = "df-001"
    category = "df"
    title = "COPY, not ADD"
    safety = Safety.SAFE
    kinds = frozenset({"dockerfile"})
    options: dict = {}
    precheck = re.compile(r"^\s*(?:onbuild\s+)?add\s", re.I | re.M)

    def check(self, doc):
        for outer in doc.instructions:
            ins = doc.onbuild_trigger(outer) if outer.keyword == "ONBUILD" else outer
            # only ADD (directly or as an ONBUILD trigger) is about this pattern
            if ins is None or ins.keyword != "ADD":
                continue
            # an ADD-only flag means ADD is meant
            if set(ins.flags) - _COPY_FLAGS:
                continue
            words = ins.exec_form if ins.exec_form is not None else ins.args.split()
            # fewer than source + destination does not build; nothing to say
            if len(words) < 2:
                continue
            kinds = [_source_kind(source) for source in words[:-1]]
            # a URL, git ref or archive among the sources: ADD does work COPY cannot
            if "add" in kinds:
                continue
            reasons = [k for k in kinds if k]
            if reasons:
                yield self.finding(doc, ins.line, "ADD may copy only local files; COPY would do",
                                   reason="; ".join(reasons) + ". Use COPY if it is always a local file.")
                continue
            copy = keyword_like("COPY", ins.raw_keyword)
            yield self.finding(doc, ins.line, f"use {copy} instead of {ins.raw_keyword} for local files",
                               [Edit(ins.keyword_start, ins.keyword_end, copy)])
