"""YAML documents: positions from libyaml's fast composer, text left untouched.

A round trip through ruamel.yaml reproduces only a fifth of real files byte for byte and is
some twenty-five times slower than libyaml, so a YAML document keeps the original text and
the composed node graph (every node with its start and end offsets); transforms splice edits
into the text at those offsets.
"""
from __future__ import annotations

import yaml

from orchfix.documents.base import Document, ParseError

try:
    _Loader = yaml.CSafeLoader
except AttributeError:  # PyYAML built without libyaml
    _Loader = yaml.SafeLoader


class YamlDocument(Document):
    """Every ``---`` document of a YAML stream as a node (None for an empty one)."""


    def parse(self) -> None:
        try:
            self.nodes: list[yaml.Node | None] = list(yaml.compose_all(self.text, Loader=_Loader))
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            raise ParseError(exc.problem or str(exc), mark.line + 1 if mark else None) from None
        except yaml.YAMLError as exc:
            raise ParseError(str(exc)) from None

