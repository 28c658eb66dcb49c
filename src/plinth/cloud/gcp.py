"""The GCP program: VPC with Cloud NAT, private GKE, node pools, Workload Identity, GCS dual/multi-region
buckets, Cloud DNS, Cloud CDN on a global load balancer, Cloud SQL and Memorystore.

Plain ``pulumi_gcp`` resources; every number comes from the spec through :mod:`plinth.cloud.layout`.
"""

from __future__ import annotations

import ipaddress
import math
from typing import Any

import pulumi
import pulumi_gcp as gcp
import pulumi_random as random

from plinth.catalog.managed_stores import buildable, managed_store
from plinth.cloud import layout
from plinth.cloud.options import CloudOptions
from plinth.spec import derived
from plinth.spec.model import Platform

_TAINT_EFFECTS = {"NoSchedule": "NO_SCHEDULE", "PreferNoSchedule": "PREFER_NO_SCHEDULE", "NoExecute": "NO_EXECUTE"}
_MULTI_REGIONS = {"us": "US", "northamerica": "US", "southamerica": "US", "europe": "EU", "asia": "ASIA", "australia": "ASIA"}
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
NODE_ROLE = "roles/container.defaultNodeServiceAccount"
"""The predefined role for GKE node service accounts (logging, monitoring, Artifact Registry reads)."""
CONTROL_PLANE_CIDR = derived.GKE_CONTROL_PLANE_CIDR
"""The GKE control plane's private range (outside NETWORK_CIDR)."""
POD_CIDR = derived.GKE_POD_CIDR
SERVICE_CIDR = derived.GKE_SERVICE_CIDR


def multi_region_of(region: str) -> str:
    """The GCS multi-region holding ``region`` (us-central1 -> US)."""
    continent = region.split("-", 1)[0]
    if continent not in _MULTI_REGIONS:
        raise ValueError(f"cluster.region: no GCS multi-region is known for {region!r}")
    return _MULTI_REGIONS[continent]


def bucket_location(plan: derived.BucketTarget, region: str, dr_region: str) -> tuple[str, list[str] | None]:
    """GCS location (and dual-region placement) of a bucket: cross-region -> dual-region with the DR region,
    multi-region -> the continent's multi-region, otherwise the cluster's region."""
    if plan.location == "cross-region":
        if multi_region_of(region) != multi_region_of(dr_region):
            raise ValueError(f"cluster.dr_region: a GCS dual-region needs {region} and {dr_region} on one continent")
        return multi_region_of(region), [region.upper(), dr_region.upper()]
    if plan.location == "multi-region":
        return multi_region_of(region), None
    return region.upper(), None


