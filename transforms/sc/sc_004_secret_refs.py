"""sc-004: secret env values in manifests become references to a Secret's keys."""
from __future__ import annotations

import re

from orchfix.transform import Safety, Transform
from orchfix.transforms._knowledge import k8s, k8senv, kustomize, secrets
from orchfix.workspace import Workspace

_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")


def secret_key(env_name: str, naming: str) -> str:
    """The Secret key an env variable reads: lower-kebab (``DB_PASSWORD`` → ``db-password``) or,
    with naming ``env``, the variable's own name."""
    if naming == "env" and _KEY.match(env_name):
        return env_name
    key = re.sub(r"[^a-z0-9.]+", "-", env_name.lower()).strip("-")
    return key or "value"


class SecretRefs(Transform):
    r"""Read secret env values from a Secret instead of writing them into the manifest.

    What it finds:
    Container (and init container) env entries of every workload kind whose literal value is
    a secret: by the variable's name (PASSWORD, SECRET, TOKEN, API_KEY…) or by the value's
    shape (known key prefixes, credentials in URLs, random strings); placeholders are not
    (empty, ``$(VAR)``, ``<your-token>``, ``xxx``, and upper-case stand-ins that a script
    substitutes: ``GOOGLE_API_KEY_VAL``, ``INSERT_TOKEN``, ``SECRET``). Each such ``value:`` becomes ``valueFrom:
    {secretKeyRef: {name: <secret>, key: <key>}}`` in place. The value is written nowhere,
    not in a new Secret manifest either: the finding says which Secret and keys must exist and
    prints the ``kubectl create secret generic`` command that makes it, with placeholders.
    Reported without a fix: entries a kustomize patch sets a ``value`` on (the merged object
    would carry both ``value`` and ``valueFrom``), env lists a kustomize JSON patch addresses
    by position, anchored or aliased env lists, and values with ``$(VAR)`` references.

    Why it matters:
    A password in a manifest is in version control, in every clone and CI log, and readable
    by anyone who can read the workload (``kubectl get deploy -o yaml``). A Secret keeps it
    out of the repository, can be encrypted at rest, restricted by RBAC, and rotated without
    editing the workload.

    Before:
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: orders
        spec:
          selector:
            matchLabels:
              app: orders
          template:
            metadata:
              labels:
                app: orders
            spec:
              containers:
                - name: orders
                  image: example/orders:2.3.0
                  env:
                    - name: DB_HOST
                      value: postgres
                    - name: DB_PASSWORD
                      value: s3cr3t-Pa55

    After:
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: orders
        spec:
          selector:
            matchLabels:
              app: orders
          template:
            metadata:
              labels:
                app: orders
            spec:
              containers:
                - name: orders
                  image: example/orders:2.3.0
                  env:
                    - name: DB_HOST
                      value: postgres
                    - name: DB_PASSWORD
                      valueFrom:
                        secretKeyRef:
                          name: orders-secrets
                          key: db-password

    Options:
    ``secret_name`` (default ``"{workload}-secrets"``): the Secret's name; ``{workload}`` is
    the workload's name. ``key_naming`` (default ``"kebab"``): ``kebab`` turns ``DB_PASSWORD``
    into the key ``db-password``; ``env`` keeps the variable's name as the key.

    Safety:
    Unsafe: the pods do not start until the Secret exists in the namespace with those keys
    (``CreateContainerConfigError``). Create it first with the printed command (or a sealed/
    external secret), and rotate the old value: it stays in the repository's history.
    """

    id = "sc-004"
    category = "sc"
    title = "Secrets from Secret objects"
    safety = Safety.UNSAFE
    kinds = frozenset({"k8s"})
    options = {"secret_name": "{workload}-secrets", "key_naming": "kebab"}
    precheck = re.compile(r"^\s*(?:-\s+)?env\s*:", re.M)

    def check(self, doc):
        workspace = self.ctx.workspace or Workspace()
        # kustomize patches hold partial objects that merge into others
        if kustomize.is_patch(workspace, doc.path):
            return
        for obj in k8s.objects(doc):
            if obj.kind not in k8s.WORKLOADS:
                continue
            found = []
            for container in obj.containers():
                hits = [e for e in k8senv.entries(container) if self._secret(e)]
                if hits:
                    found.append((container, hits))
            if found:
                yield from self._workload(doc, workspace, obj, found)

    @staticmethod
    def _secret(e: k8senv.EnvEntry) -> bool:
        # a value with $(VAR) is expanded by the kubelet; a Secret's value would not be
        # an upper-case stand-in (GOOGLE_API_KEY_VAL) is substituted by a script: no secret yet
        return (e.literal and not k8senv.expands(e.text) and not secrets.is_stand_in(e.name, e.text)
                and secrets.secret_reason(e.name, e.text) is not None)

    def _workload(self, doc, workspace, obj, found):
        name = str(self.opts.get("secret_name") or "{workload}-secrets").replace("{workload}", obj.name)
        naming = str(self.opts.get("key_naming") or "kebab")
        what = f"{obj.kind} {obj.name or '?'}"
        if not _SUBDOMAIN.match(name) or len(name) > 253:
            names = ", ".join(e.name for _, hits in found for e in hits)
            yield self.finding(doc, obj.node.start_mark.line + 1, f"{what} writes secret values into env ({names})",
                               reason=f"the Secret name {name!r} is not a valid object name; set the secret_name option")
            return
        keys: dict[str, str] = {}  # key → the value's owner (container/variable) to tell collisions apart
        values: dict[str, str] = {}
        edits, parts = [], []
        for container, hits in found:
            patches = k8senv.patched(workspace, obj, container.name)
            blocked = k8senv.not_editable(doc, container)
            if patches.opaque:
                blocked = f"a kustomize patch in {patches.opaque[0]} edits this env by position or as a whole"
            for e in hits:
                why = secrets.secret_reason(e.name, e.text)
                reason = blocked
                if not reason and e.name in patches.valued:
                    reason = "a kustomize patch sets a value on it: the merged entry would carry value and valueFrom"
                if reason:
                    yield self.finding(doc, e.node.start_mark.line + 1,
                                       f"env {e.name} of container {container.name} holds a secret ({why})", reason=reason)
                    continue
                key = secret_key(e.name, naming)
                if key in values and values[key] != e.text:
                    key = f"{container.name}-{key}"
                values[key] = e.text
                keys[key] = e.name
                edits += k8senv.to_value_from(doc, e, {"secretKeyRef": {"name": name, "key": key}})
                parts.append(f"{e.name} ({container.name}, {why}) → key {key}")
        if not edits:
            return
        ns = f" --namespace {obj.namespace}" if obj.namespace else ""
        literals = " ".join(f"--from-literal={k}='<{keys[k]}>'" for k in keys)
        message = (f"{what}: secret env values now come from Secret {name}: " + "; ".join(parts)
                   + f". Secret {name} must exist{' in namespace ' + obj.namespace if obj.namespace else ''} with key"
                   + f"{'s' * (len(keys) != 1)} {', '.join(keys)} before the pods start; create it with: kubectl create "
                   + f"secret generic {name}{ns} {literals}. The old values stay in version control history: rotate them.")
        yield self.finding(doc, obj.node.start_mark.line + 1, message, edits)
