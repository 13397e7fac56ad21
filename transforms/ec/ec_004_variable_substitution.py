"""ec-004: per-environment copies of a Compose service become one service with variables."""
from __future__ import annotations

import json
import posixpath
import re
from dataclasses import dataclass, field

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from orchfix import yamledit as ye
from orchfix.text import Edit
from orchfix.transform import SideChange, Safety, Transform

from .._knowledge import compose, envfile, images, secrets
from . import _compose_env as ce

#: name suffixes that name a deployment environment (app-staging, api_prod, web.dev)
ENVIRONMENTS = ("dev", "development", "local", "test", "testing", "qa", "uat", "stage", "staging", "preprod",
                "prod", "production", "live", "demo", "sandbox", "ci", "e2e")
_SUFFIX = re.compile(rf"(?P<base>.+?)[-_.](?P<env>{'|'.join(ENVIRONMENTS)})\Z", re.I)
#: the keys whose values may differ between the copies
_VARYING = ("environment", "ports", "image")


@dataclass
class Variable:
    """One value that differs between the copies: where it sits in the kept service and its
    value in each environment."""

    name: str
    node: ScalarNode
    #: text of the kept scalar with ``{}`` where the variable goes (``example/app:{}``)
    template: str
    default: str
    values: dict[str, str] = field(default_factory=dict)


