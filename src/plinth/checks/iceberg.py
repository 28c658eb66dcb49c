"""The Iceberg lake's promises: history kept exactly the Iceberg backup row's retention (snapshot expiry and
the bucket lifecycle), and every service that uses Iceberg able to reach its catalog.

The checks read the rendered objects (the maintenance CronJob's arguments, the services' pods, the ExternalSecrets of
the credentials, the catalog chart's Application), the flow analysis of the NetworkPolicies over the real pods
(``plinth.flows``) and the cloud layer's lifecycle rule for the warehouse bucket; the spec says what they must be.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

from plinth.checks.engine import Check, CheckContext, Finding
from plinth.checks.kube import cron_interval_seconds
from plinth.checks.network import flow_report
from plinth.cloud.layout import bucket_lifecycle
from plinth.components import iceberg_catalog as ic
from plinth.flows.analysis import FlowReport, resolve
from plinth.flows.netpol import Evaluator, PortSet
from plinth.kube.flows import Pods
from plinth.kube.objects import get
from plinth.render.pipeline import RenderedObject
from plinth.spec.derived import backup_retention, buckets
from plinth.spec.types import format_duration

APPS = "platform-apps"
ARGS_PATH = "spec.jobTemplate.spec.template.spec.containers.0.args"
WORKLOAD_KINDS = ("Rollout", "Deployment", "StatefulSet")
POD_SPEC = {"Rollout": "spec.template.spec", "Deployment": "spec.template.spec", "StatefulSet": "spec.template.spec"}


def _row(ctx: CheckContext):
    return next((b for b in ctx.platform.backups if b.data == "iceberg"), None)


def _arg(args: list[str], flag: str) -> str | None:
    for index, value in enumerate(args):
        if value == flag and index + 1 < len(args):
            return str(args[index + 1])
        if value.startswith(flag + "="):
            return value.split("=", 1)[1]
    return None


def iceberg_history_matches_retention(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    """The Iceberg backup row's retention is what the maintenance job expires at, the job runs at least daily, and the
    warehouse bucket's lifecycle keeps noncurrent versions exactly as long and never expires current objects."""
    row = _row(ctx)
    if row is None:
        return
    wanted = backup_retention(row)
    job = ctx.find("CronJob", ic.NAMESPACE, ic.MAINTENANCE_JOB)
    if job is None:
        yield check.finding(ctx, ctx.expected_ref("CronJob", ic.NAMESPACE, ic.MAINTENANCE_JOB), "spec",
                            f"no CronJob {ic.MAINTENANCE_JOB} rendered: nothing expires Iceberg history after {wanted}")
    else:
        args = [str(a) for a in get(job.obj, ARGS_PATH, []) or []]
        value = _arg(args, "--retention-days")
        if value is None and not wanted.forever:
            yield check.finding(ctx, job, ARGS_PATH, f"expires no Iceberg history (no --retention-days): the iceberg backup "
                                f"row keeps {wanted}")
        elif value is not None and (not value.isdigit() or wanted.forever or int(value) != wanted.days):
            yield check.finding(ctx, job, ARGS_PATH, f"expires Iceberg history after {value} days, the iceberg backup row keeps {wanted}")
        interval = cron_interval_seconds(str(get(job.obj, "spec.schedule", "")))
        limit = check.params["max_interval_seconds"]
        if interval is None or interval > limit:
            every = f"every {format_duration(interval)}" if interval else "not on a simple periodic schedule"
            yield check.finding(ctx, job, "spec.schedule", f"runs {every}: history outlives the retention by up to that much "
                                f"(at most {format_duration(limit)})")
    target = next((b for b in buckets(ctx.platform) if b.key == "iceberg"), None)
    if target is None:
        return
    lifecycle = bucket_lifecycle(target)
    field_path = f"backups.{ctx.platform.backups.index(row)}.retention_days"
    if lifecycle.noncurrent_days != wanted.days:
        kept = "forever" if lifecycle.noncurrent_days is None else f"{lifecycle.noncurrent_days} days"
        yield check.finding(ctx, ctx.spec_ref(field_path), field_path, f"the warehouse bucket {target.primary.bucket} keeps "
                            f"noncurrent versions {kept}, the iceberg backup row keeps {wanted}")
    if lifecycle.current_days is not None:
        yield check.finding(ctx, ctx.spec_ref(field_path), field_path, f"the warehouse bucket {target.primary.bucket} expires "
                            f"current objects after {lifecycle.current_days} days: live tables would lose their files")


