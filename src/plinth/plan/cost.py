"""Monthly cost of a capacity plan on one cloud, from the list prices in ``plan/data/<cloud>.yaml``.

Monthly cost = nodes (instance-hours) + node disks + persistent volumes + managed control plane + cloud-managed
stores (``managed_by: cloud``: instance-hours of the primary and its standby or replicas, their storage, backups) +
object storage (backups: data x (1 + retention days x daily change), Iceberg warehouse, logs, traces) +
network basics (the gateway's load balancer, NAT gateways, internet egress, traffic between zones,
cross-region backup copies). Nodes are priced three ways: what minimum replicas need, what maximum replicas need,
and the pool sizes the spec states (the design's configuration).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from plinth.catalog.kube_versions import extended_support, support_status, today
from plinth.catalog.managed_stores import managed_store_list
from plinth.plan.capacity import CapacityPlan
from plinth.plan.pricing import Pricing, pricing
from plinth.spec.derived import backup_retention
from plinth.spec.model import Platform

NODE_SCENARIOS = ("min_replicas", "max_replicas", "spec_pools")
"""How many nodes are priced: needed at minimum replicas, at maximum replicas, or the spec's pool sizes."""

FOREVER_PRICED_DAYS = 3650
"""A retention of forever keeps growing; the plan prices ten years of it."""


@dataclass(frozen=True)
class CostLine:
    """One line of the breakdown."""

    group: str
    """nodes, disks, control plane, object storage, network or managed stores."""
    item: str
    """What is paid for."""
    quantity: str
    """How much of it, in words (e.g. "9 x m6i.2xlarge x 730 h")."""
    usd_per_month: float


@dataclass(frozen=True)
class CostPlan:
    """Monthly cost of one platform on one cloud."""

    provider: str
    region: str
    priced_region: str
    """Region the price file is for (a different ``region`` is priced at these prices, and said so)."""
    lines_by_scenario: dict[str, tuple[CostLine, ...]]
    design_usd_per_month: int | None
    taken: str
    basis: str

    def total(self, scenario: str = "max_replicas") -> float:
        """Monthly total of a node scenario."""
        return sum(line.usd_per_month for line in self.lines_by_scenario[scenario])

    def by_group(self, scenario: str = "max_replicas") -> dict[str, float]:
        """Monthly cost per group (nodes, disks, control plane, object storage, network, managed stores)."""
        groups: dict[str, float] = {}
        for line in self.lines_by_scenario[scenario]:
            groups[line.group] = groups.get(line.group, 0.0) + line.usd_per_month
        return groups


def _node_lines(capacity: CapacityPlan, cloud: Pricing, scenario: str) -> list[CostLine]:
    hours = cloud.hours_per_month
    lines = []
    for pool in capacity.pools:
        count = {"min_replicas": pool.at_min.nodes, "max_replicas": pool.at_max.nodes, "spec_pools": pool.spec.nodes}[scenario]
        name = pool.shape.instance.name
        lines.append(CostLine("nodes", f"pool {pool.name}", f"{count} x {name} x {hours:g} h",
                              count * cloud.instance_usd_per_hour(name) * hours))
        lines.append(CostLine("disks", f"pool {pool.name} node disks", f"{count} x {pool.spec.disk_gib} GiB",
                              count * pool.spec.disk_gib * cloud.price("block_storage", "usd_per_gib_month")))
    return lines


def backup_stored_gib(data_gib: float, retention_days: int, daily_change_percent: float) -> float:
    """Object storage a backup set occupies: one full copy plus every day's changes kept for the retention."""
    return data_gib * (1 + retention_days * daily_change_percent / 100)


