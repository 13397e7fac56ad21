"""Env files: the reader against the documented Compose syntax, the writer against every reader
(Compose's current and older dotenv parsers, the docker CLI's literal reader behind docker stack
deploy), and compose environment values as the container gets them."""
from __future__ import annotations

import re

import pytest

from orchfix import documents
from orchfix.transforms._knowledge import compose, envfile
from tests.transforms.stack_oracle import needs_docker_stack, stack_config


# --- reading: the documented syntax (docs.docker.com "Syntax for environment files") -----------

@pytest.mark.parametrize("line, value", [
    ("VAR=VAL", "VAL"),
    ('VAR="VAL"', "VAL"),
    ("VAR='VAL'", "VAL"),
    ("VAR=VAL # comment", "VAL"),
    ("VAR=VAL# not a comment", "VAL# not a comment"),
    ('VAR="VAL # not a comment"', "VAL # not a comment"),
    ('VAR="VAL" # comment', "VAL"),
    ("VAR='$OTHER'", "$OTHER"),
    ("VAR='${OTHER}'", "${OTHER}"),
    ("VAR='Let\\'s go!'", "Let's go!"),
    ('VAR="{\\"hello\\": \\"json\\"}"', '{"hello": "json"}'),
    ('VAR="some\\tvalue"', "some\tvalue"),
    ("VAR='some\\tvalue'", "some\\tvalue"),
    ("VAR=some\\tvalue", "some\\tvalue"),
    ("export VAR=VAL", "VAL"),
    ("VAR=  VAL  ", "VAL"),
    ("VAR=", ""),
    ("VAR: VAL", "VAL"),
])
def test_reads_the_documented_syntax(line, value):
    [entry] = envfile.parse(line + "\n")
    assert (entry.name, entry.value) == ("VAR", value)


def test_reads_comments_blank_lines_bare_names_and_crlf():
    entries = envfile.parse("# head\r\n\r\nA=1\r\nB\r\n  # indented comment\r\nC='x y'\r\nA=2")
    assert [(e.name, e.value, e.line) for e in entries] == [("A", "1", 3), ("B", None, 4), ("C", "x y", 6), ("A", "2", 7)]
    assert envfile.values("A=1\nA=2\n")["A"].value == "2"


def test_multi_line_quoted_values():
    assert envfile.values('A="one\ntwo"\nB=3\n')["A"].value == "one\ntwo"
    assert envfile.values("A='one\ntwo'\n")["A"].value == "one\ntwo"


def test_interpolated_values_are_marked():
    found = envfile.values("A=$HOME/x\nB=\"${X:-y}\"\nC='$lit'\nD=plain\n")
    assert [found[k].interpolated for k in "ABCD"] == [True, True, False, False]


@pytest.mark.parametrize("text", ["A B=1\n", "A=\"open\n", "A*=1\n"])
def test_refuses_what_compose_refuses(text):
    with pytest.raises(envfile.EnvFileError):
        envfile.parse(text)
    assert envfile.read(text) is None
    assert envfile.read(None) == {}


# --- writing: read back identical by every reader ----------------------------------------------

def compose_old(line: str) -> str:
    """compose-go's parser before v2 (Compose 2.0-2.17): an unquoted value is cut at any ``#``;
    a single-quoted one keeps backslashes (and stops at the first unescaped quote)."""
    value = line.split("=", 1)[1].lstrip(" \t")
    if value[:1] in ("'", '"'):
        q = value[0]
        end = next(i for i in range(1, len(value)) if value[i] == q and value[i - 1] != "\\")
        inner = value[1:end].strip(q)
        return inner
    return value.split("#", 1)[0].rstrip()


def docker_cli(line: str) -> str:
    """The docker CLI's env-file reader (docker run --env-file, docker stack deploy): the rest of
    the line after the first ``=``, literally."""
    return line.split("=", 1)[1]


VALUES = [
    "plain", "", "with space inside", "a=b=c", "http://x.example/?a=1&b=2", "C:\\path\\to", "it's", 'say "hi"',
    "tab\tinside", "caf\u00e9", "# leading hash", "a #b", "a#b", "$HOME", "p$$w", "${X}", " lead", "trail ",
    "'quoted'", '"dq"', "both ' and #", "back\\slash #", "x" * 300, "json {\"a\": 1}", "*", "-", "=",
]


@pytest.mark.parametrize("value", VALUES)
@pytest.mark.parametrize("stack", [False, True])
def test_writer_round_trips_through_every_reader(value, stack):
    line = envfile.render("NAME", value, stack=stack)
    why = envfile.unwritable("NAME", value, stack=stack)
    assert (line is None) == (why is not None)
    if line is None:
        return
    [entry] = envfile.parse(line + "\n")
    assert entry.value == value and not entry.interpolated, line
    assert compose_old(line) == value, line
    if stack or line == f"NAME={value}":
        assert docker_cli(line) == value, line


