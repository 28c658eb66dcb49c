"""Which metrics an environment actually produces, derived from the objects it runs (rendered + hydrated).

A metric is produced when a producer of it runs AND Prometheus collects it:

* ``pods``: a group of pods the objects run (``plinth.kube.pods``: Deployments, DaemonSets, StatefulSets,
  Rollouts and the operators' custom resources, e.g. Strimzi's ``kafkaExporter``) carries the producer's labels,
  and a PodMonitor selects those pods, or a ServiceMonitor selects a Service (in the objects) that selects them
  on a port the monitor names; the monitor must itself be selected by a Prometheus of the objects;
* ``service``: a target outside the objects (the kubelet, the API server) that a ServiceMonitor of the objects
  selects by the labels the operator or the cloud puts on its Service;
* ``prometheus``: series every Prometheus server writes about its own work (``up``, ``ALERTS``, ``scrape_*``);
* ``remote_write``: pods that push to a Prometheus of the objects with the remote-write receiver on;
* recording rules: the ``record`` of every PrometheusRule rule the objects hold.

What each producer exports is data: ``data/producers.yaml``, one entry per producer with its upstream version and
the sources its metric names were read from.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import yaml

from plinth.kube.objects import get, selector_matches
from plinth.kube.pods import PodGroup, pod_groups
from plinth.monitoring.promql import MetricSelector, PromQLError, expand_grafana_variables, metric_selectors

Obj = dict[str, Any]

PRODUCERS_FILE = "src/plinth/monitoring/data/producers.yaml"
"""Where the producers and their metrics are declared (with their sources)."""
DASHBOARD_LABEL = "grafana_dashboard"
"""Label of ConfigMaps Grafana's sidecar loads as dashboards (kube-prometheus-stack's default)."""


@dataclass(frozen=True)
class Producer:
    """One producer of metrics, as the data file declares it."""

    id: str
    what: str
    version: str
    sources: tuple[str, ...]
    metrics: frozenset[str]
    pods: tuple[dict[str, str], ...] = ()
    """Label sets (values may be globs) of the pods that produce the metrics; any one suffices."""
    namespace: str | None = None
    """Namespace the pods must run in (None: any)."""
    service: dict[str, Any] | None = None
    """``{namespace, labels}`` of a target's Service outside the objects (kubelet, API server)."""
    prometheus: bool = False
    """Written by every Prometheus server itself."""
    remote_write: bool = False
    """Pushed to Prometheus' remote-write receiver by the pods (not scraped)."""
    when_field: str | None = None
    """Dotted field of the object making the pods that must be true (an exporter switched on in a custom resource)."""
    with_args: dict[str, frozenset[str]] = field(default_factory=dict)
    """Metrics a container flag adds (a collector switched on): flag -> metrics."""

    def exports(self, metric: str) -> bool:
        """True when the producer exports ``metric``."""
        return metric in self.metrics


class ProducerDataError(ValueError):
    """The producers data file is malformed."""


@cache
def catalog() -> tuple[Producer, ...]:
    """Every producer of ``data/producers.yaml``."""
    text = resources.files("plinth.monitoring").joinpath("data/producers.yaml").read_text()
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ProducerDataError(f"{PRODUCERS_FILE}: {exc}") from exc
    result = []
    for pid, entry in sorted((data.get("producers") or {}).items()):
        try:
            result.append(Producer(
                id=pid, what=entry["what"], version=str(entry["version"]), sources=tuple(entry["sources"]),
                metrics=frozenset(entry.get("metrics") or ()),
                pods=tuple(entry.get("pods") or ()), namespace=entry.get("namespace"), service=entry.get("service"),
                prometheus=bool(entry.get("prometheus")), remote_write=bool(entry.get("remote_write")),
                when_field=entry.get("when_field"),
                with_args={flag: frozenset(names) for flag, names in (entry.get("with_args") or {}).items()}))
        except (KeyError, TypeError) as exc:
            raise ProducerDataError(f"{PRODUCERS_FILE}: producers.{pid}: missing or bad field {exc}") from exc
        if not (result[-1].pods or result[-1].service or result[-1].prometheus):
            raise ProducerDataError(f"{PRODUCERS_FILE}: producers.{pid}: says neither pods, service nor prometheus")
    return tuple(result)