class VariableSubstitution(Transform):
    r"""Merge per-environment copies of a service into one service with variables.

    What it finds:
    Services named for environments (``app``, ``app-staging``, ``app_prod``, ``web.dev``: a
    base name and a suffix such as dev, test, qa, staging, prod, production) that are *near
    duplicates*: the same keys, every value equal, except environment values (the same
    variable names), published ports (the same targets) and the image tag (the same
    repository). The service without a suffix is kept (else the first one), each differing
    value becomes ``${<BASE>_<NAME>:-<its value>}`` (``APP_TAG``, ``APP_PORT``, ``APP_LOG_LEVEL``),
    the other copies are removed, and ``<env>.env`` beside the compose file holds each removed
    copy's values. The finding prints how to run each environment
    (``docker compose --env-file prod.env up app``). Copies that differ in anything else, or
    are defined through anchors or merge keys, are reported, not merged.

    Why it matters:
    Copies drift: a fix made to one environment's service is forgotten in the others, and the
    compose file grows with every environment. One definition with the differences as
    variables keeps the environments the same by construction.

    Before:
        services:
          app:
            image: example/app:1.4
            ports:
              - "8080:8080"
            environment:
              LOG_LEVEL: debug
          app-prod:
            image: example/app:1.3
            ports:
              - "80:8080"
            environment:
              LOG_LEVEL: info

    After:
        services:
          app:
            image: example/app:${APP_TAG:-1.4}
            ports:
              - "${APP_PORT:-8080}:8080"
            environment:
              LOG_LEVEL: ${APP_LOG_LEVEL:-debug}

    Options:
    None.

    Safety:
    Unsafe: the removed services no longer exist under their names; running an environment
    takes ``--env-file <env>.env`` (which replaces the project's ``.env``: pass that too, first),
    and two environments can no longer run side by side in one project (use ``-p``). Copies
    that other services depend on, link to or extend, copies also defined in another file of
    the project, variables the file already uses, and values that no ``${VAR:-default}`` or
    env-file line can hold exactly are reported, not changed.
    """

    id = "ec-004"
    category = "ec"
    title = "Variable substitution"
    safety = Safety.UNSAFE
    kinds = frozenset({"compose"})
    options: dict = {}
    precheck = re.compile(rf"^[ \t]+[\w.-]+?[-_.](?:{'|'.join(ENVIRONMENTS)})[ \t]*:", re.M | re.I)
    example_side = {"prod.env": "APP_TAG=1.3\nAPP_PORT=80\nAPP_LOG_LEVEL=info\n"}

    def check(self, doc):
        model = compose.load(doc)
        workspace = self.ctx.workspace
        # without services nothing to merge; without a workspace no env file to write
        if model is None or workspace is None:
            return
        groups: dict[str, list[tuple[compose.Service, str | None]]] = {}
        for name, service in model.services.items():
            m = _SUFFIX.match(name)
            base, env = (m.group("base"), m.group("env").lower()) if m else (name, None)
            groups.setdefault(base, []).append((service, env))
        for base, members in groups.items():
            if len(members) < 2 or all(env is None for _, env in members):
                continue
            yield from self._group(doc, model, base, members)

    def _group(self, doc, model, base, members):
        kept, kept_env = next(((s, e) for s, e in members if e is None), members[0])
        others = [(s, e) for s, e in members if s is not kept]
        names = ", ".join(s.name for s, _ in others)
        line = others[0][0].key.start_mark.line + 1
        what = (f"{names} {'is a copy' if len(others) == 1 else 'are copies'} of {kept.name} for "
                f"{'another environment' if len(others) == 1 else 'other environments'}")
        envs = [e for _, e in others]
        if len(set(envs)) != len(envs) or kept_env in envs:
            return  # two copies for one environment: not per-environment variants
        shared = [s.name for s, _ in members if s.shared]
        if shared:
            yield self.finding(doc, line, what, reason=f"{', '.join(shared)} {'is' if len(shared) == 1 else 'are'} defined "
                               "through YAML anchors, merge keys or extends; merge them by hand")
            return
        prefix = re.sub(r"\W", "_", base).upper().strip("_") or "APP"
        variables: dict[str, Variable] = {}
        for other, env in others:
            why = self._compare(kept, other, env, prefix, variables)
            if why:
                yield self.finding(doc, line, what, reason=f"{other.name} differs from {kept.name} {why}; merge them by hand")
                return
        # identical copies differ in nothing a variable could carry: nothing to merge
        if not variables:
            return
        # in the order the kept service lists them
        variables = dict(sorted(variables.items(), key=lambda item: item[1].node.start_mark.index))
        blocked = self._blocked(doc, model, kept, others, variables)
        if blocked:
            yield self.finding(doc, line, what, reason=blocked)
            return
        edits, side, runs = [], [], []
        op = "-" if any(v == "" for var in variables.values() for v in var.values.values()) else ":-"
        for var in variables.values():
            text = var.template.replace("{}", "${" + var.name + op + var.default + "}")
            edits.append(Edit(var.node.start_mark.index, var.node.end_mark.index, _like(var.node, text)))
        for other, _ in others:
            edits.append(_delete_service(doc, model, other))
        workspace = self.ctx.workspace
        files = compose.project(workspace, doc)
        newline = ye.style_of(doc).newline
        has_dotenv = workspace.exists(posixpath.join(model.folder, ".env"))
        for other, env in others:
            path = ce.norm(posixpath.join(model.folder, f"{env}.env"))
            existing = envfile.read(workspace.read(path)) or {}
            lines, secret = [], False
            for var in variables.values():
                value = var.values.get(env, var.default)
                if value == var.default or (var.name in existing and envfile.same(existing[var.name], value)):
                    continue
                lines.append(envfile.render(var.name, value))
                secret = secret or bool(secrets.secret_reason(var.name, value))
            if lines:
                side.append(SideChange(path, [envfile.append(workspace.read(path), lines, newline)]))
            if secret:
                side.extend(ce.ignore_changes(workspace, files, path, newline))
            first = "--env-file .env " if has_dotenv else ""
            runs.append(f"docker compose {first}--env-file {posixpath.basename(path)} up {kept.name}")
        message = (f"{what}, differing only in {', '.join(sorted({_what(v.name, prefix) for v in variables.values()}))}: "
                   f"merged into {kept.name} with {', '.join('${' + v.name + '}' for v in variables.values())}; run "
                   + "; ".join(f"{env}: `{run}`" for (_, env), run in zip(others, runs))
                   + f"; without --env-file {kept.name} runs as before")
        yield self.finding(doc, line, message, edits, side=_dedupe(side))

    # --- comparing copies -----------------------------------------------------------------

    def _compare(self, kept, other, env, prefix, variables) -> str | None:
        """Why ``other`` is not ``kept`` up to its varying values (None: it is; ``variables`` then
        holds every value that differs, with ``other``'s value under ``env``)."""
        keys_a = {k.value for k, _ in kept.node.value}
        keys_b = {k.value for k, _ in other.node.value}
        if keys_a != keys_b:
            diff = sorted(keys_a ^ keys_b)
            return f"in which keys it sets ({', '.join(diff)})"
        # in the kept service's order, so the variables are listed as the file reads
        for key in dict.fromkeys(k.value for k, _ in kept.node.value):
            a, b = kept.get(key), other.get(key)
            if key not in _VARYING:
                if not _equal(a, b):
                    return f"in {key}"
                continue
            why = getattr(self, f"_{key}")(kept, other, env, prefix, variables, a, b)
            if why:
                return why
        return None

    @staticmethod
    def _image(kept, other, env, prefix, variables, a, b) -> str | None:
        if _equal(a, b):
            return None
        ta, tb = ye.scalar(a), ye.scalar(b)
        if ta is None or tb is None or "$" in ta + tb:
            return "in image"
        ra, rb = images.parse_ref(ta), images.parse_ref(tb)
        if ra.repository != rb.repository or ra.digest or rb.digest or not ra.tag or not rb.tag:
            return "in its image, not only in its tag"
        repo_text = ta[:len(ta) - len(ra.tag)]
        return _vary(variables, f"{prefix}_TAG", a, repo_text + "{}", ra.tag, env, rb.tag)

    @staticmethod
    def _ports(kept, other, env, prefix, variables, a, b) -> str | None:
        if _equal(a, b):
            return None
        if not (isinstance(a, SequenceNode) and isinstance(b, SequenceNode)) or len(a.value) != len(b.value):
            return "in how many ports it publishes"
        pairs = []
        for na, nb in zip(a.value, b.value):
            if _equal(na, nb):
                continue
            pa, pb = compose.parse_port(na), compose.parse_port(nb)
            same_port = pa and pb and (pa.target, pa.protocol, pa.host_ip, pa.long) == (pb.target, pb.protocol, pb.host_ip, pb.long)
            if not same_port:
                return "in its ports, not only in the published port"
            if not (pa.published and pb.published) or not re.fullmatch(r"\d+", pa.published + pb.published):
                return "in a published port range or variable"
            if pa.long:
                node = ye.value(na, "published")
                template = "{}"
                if not (_equal_except(na, nb, "published") and isinstance(node, ScalarNode)):
                    return "in its ports, not only in the published port"
            else:
                node, text = na, ye.scalar(na)
                at = text.rfind(pa.published + ":" + pa.target)
                template = text[:at] + "{}" + text[at + len(pa.published):]
            pairs.append((node, template, pa, pb))
        for node, template, pa, pb in pairs:
            name = f"{prefix}_PORT" if len(pairs) == 1 else f"{prefix}_PORT_{pa.target}"
            why = _vary(variables, name, node, template, pa.published, env, pb.published)
            if why:
                return why
        return None

    @staticmethod
    def _environment(kept, other, env, prefix, variables, a, b) -> str | None:
        if _equal(a, b):
            return None
        if type(a) is not type(b) or not isinstance(a, (MappingNode, SequenceNode)):
            return "in how its environment is written"
        va, vb = kept.environment(), other.environment()
        if [v.name for v in va] != [v.name for v in vb] or len({v.name for v in va}) != len(va):
            return "in which environment variables it sets"
        for x, y in zip(va, vb):
            if _equal(x.node, y.node):
                continue
            xa, yb = envfile.container_value(x)[0], envfile.container_value(y)[0]
            if xa is None or yb is None:
                return f"in {x.name}, whose value {'here' if yb is None else 'in ' + kept.name} is not a plain literal"
            if xa == yb:
                continue
            name = x.name if x.name.upper().startswith(prefix + "_") else f"{prefix}_{x.name.upper()}"
            if x.listed:
                template = ye.scalar(x.node)[:len(x.name) + 1] + "{}"
            else:
                template = "{}"
            why = _vary(variables, re.sub(r"\W", "_", name), x.node, template, xa, env, yb)
            if why:
                return why
        return None

    # --- what stops a merge ---------------------------------------------------------------

    def _blocked(self, doc, model, kept, others, variables) -> str | None:
        workspace = self.ctx.workspace
        files = compose.project(workspace, doc)
        for other, _ in others:
            users = [s for s in compose.references(files, other.name) if s not in {o.name for o, _ in others}]
            if users:
                return f"{', '.join(users)} depend{'s' if len(users) == 1 else ''} on {other.name}, which the merge removes"
            elsewhere = [f.doc.path for f in files if f.doc.path != doc.path and other.name in f.services]
            if elsewhere:
                return f"{other.name} is also defined in {', '.join(elsewhere)}"
        if "stack" in posixpath.basename(doc.path).lower():
            return "docker stack deploy reads no --env-file: the environments could not be chosen"
        used = sorted(v.name for v in variables.values() if re.search(r"\$\{?" + v.name + r"\b", doc.text))
        if used:
            return f"the file already uses {', '.join('$' + u for u in used)}"
        dotenv = envfile.read(workspace.read(posixpath.join(model.folder, ".env"))) or {}
        clash = sorted(v.name for v in variables.values() if v.name in dotenv)
        if clash:
            return f"the project's .env sets {', '.join(clash)}, which would replace the defaults"
        for var in variables.values():
            if any(c in var.default for c in "${}") or any(c in v for v in var.values.values() for c in "${}"):
                return f"a value of {var.name} holds '$', '{{' or '}}', which ${{VAR:-default}} cannot carry exactly"
            bad = next((envfile.unwritable(var.name, v) for v in var.values.values() if envfile.unwritable(var.name, v)), None)
            if bad:
                return bad
        for other, env in others:
            path = ce.norm(posixpath.join(model.folder, f"{env}.env"))
            users = ce.readers(workspace, model, path)
            if users:
                return f"{env}.env is an env file of {', '.join(s for _, s in users)}: the variables would reach its containers"
            existing = envfile.read(workspace.read(path))
            if existing is None:
                return f"{env}.env exists and Compose cannot read it"
            for var in variables.values():
                value = var.values.get(env, var.default)
                if var.name in existing and not envfile.same(existing[var.name], value):
                    return f"{env}.env already sets {var.name} to another value"
        return None


