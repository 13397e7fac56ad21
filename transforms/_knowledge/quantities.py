"""Kubernetes resource quantities (``500m``, ``1.5Gi``, ``128974848``, ``129e6``): parsing and
comparison, as ``k8s.io/apimachinery/pkg/api/resource`` reads them.

A quantity is a signed decimal number followed by an optional suffix: a binary SI one
(``Ki Mi Gi Ti Pi Ei``, powers of 1024), a decimal SI one (``n u m k M G T P E``, powers of 1000;
``m`` is milli and ``M`` mega) or a decimal exponent (``e3``, ``E-2``).
"""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_QUANTITY = re.compile(
    r"(?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+))"
    r"(?:(?P<binary>Ki|Mi|Gi|Ti|Pi|Ei)|(?P<exponent>[eE][+-]?\d+)|(?P<decimal>[numkMGTPE]?))"
)


def parse(text: object) -> Decimal | None:
    """The value of a quantity (cores for cpu, bytes for memory); None when it is not one
    (a template placeholder, a typo)."""
    if isinstance(text, bool) or text is None:
        return None
    if isinstance(text, (int, float)):
        return Decimal(str(text))
    match = _QUANTITY.fullmatch(str(text).strip())
    if not match:
        return None
    try:
        number = Decimal(match.group("number"))
    except InvalidOperation:
        return None
    if match.group("binary"):
        return number * (1024 ** _BINARY[match.group("binary")])
    if match.group("exponent"):
        return number.scaleb(int(match.group("exponent")[1:]))
    return number.scaleb(_DECIMAL[match.group("decimal") or ""])


def compare(a: object, b: object) -> int | None:
    """-1, 0 or 1 as quantity ``a`` is below, equal to or above ``b``; None when either is not
    a quantity."""
    x, y = parse(a), parse(b)
    if x is None or y is None:
        return None
    return (x > y) - (x < y)
