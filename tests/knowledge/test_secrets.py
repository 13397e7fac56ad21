"""The shared secret heuristics (transforms/_knowledge/secrets.py) and ENV/ARG reading (dockerenv.py)."""
from __future__ import annotations

import pytest

from orchfix import documents
from orchfix.text import apply_edits
from orchfix.transforms._knowledge import dockerenv, secrets

GH = "ghp_" + "R4nd0mT0k3nV4lu3" * 2 + "abcd"


@pytest.mark.parametrize("name", [
    "PASSWORD", "DB_PASSWORD", "db_password", "dbPassword", "MYSQL_ROOT_PASSWORD", "PASSWD", "DB_PASS", "DB_PWD",
    "LDAP_ROOTPASS", "SECRET", "CLIENT_SECRET", "SECRET_KEY_BASE", "DJANGO_SECRET_KEY", "API_TOKEN", "GITHUB_TOKEN",
    "NPM_TOKEN", "API_KEY", "APIKEY", "apiKey", "AWS_SECRET_ACCESS_KEY", "ACCESS_KEY", "PRIVATE_KEY", "LICENSE_KEY",
    "ENCRYPTION_KEY", "CREDENTIALS", "GOOGLE_CREDENTIALS", "BASIC_AUTH", "COMPOSER_AUTH", "AUTH", "PASSPHRASE",
    "DB_PASSWORD_PROD", "AUTHTOKEN",
])
def test_secret_names(name):
    assert secrets.is_secret_name(name)


@pytest.mark.parametrize("name", [
    "TOKEN_URL", "PASSWORD_FILE", "SECRET_NAME", "CREDENTIALS_PATH", "AUTH_ENDPOINT", "AUTH_ENABLED", "AUTH_TYPE",
    "PASSWORD_MIN_LENGTH", "TOKEN_EXPIRES_IN", "AWS_ACCESS_KEY_ID", "OAUTH2_PROXY_VERSION", "DOCKER_AUTH_VERSION",
    "GPG_KEY", "SSH_KEY", "KEY", "PWD", "BYPASS_CACHE", "COMPASS_HOME", "PORT", "NODE_ENV", "KEYCLOAK_URL",
    "TOKENIZER_MODEL", "SECRET_STORE", "PASSWORD_HASH", "AUTHOR",
])
def test_not_secret_names(name):
    assert not secrets.is_secret_name(name)


@pytest.mark.parametrize(("value", "kind"), [
    ("AKIA" + "Q2W3E4R5T6Y7U8I9", "AWS"),
    (GH, "GitHub"),
    ("github_pat_" + "11ABCDEFG0123456789_abcdefghijklmnop", "GitHub"),
    ("gho_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8", "GitHub"),
    ("xoxb-" + "1234567890-abcdefghij", "Slack"),
    ("sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc", "Stripe"),
    ("glpat-" + "Zq81kLm3Nw5Pr7St9Uv2", "GitLab"),
    ("AIza" + "SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q", "Google"),
    ("-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----", "private key"),
    ("-----BEGIN OPENSSH PRIVATE KEY-----", "private key"),
    ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", "JSON Web Token"),
    ("postgres://app:s3cr3t@db:5432/app", "URL"),
    ("https://deploy:Pa55w0rd@pypi.example.org/simple", "URL"),
    ("Zx8Qp2Lm7Rt4Wv9Ky3Nb6Hc1", "high-entropy"),
    ("wJalrXUtnFEMI/K7MDENG+bPxRfiCYzzABCDEFGH", "high-entropy"),
])
def test_secret_values(value, kind):
    assert secrets.looks_like_secret_value(value)
    assert kind in secrets.secret_value_kind(value)


@pytest.mark.parametrize("value", [
    "", '""', "${TOKEN}", "$TOKEN", "${TOKEN:-}", "<your-token>", "your_api_key_here", "xxx", "XXXXXXXX", "****", "dummy",
    "example", "my-example-token", "AKIAIOSFODNN7EXAMPLE", "FAKE_TO_GENERATE_WARNING_OUTPUT", "{{ .Values.token }}",
    "true", "none",
    "postgres://app:${DB_PASSWORD}@db/app", "https://pypi.org/simple", "postgres://app@db/app",
    "A035C8C19219BA821ECEAE82C9E54F1F4F1AE62A",  # a GPG fingerprint: hex
    "3f2a1b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b", "Linux-x86_64-Release-v2.3.4-Build20240101", "1.25.3", "/usr/local/bin",
    "production", "hello world",
])
def test_not_secret_values(value):
    assert not secrets.looks_like_secret_value(value)


@pytest.mark.parametrize(("name", "value", "secret"), [
    ("DB_PASSWORD", "changeme", True),  # a literal default password is one (documented decision)
    ("DB_PASSWORD", "postgres", True),
    ("DB_PASSWORD", "${DB_PASSWORD:-changeme}", True),  # the literal default is the secret
    ("DB_PASSWORD", "${DB_PASSWORD}", False),
    ("DB_PASSWORD", "/run/secrets/db", False),
    ("AUTH", "https://auth.example.com", False),
    ("NODE_SHA256", "Zx8Qp2Lm7Rt4Wv9Ky3Nb6Hc1Zx8Qp2Lm", False),  # checksum names skip the entropy rule
    ("DATABASE_URL", "postgres://u:p4ss@db/x", True),
    ("GH", GH, True),
])
def test_secret_reason(name, value, secret):
    reason = secrets.secret_reason(name, value)
    assert bool(reason) is secret
    assert reason is None or value not in reason