def control_plane_line(platform: Platform, cloud: Pricing, on: dt.date) -> CostLine:
    """The managed control plane for one month: the extended-support price when the spec's Kubernetes version is in
    that cloud's extended support on ``on`` (the version table, ``plinth.catalog.kube_versions``), else the standard one."""
    hours = cloud.hours_per_month
    service = cloud.data["managed_kubernetes"]
    minor = platform.cluster.kubernetes_version
    standard = cloud.price("control_plane", "usd_per_hour")
    status = support_status(minor, cloud.provider, on)
    price, why = standard, f"Kubernetes {minor}: support dates not in the version table"
    if status is not None:
        dates = status.cloud
        if status.phase == "standard":
            why = f"Kubernetes {minor} in standard support until {dates.end_of_standard.date}"
        elif status.phase == "extended":
            ext = extended_support(cloud.provider)
            price = ext.usd_per_cluster_hour
            why = (f"Kubernetes {minor} in {ext.name} since {dates.end_of_standard.date} until {dates.end_of_extended.date}: "
                   f"{price:g} USD/h instead of {standard:g}")
        elif status.phase == "ended":
            why = f"Kubernetes {minor} past the end of extended support ({dates.end_of_extended.date}): {service} upgrades the cluster"
        elif status.phase == "not-released":
            why = f"Kubernetes {minor} not available on {service} before {dates.released.date}"
        else:
            why = f"Kubernetes {minor}: {service} support dates not recorded"
    return CostLine("control plane", f"{service} control plane", f"1 cluster x {hours:g} h; {why}", price * hours)


def _shared_lines(platform: Platform, capacity: CapacityPlan, cloud: Pricing, on: dt.date) -> list[CostLine]:
    load = platform.load
    hours = cloud.hours_per_month
    block = cloud.price("block_storage", "usd_per_gib_month")
    obj = cloud.price("object_storage", "usd_per_gib_month")
    lines = []
    volumes = sum(p.volume_gib for p in capacity.pools)
    lines.append(CostLine("disks", "persistent volumes (data stores, telemetry)", f"{volumes:,} GiB", volumes * block))
    lines.append(control_plane_line(platform, cloud, on))
    fill = load.data_fill_percent / 100
    change = load.daily_change_percent
    cross_region_gib = 0.0
    ds = platform.datastores
    backed_up = {"clickhouse": ds.clickhouse.storage.size_gib * ds.clickhouse.shards * fill}
    if ds.postgres.managed_by == "in-cluster":  # a cloud-managed PostgreSQL's backups are the service's (_managed_store_lines)
        backed_up = {"postgres": ds.postgres.storage.size_gib * fill, **backed_up}
    for data, data_gib in backed_up.items():
        backup = platform.backup_for(data)
        days = backup_retention(backup).days or FOREVER_PRICED_DAYS
        stored = backup_stored_gib(data_gib, days, change)
        lines.append(CostLine("object storage", f"{data} backups ({backup.location}, {days} d)", f"{stored:,.0f} GiB", stored * obj))
        if backup.location in ("cross-region", "multi-region"):
            cross_region_gib += data_gib * change / 100 * 30 + data_gib / 30  # daily changes + a monthly full copy
    iceberg = platform.load.organisations * load.iceberg_gib_per_org
    lines.append(CostLine("object storage", "Iceberg warehouse (multi-region)", f"{iceberg:,.0f} GiB",
                          iceberg * cloud.price("multi_region_object_storage", "usd_per_gib_month")))
    for store, label in (("loki", "logs (Loki)"), ("tempo", "traces (Tempo)")):
        retention = getattr(platform.observability, store)
        lines.append(CostLine("object storage", f"{label}, {retention.retention_days} d", f"{retention.storage_gib:,} GiB",
                              retention.storage_gib * obj))
    egress = platform.load.organisations * load.egress_gib_per_org_month
    nat = platform.load.organisations * load.nat_gib_per_org_month
    nat_price = cloud.data["nat_gateway"]
    gateways = len(platform.cluster.zones) if nat_price["per_zone"] else 1
    lb = cloud.data["load_balancer"]
    lines.append(CostLine("network", "load balancer (gateway)", f"1 x {hours:g} h + {egress:,.0f} GiB processed",
                          lb["usd_per_hour"] * hours + egress * lb["usd_per_gib_processed"]))
    lines.append(CostLine("network", "NAT gateways", f"{gateways} x {hours:g} h + {nat:,.0f} GiB processed",
                          gateways * nat_price["usd_per_hour"] * hours + nat * nat_price["usd_per_gib_processed"]))
    lines.append(CostLine("network", "internet egress", f"{egress:,.0f} GiB", egress * cloud.price("internet_egress", "usd_per_gib")))
    inter_zone = platform.load.organisations * load.inter_zone_gib_per_org_month
    lines.append(CostLine("network", "inter-zone traffic", f"{inter_zone:,.0f} GiB",
                          inter_zone * cloud.price("inter_zone_transfer", "usd_per_gib")))
    lines.append(CostLine("network", "cross-region backup copies", f"{cross_region_gib:,.0f} GiB",
                          cross_region_gib * cloud.price("cross_region_transfer", "usd_per_gib")))
    return lines


