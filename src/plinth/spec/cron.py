"""Cron schedules in the dialect of the program that reads them, validated field by field, with the interval they run at.

Two dialects read the spec's backup schedules, both robfig/cron:

- **Kubernetes** (CronJob ``spec.schedule``, Velero ``Schedule``): ``cron.ParseStandard`` of robfig/cron v3, five
  fields ``minute hour day-of-month month day-of-week`` or a descriptor (``@hourly``, ``@daily``, ``@every 1h``...).
  Kubernetes refuses a ``TZ=``/``CRON_TZ=`` prefix (``spec.timeZone`` says it), so the spec does too.
- **CloudNativePG** (``ScheduledBackup.spec.schedule``): ``cron.Parse`` of robfig/cron v1, **six** fields with
  **seconds first** (``second minute hour day-of-month month day-of-week``). Its parser also takes five fields, the
  day of week optional: the natural hourly ``0 * * * *`` is then second 0 of every minute, a base backup every
  minute. The spec therefore requires all six.

Both take ``*`` and ``?``, lists ``a,b``, ranges ``a-b``, steps ``*/n``, ``a-b/n``, ``a/n``, month names JAN-DEC and
day names SUN-SAT (day of week 0-6, 0 = Sunday).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from plinth.spec.types import describe_duration

Dialect = Literal["kubernetes", "cloudnativepg"]

_NAMES = {
    "month": {m: i + 1 for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))},
    "day of week": {d: i for i, d in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))},
}
_BOUNDS = {"second": (0, 59), "minute": (0, 59), "hour": (0, 23), "day of month": (1, 31), "month": (1, 12), "day of week": (0, 6)}
_FIELDS: dict[Dialect, tuple[str, ...]] = {
    "kubernetes": ("minute", "hour", "day of month", "month", "day of week"),
    "cloudnativepg": ("second", "minute", "hour", "day of month", "month", "day of week"),
}
_DESCRIPTORS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
                "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *"}
_GO_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
CONSUMERS: dict[Dialect, str] = {
    "kubernetes": "Kubernetes (CronJob) and Velero read five cron fields: minute hour day-of-month month day-of-week",
    "cloudnativepg": "CloudNativePG reads six cron fields, seconds first: second minute hour day-of-month month day-of-week",
}


class CronError(ValueError):
    """A schedule its consumer would refuse or misread."""


@dataclass(frozen=True)
class CronSchedule:
    """A parsed schedule: the values each field allows (seconds are {0} for five-field dialects)."""

    text: str
    dialect: Dialect
    fields: dict[str, frozenset[int]]
    every_seconds: int | None = None
    """For ``@every <duration>``: the fixed interval."""

    def _full(self, name: str) -> bool:
        low, high = _BOUNDS[name]
        return self.fields[name] == frozenset(range(low, high + 1))

    def interval_seconds(self) -> int | None:
        """Seconds between consecutive runs when they are all equal (e.g. 3600 for hourly), else None.

        Runs that depend on the day (a day of month, month or day of week restricted) are not a fixed interval."""
        if self.every_seconds is not None:
            return self.every_seconds
        if not (self._full("day of month") and self._full("month") and self._full("day of week")):
            return None
        times = sorted(h * 3600 + m * 60 + s for h in self.fields["hour"] for m in self.fields["minute"] for s in self.fields["second"])
        gaps = {b - a for a, b in zip(times, times[1:])} | {86400 - times[-1] + times[0]}
        return gaps.pop() if len(gaps) == 1 else None


def _value(token: str, name: str) -> int:
    names = _NAMES.get(name, {})
    if token.lower() in names:
        return names[token.lower()]
    if not token.isdigit():
        raise CronError(f"{name} field: {token!r} is not a number" + (f" or a name ({', '.join(n.upper() for n in names)})" if names else ""))
    return int(token)


def _parse_field(text: str, name: str) -> frozenset[int]:
    low, high = _BOUNDS[name]
    values: set[int] = set()
    for part in text.split(","):
        if not part:
            raise CronError(f"{name} field: empty list entry in {text!r}")
        range_part, _, step_text = part.partition("/")
        if step_text and not step_text.isdigit():
            raise CronError(f"{name} field: step {step_text!r} is not a number")
        step = int(step_text) if step_text else 1
        if step < 1:
            raise CronError(f"{name} field: a step must be at least 1 (got {part!r})")
        if range_part in ("*", "?"):
            start, end = low, high
        elif "-" in range_part:
            first, _, last = range_part.partition("-")
            start, end = _value(first, name), _value(last, name)
        else:
            start = _value(range_part, name)
            end = high if step_text else start
        for bound in (start, end):
            if not low <= bound <= high:
                raise CronError(f"{name} field: {bound} is out of range {low}-{high} (in {text!r})")
        if start > end:
            raise CronError(f"{name} field: range {range_part!r} runs backwards")
        values.update(range(start, end + 1, step))
    return frozenset(values)


def _every(text: str, original: str) -> int:
    match = _GO_DURATION.match(text.strip())
    if not match or not any(match.groups()):
        raise CronError(f"{original!r}: @every needs a duration like 1h, 30m or 1h30m")
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    total = hours * 3600 + minutes * 60 + seconds
    if total < 1:
        raise CronError(f"{original!r}: @every needs at least one second")
    return total


def parse_cron(text: str, dialect: Dialect) -> CronSchedule:
    """Parse ``text`` the way ``dialect``'s consumer does; CronError says what it would refuse or misread."""
    original = text
    text = " ".join(str(text).split())
    if not text:
        raise CronError("empty schedule")
    if text.upper().startswith(("TZ=", "CRON_TZ=")):
        raise CronError(f"{original!r}: a time zone prefix is refused (Kubernetes forbids it in spec.schedule); schedules run in UTC")
    if text.startswith("@"):
        word, _, rest = text.partition(" ")
        if word == "@every":
            return CronSchedule(original, dialect, {}, every_seconds=_every(rest, original))
        if word not in _DESCRIPTORS or rest:
            raise CronError(f"{original!r}: unknown descriptor (expected one of {', '.join(sorted(_DESCRIPTORS))} or @every <duration>)")
        text = _DESCRIPTORS[word] if dialect == "kubernetes" else "0 " + _DESCRIPTORS[word]
    parts = text.split(" ")
    names = _FIELDS[dialect]
    if len(parts) != len(names):
        raise CronError(_count_message(original, parts, dialect))
    fields = {name: _parse_field(part, name) for name, part in zip(names, parts)}
    if dialect == "kubernetes":
        fields["second"] = frozenset({0})
    return CronSchedule(original, dialect, fields)


