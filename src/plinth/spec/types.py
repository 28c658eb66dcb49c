"""Small typed building blocks of the spec: durations, DNS names, Kubernetes quantities."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

_DURATION = re.compile(r"^\s*(\d+)\s*(ms|s|m|h|d|w)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, None: 1}


def parse_duration_seconds(value: Any) -> int:
    """Turn ``300``, ``"300"``, ``"5m"``, ``"4h"`` into whole seconds; reject anything else."""
    if isinstance(value, bool):
        raise ValueError("expected a duration: seconds as an integer or a string like '30s', '5m', '4h', '1d'")
    if isinstance(value, int):
        if value < 0:
            raise ValueError("expected a duration >= 0 seconds")
        return value
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            number, unit = match.groups()
            return int(int(number) * _UNIT_SECONDS[unit])
    raise ValueError(
        f"expected a duration: seconds as an integer or a string like '30s', '5m', '4h', '1d' (got {value!r})"
    )


def format_duration(seconds: int) -> str:
    """Render seconds the way a person writes them: 0, 45s, 5m, 4h, 1d."""
    if seconds == 0:
        return "0"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def describe_duration(seconds: int) -> str:
    """A duration for people, in its largest whole units: 0, 45s, 5m, 1h 30m, 1d 15m."""
    if seconds == 0:
        return "0"
    parts = []
    left = seconds
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if left >= size:
            parts.append(f"{left // size}{unit}")
            left %= size
    return " ".join(parts)


DurationSeconds = Annotated[int, BeforeValidator(parse_duration_seconds)]
"""A duration in whole seconds; the YAML may say ``300`` or ``"5m"``."""

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def _dns_label(value: str) -> str:
    if len(value) > 63 or not _DNS_LABEL.match(value):
        raise ValueError(
            f"expected a DNS-1123 label (lower-case letters, digits and '-', at most 63 characters), got {value!r}"
        )
    return value


DnsLabel = Annotated[str, AfterValidator(_dns_label)]
"""A Kubernetes object name usable as a DNS-1123 label."""

_CPU = re.compile(r"^(\d+(\.\d+)?)(m)?$")
_MEM = re.compile(r"^(\d+(\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$")
_MEM_FACTOR = {None: 1, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}


def cpu_millicores(quantity: str) -> int:
    """Parse a Kubernetes CPU quantity ("250m", "2", "0.5") into millicores."""
    match = _CPU.match(str(quantity))
    if not match:
        raise ValueError(f"expected a CPU quantity like '250m' or '2', got {quantity!r}")
    number = float(match.group(1))
    return int(round(number if match.group(3) else number * 1000))


def memory_bytes(quantity: str) -> int:
    """Parse a Kubernetes memory quantity ("512Mi", "2Gi") into bytes."""
    match = _MEM.match(str(quantity))
    if not match:
        raise ValueError(f"expected a memory quantity like '512Mi' or '2Gi', got {quantity!r}")
    return int(float(match.group(1)) * _MEM_FACTOR[match.group(3)])


def _cpu_quantity(value: Any) -> str:
    cpu_millicores(str(value))
    return str(value)


def _memory_quantity(value: Any) -> str:
    memory_bytes(str(value))
    return str(value)


CpuQuantity = Annotated[str, BeforeValidator(lambda v: str(v) if isinstance(v, (int, float)) else v), AfterValidator(_cpu_quantity)]
"""A Kubernetes CPU quantity such as ``250m`` or ``2``."""
MemoryQuantity = Annotated[str, AfterValidator(_memory_quantity)]
"""A Kubernetes memory quantity such as ``512Mi`` or ``4Gi``."""

Percent = Annotated[int, Field(ge=1, le=100)]
"""A whole percentage, 1-100."""


class StrictModel(BaseModel):
    """Base of every spec model: unknown fields are errors, docstrings become field descriptions."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True, frozen=True, validate_default=True)
