"""ks-003: Specific label selectors."""
from __future__ import annotations

import pytest
import yaml

from orchfix import documents
from orchfix.transforms._knowledge import k8s
from orchfix.workspace import Workspace
from tests.corpus import needs_corpus
from tests.helpers import fix, k8s_errors, run
from tests.transforms.yaml_corpus import check_corpus

ID = "ks-003"


def deployment(name: str, match: str, labels: str, port: int = 6379, kind: str = "Deployment") -> str:
    return (f"---\napiVersion: apps/v1\nkind: {kind}\nmetadata:\n  name: {name}\nspec:\n  selector:\n"
            f"    matchLabels: {match}\n  template:\n    metadata:\n      labels: {labels}\n    spec:\n"
            f"      containers:\n      - name: main\n        image: redis:7.2\n        ports:\n"
            f"        - containerPort: {port}\n")


def service(name: str, selector: str, port: int = 6379) -> str:
    return (f"apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\nspec:\n  selector:\n{selector}"
            f"  ports:\n  - port: {port}\n")


PAIR = (deployment("redis-primary", "{app: redis, role: primary}", "{app: redis, role: primary, version: '7.2'}")
        + deployment("redis-replica", "{app: redis, role: replica}", "{app: redis, role: replica, version: '7.2'}"))


def selected_after(text: str, svc_name: str) -> list[str]:
    """Names of the workloads the Service selects in ``text`` (recomputed with k8s.selects)."""
    doc = documents.load("manifest.yaml", "k8s", text)
    ix = k8s.index(Workspace(), doc)
    [svc] = [o for o in ix.of_kind("Service") if o.name == svc_name]
    return [w.name for w in ix.selected_by(svc)]


def fixed(before: str, **kw) -> str:
    after = fix(ID, before, kind="k8s", **kw)
    assert not k8s_errors(after), k8s_errors(after)
    return after


def test_narrowed_to_the_workload_named_like_the_service():
    before = service("redis-primary", "    app: redis  # all redis pods\n") + PAIR
    after = fixed(before)
    assert after == before.replace("    app: redis  # all redis pods\n", "    app: redis  # all redis pods\n    role: primary\n")
    assert selected_after(before, "redis-primary") == ["redis-primary", "redis-replica"]
    assert selected_after(after, "redis-primary") == ["redis-primary"]


def test_flow_selector_and_crlf():
    before = service("redis-primary", "").replace("  selector:\n", "  selector: {app: redis}\n") + PAIR
    after = fixed(before)
    assert "  selector: {app: redis, role: primary}\n" in after
    crlf = before.replace("\n", "\r\n")
    assert fixed(crlf) == after.replace("\n", "\r\n")


def test_intended_by_ports_when_no_name_matches():
    before = (service("cache", "    app: redis\n")
              + deployment("redis", "{app: redis, component: store}", "{app: redis, component: store}")
              + deployment("sentinel", "{app: redis, component: sentinel}", "{app: redis, component: sentinel}", 26379))
    after = fixed(before)
    assert "    app: redis\n    component: store\n" in after
    assert selected_after(after, "cache") == ["redis"]


def test_generic_only_selector_gets_the_workloads_own_labels():
    before = (service("web", "    app: shop\n", 80)
              + deployment("web", "{app: shop, tier: frontend, app.kubernetes.io/version: '3'}",
                           "{app: shop, tier: frontend, app.kubernetes.io/version: '3'}", 80))
    after = fixed(before)
    # the version label of the workload's own selector is never copied
    assert "    app: shop\n    tier: frontend\n  ports:" in after and after.count("app.kubernetes.io/version") == 2


def test_fewest_pod_labels_when_match_labels_are_not_enough():
    # the workloads select by the same labels; their pod templates differ in more than one label
    before = (service("api", "    app: shop\n", 8080)
              + deployment("api", "{app: shop}", "{app: shop, app.kubernetes.io/name: api, tier: backend}", 8080)
              + deployment("web", "{app: shop}", "{app: shop, app.kubernetes.io/name: web, tier: frontend}", 8080))
    after = fixed(before)
    assert "    app: shop\n    app.kubernetes.io/name: api\n  ports:" in after


def test_pods_and_replication_controllers_count_as_workloads():
    pod = "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: redis-bootstrap\n  labels: {app: redis, role: bootstrap}\n" \
          "spec:\n  containers:\n  - {name: r, image: 'redis:7.2'}\n"
    rc = ("---\napiVersion: v1\nkind: ReplicationController\nmetadata: {name: redis}\nspec:\n"
          "  selector: {app: redis, role: node}\n"
          "  template:\n    metadata: {labels: {app: redis, role: node}}\n    spec:\n      containers:\n"
          "      - {name: r, image: 'redis:7.2', ports: [{containerPort: 6379}]}\n")
    before = service("redis", "    app: redis\n") + pod + rc
    after = fixed(before)
    assert "    app: redis\n    role: node\n" in after


