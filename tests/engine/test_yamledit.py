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


def test_raw_text_is_emitted_as_it_is():
    from orchfix.yamledit import Raw, render_block, render_flow

    assert render_block({"PORT": Raw('"8080"'), "HOST": Raw("db")}, 2, ye.Style()) == '  PORT: "8080"\n  HOST: db\n'
    assert render_flow([Raw("'x'")]) == "['x']"


def test_flow_lists_stay_on_the_key_line():
    text = "services:\n  web:\n    image: adminer\n"
    out = edit(text, ye.set_key, "services", "web", key="profiles", data=ye.Flow(["debug"]))
    assert out == text + "    profiles: [debug]\n"
    out = edit("web: {image: adminer}\n", ye.set_key, "web", key="profiles", data=ye.Flow(["debug"]))
    assert out == "web: {image: adminer, profiles: [debug]}\n"
    out = edit("web:\n  profiles:\n    - a\n", lambda d, m: ye.replace_value(d, *ye.get(m, "profiles"), ye.Flow(["a", "b"])), "web")
    assert out == "web:\n  profiles: [a, b]\n"


@pytest.mark.parametrize(("text", "after"), [
    ("s:\n  tmpfs:\n    - /run\n  image: x\n", "s:\n  tmpfs:\n    - /run\n    - /tmp\n    - /var/run\n  image: x\n"),
    ("s:\n  tmpfs: [/run]\n", "s:\n  tmpfs: [/run, /tmp, /var/run]\n"),
    ("s:\n  tmpfs: []\n", "s:\n  tmpfs: [/tmp, /var/run]\n"),
    ("s:\n  tmpfs:\n  - /run", "s:\n  tmpfs:\n  - /run\n  - /tmp\n  - /var/run\n"),
])
def test_append_several_items_in_one_edit(text, after):
    assert edit(text, ye.append_items, "s", "tmpfs", items=["/tmp", "/var/run"]) == after


@pytest.mark.parametrize(("text", "after"), [
    ("v:\n  - ./a:/a\n  - /tmp  \n  - b:/b\n", "v:\n  - ./a:/a\n  - type: tmpfs\n    target: /tmp\n  - b:/b\n"),
    ("v:\n- /tmp", "v:\n- type: tmpfs\n  target: /tmp"),
    ("v: [./a:/a, /tmp]\n", "v: [./a:/a, {type: tmpfs, target: /tmp}]\n"),
    ("v:\r\n    -   /tmp\r\n", "v:\r\n    - type: tmpfs\r\n      target: /tmp\r\n"),
])
def test_replace_one_item(text, after):
    index = 0 if "/tmp" in text.split("\n")[1] else 1
    assert edit(text, ye.replace_item, "v", index=index, data={"type": "tmpfs", "target": "/tmp"}) == after


@pytest.mark.parametrize("text", [
    "x: &dev\n  a: 1\n  b: 2\n\ns:\n  image: x\n  develop: *dev\n",
    "x: &dev\n  a: 1\n\ns:\n  image: x\n  develop: *dev   # shared\n",
    "x: &dev\n  a: 1\n\ns:\n  image: x\n  develop:\n    *dev\n",
    "x: &dev |\n  text\ns:\n  image: x\n  develop: *dev",
])
def test_a_new_key_goes_after_an_alias_not_after_its_anchor(text):
    out = edit(text, ye.set_key, "s", key="read_only", data=True)
    assert yaml.safe_load(out)["s"] == {**yaml.safe_load(text)["s"], "read_only": True}
    assert yaml.safe_load(out)["x"] == yaml.safe_load(text)["x"]


def test_a_new_item_goes_after_an_alias_item():
    text = "a: &a foo\nl:\n  - b\n  - *a\nz: 1\n"
    assert edit(text, ye.append_item, "l", data="c") == "a: &a foo\nl:\n  - b\n  - *a\n  - c\nz: 1\n"


@pytest.mark.parametrize(("text", "after"), [
    # the first entry of a sequence item: the next entry moves up to the dash
    ("l:\n  - a: 1\n    b: 2\n", "l:\n  - b: 2\n"),
    ("l:\n- a: 1   # c\n  # note\n  b: 2\n  c: 3\n", "l:\n- b: 2\n  c: 3\n"),
    # the only entry: an empty flow mapping stays in its place
    ("l:\n- a: 1\n- b: 2\n", "l:\n- {}\n- b: 2\n"),
    ("l:\n- a: 1", "l:\n- {}"),
])
def test_delete_the_first_entry_of_a_sequence_item(text, after):
    assert edit(text, ye.delete_key, "l", 0, key="a") == after
    assert yaml.safe_load(after)["l"][0] == {k: v for k, v in yaml.safe_load(text)["l"][0].items() if k != "a"}


@pytest.mark.parametrize(("text", "after"), [
    ("m:\n  a: 1  # one\n\nz: 0\n", "m:\n  a: 1  # one\n  b: 2\n  c:\n    - x\n\nz: 0\n"),
    ("m: {a: 1}\n", "m: {a: 1, b: 2, c: [x]}\n"),
    ("m: {}\n", "m: {b: 2, c: [x]}\n"),
    ("m:\r\n    a: 1\r\n", "m:\r\n    a: 1\r\n    b: 2\r\n    c:\r\n        - x\r\n"),
])
def test_add_several_keys_in_one_edit(text, after):
    assert edit(text, ye.add_keys, "m", data={"b": 2, "c": ["x"]}) == after


@pytest.mark.parametrize(("text", "after"), [
    ("l:\n- path: /\n  backend: x\n", "l:\n- path: /\n  pathType: Prefix\n  backend: x\n"),
    ("l:\n- path: /  # root\n", "l:\n- path: /  # root\n  pathType: Prefix\n"),
    ("l:\n- {path: /, backend: x}\n", "l:\n- {path: /, pathType: Prefix, backend: x}\n"),
    ("l:\n- path: /", "l:\n- path: /\n  pathType: Prefix\n"),
])
def test_insert_a_key_after_another(text, after):
    assert edit(text, ye.insert_key, "l", 0, key="pathType", data="Prefix", after="path") == after