def _vary(variables, name, node, template, default, env, value) -> str | None:
    var = variables.get(name)
    if var is None:
        variables[name] = var = Variable(name, node, template, default)
    elif var.node is not node:
        return f"in two values that would share the variable {name}"
    var.values[env] = value
    return None


def _what(name: str, prefix: str) -> str:
    if name == f"{prefix}_TAG":
        return "the image tag"
    if name.startswith(f"{prefix}_PORT"):
        return "published ports"
    return "environment values"


def _equal(a: Node | None, b: Node | None) -> bool:
    """Whether two nodes hold the same data (styles and comments aside)."""
    if a is b:
        return True
    if a is None or b is None or type(a) is not type(b):
        return False
    if isinstance(a, ScalarNode):
        return (a.tag, a.value) == (b.tag, b.value)
    if isinstance(a, SequenceNode):
        return len(a.value) == len(b.value) and all(_equal(x, y) for x, y in zip(a.value, b.value))
    ka = {k.value: v for k, v in a.value if isinstance(k, ScalarNode)}
    kb = {k.value: v for k, v in b.value if isinstance(k, ScalarNode)}
    return len(ka) == len(a.value) and ka.keys() == kb.keys() and all(_equal(ka[k], kb[k]) for k in ka)


def _equal_except(a: MappingNode, b: MappingNode, key: str) -> bool:
    ka = {k.value: v for k, v in a.value if k.value != key}
    kb = {k.value: v for k, v in b.value if k.value != key}
    return ka.keys() == kb.keys() and all(_equal(ka[k], kb[k]) for k in ka)


