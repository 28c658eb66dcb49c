"""Kubernetes resource quantities as numbers the planner adds up: millicores, MiB, GiB."""

from __future__ import annotations

import re
from typing import Any

_QUANTITY = re.compile(r"^([+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)(m|Ki|Mi|Gi|Ti|Pi|Ei|k|K|M|G|T|P|E)?$")
_FACTOR = {
    None: 1.0, "m": 1e-3, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
    "Ki": 2.0**10, "Mi": 2.0**20, "Gi": 2.0**30, "Ti": 2.0**40, "Pi": 2.0**50, "Ei": 2.0**60,
}


class QuantityError(ValueError):
    """A resource quantity the planner cannot read."""


def quantity(value: Any) -> float:
    """A Kubernetes quantity ("250m", "2", "512Mi", "1.5G", 3) in base units (cores or bytes)."""
    if isinstance(value, bool):
        raise QuantityError(f"expected a quantity, got {value!r}")
    if isinstance(value, (int, float)):
        return float(value)
    match = _QUANTITY.match(str(value).strip())
    if not match:
        raise QuantityError(f"expected a Kubernetes quantity like '250m', '2', '512Mi', got {value!r}")
    return float(match.group(1)) * _FACTOR[match.group(2)]


def millicores(value: Any) -> int:
    """CPU quantity in whole millicores (rounded up, as the scheduler reserves them)."""
    return int(-(-round(quantity(value) * 1000 * 1000) // 1000))


def mebibytes(value: Any) -> int:
    """Memory quantity in whole MiB (rounded up)."""
    return int(-(-int(round(quantity(value))) // 2**20))


def gibibytes(value: Any) -> int:
    """Storage quantity in whole GiB (rounded up)."""
    return int(-(-int(round(quantity(value))) // 2**30))
