"""ks-002: Ingress for HTTP routing (LoadBalancer Services behind one Ingress; legacy Ingress → v1)."""
from __future__ import annotations

import pytest
import yaml

from orchfix.workspace import Workspace
from tests.corpus import needs_corpus
from tests.helpers import fix, k8s_errors, run
from tests.transforms.yaml_corpus import check_corpus

ID = "ks-002"
DOMAIN = {"domain": "example.com"}


def fixed(before: str, **kw) -> str:
    after = fix(ID, before, kind="k8s", **kw)
    assert not k8s_errors(after), k8s_errors(after)
    return after


# legacy Ingresses ------------------------------------------------------------------------------

LEGACY = """apiVersion: networking.k8s.io/v1beta1
kind: Ingress
metadata:
  name: web
  annotations:
    kubernetes.io/ingress.class: nginx
    nginx.ingress.kubernetes.io/proxy-body-size: 8m
spec:
  tls:
  - hosts: [web.example.com]
    secretName: web-tls
  rules:
  - host: web.example.com
    http:
      paths:
      - path: /
        backend:
          serviceName: web   # the front
          servicePort: 80
      - path: /api
        pathType: Exact
        backend:
          serviceName: api
          servicePort: "8080"
"""

LEGACY_V1 = """apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  annotations:
    nginx.ingress.kubernetes.io/proxy-body-size: 8m
spec:
  tls:
  - hosts: [web.example.com]
    secretName: web-tls
  rules:
  - host: web.example.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: web   # the front
            port:
              number: 80
      - path: /api
        pathType: Exact
        backend:
          service:
            name: api
            port:
              number: 8080
  ingressClassName: nginx
"""


def test_legacy_ingress_migrates_line_by_line():
    assert fixed(LEGACY) == LEGACY_V1
    assert yaml.safe_load(LEGACY_V1)["spec"]["rules"][0]["http"]["paths"][1]["backend"]["service"]["port"] == {"number": 8080}


@pytest.mark.parametrize(("before", "after"), [
    # extensions/v1beta1 with a default backend and a named port; the only annotation goes with its key
    ("apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata:\n  name: a\n  annotations:\n"
     "    kubernetes.io/ingress.class: traefik\nspec:\n  backend:\n    serviceName: web\n    servicePort: http\n",
     "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: a\nspec:\n  defaultBackend:\n"
     "    service:\n      name: web\n      port:\n        name: http\n  ingressClassName: traefik\n"),
    # flow backends
    ("apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata: {name: a}\nspec:\n  rules:\n  - http:\n      paths:\n"
     "      - path: /\n        backend: {serviceName: web, servicePort: 80}\n",
     "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: a}\nspec:\n  rules:\n  - http:\n      paths:\n"
     "      - path: /\n        pathType: Prefix\n        backend: {service: {name: web, port: {number: 80}}}\n"),
    # a whole flow path item
    ("apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata: {name: a}\nspec:\n  rules:\n  - http:\n      paths:\n"
     "      - {path: /x, backend: {serviceName: web, servicePort: 80}}\n",
     "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: a}\nspec:\n  rules:\n  - http:\n      paths:\n"
     "      - {path: /x, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}\n"),
    # no path: ImplementationSpecific (what v1beta1 meant), added after the backend
    ("apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata: {name: a}\nspec:\n  rules:\n  - http:\n      paths:\n"
     "      - backend:\n          serviceName: web\n          servicePort: 80\n",
     "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: a}\nspec:\n  rules:\n  - http:\n      paths:\n"
     "      - backend:\n          service:\n            name: web\n            port:\n              number: 80\n"
     "        pathType: ImplementationSpecific\n"),
    # 4 spaces, indented sequences, CRLF
    ("apiVersion: extensions/v1beta1\r\nkind: Ingress\r\nmetadata:\r\n    name: a\r\nspec:\r\n    rules:\r\n"
     "        -   http:\r\n                paths:\r\n                    -   path: /\r\n                        backend:\r\n"
     "                            serviceName: web\r\n                            servicePort: 80\r\n",
     "apiVersion: networking.k8s.io/v1\r\nkind: Ingress\r\nmetadata:\r\n    name: a\r\nspec:\r\n    rules:\r\n"
     "        -   http:\r\n                paths:\r\n                    -   path: /\r\n"
     "                        pathType: Prefix\r\n                        backend:\r\n"
     "                            service:\r\n                                name: web\r\n"
     "                                port:\r\n                                    number: 80\r\n"),
    # a resource backend keeps its shape
    ("apiVersion: networking.k8s.io/v1beta1\nkind: Ingress\nmetadata: {name: a}\nspec:\n  backend:\n    resource:\n"
     "      {apiGroup: k8s.example.com, kind: StorageBucket, name: assets}\n",
     "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: a}\nspec:\n  defaultBackend:\n    resource:\n"
     "      {apiGroup: k8s.example.com, kind: StorageBucket, name: assets}\n"),
    # servicePort before serviceName, comments on both
    ("apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata: {name: a}\nspec:\n  backend:\n"
     "    servicePort: 80  # port\n    serviceName: web  # name\n",
     "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: a}\nspec:\n  defaultBackend:\n"
     "    service:\n      name: web  # name\n      port:\n        number: 80  # port\n"),
])
def test_legacy_shapes(before, after):
    assert fixed(before) == after