def _count_message(original: str, parts: list[str], dialect: Dialect) -> str:
    got = f"{original!r} has {len(parts)} field{'s' if len(parts) != 1 else ''}"
    if dialect == "cloudnativepg" and len(parts) == 5:
        return (f"{CONSUMERS[dialect]}; {got}, which it reads as second {parts[0]}, minute {parts[1]}, hour {parts[2]}, "
                f"day {parts[3]}, month {parts[4]} (every day of the week){_cadence(parts)}; "
                f"for that schedule with seconds first write '0 {' '.join(parts)}'")
    if dialect == "kubernetes" and len(parts) == 6:
        return f"{CONSUMERS[dialect]}; {got} (a seconds field first?); write '{' '.join(parts[1:])}'"
    return f"{CONSUMERS[dialect]}; {got}"


def _cadence(parts: list[str]) -> str:
    """How often a five-field schedule runs when read seconds-first (the surprise worth naming)."""
    try:
        misread = parse_cron(" ".join(parts + ["*"]), "cloudnativepg")
    except CronError:
        return ""
    interval = misread.interval_seconds()
    if interval is None:
        return ""
    named = {1: "second", 60: "minute", 3600: "hour", 86400: "day"}
    return f": a run every {named[interval]}" if interval in named else f": a run every {describe_duration(interval)}"
