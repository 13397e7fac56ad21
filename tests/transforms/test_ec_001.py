"""ec-001: literal environment entries of a Compose service move to an env file."""
from __future__ import annotations

from collections import Counter

from orchfix import documents
from orchfix.text import decode
from orchfix.workspace import Workspace
from tests.corpus import files, needs_corpus
from tests.helpers import compose_errors, run
from tests.transforms.compose_env import apply, environment, same_environment
from tests.transforms.crossfile import tree
from tests.transforms.stack_oracle import needs_docker_stack, stack_config
from tests.transforms.yaml_corpus import check_corpus, corpus_workspace

ID = "ec-001"
PW = "Zq8-unusual-Pw"  # a value no other part of the files holds


def reason(out) -> str:
    [finding] = [f for f in out.remaining if f.fix is None]
    assert finding.reason
    return finding.reason


def test_many_entries_move_with_their_comments_mode_switch_stays(tmp_path, monkeypatch):
    before = f"""services:
  web:
    image: node:22-bookworm-slim
    environment:
      NODE_ENV: production   # the mode
      # where the database lives
      DB_HOST: db
      DB_USER: app
      DB_PASSWORD: {PW}  # rotated
      SMTP_HOST: mail
    ports:
      - "3000:3000"
"""
    out = apply(ID, tmp_path, monkeypatch, {"compose.yaml": before})
    assert out.text == """services:
  web:
    image: node:22-bookworm-slim
    environment:
      NODE_ENV: production   # the mode
    ports:
      - "3000:3000"
    env_file: web.env
"""
    assert out.side["web.env"] == f"# where the database lives\nDB_HOST=db\nDB_USER=app\n# rotated\nDB_PASSWORD={PW}\nSMTP_HOST=mail\n"
    assert out.side[".gitignore"] == "/web.env\n"
    assert ".dockerignore" not in out.side  # nothing builds from this folder
    same_environment(before, out, "web")
    [finding] = out.applied
    assert PW not in finding.message and "web.env.example" in finding.message


def test_list_syntax_quotes_and_interpolation(tmp_path, monkeypatch):
    before = """services:
  api:
    image: example/api
    environment:
      - "GREETING=hello # world"
      - PRICE=5$$
      - QUOTE=it's
      - FROM_SHELL
      - TOKEN_URL=${TOKEN_URL}
      - NAME=api
      - LEVEL=info
"""
    out = apply(ID, tmp_path, monkeypatch, {"compose.yaml": before})
    assert out.text == """services:
  api:
    image: example/api
    environment:
      - FROM_SHELL
      - TOKEN_URL=${TOKEN_URL}
    env_file: api.env
"""
    assert out.side["api.env"] == "GREETING='hello # world'\nPRICE='5$'\nQUOTE=it's\nNAME=api\nLEVEL=info\n"
    assert ".gitignore" not in out.side  # no secret among them
    same_environment(before, out, "api")
    assert "api.env must exist" in out.applied[0].message


def test_whole_environment_goes_when_everything_moves(tmp_path, monkeypatch):
    before = """services:
  worker:
    image: example/worker
    environment:  # settings
      QUEUE: jobs
      # concurrency
      WORKERS: 4
      TIMEOUT: "30"
      RETRIES: 3
    restart: always
"""
    out = apply(ID, tmp_path, monkeypatch, {"compose.yaml": before})
    assert out.text == "services:\n  worker:\n    image: example/worker\n    restart: always\n    env_file: worker.env\n"
    assert out.side["worker.env"] == "# settings\nQUEUE=jobs\n# concurrency\nWORKERS=4\nTIMEOUT=30\nRETRIES=3\n"
    same_environment(before, out, "worker")


def test_only_secrets_move_below_min(tmp_path, monkeypatch):
    before = f"services:\n  db:\n    image: postgres:17\n    environment:\n      POSTGRES_USER: app\n      POSTGRES_PASSWORD: {PW}\n"
    out = apply(ID, tmp_path, monkeypatch, {"compose.yaml": before})
    assert out.text == "services:\n  db:\n    image: postgres:17\n    environment:\n      POSTGRES_USER: app\n    env_file: db.env\n"
    assert out.side == {"db.env": f"POSTGRES_PASSWORD={PW}\n", ".gitignore": "/db.env\n"}