def _managed_store_lines(platform: Platform, cloud: Pricing) -> list[CostLine]:
    """The cloud-managed stores on ``cloud``: each node's instance-hours (a standby or replica is billed like the
    primary), each node's storage, and the automated backups (the backup row's retention as the service keeps it, the
    part beyond the free allowance, and the DR region's copy in full)."""
    hours = cloud.hours_per_month
    prices = cloud.data.get("managed_stores", {})
    lines: list[CostLine] = []
    for store in managed_store_list(platform, cloud.provider):
        price = prices[store.store]
        nodes = store.nodes if price["per"] == "node" else 1
        role = "primary + standby" if store.synchronous_standby else "primary + replicas"
        if "instances" in price:
            try:
                hourly = float(price["instances"][store.instance_class]["usd_per_hour"])
            except KeyError:
                raise KeyError(f"plan/data/{cloud.provider}.yaml: no managed_stores.{store.store} price for {store.instance_class!r}") from None
        elif "vcpu" in price:
            hourly = store.vcpu * float(price["vcpu"]["usd_per_hour"]) + store.memory_gib * float(price["memory"]["usd_per_gib_hour"])
        else:
            hourly = store.memory_gib * float(price["capacity"]["usd_per_gib_hour"])
        lines.append(CostLine("managed stores", f"{store.store}: {store.service} {store.instance_class} ({role})",
                              f"{nodes} x {store.instance_class} x {hours:g} h", nodes * hourly * hours))
        if store.storage_gib and "storage" in price:
            lines.append(CostLine("managed stores", f"{store.store}: {store.service} storage", f"{store.nodes} x {store.storage_gib:,} GiB",
                                  store.nodes * store.storage_gib * float(price["storage"]["usd_per_gib_month"])))
        if store.backup_retention_days and "backup_storage" in price:
            backup = price["backup_storage"]
            data_gib = store.storage_gib * platform.load.data_fill_percent / 100
            stored = backup_stored_gib(data_gib, store.backup_retention_days, platform.load.daily_change_percent)
            free = store.storage_gib if backup.get("free") == "provisioned" else 0
            copies = 2 if store.backup_copy and store.backup_copy_doubles else 1
            billed = max(0.0, stored - free) + (stored if copies == 2 else 0.0)
            lines.append(CostLine("managed stores", f"{store.store}: automated backups ({store.backup_retention_days} d"
                                  f"{'; ' + store.backup_copy if store.backup_copy else ''})",
                                  f"{copies} x {stored:,.0f} GiB, {free:,} GiB free", billed * float(backup["usd_per_gib_month"])))
    return lines


def plan_cost(platform: Platform, capacity: CapacityPlan, on: dt.date | None = None) -> CostPlan:
    """Monthly cost of ``capacity`` (one cloud) with the platform's storage, backups and traffic; the control plane
    is priced for the support its Kubernetes version has on the day ``on`` (default ``$PLINTH_TODAY`` or today)."""
    provider = capacity.provider
    cloud = pricing(provider)
    design = next((d for d in platform.design_costs if d.provider == provider), None)
    if provider == platform.cluster.provider:
        region = platform.cluster.region
    else:
        region = design.region if design else cloud.region
    shared = _shared_lines(platform, capacity, cloud, on or today()) + _managed_store_lines(platform, cloud)
    scenarios = {s: tuple(_node_lines(capacity, cloud, s) + shared) for s in NODE_SCENARIOS}
    return CostPlan(provider, region, cloud.region, scenarios, design.usd_per_month if design else None,
                    str(cloud.data["taken"]), str(cloud.data["basis"]))