def _labels_match(wanted: dict[str, str], labels: dict[str, str]) -> bool:
    return all(key in labels and fnmatch.fnmatchcase(labels[key], str(value)) for key, value in wanted.items())


def _namespace_selected(selector: dict[str, Any] | None, own: str, target: str) -> bool:
    """A monitor's ``namespaceSelector`` (absent: its own namespace; ``any``; ``matchNames``)."""
    selector = selector or {}
    if selector.get("any"):
        return True
    names = selector.get("matchNames")
    return target in names if names else target == own


@dataclass
class Production:
    """What one environment's objects produce: producers found running and scraped, and recorded series."""

    producers: dict[str, list[str]] = field(default_factory=dict)
    """Producer id -> how it was found (``PodMonitor platform-data/plinth-kafka-exporter``, ...)."""
    recorded: set[str] = field(default_factory=set)
    """Series names recording rules write."""
    unscraped: dict[str, list[str]] = field(default_factory=dict)
    """Producer id -> pod groups that run it but no monitor collects."""
    flagged: dict[str, set[str]] = field(default_factory=dict)
    """Producer id -> metrics its pods' container flags switch on (``with_args``)."""

    def exported_by(self, producer: Producer, metric: str) -> bool:
        """True when a producer found here exports the metric (its own list, or a flag its pods carry)."""
        return producer.exports(metric) or metric in self.flagged.get(producer.id, set())

    def producer_of(self, selector: MetricSelector) -> str | None:
        """The id of a producer (or ``recording-rule``) that produces a selected metric, else None."""
        if selector.name is not None and selector.name in self.recorded:
            return "recording-rule"
        if selector.name is None and any(selector.matches(r) for r in self.recorded):
            return "recording-rule"
        by_id = {p.id: p for p in catalog()}
        for pid in sorted(self.producers):
            producer = by_id[pid]
            if selector.name is not None and self.exported_by(producer, selector.name):
                return pid
            if selector.name is None and any(selector.matches(m) for m in producer.metrics | self.flagged.get(pid, set())):
                return pid
        return None

    def metrics(self) -> set[str]:
        """Every metric name the producers found export and every recorded series."""
        by_id = {p.id: p for p in catalog()}
        return set().union(self.recorded, *(by_id[pid].metrics | self.flagged.get(pid, set()) for pid in self.producers))


