"""What counts as a secret: by a variable's name, by a value's shape, and the build-tool credentials.

One heuristic for every transform that must keep secrets out of files: sc-002 and ec-003
(Dockerfiles) now, and the Compose/Kubernetes/Swarm patterns (sc-004, ec-001, sw-002) later.
Nothing here returns or formats a value: callers name variables, never what they hold.

Decisions (tests pin them):
- **Names.** A name is split into words (``_``, ``-``, ``.``, camelCase). It is secret when a word
  is a secret word (PASSWORD, PASSWD, PASS, PWD (not alone: that is the shell's cwd), PASSPHRASE,
  SECRET, TOKEN, AUTH, APIKEY, CREDENTIALS, CREDS…, or a compound ending in one: ROOTPASS,
  AUTHTOKEN), or a KEY preceded by API/ACCESS/PRIVATE/SECRET/LICENSE/ENCRYPTION/SIGNING/MASTER…
  (``GPG_KEY``, ``SSH_KEY`` alone are not: they usually hold public material). A word after the
  secret word that says the variable *describes* the secret (URL, FILE, PATH, NAME, ENDPOINT,
  ID, TYPE, ENABLED, LENGTH, EXPIRES, VERSION…) makes it no secret: ``TOKEN_URL``,
  ``PASSWORD_FILE``, ``SECRET_NAME``, ``AUTH_ENABLED``, ``AWS_ACCESS_KEY_ID``.
- **Placeholders are not secrets**: empty values, values made only of variable references
  (``$VAR``, ``${VAR}``, ``${VAR:-}``; a literal default ``${VAR:-pw}`` is a value), templates
  (``{{ .x }}``), ``<your-token>``, runs of ``x``/``*``/``.``, values starting ``your-``/``your_``,
  values containing ``example``, ``dummy``, ``placeholder``, ``fake`` or ``redacted`` (this also
  covers AWS's documented ``…EXAMPLE`` keys), and switch words (true/false/yes/no/on/off/none/null).
- **``changeme`` is a secret.** A literal default password (``changeme``, ``admin``, ``postgres``)
  is exactly what must not ship in an image: a container started without overriding it runs
  with a password everyone knows. Such values are removed like any other.
- **Values** are secrets whatever their name when they carry a known key prefix (AWS ``AKIA``/
  ``ASIA``, GitHub ``ghp_``/``gho_``/``ghu_``/``ghs_``/``ghr_``/``github_pat_``, Slack ``xox[abprs]-``,
  Stripe ``sk_live_``/``rk_live_``/``sk_test_``, GitLab ``glpat-``, Google ``AIza``, npm ``npm_``,
  PyPI ``pypi-``, Hugging Face ``hf_``, OpenAI-style ``sk-``), a PEM private key, a JWT,
  credentials in a URL (``scheme://user:pass@host`` with a literal password), or a high-entropy
  string: 20+ characters of one token mixing lower case, upper case and digits, switching between
  them often (words and versions do not), with few separators, not hexadecimal
  (checksums, fingerprints and commit ids are hex), not a UUID. The high-entropy rule is skipped
  for names that announce public material (SHA, CHECKSUM, HASH, DIGEST, FINGERPRINT, GPG, PUBLIC…).
- A name-based secret whose value is an absolute path, or a URL without credentials, is a
  reference to the secret, not the secret: it is left alone.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

# --- names -----------------------------------------------------------------------------------

_SECRET_WORDS = {
    "PASSWORD", "PASSWORDS", "PASSWD", "PASS", "PWD", "PASSPHRASE", "SECRET", "SECRETS", "TOKEN",
    "TOKENS", "AUTH", "APIKEY", "APIKEYS", "CREDENTIALS", "CREDENTIAL", "CREDS", "AUTHTOKEN",
    "SECRETKEY", "PRIVATEKEY", "ACCESSKEY", "PAT",
}
#: compounds written as one word: ROOTPASS, DBPASSWORD, APITOKEN, CLIENTSECRET
_SECRET_SUFFIX = re.compile(r"^[A-Z0-9]+(?:PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|APIKEY|PASS)$")
_NOT_PASS = {"BYPASS", "COMPASS", "SURPASS", "OVERPASS", "UNDERPASS", "TRESPASS", "ENCOMPASS"}
#: KEY is a secret only after one of these (GPG_KEY, SSH_KEY, PUB_KEY hold public material)
_KEY_QUALIFIERS = {
    "API", "ACCESS", "PRIVATE", "SECRET", "LICENSE", "LICENCE", "ENCRYPTION", "ENCRYPT", "SIGNING",
    "SIGN", "MASTER", "SESSION", "JWT", "HMAC", "AUTH", "CLIENT", "APP", "SERVICE", "WEBHOOK",
    "CONSUMER", "SHARED", "DEPLOY", "ADMIN", "ROOT", "CIPHER", "AES", "CRYPT", "CRYPTO",
}
#: words after the secret word that make the variable describe a secret rather than hold one
_DESCRIBES = {
    "URL", "URLS", "URI", "URIS", "ENDPOINT", "ENDPOINTS", "HOST", "HOSTNAME", "PORT", "PATH",
    "PATHS", "FILE", "FILES", "FILENAME", "DIR", "DIRECTORY", "FOLDER", "NAME", "NAMES", "ID", "IDS",
    "USER", "USERNAME", "LOGIN", "TYPE", "KIND", "MODE", "METHOD", "METHODS", "ENABLED", "ENABLE",
    "DISABLED", "DISABLE", "REQUIRED", "OPTIONAL", "PROVIDER", "SERVER", "SERVICE", "DOMAIN", "REALM",
    "ISSUER", "AUDIENCE", "SCOPE", "SCOPES", "HEADER", "FIELD", "PARAM", "EXPIRY", "EXPIRES",
    "EXPIRATION", "EXPIRE", "TTL", "TIMEOUT", "LIFETIME", "LENGTH", "LEN", "SIZE", "MIN", "MAX",
    "COUNT", "VERSION", "FORMAT", "ALGORITHM", "ALG", "POLICY", "PREFIX", "SUFFIX", "REGION",
    "COMMAND", "CMD", "SCRIPT", "LOCATION", "STORE", "ROTATION", "HASH", "CACHE", "SOURCE", "BACKEND",
    "REF", "KEY_ID", "HELPER", "PROGRAM", "MOUNT", "VAR", "ENV", "LEVEL", "RETRIES", "INTERVAL",
    "PROTOCOL", "STRATEGY", "CLASS", "MANAGER", "PLUGIN", "HANDLER", "COMPLEXITY", "RESET", "HINT",
}
#: names whose value is public material even when it looks random (checksums, fingerprints, ids)
_PUBLIC = re.compile(
    r"SHA|CHECKSUM|SUM$|HASH|DIGEST|FINGERPRINT|GPG|PGP|KEYID|PUBLIC|PUBKEY|COMMIT|REVISION|VERSION|"
    r"INTEGRITY|UUID|GUID|NONCE|SALT_ROUNDS|BUILD_ID|IMAGE|TAG$", re.I)


def name_words(name: str) -> list[str]:
    """``name`` in upper-case words: ``dbPassword`` → DB PASSWORD, ``API-KEY`` → API KEY."""
    words: list[str] = []
    for part in re.split(r"[_\-.\s]+", name.strip()):
        words.extend(w.upper() for w in re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+", part))
    return words


def _secret_word_at(words: list[str]) -> int | None:
    """Index of the last word that makes ``words`` a secret's name."""
    found = None
    for i, word in enumerate(words):
        if word == "PWD" and len(words) == 1:
            continue  # PWD alone is the shell's working directory
        if word in _SECRET_WORDS or (_SECRET_SUFFIX.match(word) and word not in _NOT_PASS):
            found = i
        elif word == "KEY" and i > 0 and words[i - 1] in _KEY_QUALIFIERS:
            found = i
    return found


