"""Kubernetes quantities: parsed and compared by value."""
from __future__ import annotations

from decimal import Decimal

import pytest

from orchfix.transforms._knowledge import quantities


@pytest.mark.parametrize(("text", "value"), [
    ("500m", Decimal("0.5")), ("0.5", Decimal("0.5")), ("2", Decimal(2)), (2, Decimal(2)), (".5", Decimal("0.5")),
    ("128Mi", Decimal(128 * 2**20)), ("1Gi", Decimal(2**30)), ("1Ki", Decimal(1024)), ("1Ei", Decimal(2**60)),
    ("1k", Decimal(1000)), ("1M", Decimal(10**6)), ("1G", Decimal(10**9)), ("100u", Decimal("0.0001")),
    ("5n", Decimal("0.000000005")), ("1e3", Decimal(1000)), ("12E6", Decimal(12 * 10**6)), ("1.5e-3", Decimal("0.0015")),
    ("+1", Decimal(1)), (" 250m ", Decimal("0.25")),
])
def test_parse(text, value):
    assert quantities.parse(text) == value


@pytest.mark.parametrize("text", ["", "${CPU}", "1 Gi", "1GB", "1mi", "one", "1.2.3", None, True, "{{ .Values.cpu }}"])
def test_not_quantities(text):
    assert quantities.parse(text) is None


def test_compare():
    assert quantities.compare("500m", "0.5") == 0
    assert quantities.compare("1Gi", "1G") == 1
    assert quantities.compare("100m", "1") == -1
    assert quantities.compare("128Mi", "${MEM}") is None