class _Monitors:
    """The Prometheus servers, monitors and Services of a set of objects."""

    def __init__(self, objects: list[Obj]):
        self.prometheus = [o for o in objects if o.get("kind") == "Prometheus" and _monitoring_api(o)]
        self.namespaces = {o["metadata"]["name"]: o for o in objects if o.get("kind") == "Namespace"}
        self.service_monitors = [o for o in objects if o.get("kind") == "ServiceMonitor" and _monitoring_api(o) and self._selected(o, "serviceMonitor")]
        self.pod_monitors = [o for o in objects if o.get("kind") == "PodMonitor" and _monitoring_api(o) and self._selected(o, "podMonitor")]
        self.services = [o for o in objects if o.get("kind") == "Service" and o.get("apiVersion") == "v1"]

    def _namespace_labels(self, name: str) -> dict[str, str]:
        return {**(get(self.namespaces.get(name, {}), "metadata.labels", {}) or {}), "kubernetes.io/metadata.name": name}

    def _selected(self, monitor: Obj, kind: str) -> bool:
        """A Prometheus of the objects selects the monitor (its ``<kind>Selector`` and ``<kind>NamespaceSelector``)."""
        labels = get(monitor, "metadata.labels", {}) or {}
        namespace = get(monitor, "metadata.namespace", "")
        for prom in self.prometheus:
            spec = prom.get("spec") or {}
            if f"{kind}Selector" not in spec:
                continue  # nil selector: the operator selects no monitor of this kind
            ns_selector = spec.get(f"{kind}NamespaceSelector")
            in_namespace = (namespace == get(prom, "metadata.namespace") if ns_selector is None
                            else selector_matches(ns_selector, self._namespace_labels(namespace)))
            if in_namespace and selector_matches(spec[f"{kind}Selector"], labels):
                return True
        return False

    def scraping(self, group: PodGroup) -> list[str]:
        """Monitors that collect a pod group (``Kind namespace/name``)."""
        found = []
        for monitor in self.pod_monitors:
            meta = monitor["metadata"]
            if (_namespace_selected(get(monitor, "spec.namespaceSelector"), meta.get("namespace", ""), group.namespace)
                    and group.selected_by(get(monitor, "spec.selector"))):
                found.append(f"PodMonitor {meta.get('namespace')}/{meta['name']}")
        for monitor in self.service_monitors:
            meta = monitor["metadata"]
            ports = {e.get("port") for e in get(monitor, "spec.endpoints", []) or []} | {
                str(e.get("targetPort")) for e in get(monitor, "spec.endpoints", []) or [] if e.get("targetPort") is not None}
            for service in self.services:
                s_meta = service["metadata"]
                if s_meta.get("namespace") != group.namespace:
                    continue
                if not _namespace_selected(get(monitor, "spec.namespaceSelector"), meta.get("namespace", ""), s_meta.get("namespace", "")):
                    continue
                if not selector_matches(get(monitor, "spec.selector"), get(service, "metadata.labels", {}) or {}):
                    continue
                pod_selector = get(service, "spec.selector") or {}
                if not pod_selector or not group.selected_by({"matchLabels": pod_selector}):
                    continue
                service_ports = {p.get("name") for p in get(service, "spec.ports", []) or []} | {
                    str(p.get("targetPort")) for p in get(service, "spec.ports", []) or []}
                if ports & service_ports:
                    found.append(f"ServiceMonitor {meta.get('namespace')}/{meta['name']} via Service {s_meta['name']}")
        return found

    def scraping_service(self, target: dict[str, Any]) -> list[str]:
        """ServiceMonitors selecting a Service outside the objects by its namespace and labels."""
        found = []
        for monitor in self.service_monitors:
            meta = monitor["metadata"]
            if (_namespace_selected(get(monitor, "spec.namespaceSelector"), meta.get("namespace", ""), target["namespace"])
                    and selector_matches(get(monitor, "spec.selector"), target["labels"])):
                found.append(f"ServiceMonitor {meta.get('namespace')}/{meta['name']}")
        return found


def _container_args(obj: Obj) -> Iterator[str]:
    for container in get(obj, "spec.template.spec.containers", []) or []:
        yield from (str(a).split("=", 1)[0] for a in container.get("args") or [])


def _monitoring_api(obj: Obj) -> bool:
    return str(obj.get("apiVersion", "")).startswith("monitoring.coreos.com/")


def production(objects: Iterable[Obj]) -> Production:
    """What the objects (one environment's union) produce."""
    objects = list(objects)
    monitors = _Monitors(objects)
    groups = pod_groups(objects)
    result = Production()
    remote_write = any(get(p, "spec.enableRemoteWriteReceiver") for p in monitors.prometheus)
    for producer in catalog():
        how: list[str] = []
        if producer.prometheus and monitors.prometheus:
            how.append("Prometheus " + ", ".join(f"{get(p, 'metadata.namespace')}/{get(p, 'metadata.name')}" for p in monitors.prometheus))
        if producer.service:
            how += monitors.scraping_service(producer.service)
        for group in groups:
            if producer.namespace and group.namespace != producer.namespace:
                continue
            if not any(_labels_match(wanted, group.labels) for wanted in producer.pods):
                continue
            if producer.when_field and get(group.obj or {}, producer.when_field) is not True:
                continue
            if producer.remote_write:
                if remote_write:
                    how.append(f"{group.name} (remote write)")
                continue
            scraped = monitors.scraping(group)
            if scraped:
                how += [f"{group.name} <- {m}" for m in scraped]
                args = set(_container_args(group.obj or {}))
                for flag, names in producer.with_args.items():
                    if flag in args:
                        result.flagged.setdefault(producer.id, set()).update(names)
            else:
                result.unscraped.setdefault(producer.id, []).append(group.name)
        if how:
            result.producers[producer.id] = sorted(set(how))
    for rule_obj in objects:
        if rule_obj.get("kind") == "PrometheusRule" and _monitoring_api(rule_obj):
            for group in get(rule_obj, "spec.groups", []) or []:
                result.recorded |= {r["record"] for r in group.get("rules") or [] if r.get("record")}
    return result


# --------------------------------------------------------------------------- what the objects reference