def test_near_misses_do_not_change(tmp_path, monkeypatch):
    cases = [
        # three literal entries, no secret
        "services:\n  a:\n    image: x\n    environment:\n      A: 1\n      B: 2\n      C: 3\n",
        # many entries, but mode switches, shell values and interpolation are not literals to move
        "services:\n  a:\n    image: x\n    environment:\n      NODE_ENV: production\n      RAILS_ENV: test\n"
        "      A:\n      B: ${B}\n      C: ${C:-c}\n",
        # a placeholder is no secret
        "services:\n  a:\n    image: x\n    environment:\n      PASSWORD: ${DB_PASSWORD}\n      TOKEN: changeme-example\n",
        # no environment at all
        "services:\n  a:\n    image: x\n    env_file: a.env\n",
    ]
    for text in cases:
        tree(tmp_path, {"compose.yaml": text})
        monkeypatch.chdir(tmp_path)
        out = run(ID, text, kind="compose", workspace=Workspace.scan(["."]))
        assert out.text == text and not out.side and not out.remaining, text


def test_yaml_typed_values_stay(tmp_path, monkeypatch):
    before = "services:\n  a:\n    image: x\n    environment:\n      VERSION: 1.10\n      ENABLED: yes\n      MODE: 0755\n      N: 1\n      M: 2\n      O: 3\n      P: 4\n"
    out = apply(ID, tmp_path, monkeypatch, {"compose.yaml": before})
    assert out.text == "services:\n  a:\n    image: x\n    environment:\n      VERSION: 1.10\n      ENABLED: yes\n      MODE: 0755\n    env_file: a.env\n"
    assert out.side["a.env"] == "N=1\nM=2\nO=3\nP=4\n"
    assert "VERSION (1.10 is read as a number or boolean" in out.applied[0].message


def test_existing_env_file_string_becomes_a_list(tmp_path, monkeypatch):
    before = f"services:\n  web:\n    image: x\n    env_file: common.env  # shared\n    environment:\n      API_KEY: {PW}\n"
    layout = {"compose.yaml": before, "common.env": "REGION=eu\n"}
    out = apply(ID, tmp_path, monkeypatch, layout)
    assert out.text == "services:\n  web:\n    image: x\n    env_file:\n      - common.env  # shared\n      - web.env\n"
    assert out.side["web.env"] == f"API_KEY={PW}\n"
    same_environment(before, out, "web", {"common.env": "REGION=eu\n"})


def test_existing_env_file_lists_are_appended(tmp_path, monkeypatch):
    block = f"services:\n  web:\n    image: x\n    env_file:\n    - path: ./defaults.env\n      required: false\n    environment:\n    - API_KEY={PW}\n"
    out = apply(ID, tmp_path, monkeypatch, {"compose.yaml": block})
    assert out.text == "services:\n  web:\n    image: x\n    env_file:\n    - path: ./defaults.env\n      required: false\n    - web.env\n"
    flow = f"services:\n  web:\n    image: x\n    env_file: [a.env]\n    environment: {{API_KEY: {PW}, LEVEL: info}}\n"
    out = apply(ID, tmp_path / "flow", monkeypatch, {"compose.yaml": flow})
    assert out.text == "services:\n  web:\n    image: x\n    env_file: [a.env, web.env]\n    environment: {LEVEL: info}\n"


def test_env_file_already_read_gets_the_values(tmp_path, monkeypatch):
    before = f"services:\n  web:\n    image: x\n    env_file: web.env\n    environment:\n      API_KEY: {PW}\n      LEVEL: debug\n      A: 1\n      B: 2\n"
    layout = {"compose.yaml": before, "web.env": "LEVEL=info\n"}
    out = apply(ID, tmp_path, monkeypatch, layout)
    # LEVEL is there with another value: it stays inline (where it wins), and the finding says why
    assert out.text == "services:\n  web:\n    image: x\n    env_file: web.env\n    environment:\n      LEVEL: debug\n"
    assert out.side["web.env"] == f"LEVEL=info\nAPI_KEY={PW}\nA=1\nB=2\n"
    assert "LEVEL is already set to another value in web.env" in out.applied[0].message
    same_environment(before, out, "web", {"web.env": "LEVEL=info\n"})


def test_same_value_already_in_the_file_is_only_removed(tmp_path, monkeypatch):
    before = f"services:\n  web:\n    image: x\n    env_file: [web.env]\n    environment:\n      API_KEY: {PW}\n"
    layout = {"compose.yaml": before, "web.env": f"API_KEY={PW}\n", ".gitignore": "*.env\n"}
    out = apply(ID, tmp_path, monkeypatch, layout)
    assert out.text == "services:\n  web:\n    image: x\n    env_file: [web.env]\n"
    assert out.side == {}  # the value is there, and *.env already keeps it out of git