def _like(node: ScalarNode, text: str) -> str:
    """``text`` as a scalar written in ``node``'s quoting style (plain when that loads back)."""
    if node.style == '"':
        return json.dumps(text, ensure_ascii=False)
    if node.style == "'":
        return "'" + text.replace("'", "''") + "'"
    return ye.render_scalar(text)


def _delete_service(doc, model, service) -> Edit:
    """Remove a service's entry; when a blank line precedes it, the blank lines after it go too
    (so the services around it keep one blank line between them)."""
    edit = ye.delete_key(doc, ye.value(model.root, "services"), service.name)
    text, end = doc.text, edit.end
    if text[:edit.start].endswith(("\n\n", "\n\r\n")):
        while end < len(text):
            nl = text.find("\n", end)
            nl = len(text) if nl < 0 else nl + 1
            if text[end:nl].strip():
                break
            end = nl
    return Edit(edit.start, end, "")


def _dedupe(side: list[SideChange]) -> list[SideChange]:
    """One change per ignore file (several env files may add to the same .gitignore)."""
    merged: dict[str, SideChange] = {}
    for change in side:
        if change.path in merged:
            first = merged[change.path].edits[0]
            merged[change.path] = SideChange(change.path, [Edit.insert(first.start, first.new + change.edits[0].new.lstrip("\r\n"))])
        else:
            merged[change.path] = change
    return list(merged.values())
