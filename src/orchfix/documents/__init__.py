"""Document kinds: which parser reads which file kind."""
from __future__ import annotations

from orchfix.documents.base import Document, ParseError
from orchfix.documents.dockerfile import DockerfileDocument
from orchfix.documents.yaml import YamlDocument
from orchfix.text import Encoding

_BY_KIND: dict[str, type[Document]] = {
    "dockerfile": DockerfileDocument,
    "compose": YamlDocument,
    "k8s": YamlDocument,
    "workflow": YamlDocument,
}


def load(path: str, kind: str, text: str, encoding: Encoding | None = None) -> Document:
    """Parse ``text`` as a document of ``kind``; kinds without a parser yet are plain text."""
    return _BY_KIND.get(kind, Document)(path, text, encoding, kind)


__all__ = ["Document", "DockerfileDocument", "ParseError", "YamlDocument", "load"]
