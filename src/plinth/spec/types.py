"""Small typed building blocks of the spec: durations, DNS names, Kubernetes quantities."""

from __future__ import annotations

import re
import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from plinth.spec.limits import MAX_DURATION_SECONDS

_DURATION = re.compile(r"^\s*(\d+)\s*(ms|s|m|h|d|w)\s*$")
_UNIT_MILLISECONDS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_DURATION_HELP = "a duration: whole seconds as an integer (the field's unit) or a string with a unit like '30s', '5m', '4h', '1d'"


def parse_duration_seconds(value: Any) -> int:
    """Turn ``300``, ``"300s"``, ``"5m"``, ``"4h"``, ``"2000ms"`` into whole seconds; reject anything else.

    A string needs its unit (``"300"`` could be seconds or milliseconds). A value that is not a whole number of
    seconds (``"900ms"``, ``"1500ms"``) is refused, never rounded: every consumer of these fields counts seconds
    (Argo Rollouts pauses, Sentinel's timeouts are set from them, promises are compared in seconds), and rounding
    ``"500ms"`` down to 0 would silently drop a canary pause or promise an RTO of 0. Durations above
    ``MAX_DURATION_SECONDS`` (ten years) are refused.
    """
    if isinstance(value, bool) or isinstance(value, float):
        raise ValueError(f"expected {_DURATION_HELP} (got {value!r})")
    if isinstance(value, int):
        seconds = value
    elif isinstance(value, str):
        match = _DURATION.match(value)
        if not match:
            bare = value.strip().isdigit()
            raise ValueError(f"expected {_DURATION_HELP} (got {value!r}" + (f"; write '{value.strip()}s' for seconds)" if bare else ")"))
        number, unit = match.groups()
        milliseconds = int(number) * _UNIT_MILLISECONDS[unit]
        if milliseconds % 1000:
            raise ValueError(f"{value.strip()!r} is {milliseconds / 1000:g} s: sub-second durations are refused, not rounded "
                             "(this field counts whole seconds; write 0 or a whole number of seconds)")
        seconds = milliseconds // 1000
    else:
        raise ValueError(f"expected {_DURATION_HELP} (got {value!r})")
    if seconds < 0:
        raise ValueError("expected a duration >= 0 seconds")
    if seconds > MAX_DURATION_SECONDS:
        raise ValueError(f"{value!r} is longer than the {MAX_DURATION_SECONDS // (365 * 86400)} years any duration of the spec may be")
    return seconds


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


def _admits(annotation: Any, kind: type) -> bool:
    """True when a field's annotation accepts values of ``kind`` (through unions, Optional and Annotated)."""
    if annotation is kind or annotation is Any:
        return True
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return _admits(args[0], kind)
    if origin in (Union, types.UnionType):
        return any(_admits(a, kind) for a in args)
    if origin is Literal:
        return any(type(a) is kind for a in args)
    return False


class StrictModel(BaseModel):
    """Base of every spec model: unknown fields are errors, docstrings become field descriptions, and a boolean is
    never taken for a number (pydantic would read ``nodes: true`` as 1)."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True, frozen=True, validate_default=True,
                              allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _booleans_are_not_numbers(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key, value in data.items():
                field = cls.model_fields.get(key) if isinstance(key, str) else None
                if isinstance(value, bool) and field is not None and not _admits(field.annotation, bool) and (
                        _admits(field.annotation, int) or _admits(field.annotation, float)):
                    raise ValueError(f"{key}: expected a number, got the boolean {str(value).lower()} "
                                     "(true/false is not a count, a size or a duration)")
        return data
