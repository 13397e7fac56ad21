"""ks-001: ClusterIP for internal services."""
from __future__ import annotations

import difflib

import pytest
from yaml.nodes import MappingNode

from orchfix import documents
from orchfix import yamledit as ye
from orchfix.documents import ParseError
from orchfix.text import decode
from orchfix.transforms._knowledge import k8s
from tests.corpus import files, needs_corpus
from tests.helpers import fix, k8s_errors, run
from tests.transforms.yaml_corpus import check_corpus, corpus_workspace

ID = "ks-001"

SVC = """apiVersion: v1
kind: Service
metadata:
  name: api
spec:
  type: NodePort
  selector:
    app: api
  ports:
  - name: http
    port: 80
    targetPort: 8080
    nodePort: 30080
  - name: metrics  # scraped
    port: 9090
    nodePort: 30090   # fixed
"""


def fixed(before: str, **kw) -> str:
    after = fix(ID, before, kind="k8s", **kw)
    assert not k8s_errors(after), k8s_errors(after)
    return after


@pytest.mark.parametrize(("before", "after"), [
    (SVC, SVC.replace("type: NodePort", "type: ClusterIP").replace("    nodePort: 30080\n", "")
     .replace("    nodePort: 30090   # fixed\n", "")),
    # quotes kept, other fields untouched
    ('apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  type: "NodePort"\n  ports:\n  - port: 80\n',
     'apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  type: "ClusterIP"\n  ports:\n  - port: 80\n'),
    # flow-style ports: only the nodePort entry goes
    ("apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  type: NodePort\n"
     "  ports: [{port: 80, nodePort: 30080}, {nodePort: 30443, port: 443, name: https}]\n",
     "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  type: ClusterIP\n"
     "  ports: [{port: 80}, {port: 443, name: https}]\n"),
    # a whole flow spec
    ("apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {type: NodePort, ports: [{port: 80, nodePort: 30080}]}\n",
     "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {type: ClusterIP, ports: [{port: 80}]}\n"),
    # nodePort first in a sequence item: the next entry moves up to the dash
    ("apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  type: NodePort\n  ports:\n"
     "  - nodePort: 30080\n    port: 80\n",
     "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  type: ClusterIP\n  ports:\n  - port: 80\n"),
    # 4-space indentation, indented sequences
    ("apiVersion: v1\nkind: Service\nmetadata:\n    name: a\nspec:\n    ports:\n        -   port: 80\n"
     "            nodePort: 30080\n    type: NodePort\n",
     "apiVersion: v1\nkind: Service\nmetadata:\n    name: a\nspec:\n    ports:\n        -   port: 80\n"
     "    type: ClusterIP\n"),
    # externalTrafficPolicy is refused on a ClusterIP Service
    ("apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  type: NodePort\n  externalTrafficPolicy: Local\n"
     "  ports:\n  - port: 80\n",
     "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  type: ClusterIP\n  ports:\n  - port: 80\n"),
    # … unless externalIPs still make it reachable from outside
    ("apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  type: NodePort\n  externalTrafficPolicy: Local\n"
     "  externalIPs: [192.0.2.10]\n  ports:\n  - port: 80\n",
     "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  type: ClusterIP\n  externalTrafficPolicy: Local\n"
     "  externalIPs: [192.0.2.10]\n  ports:\n  - port: 80\n"),
    # CRLF
    ("apiVersion: v1\r\nkind: Service\r\nmetadata:\r\n  name: a\r\nspec:\r\n  type: NodePort\r\n  ports:\r\n"
     "  - port: 80\r\n    nodePort: 30080\r\n",
     "apiVersion: v1\r\nkind: Service\r\nmetadata:\r\n  name: a\r\nspec:\r\n  type: ClusterIP\r\n  ports:\r\n"
     "  - port: 80\r\n"),
    # no final newline
    ("apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  ports:\n  - port: 80\n    nodePort: 30080\n"
     "  type: NodePort",
     "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  ports:\n  - port: 80\n  type: ClusterIP"),
])
def test_node_ports_become_cluster_ip(before, after):
    assert fixed(before) == after