def _workload(ctx: CheckContext, name: str) -> RenderedObject | None:
    for kind in WORKLOAD_KINDS:
        item = ctx.find(kind, APPS, name)
        if item is not None:
            return item
    return None


def _catalog_endpoint(ctx: CheckContext) -> tuple[str, int] | None:
    """(host, port) of the catalog Service the polaris chart Application installs."""
    for app in ctx.chart_applications():
        source = app.obj["spec"]["source"]
        if source.get("chart") != "polaris":
            continue
        release = get(source, "helm.releaseName") or app.obj["metadata"]["name"]
        values = get(source, "helm.valuesObject", {}) or {}
        name = values.get("fullnameOverride") or (release if "polaris" in release else f"{release}-polaris")
        port = get(values, "service.ports.0.port", ic.HTTP_PORT)
        namespace = app.obj["spec"].get("destination", {}).get("namespace", "")
        return f"{name}.{namespace}.svc", int(port)
    return None


def _pod_labels(obj: dict[str, Any]) -> dict[str, str]:
    return get(obj, "spec.template.metadata.labels", {}) or {}


def _catalog_reachability(report: FlowReport, evaluator: Evaluator, name: str, pod_labels: dict[str, str], port: int) -> str | None:
    """Why the NetworkPolicies do not surely let the service's pods reach the catalog servers on ``port`` (the flow
    analysis over the real pods: the service's egress and the servers' ingress), or None when they do."""
    inventory = report.inventory
    clients = resolve(inventory, Pods.of(APPS, pod_labels), as_destination=False)
    servers = resolve(inventory, Pods.of(ic.NAMESPACE, ic.SERVER_LABELS), as_destination=True)
    if not clients:
        return f"the flow analysis finds no pod of {name} to check its flow to the catalog"
    if not servers:
        return f"the flow analysis finds no catalog server pod in {ic.NAMESPACE} (is the polaris chart hydrated?)"
    wanted = PortSet.of({"TCP": [(port, port)]})
    for source in clients:
        for destination in servers:
            verdict = evaluator.verdict(inventory.endpoint(source), inventory.endpoint(destination))
            if verdict.sure.covers(wanted):
                continue
            refused = [f"{side} isolated by {', '.join(k.split('/', 1)[1] for k in state.policies)}"
                       for side, state in (("its egress", verdict.egress), ("the catalog's ingress", verdict.ingress))
                       if state.isolated and not state.sure.covers(wanted)]
            return (f"the NetworkPolicies do not let {inventory.label(source)} reach the catalog servers "
                    f"({inventory.label(destination)}) on {port}: {'; '.join(refused)}")
    return None


def _external_secret(ctx: CheckContext, namespace: str, secret: str) -> RenderedObject | None:
    """The ExternalSecret in ``namespace`` that writes Secret ``secret``."""
    for item in ctx.of_kind("ExternalSecret"):
        if item.obj["metadata"].get("namespace") == namespace and get(item.obj, "spec.target.name") == secret:
            return item
    return None


def _entries(external_secret: dict[str, Any]) -> set[tuple[str, str, str]]:
    """(Secret key, store key, property) an ExternalSecret reads."""
    return {(d.get("secretKey", ""), get(d, "remoteRef.key", ""), get(d, "remoteRef.property", "") or "")
            for d in get(external_secret, "spec.data", []) or []}


def _setup_job_entries(ctx: CheckContext) -> list[set[tuple[str, str, str]]]:
    """What each Secret the catalog's setup job mounts reads from the secret store."""
    job = ctx.find("CronJob", ic.NAMESPACE, ic.SETUP_JOB)
    if job is None:
        return []
    volumes = get(job.obj, "spec.jobTemplate.spec.template.spec.volumes", []) or []
    found = []
    for volume in volumes:
        es = _external_secret(ctx, ic.NAMESPACE, get(volume, "secret.secretName", "") or "")
        if es is not None:
            found.append(_entries(es.obj))
    return found