def is_secret_name(name: str) -> bool:
    """Whether a variable called ``name`` is meant to hold a secret (see the module notes)."""
    words = name_words(name)
    at = _secret_word_at(words)
    if at is None:
        return False
    return not any(w in _DESCRIBES for w in words[at + 1:])


# --- values ----------------------------------------------------------------------------------

_VAR_REF = re.compile(r"\$(?:\{[A-Za-z_][A-Za-z0-9_]*(?:(:?[-+?=])([^}]*))?\}|[A-Za-z_][A-Za-z0-9_]*)")
_SWITCHES = {"true", "false", "yes", "no", "on", "off", "none", "null", "nil", "undefined", "0", "1", "unset", "notset", "tbd", "todo"}
_PLACEHOLDER = re.compile(
    r"^(?:<[^<>]*>|\[[^\[\]]*\]|\{\{.*\}\}|%[A-Za-z_][A-Za-z0-9_]*%|[xX*.#?_-]+|your[-_ ]\S*|your(?:token|key|secret|password|apikey)\S*"
    r"|.*(?:example|dummy|placeholder|fake|redacted).*)$",
    re.I | re.S,
)
_URL_CREDENTIALS = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://([^\s:/?#@]*):([^\s@/?#]+)@")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


@dataclass(frozen=True)
class _Prefix:
    what: str
    pattern: re.Pattern[str]


