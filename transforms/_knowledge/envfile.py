"""Env files as Compose reads them: one reader, one writer, and the environment values of a
compose file as the container gets them. ec-001 and ec-004 write env files only through here.

Which reader reads a file decides what a line means, and they disagree:

- **Compose v2** (compose-go's ``dotenv`` parser; the documented env-file syntax) reads ``.env``,
  ``--env-file`` and ``env_file:`` files: ``#`` lines are comments; ``export`` is dropped; a key
  ends at ``=`` (or ``:``); an unquoted value runs to the end of the line, cut at `` #`` (older
  releases cut at *any* ``#``) and right-trimmed; a single-quoted value is literal (newer
  releases turn ``\\'`` into ``'``, older ones keep the backslash); a double-quoted value expands
  ``\\n``-style escapes; unquoted and double-quoted values are interpolated (``$VAR``) in some
  releases and for some files, not in others (``env_file`` vs the project ``.env``).
- **docker stack deploy** (the docker CLI's loader) reads an ``env_file`` line as ``KEY=`` and
  then the rest of the line *literally*: quotes, `` # comments`` and spaces become part of the value.

:func:`render` therefore writes only lines that every one of these readers reads back as the same
value, and refuses (returns None, :func:`unwritable` says why) anything else:

- the key is a plain name (``[A-Za-z_][A-Za-z0-9_]*``);
- the value is one printable line (tabs allowed) without NUL, CR or LF;
- **unquoted** when it has no ``#`` and no ``$``, no leading or trailing white space and does not
  start with a quote: every reader takes such a value literally;
- else **single-quoted** when it has neither ``'`` nor ``\\`` (single quotes are literal in every
  Compose release: no interpolation, no escapes) and the file is not read by ``docker stack
  deploy`` (``stack=False``), which would keep the quotes.

:func:`parse` reads a file by the current Compose rules (the documented syntax) so callers can
tell which keys a file already has and whether a value there equals the one they would write;
a value that Compose would interpolate is marked ``interpolated`` (its final value is unknown).
"""
from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

import pathspec
from yaml.nodes import ScalarNode

from orchfix.text import Edit

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_KEY_CHAR = re.compile(r"[\w.\-\[\]]")
#: white space compose-go trims around keys and values (not the line break)
_SPACE = "\t\v\f\r \x85\xa0"
_ESCAPES = {"a": "\a", "b": "\b", "c": "\\c", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "$": "$", '"': '"', "\\": "\\"}


class EnvFileError(ValueError):
    """A line Compose would refuse (a bad key, an unterminated quote)."""


@dataclass(frozen=True)
class Entry:
    """One ``KEY=value`` of an env file; ``value`` None for a bare ``KEY`` (taken from the shell)."""

    name: str
    value: str | None
    line: int
    quote: str = ""
    #: Compose would interpolate ``$`` references in it: its final value is not known here
    interpolated: bool = False


# --- reading ---------------------------------------------------------------------------------

def parse(text: str) -> list[Entry]:
    """The entries of an env file, in order (a key set twice appears twice; the last one wins)."""
    entries: list[Entry] = []
    i, n = 0, len(text)
    while True:
        # skip white space, line breaks and comment lines
        while i < n and (text[i].isspace()):
            i += 1
        if i >= n:
            return entries
        if text[i] == "#":
            nl = text.find("\n", i)
            if nl < 0:
                return entries
            i = nl
            continue
        line = text.count("\n", 0, i) + 1
        m = re.match(r"export[ \t]+", text[i:])
        if m:
            i += m.end()
        start = i
        while i < n and text[i] not in "=:\n":
            if text[i] not in _SPACE and not _KEY_CHAR.match(text[i]):
                raise EnvFileError(f"line {line}: unexpected character {text[i]!r} in a variable name")
            i += 1
        key = text[start:i].rstrip()
        if not key or any(c in _SPACE for c in key):
            raise EnvFileError(f"line {line}: a variable name cannot be empty or hold spaces")
        if i >= n or text[i] == "\n":
            entries.append(Entry(key, None, line))
            continue
        i += 1
        while i < n and text[i] in _SPACE:
            i += 1
        quote = text[i] if i < n and text[i] in "'\"" else ""
        if not quote:
            end = text.find("\n", i)
            end = n if end < 0 else end
            value = text[i:end].split(" #", 1)[0].rstrip()
            entries.append(Entry(key, value, line, "", _expands(value)))
            i = end
            continue
        chars: list[str] = []
        j, escaped = i + 1, False
        while j < n:
            c = text[j]
            if escaped:
                escaped = False
                chars.append(c if c == quote else "\\" + c)
            elif c == "\\":
                escaped = True
            elif c == quote:
                break
            else:
                chars.append(c)
            j += 1
        else:
            raise EnvFileError(f"line {line}: unterminated quoted value")
        value = "".join(chars)
        if quote == '"':
            value = re.sub(r"\\([abcfnrtv$\"\\])", lambda m: _ESCAPES[m.group(1)], value)
        entries.append(Entry(key, value, line, quote, quote == '"' and _expands(value)))
        i = j + 1


def _expands(value: str) -> bool:
    return "$" in value


def values(text: str) -> dict[str, Entry]:
    """The final entry of every key (Compose keeps the last one)."""
    return {e.name: e for e in parse(text)}


def read(text: str | None) -> dict[str, Entry] | None:
    """:func:`values` of a file's text: {} when it does not exist, None when Compose would refuse it."""
    if text is None:
        return {}
    try:
        return values(text)
    except EnvFileError:
        return None


# --- writing ---------------------------------------------------------------------------------