@pytest.mark.parametrize(("annotations", "path", "kind"), [
    ("nginx.ingress.kubernetes.io/rewrite-target: /$2", "/api(/|$)(.*)", "ImplementationSpecific"),
    ('nginx.ingress.kubernetes.io/use-regex: "true"', "/api", "ImplementationSpecific"),
    ("nginx.ingress.kubernetes.io/rewrite-target: /", "/api", "ImplementationSpecific"),
    ("kubernetes.io/ingress.class: gce", "/api", "ImplementationSpecific"),
    ("example.com/x: y", "/*", "ImplementationSpecific"),
    ("example.com/x: y", "/a//b", "ImplementationSpecific"),
    ('nginx.ingress.kubernetes.io/use-regex: "false"', "/api/v1", "Prefix"),
])
def test_path_type_follows_how_paths_are_read(annotations, path, kind):
    before = (f"apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata:\n  name: a\n  annotations:\n    {annotations}\n"
              f"spec:\n  rules:\n  - http:\n      paths:\n      - path: {path}\n        backend:\n"
              f"          serviceName: web\n          servicePort: 80\n")
    after = fixed(before)
    assert yaml.safe_load(after)["spec"]["rules"][0]["http"]["paths"][0]["pathType"] == kind


def test_unknown_class_keeps_its_annotation():
    before = ("apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata:\n  name: a\n  annotations:\n"
              "    kubernetes.io/ingress.class: gce\nspec:\n  backend:\n    serviceName: web\n    servicePort: 80\n")
    after = fixed(before)
    assert "kubernetes.io/ingress.class: gce" in after and "ingressClassName" not in after
    [finding] = run(ID, before, kind="k8s").applied
    assert "annotation (gce) stays" in finding.message


def test_class_defined_in_the_tree_moves_to_ingress_class_name():
    before = ("apiVersion: networking.k8s.io/v1\nkind: IngressClass\nmetadata: {name: internal}\n"
              "spec: {controller: example.com/ingress}\n---\n"
              "apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata:\n  name: a\n  annotations:\n"
              "    kubernetes.io/ingress.class: internal\n    team: web\nspec:\n  backend:\n"
              "    serviceName: web\n    servicePort: 80\n")
    after = fixed(before)
    assert "ingressClassName: internal" in after and "kubernetes.io/ingress.class" not in after
    assert "    team: web\n" in after


def test_legacy_ingress_in_a_list_and_beside_other_objects():
    before = ("apiVersion: v1\nkind: List\nitems:\n- apiVersion: extensions/v1beta1\n  kind: Ingress\n"
              "  metadata: {name: a}\n  spec:\n    backend:\n      serviceName: web\n      servicePort: 80\n"
              "---\napiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata: {name: p}\n"
              "spec: {minAvailable: 1, selector: {matchLabels: {app: web}}}\n")
    after = fixed(before)
    assert "- apiVersion: networking.k8s.io/v1\n" in after and "defaultBackend:\n      service:\n" in after
    assert after.endswith(before[before.index("---"):])


@pytest.mark.parametrize("before", [
    LEGACY_V1,
    "apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata: {name: p}\nspec: {minAvailable: 1}\n",
])
def test_near_misses_do_not_change(before):
    outcome = run(ID, before, kind="k8s", options=DOMAIN)
    assert outcome.text == before and not outcome.remaining


# LoadBalancer Services --------------------------------------------------------------------------