_PREFIXES = (
    _Prefix("a private key", re.compile(r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----")),
    _Prefix("an AWS access key", re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)[0-9A-Z]{16}(?![A-Z0-9])")),
    _Prefix("a GitHub token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})")),
    _Prefix("a GitLab token", re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}")),
    _Prefix("a Slack token", re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}")),
    _Prefix("a Stripe key", re.compile(r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}")),
    _Prefix("a Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}")),
    _Prefix("an npm token", re.compile(r"\bnpm_[A-Za-z0-9]{36}\b")),
    _Prefix("a PyPI token", re.compile(r"\bpypi-[A-Za-z0-9_-]{50,}")),
    _Prefix("a Hugging Face token", re.compile(r"\bhf_[A-Za-z0-9]{30,}")),
    _Prefix("an API secret key", re.compile(r"(?<![A-Za-z0-9_-])sk-(?:[A-Za-z0-9]+-)*[A-Za-z0-9_]{20,}")),
    _Prefix("a SendGrid key", re.compile(r"\bSG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}")),
    _Prefix("a JSON Web Token", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
)
_TOKEN = re.compile(r"^[A-Za-z0-9+/=_.~-]{20,}$")
_HEX = re.compile(r"^(?:0x)?[0-9a-fA-F]+$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def literal_text(value: str) -> str:
    """``value`` with variable references taken out; a reference's literal default stays."""
    return _VAR_REF.sub(lambda m: m.group(2) if m.group(1) in (":-", "-", ":=", "=") and m.group(2) else "", value)


def is_placeholder(value: str) -> bool:
    """Whether ``value`` is no credential at all: empty, only variables, a template or a stand-in.
    (A URL is judged by its password: ``https://u:pw@example.org`` is no placeholder.)"""
    text = value.strip().strip("'\"").strip()
    if not literal_text(text).strip():
        return True
    if _URL.match(text):
        return False
    return text.lower() in _SWITCHES or bool(_PLACEHOLDER.match(text))


def url_credentials(value: str) -> bool:
    """Whether ``value`` holds a URL whose password is written out (not a variable, not a stand-in)."""
    for match in _URL_CREDENTIALS.finditer(value):
        password = match.group(2)
        if "$" not in password and not is_placeholder(password):
            return True
    return False


def _entropy(text: str) -> float:
    counts = {c: text.count(c) for c in set(text)}
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def _class(c: str) -> str:
    return "l" if c.islower() else "u" if c.isupper() else "d"


def _high_entropy(text: str) -> bool:
    if not _TOKEN.match(text) or _HEX.match(text) or _UUID.match(text):
        return False
    if not (re.search(r"[a-z]", text) and re.search(r"[A-Z]", text) and re.search(r"[0-9]", text)):
        return False
    # versions and identifiers are words between separators; random tokens have few separators
    if len(re.findall(r"[^A-Za-z0-9]", text)) * 8 > len(text):
        return False
    # and random tokens switch between lower case, upper case and digits all the time (words do not)
    pairs = [(a, b) for a, b in zip(text, text[1:]) if a.isalnum() and b.isalnum()]
    if sum(_class(a) != _class(b) for a, b in pairs) < 0.35 * len(pairs):
        return False
    return _entropy(text) >= 3.5


def secret_value_kind(value: str, *, entropy: bool = True) -> str | None:
    """What a secret-looking ``value`` looks like ("a GitHub token", "credentials in a URL"…), or None."""
    text = value.strip().strip("'\"")
    if is_placeholder(text):
        return None
    for prefix in _PREFIXES:
        match = prefix.pattern.search(text)
        if match and not is_placeholder(match.group()):
            return prefix.what
    if url_credentials(text):
        return "credentials in a URL"
    if entropy and "$" not in text and _high_entropy(text):
        return "a high-entropy string"
    return None


def looks_like_secret_value(value: str) -> bool:
    """Whether ``value`` looks like a secret by its shape alone (see the module notes)."""
    return secret_value_kind(value) is not None


def secret_reason(name: str, value: str) -> str | None:
    """Why ``name=value`` holds a secret ("by its name", "its value looks like a GitHub token"), in
    words that never include the value; None when it does not.

    The value's shape decides first (a known key, a URL with a password, a random string); else a
    secret name with a literal value that is no placeholder, path or credential-free URL.
    """
    kind = secret_value_kind(value, entropy=not _PUBLIC.search(name))
    if kind:
        return f"its value looks like {kind}"
    if not is_secret_name(name) or is_placeholder(value):
        return None
    text = literal_text(value.strip().strip("'\"")).strip()
    if text.startswith(("/", "~/", "./", "file:")) and " " not in text:
        return None  # a path to the secret, not the secret
    if _URL.match(text):
        return None  # a URL without credentials (those are found above)
    return "by its name"


_STAND_IN_WORDS = {"VAL", "VALUE", "INSERT", "REPLACE", "CHANGE", "YOUR", "PLACEHOLDER", "TODO", "FIXME", "SET", "ENTER"}


def is_stand_in(name: str, value: str) -> bool:
    """Whether ``value`` is an upper-case token standing for the real value, to be substituted
    by a script or by hand (``GOOGLE_API_KEY_VAL``, ``INSERT_ETCD_DISCOVERY_TOKEN``, ``SECRET``):
    only capitals, digits and underscores, and it repeats the variable's name, holds a word such
    as VAL/INSERT/REPLACE/YOUR, or is a secret word itself."""
    text = value.strip()
    if not re.fullmatch(r"[A-Z][A-Z0-9_]*", text):
        return False
    words = set(text.split("_"))
    return (name.upper() in text or bool(words & _STAND_IN_WORDS)
            or (len(words) == 1 and (text in _SECRET_WORDS or bool(_SECRET_SUFFIX.match(text)))))


# --- build-time credentials ------------------------------------------------------------------

@dataclass(frozen=True)
class BuildCredential:
    """A variable that build tools read for registry/VCS credentials.

    ``tools`` matches the commands that read it without naming it (pip reads PIP_INDEX_URL);
    ``url`` means the variable is a URL that is only a credential when it carries one.
    """

    name: re.Pattern[str]
    tools: re.Pattern[str] | None = None
    url: bool = False


_NPM = re.compile(r"(?<![\w/.-])(?:npm|npx|yarn|pnpm|corepack)\b")
BUILD_CREDENTIALS = (
    BuildCredential(re.compile(r"NPM_(?:AUTH_)?TOKEN|NODE_AUTH_TOKEN|YARN_NPM_AUTH_TOKEN|NPM_CONFIG__AUTH(?:TOKEN)?|NPM_CONFIG_(?:_)?[A-Z0-9_]*_AUTHTOKEN"), _NPM),
    BuildCredential(re.compile(r"PIP_(?:EXTRA_)?INDEX_URL|UV_(?:EXTRA_)?INDEX_URL|UV_INDEX_[A-Z0-9_]+_URL"),
                    re.compile(r"(?<![\w/.-])(?:pip3?|uv|pipenv|python3?(?:\.\d+)? -m pip)\b"), url=True),
    BuildCredential(re.compile(r"UV_INDEX_[A-Z0-9_]+_PASSWORD|POETRY_HTTP_BASIC_[A-Z0-9_]+_PASSWORD|POETRY_PYPI_TOKEN_[A-Z0-9_]+|TWINE_PASSWORD"),
                    re.compile(r"(?<![\w/.-])(?:uv|poetry|twine)\b")),
    BuildCredential(re.compile(r"GH_TOKEN|GITHUB_TOKEN|GH_ENTERPRISE_TOKEN|GITLAB_TOKEN|GL_TOKEN|CI_JOB_TOKEN|GIT_TOKEN|BITBUCKET_TOKEN"),
                    re.compile(r"(?<![\w/.-])gh\b")),
    BuildCredential(re.compile(r"BUNDLE_[A-Z0-9_]+__[A-Z0-9_]+"), re.compile(r"(?<![\w/.-])(?:bundle|bundler|gem)\b")),
    BuildCredential(re.compile(r"COMPOSER_AUTH"), re.compile(r"(?<![\w/.-])composer(?:\.phar)?\b")),
    BuildCredential(re.compile(r"CARGO_REGISTRIES_[A-Z0-9_]+_TOKEN|CARGO_REGISTRY_TOKEN"), re.compile(r"(?<![\w/.-])cargo\b")),
    BuildCredential(re.compile(r"GOPROXY|GOPRIVATE_TOKEN"), re.compile(r"(?<![\w/.-])go\b"), url=True),
    BuildCredential(re.compile(r"NUGET_AUTH_TOKEN|VSS_NUGET_ACCESSTOKEN"), re.compile(r"(?<![\w/.-])(?:dotnet|nuget)\b")),
    BuildCredential(re.compile(r"ARTIFACTORY_(?:API_)?(?:TOKEN|PASSWORD|APIKEY)|MAVEN_(?:REPO_)?PASSWORD|GRADLE_(?:REPO_)?PASSWORD"),
                    re.compile(r"(?<![\w/.-])(?:mvnw?|gradlew?)\b")),
)


def build_credential(name: str, value: str) -> BuildCredential | None:
    """The build-tool credential ``name=value`` is, if any (URL variables only with credentials)."""
    for cred in BUILD_CREDENTIALS:
        if not cred.name.fullmatch(name):
            continue
        if cred.url and not (url_credentials(value) or re.search(r"://[^/\s]*\$\{?[A-Za-z_][A-Za-z0-9_]*\}?[^/\s]*@", value)):
            return None  # an index URL without credentials is plain configuration
        return cred
    return None