def iceberg_clients_reach_the_catalog(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    """Every service that ``uses: iceberg`` has the catalog's URI and warehouse, a credential Secret an ExternalSecret
    writes from the same secret store entries the catalog's setup job gives its principal, and NetworkPolicies that let
    its pods reach the catalog servers (its egress and the catalog's ingress, judged by the flow analysis over the real
    pods; without the hydrated charts PL-NET-005 says the flows are not verified)."""
    users = sorted(n for n, s in ctx.platform.services.items() if "iceberg" in s.uses)
    if not users:
        return
    endpoint = _catalog_endpoint(ctx)
    if endpoint is None:
        yield check.finding(ctx, ctx.expected_ref("Application", ctx.platform.argocd.namespace, ic.RELEASE), "spec",
                            f"no polaris chart Application rendered: {', '.join(users)} use Iceberg but no catalog is installed")
        return
    host, port = endpoint
    warehouse = ctx.platform.datastores.iceberg.catalog.warehouse
    report = flow_report(ctx)
    evaluator = Evaluator(report.inventory.policies, report.inventory.namespace_labels) if report is not None else None
    setup_entries = _setup_job_entries(ctx)
    for name in users:
        item = _workload(ctx, name)
        if item is None:
            yield check.finding(ctx, ctx.expected_ref("Rollout", APPS, name), "spec", f"{name} uses Iceberg but no workload is rendered")
            continue
        pod = get(item.obj, POD_SPEC[item.obj["kind"]], {}) or {}
        containers = pod.get("containers") or []
        env = {v["name"]: str(v.get("value", "")) for c in containers for v in c.get("env") or [] if "name" in v}
        uri = env.get("ICEBERG_CATALOG_URI")
        parsed = urlparse(uri or "")
        if not uri or parsed.hostname != host or (parsed.port or 80) != port:
            yield check.finding(ctx, item, f"{POD_SPEC[item.obj['kind']]}.containers.0.env.ICEBERG_CATALOG_URI",
                                f"{name} uses Iceberg but its ICEBERG_CATALOG_URI is {uri!r}, not the catalog Service {host}:{port}")
        if env.get("ICEBERG_WAREHOUSE") != warehouse:
            yield check.finding(ctx, item, f"{POD_SPEC[item.obj['kind']]}.containers.0.env.ICEBERG_WAREHOUSE",
                                f"{name} names warehouse {env.get('ICEBERG_WAREHOUSE')!r}, the catalog serves {warehouse!r}")
        secret = ic.service_credentials_secret(name)
        mounted = any(get(v, "secret.secretName") == secret for v in pod.get("volumes") or [])
        made_by = _external_secret(ctx, APPS, secret)
        if not mounted or made_by is None:
            why = "does not mount it" if not mounted else "no ExternalSecret writes it"
            yield check.finding(ctx, item, f"{POD_SPEC[item.obj['kind']]}.volumes",
                                f"{name} uses Iceberg but has no catalog credential: Secret {secret} — {why}")
        elif _entries(made_by.obj) not in setup_entries:
            yield check.finding(ctx, made_by, "spec.data",
                                f"the catalog's setup job ({ic.SETUP_JOB}) mounts no Secret read from the same secret store "
                                f"entries as {secret}: {name}'s principal never gets the credentials {name} presents")
        if report is not None and evaluator is not None:
            refused = _catalog_reachability(report, evaluator, name, _pod_labels(item.obj), port)
            if refused is not None:
                yield check.finding(ctx, item, "spec", refused)


CHECKS = (
    Check("PL-ICE-001", "error", "promise", "Iceberg history is kept exactly the iceberg backup row's retention",
          "Render the maintenance CronJob's --retention-days from the iceberg backup row (components/iceberg_catalog.py), run "
          "it at least daily, and keep the warehouse bucket's noncurrent-version lifecycle at the same retention.",
          iceberg_history_matches_retention, {"max_interval_seconds": 86400}),
    Check("PL-ICE-002", "error", "tree", "Every service that uses Iceberg reaches the catalog",
          "Give the service ICEBERG_CATALOG_URI/ICEBERG_WAREHOUSE of the catalog, mount its credentials Secret (an "
          "ExternalSecret reading the entries the setup job mounts for the service's principal), and declare the "
          "service's flow to the catalog (app_services flows: uses iceberg) so the rendered NetworkPolicies allow it.",
          iceberg_clients_reach_the_catalog),
)