@dataclass(frozen=True)
class Reference:
    """A PromQL expression of an alert, a recording rule or a dashboard panel, and where it is."""

    obj: Obj
    """The PrometheusRule or dashboard ConfigMap."""
    field_path: str
    """Where in the object (``spec.groups.0.rules.3.expr``, ``data.x.json:panels.4.targets.0.expr``)."""
    what: str
    """``alert X``, ``record Y``, ``panel "Title"``."""
    expr: str
    """The expression, Grafana variables replaced by sample values."""


def _dashboard_panels(panels: list[Obj], path: str) -> Iterator[tuple[str, Obj]]:
    for i, panel in enumerate(panels or []):
        yield f"{path}.{i}", panel
        if panel.get("panels"):  # a collapsed row holds its panels
            yield from _dashboard_panels(panel["panels"], f"{path}.{i}.panels")


def _prometheus_target(panel: Obj, target: Obj) -> bool:
    source = target.get("datasource") or panel.get("datasource") or {}
    kind = source.get("type") if isinstance(source, dict) else str(source)
    uid = source.get("uid") if isinstance(source, dict) else str(source)
    if kind in ("loki", "tempo", "alertmanager", "datasource", "grafana") or (uid or "").lower() in ("loki", "tempo", "-- grafana --"):
        return False
    return bool(target.get("expr"))


def dashboard_references(configmap: Obj, variables: dict[str, str] | None = None) -> Iterator[Reference]:
    """The PromQL of every panel target of the dashboards a ConfigMap holds."""
    for key, text in sorted((configmap.get("data") or {}).items()):
        if not key.endswith(".json"):
            continue
        try:
            model = json.loads(text)
        except json.JSONDecodeError:
            continue
        model = model.get("dashboard", model)
        for path, panel in _dashboard_panels(model.get("panels") or [], "panels"):
            for t, target in enumerate(panel.get("targets") or []):
                if _prometheus_target(panel, target):
                    yield Reference(configmap, f"data.{key}:{path}.targets.{t}.expr", f"panel {panel.get('title', '?')!r}",
                                    expand_grafana_variables(str(target["expr"]), variables))


def rule_references(rule: Obj) -> Iterator[Reference]:
    """Every alert and recording rule expression of a PrometheusRule."""
    for g, group in enumerate(get(rule, "spec.groups", []) or []):
        for r, item in enumerate(group.get("rules") or []):
            what = f"alert {item['alert']}" if item.get("alert") else f"record {item.get('record')}"
            yield Reference(rule, f"spec.groups.{g}.rules.{r}.expr", what, str(item.get("expr", "")))


def references(objects: Iterable[Obj], variables: dict[str, str] | None = None) -> Iterator[Reference]:
    """Every alert, recording rule and dashboard panel expression the objects hold."""
    for obj in objects:
        if obj.get("kind") == "PrometheusRule" and _monitoring_api(obj):
            yield from rule_references(obj)
        elif obj.get("kind") == "ConfigMap" and (get(obj, "metadata.labels", {}) or {}).get(DASHBOARD_LABEL):
            yield from dashboard_references(obj, variables)


@dataclass(frozen=True)
class Unproduced:
    """A referenced metric nothing produces (or an expression that does not parse)."""

    reference: Reference
    selector: MetricSelector | None
    """None: the expression does not parse."""
    error: str = ""


@dataclass
class ProducerReport:
    """The producer check of one environment: what is referenced, what is produced, what is missing."""

    production: Production
    referenced: dict[str, str] = field(default_factory=dict)
    """Metric (or name regex) -> the producer found for it."""
    missing: list[Unproduced] = field(default_factory=list)
    expressions: int = 0


def check_producers(objects: Iterable[Obj], variables: dict[str, str] | None = None) -> ProducerReport:
    """Every metric every alert, recording rule and panel of the objects selects, against what the objects produce."""
    objects = list(objects)
    report = ProducerReport(production(objects))
    for ref in references(objects, variables):
        report.expressions += 1
        try:
            selectors = metric_selectors(ref.expr)
        except PromQLError as exc:
            report.missing.append(Unproduced(ref, None, str(exc)))
            continue
        for selector in selectors:
            key = selector.describe()
            producer = report.production.producer_of(selector)
            if producer is None:
                report.missing.append(Unproduced(ref, selector))
            else:
                report.referenced[key] = producer
    return report
