"""The metric names a PromQL expression selects, read by a real PromQL parser.

``promql-parser`` (PyPI; Python bindings of the Rust ``promql-parser`` crate GreptimeDB uses, which follows
Prometheus' own grammar) gives the expression's syntax tree; every vector selector in it names a metric, either
as ``name{…}`` or through a ``__name__`` matcher. promtool stays the authority on whether an expression is valid
Prometheus (``promtool check rules``), but it prints no syntax tree, so it cannot say which metrics an expression
reads; regular expressions over the text mistake label values, function names and keywords for metrics.

Grafana's variables are not PromQL: ``expand_grafana_variables`` replaces them by sample values first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import promql_parser


class PromQLError(ValueError):
    """An expression the parser rejects."""


@dataclass(frozen=True)
class MetricSelector:
    """One vector selector: a metric name, or a regular expression over ``__name__``."""

    name: str | None
    """The metric name (``foo`` or ``{__name__="foo"}``), None when only a regex selects it."""
    name_regex: str | None = None
    """``{__name__=~"…"}``: the (anchored) regular expression the name must match."""

    def matches(self, metric: str) -> bool:
        """True when this selector selects series of ``metric``."""
        if self.name is not None:
            return self.name == metric
        return self.name_regex is not None and re.fullmatch(self.name_regex, metric) is not None

    def describe(self) -> str:
        """``name`` or ``{__name__=~"regex"}``."""
        return self.name if self.name is not None else f'{{__name__=~"{self.name_regex}"}}'


def metric_selectors(expr: str) -> list[MetricSelector]:
    """Every metric a PromQL expression selects, in order of appearance (duplicates kept once)."""
    try:
        tree = promql_parser.parse(expr)
    except ValueError as exc:
        raise PromQLError(f"{exc} in {expr!r}") from exc
    found: list[MetricSelector] = []

    def visit(node: object) -> None:
        if not isinstance(node, promql_parser.VectorSelector):
            return
        selector = MetricSelector(node.name) if node.name else None
        if selector is None:
            for matcher in node.matchers.matchers:
                if matcher.name != "__name__":
                    continue
                op = str(matcher.op).rsplit(".", 1)[-1]
                if op == "Equal":
                    selector = MetricSelector(matcher.value)
                elif op == "Re":
                    selector = MetricSelector(None, matcher.value)
        if selector is not None and selector not in found:
            found.append(selector)

    promql_parser.walk(tree, visit)
    return found


def metric_names(expr: str) -> set[str]:
    """Metric names an expression selects by name (regex selectors left out)."""
    return {s.name for s in metric_selectors(expr) if s.name is not None}


GRAFANA_VARIABLES: dict[str, str] = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h",
                                     "$__interval_ms": "60000", "$__range_s": "3600"}
"""Grafana's built-in variables, replaced by a sample value before PromQL is parsed."""
_RANGE_VARIABLE = re.compile(r"\[\s*(\$\{[^}]+\}|\$\w+|\[\[\w+\]\])\s*(:[^\]]*)?\]")
_VARIABLE = re.compile(r"\$\{[^}]+\}|\$\w+|\[\[\w+\]\]")


def expand_grafana_variables(query: str, variables: dict[str, str] | None = None) -> str:
    """A dashboard query with Grafana's variables replaced by sample values: the given ones (``$service``), the
    built-ins, a duration for any other variable used as a range, and ``x`` for the rest (label values)."""
    given = {**GRAFANA_VARIABLES, **{f"${k}": v for k, v in (variables or {}).items()}}
    for name, value in sorted(given.items(), key=lambda kv: -len(kv[0])):
        query = query.replace("${" + name[1:] + "}", value).replace(name, value)
    query = _RANGE_VARIABLE.sub(lambda m: f"[5m{m.group(2) or ''}]", query)
    return _VARIABLE.sub("x", query)