class GcpPlatform:
    """Builds the GCP resources of one platform environment."""

    def __init__(self, platform: Platform, options: CloudOptions):
        if options.gcp_project and options.gcp_project != platform.cluster.account:
            raise ValueError(f"gcp:project: the stack builds in {options.gcp_project!r} but the spec's cluster.account is "
                             f"{platform.cluster.account!r}; the ServiceAccounts' Google accounts live in cluster.account")
        self.platform = platform
        self.options = options
        self.project = platform.cluster.account
        self.prefix = platform.cluster.name
        self.labels = {"plinth-platform": platform.name, "plinth-environment": platform.environment}
        self._network()
        self._node_identity()
        self._cluster()
        self._node_pools()
        self._buckets()
        self._dns_and_cdn()
        self._identities()
        self._managed_stores()

    def outputs(self) -> dict[str, Any]:
        """Values the stack exports."""
        out: dict[str, Any] = {
            "kubeconfigCommand": pulumi.Output.concat(
                "gcloud container clusters get-credentials ", self.cluster.name, " --region ", self.platform.cluster.region,
                " --project ", self.project,
            ),
            "clusterEndpoint": self.cluster.endpoint,
            "dnsZoneNameServers": self.zone.name_servers,
            "buckets": {key: bucket.name for key, bucket in self.buckets.items()},
            "workloadIdentityServiceAccounts": {name: account.email for name, account in self.accounts.items()},
        }
        if self.cdn_address is not None:
            out["cdnAddress"] = self.cdn_address.address
        return out

    def _network(self) -> None:
        """A custom-mode VPC, one regional node subnet (GCP subnets span zones), Cloud NAT for egress."""
        region = self.platform.cluster.region
        self.network = gcp.compute.Network(f"{self.prefix}-vpc", project=self.project, auto_create_subnetworks=False)
        node_cidr = next(iter(layout.subnets(self.platform.cluster.zones).values()))[0]
        self.subnet = gcp.compute.Subnetwork(
            f"{self.prefix}-nodes",
            project=self.project,
            region=region,
            network=self.network.id,
            ip_cidr_range=node_cidr,
            private_ip_google_access=True,
            secondary_ip_ranges=[
                {"range_name": "pods", "ip_cidr_range": POD_CIDR},
                {"range_name": "services", "ip_cidr_range": SERVICE_CIDR},
            ],
        )
        router = gcp.compute.Router(f"{self.prefix}-router", project=self.project, region=region, network=self.network.id)
        gcp.compute.RouterNat(
            f"{self.prefix}-nat",
            project=self.project,
            region=region,
            router=router.name,
            nat_ip_allocate_option="AUTO_ONLY",
            source_subnetwork_ip_ranges_to_nat="ALL_SUBNETWORKS_ALL_IP_RANGES",
        )

    def _cluster(self) -> None:
        """A regional GKE cluster over the spec's zones: private nodes, private endpoint reachable from the VPC,
        public endpoint only from the configured CIDRs, Workload Identity on."""
        cluster = self.platform.cluster
        public_cidrs = list(self.options.api_public_cidrs)
        self.cluster = gcp.container.Cluster(
            self.prefix,
            name=self.prefix,
            project=self.project,
            location=cluster.region,
            node_locations=list(cluster.zones),
            min_master_version=cluster.kubernetes_version,
            release_channel={"channel": "STABLE"},
            network=self.network.id,
            subnetwork=self.subnet.id,
            remove_default_node_pool=True,
            initial_node_count=1,
            deletion_protection=True,
            ip_allocation_policy={"cluster_secondary_range_name": "pods", "services_secondary_range_name": "services"},
            private_cluster_config={
                "enable_private_nodes": True,
                "enable_private_endpoint": not public_cidrs,
                "master_ipv4_cidr_block": CONTROL_PLANE_CIDR,
            },
            master_authorized_networks_config={
                "cidr_blocks": [{"cidr_block": layout.NETWORK_CIDR, "display_name": "vpc"}]
                + [{"cidr_block": c, "display_name": f"operator-{i}"} for i, c in enumerate(public_cidrs)],
            },
            workload_identity_config={"workload_pool": f"{self.project}.svc.id.goog"},
            # GKE Dataplane V2 (eBPF) enforces NetworkPolicies without a separate policy add-on
            # (https://cloud.google.com/kubernetes-engine/docs/concepts/dataplane-v2).
            datapath_provider="ADVANCED_DATAPATH",
            # The Compute Engine persistent disk CSI driver provisions the tree's StorageClasses (pd.csi.storage.gke.io)
            # (https://cloud.google.com/kubernetes-engine/docs/how-to/persistent-volumes/gce-pd-csi-driver).
            addons_config={"gce_persistent_disk_csi_driver_config": {"enabled": True}, "http_load_balancing": {"disabled": False}},
            # The default pool GKE creates before removing it runs as the node identity too, never the Compute default account.
            node_config={"service_account": self.node_account.email, "oauth_scopes": [CLOUD_PLATFORM_SCOPE]},
            resource_labels=self.labels,
        )

    def _node_identity(self) -> None:
        """A dedicated node service account with only the role GKE nodes need (logs, metrics, image pulls): never the
        Compute Engine default account, which holds Editor on the project
        (https://cloud.google.com/kubernetes-engine/docs/how-to/hardening-your-cluster#use_least_privilege_sa)."""
        self.node_account = gcp.serviceaccount.Account(
            f"{self.prefix}-nodes", project=self.project, account_id=f"{self.prefix}-nodes"[:30].rstrip("-"),
            display_name=f"{self.prefix} GKE nodes",
        )
        gcp.projects.IAMMember(
            f"{self.prefix}-nodes", project=self.project, role=NODE_ROLE,
            member=self.node_account.email.apply(lambda email: f"serviceAccount:{email}"),
        )

    def _node_pools(self) -> None:
        """A node pool per spec pool over the spec's zones; GKE's bounds are totals across the zones."""
        zones = list(self.platform.cluster.zones)
        self.node_pools: dict[str, gcp.container.NodePool] = {}
        for pool in layout.node_pools(self.platform):
            self.node_pools[pool.name] = gcp.container.NodePool(
                f"{self.prefix}-{pool.name}",
                name=pool.name,
                project=self.project,
                cluster=self.cluster.id,
                location=self.platform.cluster.region,
                node_locations=zones,
                # initial_node_count is per zone: the smallest per-zone count reaching the spec's node count.
                initial_node_count=math.ceil(pool.desired_nodes / len(zones)),
                autoscaling={"total_min_node_count": pool.min_nodes, "total_max_node_count": pool.max_nodes, "location_policy": "BALANCED"},
                management={"auto_repair": True, "auto_upgrade": True},
                network_config={"enable_private_nodes": True},
                node_config={
                    "machine_type": pool.instance.name,
                    "disk_size_gb": pool.disk_gib,
                    "disk_type": "pd-ssd",
                    "labels": pool.labels,
                    "taints": [{"key": t.key, "value": t.value, "effect": _TAINT_EFFECTS[t.effect]} for t in pool.taints],
                    "workload_metadata_config": {"mode": "GKE_METADATA"},
                    "service_account": self.node_account.email,
                    "shielded_instance_config": {"enable_secure_boot": True, "enable_integrity_monitoring": True},
                    # Access is what the node account's IAM roles allow; the scope no longer narrows it (GKE hardening guide).
                    "oauth_scopes": [CLOUD_PLATFORM_SCOPE],
                    "resource_labels": self.labels,
                },
                opts=pulumi.ResourceOptions(ignore_changes=["initialNodeCount", "nodeCount"]),
            )

    def _key(self, location: str) -> gcp.kms.CryptoKey:
        """The customer-managed key encrypting the buckets of one GCS location (keys must share the bucket's location)."""
        if location not in self.keys:
            ring = gcp.kms.KeyRing(f"{self.prefix}-buckets-{location.lower()}", project=self.project, location=location.lower())
            key = gcp.kms.CryptoKey(f"{self.prefix}-buckets-{location.lower()}", key_ring=ring.id, rotation_period="7776000s")
            gcp.kms.CryptoKeyIAMMember(
                f"{self.prefix}-buckets-{location.lower()}-gcs",
                crypto_key_id=key.id,
                role="roles/cloudkms.cryptoKeyEncrypterDecrypter",
                member=self.storage_agent.apply(lambda a: f"serviceAccount:{a.email_address}"),
            )
            self.keys[location] = key
        return self.keys[location]

    def _buckets(self) -> None:
        """Versioned, CMEK-encrypted buckets; cross-region ones are dual-region with the DR region (GCS replicates),
        multi-region ones live in the continent's multi-region."""
        cluster = self.platform.cluster
        self.storage_agent = gcp.storage.get_project_service_account_output(project=self.project)
        self.keys: dict[str, gcp.kms.CryptoKey] = {}
        self.buckets: dict[str, gcp.storage.Bucket] = {}
        for plan in derived.buckets(self.platform):
            location, data_locations = bucket_location(plan, cluster.region, cluster.dr_region)
            rules: list[dict[str, Any]] = []
            lifecycle = layout.bucket_lifecycle(plan)
            if lifecycle.current_days is not None:
                rules.append({"action": {"type": "Delete"}, "condition": {"age": lifecycle.current_days, "with_state": "LIVE"}})
            if lifecycle.noncurrent_days is not None:
                rules.append({"action": {"type": "Delete"}, "condition": {"days_since_noncurrent_time": lifecycle.noncurrent_days,
                                                                          "with_state": "ARCHIVED"}})
            self.buckets[plan.key] = gcp.storage.Bucket(
                plan.primary.bucket,
                name=plan.primary.bucket,
                project=self.project,
                location=location,
                **({"custom_placement_config": {"data_locations": data_locations}} if data_locations else {}),
                # Turbo replication: a dual-region copies new objects to the DR region within 15 minutes.
                **({"rpo": "ASYNC_TURBO"} if data_locations else {}),
                storage_class="STANDARD",
                versioning={"enabled": True},
                uniform_bucket_level_access=True,
                public_access_prevention="enforced",
                encryption={"default_kms_key_name": self._key(location).id},
                lifecycle_rules=rules,
                labels={**self.labels, "plinth-holds": plan.key},
            )

    def _dns_and_cdn(self) -> None:
        """Cloud DNS for ``edge.domain``; with ``edge.cdn``, a global HTTPS load balancer with Cloud CDN whose
        backend is the gateway's public name (an internet NEG), serving the public hosts."""
        edge = self.platform.edge
        self.zone = gcp.dns.ManagedZone(
            f"{self.prefix}-zone", project=self.project, dns_name=f"{edge.domain}.", dnssec_config={"state": "on"}, labels=self.labels
        )
        self.cdn_address = None
        if not edge.cdn:
            return
        hosts = layout.public_hosts(self.platform)
        origin = gcp.compute.GlobalNetworkEndpointGroup(
            f"{self.prefix}-origin", project=self.project, network_endpoint_type="INTERNET_FQDN_PORT", default_port=443
        )
        gcp.compute.GlobalNetworkEndpoint(
            f"{self.prefix}-origin", project=self.project, global_network_endpoint_group=origin.name,
            fqdn=layout.origin_host(self.platform), port=443,
        )
        backend = gcp.compute.BackendService(
            f"{self.prefix}-cdn",
            project=self.project,
            protocol="HTTPS",
            load_balancing_scheme="EXTERNAL_MANAGED",
            enable_cdn=True,
            cdn_policy={"cache_mode": "USE_ORIGIN_HEADERS"},
            custom_request_headers=[f"Host: {layout.origin_host(self.platform)}"],
            backends=[{"group": origin.id}],
        )
        url_map = gcp.compute.URLMap(f"{self.prefix}-cdn", project=self.project, default_service=backend.id)
        certificate = gcp.compute.ManagedSslCertificate(f"{self.prefix}-cdn", project=self.project, managed={"domains": hosts})
        proxy = gcp.compute.TargetHttpsProxy(
            f"{self.prefix}-cdn", project=self.project, url_map=url_map.id, ssl_certificates=[certificate.id]
        )
        self.cdn_address = gcp.compute.GlobalAddress(f"{self.prefix}-cdn", project=self.project)
        gcp.compute.GlobalForwardingRule(
            f"{self.prefix}-cdn", project=self.project, target=proxy.id, ip_address=self.cdn_address.address,
            port_range="443", load_balancing_scheme="EXTERNAL_MANAGED",
        )
        for host in hosts:
            gcp.dns.RecordSet(
                f"{host}-a", project=self.project, managed_zone=self.zone.name, name=f"{host}.", type="A", ttl=300,
                rrdatas=[self.cdn_address.address],
            )

    def _identities(self) -> None:
        """GKE Workload Identity: a Google service account per Kubernetes one of the identity table, impersonable only
        by it (https://cloud.google.com/kubernetes-engine/docs/how-to/workload-identity)."""
        self.accounts: dict[str, gcp.serviceaccount.Account] = {}
        self.secrets_project = self.platform.secrets.gcp_project_id or self.project
        project_number = gcp.organizations.get_project_output(project_id=self.secrets_project).number
        for identity in derived.workload_identities(self.platform):
            account = gcp.serviceaccount.Account(
                f"{self.prefix}-{identity.name}",
                project=self.project,
                # The ServiceAccount annotation names this account's e-mail (derived.gcp_service_account_email).
                account_id=derived.gcp_service_account_id(self.platform, identity),
                display_name=f"{identity.namespace}/{identity.service_account}",
            )
            self.accounts[identity.name] = account
            gcp.serviceaccount.IAMMember(
                f"{self.prefix}-{identity.name}-wi",
                service_account_id=account.name,
                role="roles/iam.workloadIdentityUser",
                member=f"serviceAccount:{self.project}.svc.id.goog[{identity.namespace}/{identity.service_account}]",
            )
            member = account.email.apply(lambda email: f"serviceAccount:{email}")
            for key in identity.buckets:
                gcp.storage.BucketIAMMember(
                    f"{self.prefix}-{identity.name}-{key}", bucket=self.buckets[key].name, role="roles/storage.objectAdmin", member=member
                )
            if identity.manages_dns:
                gcp.dns.DnsManagedZoneIamMember(
                    f"{self.prefix}-{identity.name}-dns", project=self.project, managed_zone=self.zone.name, role="roles/dns.admin", member=member
                )
            if identity.reads_secrets:
                # Only the environment's secrets: IAM Conditions on the secret's resource name
                # (https://cloud.google.com/secret-manager/docs/access-control#conditions).
                prefix = derived.secret_name_prefix(self.platform) + derived.secret_name_separator(self.platform)
                gcp.projects.IAMMember(
                    f"{self.prefix}-{identity.name}-secrets", project=self.secrets_project, role="roles/secretmanager.secretAccessor",
                    member=member,
                    condition={
                        "title": f"{prefix}*",
                        "description": "Only the secrets of this environment",
                        "expression": project_number.apply(
                            lambda number, prefix=prefix: f'resource.name.startsWith("projects/{number}/secrets/{prefix}")'
                        ),
                    },
                )
            if identity.snapshots_volumes:
                gcp.projects.IAMMember(
                    f"{self.prefix}-{identity.name}-snapshots", project=self.project, role="roles/compute.storageAdmin", member=member
                )

    def _managed_stores(self) -> None:
        """Cloud SQL PostgreSQL (regional HA) and Memorystore Redis (standard HA), only for stores handed to the cloud,
        sized as ``plinth.catalog.managed_stores`` decides; they take addresses from the private services access range
        (``derived.managed_store_range``: the NetworkPolicies' egress names exactly it), and their address and
        credentials go to Secret Manager under the names the ExternalSecrets read (``derived.managed_store_secrets``)."""
        self.database = None
        self.cache = None
        self.store_secrets: dict[str, gcp.secretmanager.Secret] = {}
        postgres, redis = buildable(managed_store(self.platform, "postgres")), buildable(managed_store(self.platform, "redis"))
        if postgres is None and redis is None:
            return
        region = self.platform.cluster.region
        services_range = ipaddress.ip_network(derived.managed_store_range(self.platform.cluster.zones))
        peering_range = gcp.compute.GlobalAddress(
            f"{self.prefix}-services", project=self.project, purpose="VPC_PEERING", address_type="INTERNAL",
            address=str(services_range.network_address), prefix_length=services_range.prefixlen, network=self.network.id,
        )
        peering = gcp.servicenetworking.Connection(
            f"{self.prefix}-services", network=self.network.id, service="servicenetworking.googleapis.com",
            reserved_peering_ranges=[peering_range.name],
        )
        if postgres is not None:
            pg = self.platform.datastores.postgres
            self.database = gcp.sql.DatabaseInstance(
                f"{self.prefix}-postgres",
                project=self.project,
                region=region,
                database_version=f"POSTGRES_{pg.version}",
                deletion_protection=True,
                settings={
                    "tier": postgres.instance_class,
                    "edition": "ENTERPRISE",
                    "availability_type": "REGIONAL" if postgres.zone_redundant else "ZONAL",
                    "disk_size": postgres.storage_gib,
                    "disk_type": "PD_SSD",
                    "ip_configuration": {"ipv4_enabled": False, "private_network": self.network.id, "ssl_mode": "ENCRYPTED_ONLY"},
                    "backup_configuration": {
                        "enabled": True,
                        "point_in_time_recovery_enabled": postgres.pitr,
                        "location": self.platform.cluster.dr_region if postgres.backup_copy is not None else region,
                        "backup_retention_settings": {
                            "retained_backups": postgres.backup_retention_days,
                            "retention_unit": "COUNT",
                        },
                    },
                },
                opts=pulumi.ResourceOptions(depends_on=[peering]),
            )
            password = random.RandomPassword(f"{self.prefix}-postgres", length=32, special=False)
            gcp.sql.User(f"{self.prefix}-postgres", project=self.project, instance=self.database.name, name=MANAGED_POSTGRES_USER,
                         password=password.result)
            gcp.sql.Database(f"{self.prefix}-postgres", project=self.project, instance=self.database.name,
                             name=self.platform.datastores.iceberg.catalog.database)
            self._store_secrets("postgres", self.database.private_ip_address, derived.managed_store_port(self.platform, "postgres"),
                                MANAGED_POSTGRES_USER, password.result)
        if redis is not None:
            spec = self.platform.datastores.redis
            self.cache = gcp.redis.Instance(
                f"{self.prefix}-redis",
                project=self.project,
                region=region,
                tier="STANDARD_HA",
                memory_size_gb=int(redis.memory_gib),
                redis_version=f"REDIS_{spec.version.replace('.', '_')}",
                replica_count=redis.nodes - 1,
                read_replicas_mode="READ_REPLICAS_ENABLED",
                authorized_network=self.network.id,
                connect_mode="PRIVATE_SERVICE_ACCESS",
                auth_enabled=True,
                transit_encryption_mode="SERVER_AUTHENTICATION",
                persistence_config={"persistence_mode": "AOF" if spec.appendonly else "DISABLED", **({"aof_append_fsync": spec.appendfsync.upper()} if spec.appendonly else {})},
                labels=self.labels,
                opts=pulumi.ResourceOptions(depends_on=[peering]),
            )
            self._store_secrets("redis", self.cache.host, self.cache.port, "default", self.cache.auth_string)

    def _store_secrets(self, store: str, host: pulumi.Input[str], port: pulumi.Input[int], username: str, password: pulumi.Input[str]) -> None:
        """One Secret Manager secret per client of a managed store, named as its ExternalSecret reads it, holding the
        store's address and credentials as JSON properties (host, port, username, password)."""
        value = pulumi.Output.all(host, port, password).apply(lambda args: layout.store_secret_value(args[0], args[1], username, args[2]))
        for name in derived.managed_store_secrets(self.platform, store):
            remote = derived.remote_secret_name(self.platform, name)
            secret = gcp.secretmanager.Secret(remote, project=self.secrets_project, secret_id=remote, replication={"auto": {}},
                                              labels=self.labels)
            gcp.secretmanager.SecretVersion(remote, secret=secret.id, secret_data=pulumi.Output.secret(value))
            self.store_secrets[remote] = secret


MANAGED_POSTGRES_USER = "plinth"
"""The managed PostgreSQL's user, whose credentials the cloud layer writes for the database's clients."""
