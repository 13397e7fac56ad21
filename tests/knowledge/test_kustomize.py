"""kustomize knowledge: kustomizations, their resources, patches and generators; edits in the file's style."""
from __future__ import annotations

import yaml

from orchfix.text import apply_edits
from orchfix.transforms._knowledge import kustomize
from tests.transforms.crossfile import project


def test_add_resource_and_generator_in_the_files_style(tmp_path, monkeypatch):
    flush = "# base\nresources:\n- a.yaml   # the app\n"
    indented = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n    - a.yaml\n"
    flow = "resources: [a.yaml]\n"
    missing = "namespace: shop\n"
    empty = "# nothing yet\n"
    ws = project(tmp_path, monkeypatch, {"f/kustomization.yaml": flush, "i/kustomization.yaml": indented,
                                         "w/kustomization.yaml": flow, "m/kustomization.yaml": missing,
                                         "e/kustomization.yaml": empty})
    assert apply_edits(flush, kustomize.add_resource(ws, "f/kustomization.yaml", "b.yaml")) == flush + "- b.yaml\n"
    assert apply_edits(indented, kustomize.add_resource(ws, "i/kustomization.yaml", "b.yaml")) == indented + "    - b.yaml\n"
    assert apply_edits(flow, kustomize.add_resource(ws, "w/kustomization.yaml", "b.yaml")) == "resources: [a.yaml, b.yaml]\n"
    assert apply_edits(missing, kustomize.add_resource(ws, "m/kustomization.yaml", "b.yaml")) == missing + "resources:\n  - b.yaml\n"
    assert apply_edits(empty, kustomize.add_resource(ws, "e/kustomization.yaml", "b.yaml")) == empty + "resources:\n  - b.yaml\n"
    entry = {"name": "c", "files": ["c/app.ini"], "options": {"disableNameSuffixHash": True}}
    after = apply_edits(indented, kustomize.add_config_map_generator(ws, "i/kustomization.yaml", entry))
    assert yaml.safe_load(after)["configMapGenerator"] == [entry]
    assert after.startswith(indented)


def test_new_kustomization():
    text = kustomize.new_kustomization(["a.yaml"], [{"name": "c", "literals": ["A=b"]}])
    assert yaml.safe_load(text) == {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
                                    "resources": ["a.yaml"], "configMapGenerator": [{"name": "c", "literals": ["A=b"]}]}


def test_listing_patches_and_generators(tmp_path, monkeypatch):
    kust = """\
resources:
- ../base
- app.yaml
patches:
- path: patch.yaml
- target: {kind: Deployment, name: web}
  patch: |-
    - op: replace
      path: /spec/replicas
      value: 2
patchesStrategicMerge:
- |-
  apiVersion: v1
  kind: Service
  metadata:
    name: web
configMapGenerator:
- name: settings
  literals: [A=b]
secretGenerator:
- name: creds
  envs: [.env]
"""
    patch = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 3\n"
    ws = project(tmp_path, monkeypatch, {"overlay/kustomization.yaml": kust, "overlay/patch.yaml": patch,
                                         "overlay/app.yaml": patch, "base/kustomization.yaml": "resources: []\n"})
    assert [k.path for k in kustomize.listing(ws, "overlay/app.yaml")] == ["overlay/kustomization.yaml"]
    assert kustomize.in_folder(ws, "overlay/../base").path == "base/kustomization.yaml"
    assert kustomize.is_patch(ws, "overlay/patch.yaml") and not kustomize.is_patch(ws, "overlay/app.yaml")
    found = [(p.kind, p.name, p.json, p.path) for p in kustomize.patches(ws)]
    assert found == [("Deployment", "web", False, "overlay/patch.yaml"), ("Deployment", "web", True, None),
                     ("Service", "web", False, None)]
    assert kustomize.generated(ws) == {("ConfigMap", "settings"), ("Secret", "creds")}
    assert kustomize.builds(ws, "overlay/kustomization.yaml", "overlay/app.yaml")