def unwritable(name: str, value: str, stack: bool = False) -> str | None:
    """Why ``name=value`` cannot be written so every reader gets it back identical (None: it can)."""
    if not NAME.match(name):
        return f"{name} is not a plain variable name"
    if any(c in value for c in "\0\r\n") or not value.replace("\t", " ").isprintable():
        return f"the value of {name} spans lines or holds control characters"
    if _plain(value):
        return None
    if stack:
        return (f"the value of {name} needs quotes in an env file (it holds '#', '$', a leading quote or "
                "surrounding spaces), and docker stack deploy keeps quotes as part of the value")
    if "'" in value or "\\" in value:
        return (f"the value of {name} needs quotes in an env file and holds a quote or a backslash, "
                "which Compose releases unescape differently")
    return None


def _plain(value: str) -> bool:
    """Every reader takes it literally: no comment or interpolation character, no quote to strip,
    no white space to trim (Python's strip() trims a superset of what Go's unicode.IsSpace does)."""
    return not ("#" in value or "$" in value or value[:1] in ("'", '"') or value != value.strip())


def render(name: str, value: str, stack: bool = False) -> str | None:
    """The line (without a line break) that sets ``name`` to ``value``; None when :func:`unwritable`."""
    if unwritable(name, value, stack):
        return None
    return f"{name}={value}" if _plain(value) else f"{name}='{value}'"


def same(entry: Entry, value: str) -> bool:
    """Whether an existing entry already gives ``value`` (an interpolated one never counts)."""
    return entry.value == value and not entry.interpolated


def append(existing: str | None, lines: list[str], newline: str = "\n") -> Edit:
    """The edit that adds ``lines`` at the end of an env file (created when ``existing`` is None),
    in the file's own line endings."""
    text = existing or ""
    if existing:
        newline = "\r\n" if "\r\n" in text else "\n"
    body = "".join(line + newline for line in lines)
    if text and not text.endswith("\n"):
        body = newline + body
    return Edit.insert(len(text), body)


# --- compose environment values --------------------------------------------------------------

#: YAML 1.2 core-schema plain scalars that are not strings (compose-go reads YAML 1.2)
_YAML12_SPECIAL = re.compile(
    r"(?:null|Null|NULL|~|true|True|TRUE|false|False|FALSE|[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+"
    r"|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))\Z")
#: integers every YAML reader spells back the same (no sign on 0, no leading zeros, int64-sized)
_INT = re.compile(r"(?:0|-?[1-9][0-9]{0,17})\Z")
MODE_SWITCHES = frozenset({
    "NODE_ENV", "RAILS_ENV", "RACK_ENV", "APP_ENV", "FLASK_ENV", "FLASK_DEBUG", "DJANGO_SETTINGS_MODULE",
    "DJANGO_DEBUG", "ASPNETCORE_ENVIRONMENT", "DOTNET_ENVIRONMENT", "SPRING_PROFILES_ACTIVE", "MIX_ENV",
    "GO_ENV", "APP_DEBUG", "DEBUG", "ENV", "ENVIRONMENT", "STAGE", "PROFILE", "SYMFONY_ENV", "CAKE_ENV",
})


def is_mode_switch(name: str) -> bool:
    """A variable that selects the app's mode (NODE_ENV, RAILS_ENV…): it stays in the compose file,
    where a reader sees which mode the service runs in."""
    upper = name.upper()
    return upper in MODE_SWITCHES or upper.endswith(("_ENV", "_ENVIRONMENT"))


def container_value(var) -> tuple[str | None, str | None]:
    """(the value the container gets for a compose ``environment`` entry, None) when it is a
    literal; (None, why not) when it is not (taken from the shell, interpolated, a YAML value
    whose string form differs between YAML readers). ``var`` is a compose.EnvVar."""
    node = var.node
    if var.value is None:
        return None, f"{var.name} takes its value from the shell"
    if not isinstance(node, ScalarNode):
        return None, f"{var.name} is not a plain value"
    text = var.value
    if not var.listed and not node.style:  # plain: None from PyYAML, "" from libyaml
        # a plain map value: compose-go reads YAML 1.2 and turns numbers and booleans into text
        tag = node.tag.rsplit(":", 1)[-1]
        if not (_INT.match(text) or text in ("true", "false") or (tag == "str" and not _YAML12_SPECIAL.match(text))):
            return None, f"{var.name}: {text} is read as a number or boolean, whose text YAML readers spell differently"
    if "$" in text.replace("$$", ""):
        return None, f"{var.name} is interpolated when Compose loads the file"
    return text.replace("$$", "$"), None


# --- keeping env files out of git and images -------------------------------------------------

def _ignored(text: str | None, rel: str) -> bool:
    return bool(text) and pathspec.GitIgnoreSpec.from_lines(text.splitlines()).match_file(rel)


def ignore_entry(workspace, ignore_path: str, rel: str, newline: str = "\n"):
    """The side change that adds ``/rel`` to the ignore file at ``ignore_path`` (created when
    missing); None when a rule there already leaves ``rel`` out."""
    from orchfix.transform import SideChange

    text = workspace.read(ignore_path)
    if _ignored(text, rel):
        return None
    return SideChange(ignore_path, [append(text, ["/" + rel], newline)])


def git_ignored(workspace, folder: str, name: str) -> bool:
    """Whether a ``.gitignore`` in ``folder`` or a folder above it (up to the repository's top)
    already leaves ``folder/name`` out."""
    rel, current = name, folder
    while True:
        if _ignored(workspace.read(posixpath.join(current, ".gitignore")), rel):
            return True
        if workspace.is_dir(posixpath.join(current, ".git")) or current in ("", "/", "."):
            return False
        parent = posixpath.dirname(current)
        if parent == current:
            return False
        rel = posixpath.join(posixpath.basename(current), rel)
        current = parent