def test_conflicts_are_reported(tmp_path, monkeypatch):
    secret = f"services:\n  web:\n    image: x\n    env_file: web.env\n    environment:\n      API_KEY: {PW}\n"
    tree(tmp_path, {"compose.yaml": secret, "web.env": "API_KEY=other\n"})
    monkeypatch.chdir(tmp_path)
    out = run(ID, secret, kind="compose", workspace=Workspace.scan(["."]))
    assert out.text == secret and "already set to another value in web.env" in reason(out)
    assert PW not in reason(out)


def test_foreign_or_shared_env_files_are_reported(tmp_path, monkeypatch):
    text = f"services:\n  web:\n    image: x\n    environment:\n      API_KEY: {PW}\n"
    tree(tmp_path / "a", {"compose.yaml": text, "web.env": "OTHER=1\n"})
    monkeypatch.chdir(tmp_path / "a")
    out = run(ID, text, kind="compose", workspace=Workspace.scan(["."]))
    assert out.text == text and "sets OTHER, which web does not" in reason(out)
    shared = f"services:\n  web:\n    image: x\n    environment:\n      API_KEY: {PW}\n  other:\n    image: y\n    env_file: web.env\n"
    tree(tmp_path / "b", {"compose.yaml": shared, "web.env": ""})
    monkeypatch.chdir(tmp_path / "b")
    out = run(ID, shared, kind="compose", workspace=Workspace.scan(["."]))
    assert out.text == shared and "also read by other" in reason(out)
    # the `file` option names another file
    out = run(ID, shared, kind="compose", workspace=Workspace.scan(["."]), options={"file": "{service}.secrets.env"})
    assert "env_file: web.secrets.env" in out.text


def test_anchors_merge_keys_and_x_fields(tmp_path, monkeypatch):
    before = f"""x-env: &env
  LEVEL: info
  REGION: eu
x-note: keep me
services:
  base: &base
    image: x
    environment:
      API_KEY: {PW}
  copy:
    <<: *base
  aliased:
    image: y
    environment: *env
  merged:
    image: z
    environment:
      <<: *env
      TOKEN: {PW}
"""
    tree(tmp_path, {"compose.yaml": before})
    monkeypatch.chdir(tmp_path)
    out = run(ID, before, kind="compose", workspace=Workspace.scan(["."]))
    assert out.text == before and not out.side
    # base is an anchor (copy merges it), merged's environment merges x-env: both reported; copy has
    # no environment of its own, aliased's two entries are not "many"
    assert [(f.line, "anchor" in f.reason) for f in out.remaining] == [(8, True), (17, True)]


def test_value_anchors_stay(tmp_path, monkeypatch):
    before = f"services:\n  a:\n    image: x\n    environment:\n      TOKEN: &tok {PW}\n      A: 1\n      B: 2\n      C: 3\n  b:\n    image: x\n    environment:\n      TOKEN: *tok\n"
    out = apply(ID, tmp_path, monkeypatch, {"compose.yaml": before})
    assert "TOKEN: &tok" in out.text and "TOKEN: *tok" in out.text
    assert out.side["a.env"] == "A=1\nB=2\nC=3\n"


def test_crlf_four_spaces_and_flush_sequences(tmp_path, monkeypatch):
    before = (f"services:\r\n    web:\r\n        image: x\r\n        environment:\r\n        - A=1\r\n        - B=2\r\n"
              f"        - C=3\r\n        - D={PW}\r\n        ports:\r\n        - 80:80\r\n")
    out = apply(ID, tmp_path, monkeypatch, {"compose.yaml": before})
    assert out.text == "services:\r\n    web:\r\n        image: x\r\n        ports:\r\n        - 80:80\r\n        env_file: web.env\r\n"
    assert out.side["web.env"] == f"A=1\r\nB=2\r\nC=3\r\nD={PW}\r\n"


def test_build_context_gets_a_dockerignore_entry(tmp_path, monkeypatch):
    before = f"services:\n  web:\n    build: .\n    environment:\n      SECRET_KEY: {PW}\n  api:\n    build:\n      context: ./api\n"
    out = apply(ID, tmp_path, monkeypatch, {"compose.yaml": before, "Dockerfile": "FROM scratch\n", ".dockerignore": ".git"})
    assert out.side[".dockerignore"] == ".git\nweb.env\n"
    out = apply(ID, tmp_path / "ignored", monkeypatch, {"compose.yaml": before, ".dockerignore": "*.env\n", ".gitignore": "web.env\n"})
    assert set(out.side) == {"web.env"}


