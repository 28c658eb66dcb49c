"""Flows the objects themselves imply, whoever renders them: Prometheus scrapes every target of every
ServiceMonitor and PodMonitor, the gateway's proxies reach the backends of every HTTPRoute/GRPCRoute, the API
server calls every admission webhook and aggregated API, and every chart hook Job talks to the API server.

A new component that renders a monitor, a route or a webhook gets its flow without declaring it; the policies
(rendered from the components' declared flows) must still allow it, which is what the analysis checks.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from plinth.flows.inventory import Inventory, Sourced
from plinth.kube.flows import API_SERVER, API_SERVER_PORT, NODES, Flow, Pods
from plinth.kube.objects import get, selector_matches
from plinth.kube.pods import PodGroup


def _groups_in(inventory: Inventory, namespaces: set[str] | None, selector: dict[str, Any] | None) -> list[PodGroup]:
    return [g for g in inventory.groups.values()
            if (namespaces is None or g.namespace in namespaces) and selector is not None and selector_matches(selector, g.labels)]


def _service(inventory: Inventory, namespace: str, name: str) -> dict[str, Any] | None:
    for item in inventory.objects:
        meta = item.obj.get("metadata") or {}
        if item.kind == "Service" and meta.get("name") == name and (meta.get("namespace") or "default") == namespace:
            return item.obj
    return None


def _resolve(group: PodGroup, target: int | str | None, protocol: str = "TCP") -> int | None:
    if isinstance(target, int):
        return target
    if isinstance(target, str) and target.isdigit():
        return int(target)
    return next((port for name, port, proto in group.ports if name == target and proto == protocol), None)


def _service_backends(inventory: Inventory, service: dict[str, Any], port: int | str | None) -> list[tuple[PodGroup, int, str]]:
    """(pod group, container port, protocol) a Service sends ``port`` (number or name; None: every port) to."""
    namespace = (service.get("metadata") or {}).get("namespace") or "default"
    selector = get(service, "spec.selector")
    if not selector:
        return []
    found = []
    for service_port in get(service, "spec.ports", []) or []:
        if port is not None and port not in (service_port.get("port"), service_port.get("name")):
            continue
        protocol = service_port.get("protocol", "TCP")
        target = service_port.get("targetPort", service_port.get("port"))
        for group in _groups_in(inventory, {namespace}, {"matchLabels": selector}):
            if group.transient:
                continue  # a Job's pods may match a Service's selector; they serve nothing
            number = _resolve(group, target, protocol)
            if number is not None:
                found.append((group, number, protocol))
    return found


def _unique(targets: Iterable[tuple[PodGroup, int, str]]) -> list[tuple[PodGroup, int, str]]:
    seen: dict[tuple[str, int, str], tuple[PodGroup, int, str]] = {}
    for group, port, protocol in targets:
        seen.setdefault((group.name, port, protocol), (group, port, protocol))
    return [seen[k] for k in sorted(seen)]


def _pods(group: PodGroup) -> Pods:
    return Pods.of(group.namespace, group.labels, group.name)


def _destination(group: PodGroup) -> Pods | Any:
    return NODES if group.host_network else _pods(group)


def _flows(sources: list[PodGroup] | None, targets: Iterable[tuple[PodGroup, int, str]], why: str, owner: str,
           source: Any = None) -> Iterator[Flow]:
    for group, port, protocol in targets:
        for src in ([source] if source is not None else [_pods(s) for s in sources or []]):
            yield Flow(src, _destination(group), (port,), why, protocol, owner=owner)


def _monitor_namespaces(item: Sourced) -> set[str] | None:
    own = (item.obj.get("metadata") or {}).get("namespace") or "default"
    selector = get(item.obj, "spec.namespaceSelector", {}) or {}
    if selector.get("any"):
        return None
    return set(selector.get("matchNames") or [own])


def scrape_flows(inventory: Inventory) -> list[Flow]:
    """Prometheus (every pod group of a Prometheus) to every target of every ServiceMonitor and PodMonitor."""
    scrapers = [g for g in inventory.groups.values() if g.kind == "Prometheus"]
    flows: list[Flow] = []
    for item in inventory.objects:
        if item.kind == "ServiceMonitor":
            namespaces = _monitor_namespaces(item)
            selector = get(item.obj, "spec.selector", {}) or {}
            services = [s.obj for s in inventory.objects if s.kind == "Service"
                        and (namespaces is None or (s.obj.get("metadata") or {}).get("namespace") in namespaces)
                        and selector_matches(selector, (s.obj.get("metadata") or {}).get("labels") or {})]
            for endpoint in get(item.obj, "spec.endpoints", []) or []:
                port = endpoint.get("port") or endpoint.get("targetPort")
                for service in services:
                    if endpoint.get("targetPort") is not None and not endpoint.get("port"):
                        targets = [(g, n, "TCP") for g, _, _ in _service_backends(inventory, service, None)
                                   for n in [_resolve(g, endpoint["targetPort"])] if n is not None]
                    else:
                        targets = _service_backends(inventory, service, port)
                    flows.extend(_flows(scrapers, _unique(targets), f"scrape ({item.key})", item.key))
        elif item.kind == "PodMonitor":
            namespaces = _monitor_namespaces(item)
            groups = _groups_in(inventory, namespaces, get(item.obj, "spec.selector", {}) or {})
            for endpoint in get(item.obj, "spec.podMetricsEndpoints", []) or []:
                target = endpoint.get("port") or endpoint.get("portNumber") or endpoint.get("targetPort")
                targets = [(g, n, "TCP") for g in groups for n in [_resolve(g, target)] if n is not None]
                flows.extend(_flows(scrapers, targets, f"scrape ({item.key})", item.key))
    return flows


def route_flows(inventory: Inventory) -> list[Flow]:
    """The proxies of each route's Gateway to the route's backend Services' pods."""
    flows: list[Flow] = []
    for item in inventory.objects:
        if item.kind not in ("HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute"):
            continue
        own = (item.obj.get("metadata") or {}).get("namespace") or "default"
        proxies: list[PodGroup] = []
        for parent in get(item.obj, "spec.parentRefs", []) or []:
            if parent.get("kind", "Gateway") != "Gateway":
                continue
            wanted = {"gateway.envoyproxy.io/owning-gateway-name": parent["name"],
                      "gateway.envoyproxy.io/owning-gateway-namespace": parent.get("namespace", own)}
            proxies += [g for g in inventory.groups.values() if all(g.labels.get(k) == v for k, v in wanted.items())]
        for rule in get(item.obj, "spec.rules", []) or []:
            for backend in rule.get("backendRefs") or []:
                if backend.get("kind", "Service") != "Service":
                    continue
                service = _service(inventory, backend.get("namespace", own), backend["name"])
                if service is not None:
                    flows.extend(_flows(proxies, _unique(_service_backends(inventory, service, backend.get("port"))),
                                        f"route ({item.key})", item.key))
    return flows