LBS = """apiVersion: v1
kind: Service
metadata:
  name: shop-front
  namespace: shop
spec:
  type: LoadBalancer
  loadBalancerIP: 203.0.113.7
  externalTrafficPolicy: Local
  loadBalancerSourceRanges:
  - 10.0.0.0/8
  selector:
    app: shop-front
  ports:
  - name: http
    port: 80
    targetPort: 8080
    nodePort: 31080
---
# the admin UI
apiVersion: v1
kind: Service
metadata: {name: shop-admin, namespace: shop}
spec: {type: LoadBalancer, selector: {app: shop-admin}, ports: [{name: http-ui, port: 8081, targetPort: 8081}]}
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: shop}
spec:
  type: LoadBalancer
  selector: {app: db}
  ports:
  - port: 5432
"""

LBS_AFTER = """apiVersion: v1
kind: Service
metadata:
  name: shop-front
  namespace: shop
spec:
  type: ClusterIP
  selector:
    app: shop-front
  ports:
  - name: http
    port: 80
    targetPort: 8080
---
# the admin UI
apiVersion: v1
kind: Service
metadata: {name: shop-admin, namespace: shop}
spec: {type: ClusterIP, selector: {app: shop-admin}, ports: [{name: http-ui, port: 8081, targetPort: 8081}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: shop-ingress
  namespace: shop
spec:
  ingressClassName: nginx
  rules:
  - host: shop-front.example.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: shop-front
            port:
              number: 80
  - host: shop-admin.example.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: shop-admin
            port:
              number: 8081
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: shop}
spec:
  type: LoadBalancer
  selector: {app: db}
  ports:
  - port: 5432
"""


def test_http_load_balancers_share_one_ingress():
    assert fixed(LBS, options=DOMAIN) == LBS_AFTER


def test_ingress_class_option():
    after = fixed(LBS, options={**DOMAIN, "ingress_class": ""})
    assert "ingressClassName" not in after
    after = fixed(LBS, options={**DOMAIN, "ingress_class": "traefik"})
    assert "  ingressClassName: traefik\n" in after


def test_without_a_domain_it_reports_what_to_configure():
    outcome = run(ID, LBS, kind="k8s")
    assert outcome.text == LBS
    [finding] = outcome.remaining
    assert finding.fix is None and 'domain = "example.com"' in finding.reason and "shop-front, shop-admin" in finding.message


def test_invalid_domain_is_reported():
    [finding] = run(ID, LBS, kind="k8s", options={"domain": "not a domain"}).remaining
    assert finding.fix is None and "not a DNS name" in finding.reason


def test_ingress_name_taken_is_reported():
    taken = LBS + ("---\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: shop-ingress, namespace: shop}\n"
                   "spec: {defaultBackend: {service: {name: db, port: {number: 5432}}}}\n")
    outcome = run(ID, taken, kind="k8s", options=DOMAIN)
    assert outcome.text == taken and "already exists" in outcome.remaining[0].reason


ONE = ("apiVersion: v1\nkind: Service\nmetadata: {{name: {0}}}\nspec:\n  type: LoadBalancer\n  selector: {{app: {0}}}\n"
       "  ports:\n  - port: {1}\n")


@pytest.mark.parametrize("before", [
    ONE.format("web", 80),  # alone
    ONE.format("web", 80) + "---\n" + ONE.format("db", 5432),  # the other one is not HTTP
    ONE.format("web", 80) + "---\n" + ONE.format("mixed", 80).replace("  - port: 80\n", "  - port: 80\n  - port: 6379\n"),
    # in two namespaces
    ONE.format("web", 80) + "---\n" + ONE.format("api", 8080).replace("{name: api}", "{name: api, namespace: other}"),
    # an ingress controller's own Service
    ONE.format("web", 80) + "---\n" + ONE.format("ingress-nginx-controller", 80),
    # already routed by an Ingress
    ONE.format("web", 80) + "---\n" + ONE.format("api", 8080) + "---\napiVersion: networking.k8s.io/v1\nkind: Ingress\n"
    "metadata: {name: i}\nspec: {defaultBackend: {service: {name: api, port: {number: 8080}}}}\n",
])
def test_load_balancer_near_misses(before):
    outcome = run(ID, before, kind="k8s", options=DOMAIN)
    assert outcome.text == before and not outcome.remaining