def test_across_files_of_a_folder(tmp_path, monkeypatch):
    (tmp_path / "svc.yaml").write_text(service("redis-primary", "    app: redis\n"))
    (tmp_path / "deploy.yaml").write_text(PAIR)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "svc.yaml").write_text(service("redis-primary", "    app: redis\n"))
    monkeypatch.chdir(tmp_path)
    workspace = Workspace.scan(["."])
    after = fixed((tmp_path / "svc.yaml").read_text(), path="svc.yaml", workspace=workspace)
    assert "    role: primary\n" in after
    # the deployments are not applied with a Service in another folder
    text = (tmp_path / "elsewhere" / "svc.yaml").read_text()
    assert run(ID, text, kind="k8s", path="elsewhere/svc.yaml", workspace=workspace).text == text


def test_the_same_workload_in_two_places_counts_once(tmp_path, monkeypatch):
    one = deployment("web", "{app: web}", "{app: web}", 80)
    (tmp_path / "web.yaml").write_text(service("web", "    app: web\n", 80) + one)
    (tmp_path / "kustomization.yaml").write_text("resources:\n- web.yaml\n- web-copy.yaml\n")
    (tmp_path / "web-copy.yaml").write_text(one)
    monkeypatch.chdir(tmp_path)
    workspace = Workspace.scan(["."])
    text = (tmp_path / "web.yaml").read_text()
    outcome = run(ID, text, kind="k8s", path="web.yaml", workspace=workspace)
    assert outcome.text == text and not outcome.remaining


@pytest.mark.parametrize(("before", "reason"), [
    # only a version label tells them apart
    (service("web", "    app: web\n", 80) + deployment("web", "{app: web}", "{app: web, version: v1}", 80)
     + deployment("web-v2", "{app: web}", "{app: web, version: v2}", 80), "version labels are never used"),
    # a canary shares the traffic on purpose
    (service("web", "    app: web\n", 80) + deployment("web", "{app: web, track: stable}", "{app: web, track: stable}", 80)
     + deployment("web-canary", "{app: web, track: canary}", "{app: web, track: canary}", 80), "canary"),
    # neither names nor ports single one out
    (service("redis", "    app: redis\n") + PAIR, "cannot tell which workload"),
    # a membership label both carry, and both serve the port: deliberate
    (service("sentinel", "    sentinel: 'true'\n", 26379)
     + deployment("sentinel", "{app: sentinel}", "{app: sentinel, sentinel: 'true'}", 26379)
     + deployment("bootstrap", "{app: boot}", "{app: boot, sentinel: 'true'}", 26379), "deliberate"),
])
def test_reported_not_rewritten(before, reason):
    outcome = run(ID, before, kind="k8s")
    assert outcome.text == before
    [finding] = outcome.remaining
    assert finding.fix is None and reason in finding.reason


@pytest.mark.parametrize("before", [
    # already as specific as the workload's own selector
    service("redis-primary", "    app: redis\n    role: primary\n") + PAIR,
    # a specific key selecting one workload
    service("web", "    app.kubernetes.io/name: web\n    app.kubernetes.io/instance: shop\n", 80)
    + deployment("web", "{app.kubernetes.io/name: web, app.kubernetes.io/instance: shop}",
                 "{app.kubernetes.io/name: web, app.kubernetes.io/instance: shop}", 80),
    # no selector (endpoints by hand), an ExternalName, nothing selected, another namespace
    "apiVersion: v1\nkind: Service\nmetadata: {name: ext}\nspec:\n  ports:\n  - port: 80\n" + PAIR,
    "apiVersion: v1\nkind: Service\nmetadata: {name: ext}\nspec:\n  type: ExternalName\n  externalName: db.example.com\n",
    service("mongo", "    app: mongo\n") + PAIR,
    service("redis-primary", "    app: redis\n").replace("  name: redis-primary\n", "  name: redis-primary\n  namespace: x\n")
    + PAIR,
])
def test_near_misses_do_not_change(before):
    outcome = run(ID, before, kind="k8s")
    assert outcome.text == before and not outcome.remaining


def test_unsafe_only_with_unsafe():
    before = service("redis-primary", "    app: redis\n") + PAIR
    assert run(ID, before, kind="k8s", unsafe=False).text == before


def test_new_selectors_pick_exactly_their_workload_across_the_corpus_output():
    # the proof the transform makes, made again from the outside on a multi-workload file
    before = service("redis-primary", "    app: redis\n") + PAIR + "---\n" + service("redis-replica", "    app: redis\n")
    after = fixed(before)
    assert selected_after(after, "redis-primary") == ["redis-primary"]
    assert selected_after(after, "redis-replica") == ["redis-replica"]
    assert [d["spec"]["selector"] for d in yaml.safe_load_all(after) if d and d["kind"] == "Service"] == [
        {"app": "redis", "role": "primary"}, {"app": "redis", "role": "replica"}]


@needs_corpus
def test_corpus():
    counts = check_corpus(ID)
    assert counts["applied"] + sum(v for k, v in counts.items() if k.startswith("reported")) >= 3