def webhook_flows(inventory: Inventory) -> list[Flow]:
    """The API server to every admission webhook and aggregated API served by a Service of the tree."""
    flows: list[Flow] = []
    for item in inventory.objects:
        refs: list[dict[str, Any]] = []
        if item.kind in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
            refs = [get(w, "clientConfig.service") for w in get(item.obj, "webhooks", []) or []]
        elif item.kind == "APIService":
            refs = [get(item.obj, "spec.service")]
        elif item.kind == "CustomResourceDefinition" and get(item.obj, "spec.conversion.strategy") == "Webhook":
            refs = [get(item.obj, "spec.conversion.webhook.clientConfig.service")]
        for ref in refs:
            if not ref:
                continue
            namespace, name = ref.get("namespace", "default"), ref.get("name", "")
            service = _service(inventory, namespace, name)
            targets = _unique(_service_backends(inventory, service, ref.get("port", 443))) if service is not None else []
            if targets:
                flows.extend(_flows(None, targets, f"webhook ({item.key})", item.key, source=API_SERVER))
            else:  # the API server would call a Service that serves nothing: a flow to no pod
                flows.append(Flow(API_SERVER, Pods.of(namespace, {}, f"Service/{namespace}/{name}"), (int(ref.get("port", 443)),),
                                  f"webhook ({item.key}) to Service {namespace}/{name}, which selects no pod", owner=item.key))
    return flows


def hook_flows(inventory: Inventory) -> list[Flow]:
    """Every chart hook Job (kubectl-like work: CRDs, certificates, secrets) to the API server."""
    flows: list[Flow] = []
    jobs = {id(g.obj): g for g in inventory.groups.values() if g.kind == "Job"}
    for item in inventory.objects:
        group = jobs.get(id(item.obj))
        if item.hook and group is not None:
            flows.append(Flow(_pods(group), API_SERVER, (API_SERVER_PORT,), f"chart hook ({item.key})", owner=item.key))
    return flows


def implied_flows(inventory: Inventory) -> list[Flow]:
    """Every flow the objects imply."""
    return scrape_flows(inventory) + route_flows(inventory) + webhook_flows(inventory) + hook_flows(inventory)