def test_services_in_two_files_of_a_folder(tmp_path, monkeypatch):
    (tmp_path / "k8s").mkdir()
    (tmp_path / "other").mkdir()
    texts = {"k8s/api.yaml": ONE.format("api", 8080), "k8s/web.yaml": ONE.format("web", 80),
             "other/admin.yaml": ONE.format("admin", 80)}
    for rel, text in texts.items():
        (tmp_path / rel).write_text(text)
    monkeypatch.chdir(tmp_path)
    workspace = Workspace.scan(["."])
    api = run(ID, texts["k8s/api.yaml"], kind="k8s", path="k8s/api.yaml", workspace=workspace, options=DOMAIN)
    web = run(ID, texts["k8s/web.yaml"], kind="k8s", path="k8s/web.yaml", workspace=workspace, options=DOMAIN)
    admin = run(ID, texts["other/admin.yaml"], kind="k8s", path="other/admin.yaml", workspace=workspace, options=DOMAIN)
    # each file turns its own Service; the Ingress goes after the last one (by path) of the group
    assert api.text == texts["k8s/api.yaml"].replace("LoadBalancer", "ClusterIP")
    assert web.text.startswith(texts["k8s/web.yaml"].replace("LoadBalancer", "ClusterIP") + "---\n")
    ingress = list(yaml.safe_load_all(web.text))[1]
    assert [r["host"] for r in ingress["spec"]["rules"]] == ["api.example.com", "web.example.com"]
    assert admin.text == texts["other/admin.yaml"]  # another folder: another app
    for rel, outcome in (("k8s/api.yaml", api), ("k8s/web.yaml", web)):
        assert not k8s_errors(outcome.text)
        (tmp_path / rel).write_text(outcome.text)
    workspace = Workspace.scan(["."])
    for rel in ("k8s/api.yaml", "k8s/web.yaml"):
        text = (tmp_path / rel).read_text()
        again = run(ID, text, kind="k8s", path=rel, workspace=workspace, options=DOMAIN)
        assert again.text == text and not again.remaining


def test_unsafe_only_with_unsafe():
    assert run(ID, LBS, kind="k8s", options=DOMAIN, unsafe=False).text == LBS
    assert run(ID, LEGACY, kind="k8s", unsafe=False).text == LEGACY


@needs_corpus
def test_corpus():
    counts = check_corpus(ID)
    assert counts["reported: no host names are known for"] >= 3
    counts = check_corpus(ID, options=DOMAIN)
    assert counts["applied"] >= 3


def _legacy(data: dict) -> dict:
    """A v1 Ingress written back in extensions/v1beta1 (what the migration has to undo)."""
    def backend(b: dict) -> dict:
        service = b.pop("service", None)
        if service:
            b["serviceName"] = service["name"]
            port = service.get("port") or {}
            b["servicePort"] = port.get("number", port.get("name"))
        return b
    legacy = {**data, "apiVersion": "extensions/v1beta1", "spec": dict(data.get("spec") or {})}
    spec = legacy["spec"]
    if "defaultBackend" in spec:
        spec["backend"] = backend(dict(spec.pop("defaultBackend")))
    rules = []
    for rule in spec.get("rules") or []:
        rule = dict(rule)
        if "http" in rule:
            rule["http"] = {"paths": [{**{k: v for k, v in p.items() if k != "pathType"}, "backend": backend(dict(p["backend"]))}
                                      for p in rule["http"]["paths"]]}
        rules.append(rule)
    if rules:
        spec["rules"] = rules
    return legacy


@needs_corpus
def test_every_corpus_ingress_survives_a_round_trip_through_v1beta1():
    import copy

    from orchfix.text import decode
    from tests.corpus import files

    checked = 0
    for path in files("k8s"):
        text, _ = decode(path.read_bytes())
        if "kind: Ingress" not in text:
            continue
        for data in yaml.safe_load_all(text):
            if not isinstance(data, dict) or data.get("kind") != "Ingress" or data.get("apiVersion") != "networking.k8s.io/v1":
                continue
            legacy_text = yaml.safe_dump(_legacy(copy.deepcopy(data)), sort_keys=False)
            after = fixed(legacy_text)
            back = yaml.safe_load(after)
            for rule_after, rule in zip(back["spec"].get("rules") or [], data["spec"].get("rules") or []):
                for p_after, p in zip(rule_after.get("http", {}).get("paths", []), rule.get("http", {}).get("paths", [])):
                    assert p_after.pop("pathType") in ("Prefix", "ImplementationSpecific")
                    p.pop("pathType")
            assert back == data, path
            checked += 1
    assert checked >= 20