def test_multi_document_files_and_lists():
    before = """# leading comment
---
---
# a document of comments only
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata: {name: a}
  spec:
    type: NodePort
    ports:
    - port: 80
      nodePort: 30080
---
apiVersion: v1
kind: Service
metadata: {name: b}
spec:
  type: ClusterIP
  ports:
  - port: 80
---
apiVersion: v1
kind: Service
metadata: {name: c}
spec:
  ports:
  - port: 81
    nodePort: 30081
  type: NodePort
"""
    after = fixed(before)
    assert after == (before.replace("    type: NodePort", "    type: ClusterIP").replace("      nodePort: 30080\n", "")
                     .replace("    nodePort: 30081\n", "").replace("  type: NodePort", "  type: ClusterIP"))
    assert len(run(ID, before, kind="k8s").applied) == 2


@pytest.mark.parametrize("before", [
    "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  type: ClusterIP\n  ports:\n  - port: 80\n",
    "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  type: LoadBalancer\n  ports:\n"
    "  - port: 80\n    nodePort: 30080\n",
    # the word only in a comment, or in a ConfigMap's data
    "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  # type: NodePort\n  ports:\n  - port: 80\n",
    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata:\n  type: NodePort\n",
    # a CRD that happens to use the field
    "apiVersion: example.com/v1\nkind: Gateway\nmetadata: {name: a}\nspec:\n  type: NodePort\n",
])
def test_near_misses_do_not_change(before):
    outcome = run(ID, before, kind="k8s")
    assert outcome.text == before and not outcome.remaining


CONTROLLER = """apiVersion: v1
kind: Service
metadata:
  name: edge
spec:
  type: NodePort
  selector: {app: edge}
  ports:
  - {name: http, port: 80, nodePort: 30080}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: edge}
spec:
  selector: {matchLabels: {app: edge}}
  template:
    metadata: {labels: {app: edge}}
    spec:
      containers:
      - name: controller
        image: registry.k8s.io/ingress-nginx/controller:v1.12.0
"""


@pytest.mark.parametrize("before", [
    CONTROLLER,  # by the image of the pods it selects
    SVC.replace("name: api", "name: ingress-nginx-controller"),  # by its name
    SVC.replace("name: api", "name: api\n  labels:\n    app.kubernetes.io/name: traefik"),  # by a label
])
def test_ingress_controller_entry_is_reported(before):
    outcome = run(ID, before, kind="k8s")
    assert outcome.text == before
    [finding] = outcome.remaining
    assert finding.fix is None and "ingress controller" in finding.reason


def test_unsafe_only_with_unsafe():
    assert run(ID, SVC, kind="k8s", unsafe=False).text == SVC


def fix_lines(doc) -> set[int]:
    """1-based lines a ks-001 fix may change: the type line of NodePort Services, their nodePort and
    LoadBalancer-only entries (with the entry that moves up to a ``- nodePort`` dash)."""
    about = set()
    for obj in k8s.objects(doc):
        spec = obj.get("spec")
        if obj.kind != "Service" or obj.text("spec", "type") != "NodePort":
            continue
        about.add(obj.get("spec", "type").start_mark.line + 1)
        entries = [(spec, k) for k in ("externalTrafficPolicy", "healthCheckNodePort", "loadBalancerIP",
                                       "loadBalancerSourceRanges", "loadBalancerClass", "allocateLoadBalancerNodePorts")]
        ports = ye.value(spec, "ports")
        entries += [(p, "nodePort") for p in getattr(ports, "value", []) if isinstance(p, MappingNode)]
        for mapping, key in entries:
            found = ye.get(mapping, key)
            if found:
                about |= set(range(found[0].start_mark.line + 1, found[1].end_mark.line + 2))
                if mapping.value[0][0] is found[0] and len(mapping.value) > 1:
                    about.add(mapping.value[1][0].start_mark.line + 1)
    return about


@needs_corpus
def test_corpus():
    counts = check_corpus(ID)
    assert counts["applied"] >= 8
    # every changed line belongs to the fix: no collateral reformatting, nothing inserted
    workspace = corpus_workspace()
    changed = 0
    for path in files("k8s"):
        text, _ = decode(path.read_bytes())
        try:
            doc = documents.load(str(path), "k8s", text)
        except ParseError:
            continue
        outcome = run(ID, text, kind="k8s", path=str(path), workspace=workspace)
        if not outcome.changed:
            continue
        about = fix_lines(doc)
        old, new = text.splitlines(), outcome.text.splitlines()
        for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
            if op == "equal":
                continue
            assert op != "insert", (path, new[j1:j2])
            touched = set(range(i1 + 1, i2 + 1))
            assert touched <= about, (path, sorted(touched - about))
            changed += len(touched)
    assert changed >= counts["applied"]