@pytest.mark.parametrize(("name", "value", "owned"), [
    ("NPM_TOKEN", "x", True), ("NODE_AUTH_TOKEN", "$T", True), ("GH_TOKEN", "x", True), ("GITHUB_TOKEN", "x", True),
    ("BUNDLE_GEMS__CONTRIBSYS__COM", "u:p", True), ("COMPOSER_AUTH", "{}", True),
    ("PIP_INDEX_URL", "https://u:p4ss@pypi.example.org/simple", True),
    ("PIP_INDEX_URL", "https://${USER}:${PASS}@pypi.example.org/simple", True),
    ("PIP_INDEX_URL", "https://pypi.example.org/simple", False), ("PIP_INDEX_URL", "${PIP_INDEX_URL}", False),
    ("API_KEY", "x", False), ("GOPRIVATE", "github.com/org", False), ("BUNDLE_PATH", "/bundle", False),
])
def test_build_credentials(name, value, owned):
    assert (secrets.build_credential(name, value) is not None) is owned


def load(text):
    return documents.load("Dockerfile", "dockerfile", text)


@pytest.mark.parametrize(("line", "expected"), [
    ("ENV A=1 B=\"two words\" C='x y'", [("A", "1"), ("B", "two words"), ("C", "x y")]),
    ("ENV NAME some value here", [("NAME", "some value here")]),
    ("ENV A=1 \\\n    B=2", [("A", "1"), ("B", "2")]),
    ("ENV A=a\\ b", [("A", "a b")]),
    ("ARG V TOKEN=t", [("V", ""), ("TOKEN", "t")]),
    ("ENV EMPTY=", [("EMPTY", "")]),
])
def test_pairs(line, expected):
    doc = load(f"FROM a\n{line}\n")
    found = dockerenv.pairs(doc, doc.instructions[1])
    assert [(p.name, p.value) for p in found] == expected
    for pair in found:
        assert doc.text[pair.start:pair.end].startswith(pair.name)


def test_pairs_unreadable():
    doc = load("FROM a\nENV A=\"open\n")
    assert dockerenv.pairs(doc, doc.instructions[1]) is None


@pytest.mark.parametrize(("text", "index", "after"), [
    ("FROM a\nENV A=1 B=2 C=3\n", 1, "FROM a\nENV A=1 C=3\n"),
    ("FROM a\nENV A=1 B=2 C=3\n", 2, "FROM a\nENV A=1 B=2\n"),
    ("FROM a\nENV A=1 B=2 C=3\n", 0, "FROM a\nENV B=2 C=3\n"),
    ("FROM a\nENV A=1 \\\n  B=2 \\\n  C=3\n", 1, "FROM a\nENV A=1 \\\n  C=3\n"),
    ("FROM a\nENV A=1 \\\n  B=2\n", 1, "FROM a\nENV A=1\n"),
])
def test_removal(text, index, after):
    doc = load(text)
    ins = doc.instructions[1]
    edit = dockerenv.removal(doc, ins, dockerenv.pairs(doc, ins), index)
    assert apply_edits(text, [edit]) == after


def test_variables_at_and_expand():
    doc = load("ARG BASE=alpine:3.20\nARG PORT=1\nFROM ${BASE}\nARG PORT\nENV HOST=h URL=http://${HOST}:${PORT}\nEXPOSE $PORT\n")
    env = dockerenv.variables_at(doc, doc.instructions[-1])
    assert env["URL"] == "http://h:1" and env["PORT"] == "1"
    assert dockerenv.resolved_image(doc, doc.stages[0]) == "alpine:3.20"
    assert dockerenv.expand("${MISSING:-8080}", {}) == "8080" and dockerenv.expand("$MISSING", {}) is None


def test_uses():
    doc = load("FROM a AS base\nENV T=1\nRUN echo $T\nLABEL x=${T}\nFROM base\nCMD [\"sh\", \"-c\", \"echo $T\"]\nFROM a\nRUN echo $T\n")
    used = dockerenv.uses(doc, doc.instructions[1], "T")
    assert [(u.ins.keyword, u.kind) for u in used] == [("RUN", "run"), ("LABEL", "build"), ("CMD", "runtime")]


def test_expanded_references_skip_single_quotes():
    assert dockerenv.expanded_references("echo '${A}' \"$B\" $C") == {"B", "C"}


def test_upper_case_stand_ins():
    from orchfix.transforms._knowledge.secrets import is_stand_in

    assert is_stand_in("GOOGLE_API_KEY", "GOOGLE_API_KEY_VAL")
    assert is_stand_in("ETCD_DISCOVERY_TOKEN", "INSERT_ETCD_DISCOVERY_TOKEN")
    assert is_stand_in("OAUTH2_PROXY_COOKIE_SECRET", "SECRET")
    assert is_stand_in("DB_PASS", "REPLACE_ME")
    assert not is_stand_in("DB_PASSWORD", "password")
    assert not is_stand_in("API_KEY", "AKIAIOSFODNN7EXAMPLEX")
    assert not is_stand_in("DB_PASSWORD", "Hunter2")