def test_project_files_and_extends_are_reported(tmp_path, monkeypatch):
    base = f"services:\n  web:\n    image: x\n    environment:\n      API_KEY: {PW}\n"
    override = "services:\n  web:\n    environment:\n      LEVEL: debug\n"
    tree(tmp_path, {"compose.yaml": base, "compose.override.yaml": override})
    monkeypatch.chdir(tmp_path)
    out = run(ID, base, kind="compose", workspace=Workspace.scan(["."]))
    assert out.text == base and "also defined in compose.override.yaml" in reason(out)
    extended = base + "  admin:\n    extends: web\n"
    tree(tmp_path / "e", {"compose.yaml": extended})
    monkeypatch.chdir(tmp_path / "e")
    out = run(ID, extended, kind="compose", workspace=Workspace.scan(["."]))
    assert "admin extends web" in " ".join(f.reason or "" for f in out.remaining)


def test_stack_files_move_only_unquoted_values_and_leave_secrets_to_sw_002(tmp_path, monkeypatch):
    before = f"""services:
  app:
    image: example/app
    environment:
      A: plain
      B: "needs # quotes"
      C: "pa$$s"
      D: four
      E: five
  db:
    image: postgres:17
    environment:
      POSTGRES_PASSWORD: {PW}
"""
    out = apply(ID, tmp_path, monkeypatch, {"docker-stack.yml": before}, path="docker-stack.yml")
    assert out.side["app.env"] == "A=plain\nD=four\nE=five\n"
    assert "POSTGRES_PASSWORD: " + PW in out.text
    assert "swarm secret" in [f.reason for f in out.remaining if f.fix is None][0]


def test_explain_example_keeps_values(tmp_path, monkeypatch):
    from orchfix.registry import all_transforms

    cls = all_transforms()[ID]
    sections = cls.doc_sections()
    assert environment(sections["Before"], {}, "web") == environment(sections["After"], cls.example_side, "web")


# --- the corpus ------------------------------------------------------------------------------

def _env_line(line: str | None) -> bool:
    """A line the fix may change: an environment entry or its comment, the environment key, the
    env_file key or entry."""
    text = (line or "").strip()
    return (not text or text.startswith(("#", "- ", "environment:", "env_file:")) or "=" in text
            or (":" in text and not text.endswith(":")))


@needs_corpus
def test_corpus():
    counts = check_corpus(ID, "compose", line_ok=lambda old, new: _env_line(old) and _env_line(new))
    assert counts["applied"] >= 30
    # nothing lost: every service of every changed file has the environment it had
    workspace = corpus_workspace()
    lost: Counter = Counter()
    for path in files("compose"):
        text, _ = decode(path.read_bytes())
        try:
            documents.load(str(path), "compose", text)
        except documents.ParseError:
            continue
        workspace.staged = {}
        out = run(ID, text, kind="compose", path=str(path), workspace=workspace)
        if not out.changed:
            continue
        before_files = {p: workspace.read_disk(p) or "" for p in out.side}
        for finding in out.applied:
            service = finding.message.split(":", 1)[0]
            old = environment(text, before_files, service, str(path))
            new = environment(out.text, {**before_files, **out.side}, service, str(path))
            lost[service] += old != new
        assert not compose_errors(out.text) or compose_errors(text)
    workspace.staged = {}
    assert not +lost, lost


@needs_docker_stack
def test_docker_stack_reads_the_same_environment(tmp_path, monkeypatch):
    before = f"""services:
  app:
    image: example/app
    env_file: [common.env]
    environment:
      A: plain value
      B: "needs # quotes"
      C: "pa$$s"
      D: 3000
      E: it's
      F: " padded"
      G: {PW}
      H: x=y
      I: common-wins-not
"""
    layout = {"docker-stack.yml": before, "common.env": "I=from-file\nJ=only-file\n"}
    tree(tmp_path / "before", layout)
    old = stack_config(tmp_path / "before")["services"]["app"]["environment"]
    out = apply(ID, tmp_path / "after", monkeypatch, layout, path="docker-stack.yml")
    assert "A: plain value" not in out.text and 'B: "needs # quotes"' in out.text
    new = stack_config(tmp_path / "after")["services"]["app"]["environment"]
    assert new == old
