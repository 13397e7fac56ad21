"""YAML edits: exact text where given, and on every corpus mapping the data they promise."""
from __future__ import annotations

import copy

import pytest
import yaml

from orchfix import yamledit as ye
from orchfix.documents import ParseError, YamlDocument
from orchfix.text import apply_edits, decode
from tests.corpus import files, needs_corpus


def doc(text: str) -> YamlDocument:
    return YamlDocument("x.yaml", text, kind="compose")


def edit(text: str, fn, *path, **kw) -> str:
    d = doc(text)
    node = d.nodes[0]
    for key in path:
        node = ye.value(node, key) if isinstance(key, str) else node.value[key]
    return apply_edits(text, [fn(d, node, **kw)])


COMPOSE = """services:
  web:
    image: nginx   # front
    ports:
      - "80:80"

  # the database
  db:
    image: postgres
"""


def test_set_new_key_after_last_entry_keeps_comments_and_blank_lines():
    out = edit(COMPOSE, ye.set_key, "services", "web", key="depends_on", data={"db": {"condition": "service_healthy"}})
    assert out == COMPOSE.replace('      - "80:80"\n', '      - "80:80"\n    depends_on:\n      db:\n        condition: service_healthy\n')


def test_new_sequence_follows_the_file_flush_style():
    text = "spec:\n  containers:\n  - name: a\n    image: x\n"
    out = edit(text, ye.set_key, "spec", "containers", 0, key="args", data=["--port", "8080"])
    assert out == text + "    args:\n    - --port\n    - '8080'\n"


def test_replace_flow_value_with_block_keeps_the_line_comment():
    text = "svc:\n    depends_on: [db, cache]  # order matters\n    image: app\n"
    out = edit(text, lambda d, m: ye.replace_value(d, *ye.get(m, "depends_on"), {"db": {"condition": "service_healthy"}}), "svc")
    assert out == "svc:\n    depends_on:  # order matters\n        db:\n            condition: service_healthy\n    image: app\n"


def test_replace_scalar_in_place():
    out = edit(COMPOSE, lambda d, m: ye.replace_value(d, *ye.get(m, "image"), "nginx:1.28"), "services", "web")
    assert "    image: nginx:1.28   # front\n" in out


def test_flow_mapping_and_sequence():
    text = "a: {b: 1}\nc: [1]\n"
    assert edit(text, ye.set_key, "a", key="d", data="x y") == "a: {b: 1, d: x y}\nc: [1]\n"
    assert edit(text, ye.append_item, "c", data="2") == "a: {b: 1}\nc: [1, '2']\n"


def test_delete_key_and_remove_item():
    out = edit(COMPOSE, ye.delete_key, "services", "web", key="ports")
    assert out == COMPOSE.replace('    ports:\n      - "80:80"\n', "")
    out = edit("l:\n  - a\n  - b\n  - c\n", ye.remove_item, "l", index=1)
    assert out == "l:\n  - a\n  - c\n"


def test_crlf_and_no_final_newline():
    assert edit("a:\r\n  b: 1\r\n", ye.set_key, "a", key="c", data=2) == "a:\r\n  b: 1\r\n  c: 2\r\n"
    assert edit("a:\n  b: 1", ye.set_key, "a", key="c", data=[1]) == "a:\n  b: 1\n  c:\n    - 1\n"


def test_block_scalar_value_is_not_split():
    text = "a:\n  s: |\n    line\n\n  t: 1\nb: 2\n"
    assert edit(text, ye.set_key, "a", key="u", data=True) == "a:\n  s: |\n    line\n\n  t: 1\n  u: true\nb: 2\n"


@pytest.mark.parametrize("value", ["yes", "1.0", "a: b", "#x", "", " pad", "it's", "multi\nline\n", "null", "*", "x #y"])
def test_scalars_load_back_identical(value):
    rendered = ye.render_scalar(value) if "\n" not in value else ye._inline(value, 2, ye.Style()) + "\n"
    assert yaml.safe_load(f"k: {rendered}") == {"k": value}


def _mappings(node, path=()):
    if isinstance(node, yaml.MappingNode):
        if all(isinstance(k, yaml.ScalarNode) and k.tag.endswith(":str") and k.value != "<<" for k, _ in node.value):
            yield path, node
        kept = {k.value: v for k, v in node.value if isinstance(k, yaml.ScalarNode)}  # the last of a repeated key
        for key, v in kept.items():
            yield from _mappings(v, path + (key,))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            yield from _mappings(item, path + (i,))


def _at(data, path):
    for step in path:
        data = data[step]
    return data


@needs_corpus
@pytest.mark.parametrize("kind", ["compose", "k8s"])
def test_every_corpus_mapping_takes_a_new_key(kind):
    """Adding a nested block to any mapping of a real file gives exactly the data expected."""
    checked = 0
    new = {"orchfix-added": {"list": ["a", "b: c"], "n": 1}}
    for path in files(kind):
        text = decode(path.read_bytes())[0]
        try:
            d = YamlDocument(str(path), text, kind=kind)
            datas = list(yaml.load_all(text, Loader=yaml.CSafeLoader))
        except (ParseError, yaml.YAMLError):
            continue
        if any(n is not None and ("&" in text or "<<" in text) for n in d.nodes):
            continue  # anchors share nodes between places: covered by the anchor-aware callers
        style = ye.style_of(d)
        for index, root in enumerate(d.nodes):
            for mpath, mapping in list(_mappings(root))[:25]:
                if not mapping.value:
                    continue
                out = apply_edits(text, [ye.set_key(d, mapping, "orchfix-added", new["orchfix-added"], style)])
                expected = copy.deepcopy(datas)
                _at(expected[index], mpath)["orchfix-added"] = new["orchfix-added"]
                assert list(yaml.load_all(out, Loader=yaml.CSafeLoader)) == expected, (path, mpath)
                checked += 1
    assert checked > 200
