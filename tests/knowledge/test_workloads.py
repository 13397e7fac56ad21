"""Workload knowledge: replica floors with HPAs, label selectors, storage one writer owns."""
from __future__ import annotations

import pytest

from orchfix.documents import YamlDocument
from orchfix.transforms._knowledge import k8s, workloads
from orchfix.workspace import Workspace

TREE = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web, tier: front}}
    spec:
      containers: [{name: web, image: nginx}]
      volumes:
      - {name: a, persistentVolumeClaim: {claimName: rwo}}
      - {name: b, persistentVolumeClaim: {claimName: rwx}}
      - {name: c, persistentVolumeClaim: {claimName: missing}}
      - {name: d, hostPath: {path: /x}}
      - {name: e, gcePersistentDisk: {pdName: p, readOnly: true}}
      - {name: f, rbd: {image: i, monitors: [m]}}
      - {name: g, flexVolume: {driver: x/y}}
      - {name: h, emptyDir: {}}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web, namespace: shop}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 2
  maxReplicas: 4
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: rwo, namespace: shop}
spec: {accessModes: [ReadWriteOnce]}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: rwx, namespace: shop}
spec: {accessModes: [ReadWriteMany]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: shop}
spec:
  replicas: 3
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: db, image: postgres}]}
"""


def objs():
    doc = YamlDocument("tree.yaml", TREE, kind="k8s")
    return k8s.index(Workspace(), doc), {o.name: o for o in k8s.objects(doc) if o.kind != "HorizontalPodAutoscaler"}


def test_replica_floors():
    idx, by_name = objs()
    assert workloads.replica_floor(by_name["web"], idx).count == 2
    assert "HorizontalPodAutoscaler web" in workloads.replicated(by_name["web"], idx).source
    assert workloads.replicated(by_name["db"], idx).count == 3
    assert workloads.replica_floor(by_name["rwo"], idx) is None


def test_exclusive_storage():
    idx, by_name = objs()
    found = {s.volume: s for s in workloads.exclusive_storage(by_name["web"], idx)}
    assert set(found) == {"a", "c", "d", "f", "g"}
    assert found["a"].known and found["d"].known and found["f"].known
    assert not found["c"].known and not found["g"].known


@pytest.mark.parametrize(("selector", "labels", "matches"), [
    ({"matchLabels": {"app": "web"}}, {"app": "web", "tier": "front"}, True),
    ({"matchLabels": {"app": "web"}}, {"app": "api"}, False),
    ({}, {"app": "anything"}, True),
    ({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["front", "back"]}]}, {"tier": "front"}, True),
    ({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["front"]}]}, {"tier": "front"}, False),
    ({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["front"]}]}, {}, True),
    ({"matchExpressions": [{"key": "tier", "operator": "Exists"}]}, {}, False),
    ({"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}, {}, True),
])
def test_label_selectors(selector, labels, matches):
    import yaml

    node = yaml.compose(yaml.safe_dump(selector))
    assert workloads.Selector.of(node).matches(labels) is matches


def test_pod_selector_falls_back_to_template_labels():
    doc = YamlDocument("d.yaml", "apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata: {name: old}\nspec:\n"
                       "  template:\n    metadata: {labels: {app: old}}\n    spec: {containers: []}\n", kind="k8s")
    [obj] = k8s.objects(doc)
    assert workloads.pod_selector(obj).as_data() == {"matchLabels": {"app": "old"}}
