"""Observability checks: every metric an alert, a recording rule or a dashboard panel reads has a producer.

The producers are derived from the environment's union (``plinth.monitoring.producers``): an exporter counts when
its pods run there and a monitor a Prometheus selects collects them (or it is a target a ServiceMonitor names, or a
series Prometheus writes itself, or a recording rule's output). A panel over a metric nothing produces shows
"No data" forever; an alert over one never fires, or (``absent()``) always does.
"""

from __future__ import annotations

from collections.abc import Iterator

from plinth.checks.engine import Check, CheckContext, Finding
from plinth.monitoring.producers import PRODUCERS_FILE, check_producers


def _sample_variables(ctx: CheckContext) -> dict[str, str]:
    """Values for the platform's own dashboard variables (the per-service dashboards' ``$service``)."""
    services = sorted(ctx.platform.services)
    return {"service": services[0]} if services else {}


def every_metric_has_a_producer(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    """Each metric a PrometheusRule or a Grafana dashboard ConfigMap of the union selects is produced in the union."""
    if ctx.union.unhydrated:
        return  # the charts' exporters and monitors are unknown: PL-ARGO-007 reports each unhydrated Application
    items = {id(item.obj): item for item in ctx.objects}
    report = check_producers((item.obj for item in ctx.objects), _sample_variables(ctx))
    for missing in report.missing:
        item = items[id(missing.reference.obj)]
        if missing.selector is None:
            yield check.finding(ctx, item, missing.reference.field_path,
                                f"{missing.reference.what}: the expression does not parse as PromQL ({missing.error})")
            continue
        yield check.finding(ctx, item, missing.reference.field_path,
                            f"{missing.reference.what} reads {missing.selector.describe()}, which nothing in {ctx.environment} "
                            f"produces: no running exporter that a monitor collects exports it, and no recording rule records it "
                            f"(producers: {PRODUCERS_FILE})")


CHECKS = (
    Check("PL-OBS-001", "error", "tree", "Every metric an alert, recording rule or dashboard panel reads has a producer",
          "Enable the exporter that serves the metric (and a ServiceMonitor/PodMonitor for it), fix the metric name, or remove "
          f"the panel/alert; producers and the metrics they export are listed with their sources in {PRODUCERS_FILE}.",
          every_metric_has_a_producer),
)