def test_writer_quotes_only_when_needed_and_never_for_stacks():
    assert envfile.render("A", "x y") == "A=x y"
    assert envfile.render("A", "p$w") == "A='p$w'"
    assert envfile.render("A", "a #b") == "A='a #b'"
    assert envfile.render("A", "p$w", stack=True) is None
    assert "docker stack deploy keeps quotes" in envfile.unwritable("A", "p$w", stack=True)
    assert envfile.render("A", "it's #1") is None
    assert envfile.render("A", "two\nlines") is None
    assert envfile.render("not-a-name", "x") is None
    assert envfile.render("A.B", "x") is None


def test_append_keeps_the_file_and_its_line_endings():
    assert envfile.append(None, ["A=1"]).new == "A=1\n"
    assert envfile.append("X=1", ["A=1"]).new == "\nA=1\n"
    assert envfile.append("X=1\r\n", ["A=1", "B=2"], "\n").new == "A=1\r\nB=2\r\n"
    assert envfile.append(None, ["A=1"], "\r\n").new == "A=1\r\n"


@needs_docker_stack
def test_docker_stack_reads_stack_lines_back(tmp_path):
    values = [v for v in VALUES if envfile.render("V", v, stack=True)]
    names = [f"V{i}" for i in range(len(values))]
    (tmp_path / "app.env").write_text("".join(envfile.render(n, v, stack=True) + "\n" for n, v in zip(names, values)))
    (tmp_path / "docker-stack.yml").write_text("services:\n  app:\n    image: alpine\n    env_file: app.env\n")
    loaded = stack_config(tmp_path)["services"]["app"]["environment"]
    assert loaded == dict(zip(names, values))


# --- compose environment values ------------------------------------------------------------------

ENV = """services:
  app:
    image: alpine
    environment:
      S: plain
      Q: "quoted # x"
      I: 3000
      Z: 0
      B: true
      N: -12
      D: "p$$w"
      F: 1.10
      O: 0755
      H: 0o17
      U: 1_000
      Y: yes
      T: True
      V: ${VAR}
      L: "$$HOME"
      E:
      X: ~
      M: '07'
"""


def container_values(text: str) -> dict[str, tuple]:
    model = compose.load(documents.load("compose.yaml", "compose", text))
    return {v.name: envfile.container_value(v) for v in model.services["app"].environment()}


def test_container_values_are_literals_or_explained():
    got = {k: v for k, (v, _) in container_values(ENV).items()}
    assert got == {"S": "plain", "Q": "quoted # x", "I": "3000", "Z": "0", "B": "true", "N": "-12", "D": "p$w",
                   "F": None, "O": None, "H": None, "U": None, "Y": None, "T": None, "V": None, "L": "$HOME",
                   "E": None, "X": None, "M": "07"}
    reasons = {k: why for k, (v, why) in container_values(ENV).items() if v is None}
    assert "shell" in reasons["E"] and "interpolated" in reasons["V"] and "number or boolean" in reasons["F"]


def test_list_entries_are_strings():
    text = "services:\n  app:\n    image: alpine\n    environment:\n      - A=1.10\n      - B=yes\n      - C\n      - D=$${X}\n"
    got = {k: v for k, (v, _) in container_values(text).items()}
    assert got == {"A": "1.10", "B": "yes", "C": None, "D": "${X}"}


@needs_docker_stack
def test_container_values_match_docker_stack(tmp_path):
    # docker's loader refuses booleans in an environment (Compose turns them into "true"/"false")
    text = ENV.replace("      T: True\n", "").replace("      B: true\n", "")
    (tmp_path / "docker-stack.yml").write_text(text)
    loaded = stack_config(tmp_path)["services"]["app"]["environment"]
    for name, (value, _) in container_values(text).items():
        if value is not None:
            assert loaded[name] == value, name


@pytest.mark.parametrize("name, switch", [
    ("NODE_ENV", True), ("RAILS_ENV", True), ("APP_ENV", True), ("FLASK_ENV", True), ("MY_SERVICE_ENV", True),
    ("ASPNETCORE_ENVIRONMENT", True), ("DEBUG", True), ("DB_HOST", False), ("ENVOY_PORT", False),
])
def test_mode_switches(name, switch):
    assert envfile.is_mode_switch(name) is switch


def test_ignore_entry_and_git_ignored(tmp_path, monkeypatch):
    from orchfix.workspace import Workspace

    (tmp_path / "sub").mkdir()
    (tmp_path / ".git").mkdir()
    (tmp_path / ".gitignore").write_text("*.secret.env\n")
    monkeypatch.chdir(tmp_path)
    ws = Workspace.scan(["."])
    assert envfile.git_ignored(ws, "sub", "db.secret.env")
    assert not envfile.git_ignored(ws, "sub", "db.env")
    change = envfile.ignore_entry(ws, "sub/.gitignore", "db.env")
    assert change.path == "sub/.gitignore" and change.edits[0].new == "/db.env\n"
    assert envfile.ignore_entry(ws, ".gitignore", "x.secret.env") is None
    assert re.fullmatch(r"/db\.env\n", change.edits[0].new)
