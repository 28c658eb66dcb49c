"""Grafana dashboards as code (grafana-foundation-sdk): the spec's dashboards, laid out from the panels
every component contributes.

Each spec dashboard keeps the UID the spec gives it. A per-service dashboard gets a ``service``
template variable over the spec's services and one row repeated per selected service; its panels
use ``$service`` in their queries.
"""

from __future__ import annotations

import json
from typing import Any

from grafana_foundation_sdk.builders import dashboard, prometheus, stat, timeseries
from grafana_foundation_sdk.builders import loki as loki_query
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DataSourceRef

from plinth.monitoring.conventions import APP_SERVICE_LABEL
from plinth.monitoring.panels import Panel
from plinth.spec.model import Dashboard, Platform


class DashboardError(ValueError):
    """A panel that cannot be placed (it names a dashboard the spec does not have)."""


SERVICE_VARIABLE = "service"
"""Template variable of per-service dashboards."""
PANEL_WIDTH = 12
PANEL_HEIGHT = 8
GRID_COLUMNS = 24
DATASOURCE_UIDS = {"prometheus": "prometheus", "loki": "loki"}
"""Data source UIDs Grafana is provisioned with (kube-prometheus-stack component)."""


def _target(panel: Panel, index: int, query: str) -> Any:
    ref = chr(ord("A") + index)
    if panel.datasource == "loki":
        target = loki_query.Dataquery().expr(query).ref_id(ref)
    else:
        target = prometheus.Dataquery().expr(query).ref_id(ref)
    if index < len(panel.legend):
        target = target.legend_format(panel.legend[index])
    return target


def _panel(panel: Panel, panel_id: int, x: int, y: int) -> Any:
    from grafana_foundation_sdk.models.dashboard import GridPos

    builder = stat.Panel() if panel.kind == "stat" else timeseries.Panel()
    builder = (builder.id(panel_id).title(panel.title).unit(panel.unit)
               .datasource(DataSourceRef(type_val=panel.datasource, uid=DATASOURCE_UIDS[panel.datasource]))
               .grid_pos(GridPos(h=PANEL_HEIGHT, w=PANEL_WIDTH, x=x, y=y)))
    for index, query in enumerate(panel.queries):
        builder = builder.with_target(_target(panel, index, query))
    return builder


def build_dashboard(platform: Platform, spec: Dashboard, panels: list[Panel]) -> dict[str, Any]:
    """One dashboard as Grafana JSON model data (stable UID and panel ids, deterministic layout)."""
    builder = (dashboard.Dashboard(spec.title).uid(spec.uid).tags(["plinth", platform.environment])
               .editable().refresh("1m").time("now-6h", "now").timezone("utc"))
    y = 0
    if spec.per_service:
        services = sorted(platform.services)
        builder = builder.with_variable(
            dashboard.CustomVariable(SERVICE_VARIABLE).label("Service").values(",".join(services))
            .multi(True).include_all(True))
        from grafana_foundation_sdk.models.dashboard import GridPos

        builder = builder.with_row(dashboard.Row(f"${SERVICE_VARIABLE}").id(1).repeat(SERVICE_VARIABLE)
                                   .grid_pos(GridPos(h=1, w=GRID_COLUMNS, x=0, y=0)))
        y = 1
    for index, panel in enumerate(panels):
        x = (index % (GRID_COLUMNS // PANEL_WIDTH)) * PANEL_WIDTH
        row_y = y + (index // (GRID_COLUMNS // PANEL_WIDTH)) * PANEL_HEIGHT
        builder = builder.with_panel(_panel(panel, index + 2, x, row_y))
    return json.loads(json.dumps(builder.build(), cls=JSONEncoder))


def panels_by_dashboard(platform: Platform, all_panels: list[Panel]) -> dict[str, list[Panel]]:
    """Panels grouped by the spec dashboard they belong to; a panel naming an unknown dashboard is an error."""
    known = {d.uid for d in platform.observability.dashboards}
    grouped: dict[str, list[Panel]] = {uid: [] for uid in known}
    for panel in all_panels:
        if panel.dashboard_uid not in known:
            raise DashboardError(f"panel {panel.title!r}: dashboard_uid {panel.dashboard_uid!r} is not one of the spec's "
                              f"observability.dashboards {sorted(known)}")
        grouped[panel.dashboard_uid].append(panel)
    return grouped


def build_dashboards(platform: Platform, panels: list[Panel]) -> dict[str, dict[str, Any]]:
    """Every spec dashboard by UID, laid out from the given panels (every component's, gathered by the pipeline)."""
    grouped = panels_by_dashboard(platform, panels)
    return {spec.uid: build_dashboard(platform, spec, grouped[spec.uid]) for spec in platform.observability.dashboards}


def dashboard_queries(model: dict[str, Any]) -> list[tuple[str, str]]:
    """(datasource type, query) of every target of a built dashboard."""
    result = []
    for panel in model.get("panels", []):
        for target in panel.get("targets", []):
            result.append((panel.get("datasource", {}).get("type", "prometheus"), target["expr"]))
    return result


# --------------------------------------------------------------------------- query kit for panels over the services

APPS_NAMESPACE = "platform-apps"
RATE = "$__rate_interval"
"""Grafana's rate window (scrape-interval aware)."""
SVC = APP_SERVICE_LABEL
LEGEND = "{{" + SVC + "}}"
POD_NAME_LABEL = "label_app_kubernetes_io_name"
"""kube-state-metrics' copy of the pod label ``app.kubernetes.io/name`` on ``kube_pod_labels`` (allow-listed in its values)."""


def selected_service() -> str:
    return f'namespace="{APPS_NAMESPACE}",{SVC}=~"${SERVICE_VARIABLE}"'


def by_service_name(expr: str, service_regex: str) -> str:
    """``expr`` (per namespace/pod) joined to the pods' ``app.kubernetes.io/name``: works for Deployments and Rollouts alike."""
    return (f"sum by ({POD_NAME_LABEL}) ({expr} * on (namespace, pod) group_left ({POD_NAME_LABEL}) "
            f'max by (namespace, pod, {POD_NAME_LABEL}) (kube_pod_labels{{namespace="{APPS_NAMESPACE}",{POD_NAME_LABEL}=~"{service_regex}"}}))')


def ready_pods(service_regex: str) -> str:
    """Ready pods per service."""
    return by_service_name(f'max by (namespace, pod) (kube_pod_status_ready{{namespace="{APPS_NAMESPACE}",condition="true"}})', service_regex)


