"""The Azure program: VNet with a NAT gateway, private AKS, agent pools, Azure workload identity, Blob storage
with object replication, Azure DNS, Front Door, Azure Database for PostgreSQL and Azure Managed Redis.

Plain ``pulumi_azure_native`` resources; every number comes from the spec through :mod:`plinth.cloud.layout`.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_azure_native as azure
import pulumi_random as random

from plinth.catalog.managed_stores import buildable, managed_store
from plinth.cloud import layout
from plinth.cloud.options import CloudOptions
from plinth.spec import derived
from plinth.spec.model import Platform

ROLE_IDS = {
    "Storage Blob Data Contributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    "DNS Zone Contributor": "befefa01-2a29-4197-83a8-272ff33ce314",
    "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
    "Disk Snapshot Contributor": "7efff54f-a5b4-42b5-a1c5-5411624893ce",
    "Storage Blob Data Reader": "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
}
"""Azure built-in role definition IDs (the same in every tenant)."""
WORKLOAD_IDENTITY_AUDIENCE = "api://AzureADTokenExchange"
SERVICE_CIDR = derived.AKS_SERVICE_CIDR
DNS_SERVICE_IP = "10.96.0.10"
POD_CIDR = derived.AKS_POD_CIDR


def key_vault_name(platform: Platform) -> str:
    """The Key Vault the spec's ``secrets.azure_key_vault_url`` names: the cloud layer creates exactly that vault, one per
    environment (Key Vault RBAC scopes a vault or one secret, not a name prefix, so a vault is the environment's boundary)."""
    url = platform.secrets.azure_key_vault_url or ""
    return url.removeprefix("https://").split(".", 1)[0]


def _taint(t: Any) -> str:
    return f"{t.key}={t.value}:{t.effect}"


class AzurePlatform:
    """Builds the Azure resources of one platform environment."""

    def __init__(self, platform: Platform, options: CloudOptions):
        self.platform = platform
        self.options = options
        self.prefix = platform.cluster.name
        self.tags = {"plinth.dev/platform": platform.name, "plinth.dev/environment": platform.environment}
        self.client = azure.authorization.get_client_config_output()
        cluster = platform.cluster
        group, dr_group = derived.azure_resource_group(platform, cluster.region), derived.azure_resource_group(platform, cluster.dr_region)
        self.group = azure.resources.ResourceGroup(group, resource_group_name=group, location=cluster.region, tags=self.tags)
        self.dr_group = azure.resources.ResourceGroup(dr_group, resource_group_name=dr_group, location=cluster.dr_region, tags=self.tags)
        self._network()
        self._cluster()
        self._storage()
        self._dns_and_cdn()
        self._identities()
        self._managed_stores()

    def outputs(self) -> dict[str, Any]:
        """Values the stack exports."""
        out: dict[str, Any] = {
            "kubeconfigCommand": pulumi.Output.concat(
                "az aks get-credentials --resource-group ", self.group.name, " --name ", self.cluster.name
            ),
            "oidcIssuer": self.cluster.oidc_issuer_profile.apply(lambda p: p.issuer_url if p else None),
            "dnsZoneNameServers": self.zone.name_servers,
            "storageAccount": self.account.name,
            "containers": {key: c.name for key, c in self.containers.items()},
            "workloadIdentityClientIds": {name: i.client_id for name, i in self.identities.items()},
        }
        if self.endpoint is not None:
            out["frontDoorHost"] = self.endpoint.host_name
        return out

    def _rg(self) -> pulumi.Output[str]:
        return self.group.name

    # ------------------------------------------------------------------ network and cluster

    def _network(self) -> None:
        """A VNet with one node subnet (Azure subnets span zones) whose egress goes through a NAT gateway."""
        region = self.platform.cluster.region
        nat_ip = azure.network.PublicIPAddress(
            f"{self.prefix}-nat", resource_group_name=self._rg(), location=region, sku={"name": "Standard"},
            public_ip_allocation_method="Static", tags=self.tags,
        )
        nat = azure.network.NatGateway(
            f"{self.prefix}-nat", resource_group_name=self._rg(), location=region, sku={"name": "Standard"},
            public_ip_addresses=[{"id": nat_ip.id}], tags=self.tags,
        )
        self.vnet = azure.network.VirtualNetwork(
            f"{self.prefix}-vnet", resource_group_name=self._rg(), location=region,
            address_space={"address_prefixes": [layout.NETWORK_CIDR]}, tags=self.tags,
        )
        node_cidr = next(iter(layout.subnets(self.platform.cluster.zones).values()))[0]
        self.subnet = azure.network.Subnet(
            f"{self.prefix}-nodes", resource_group_name=self._rg(), virtual_network_name=self.vnet.name,
            address_prefix=node_cidr, nat_gateway={"id": nat.id}, default_outbound_access=False,
        )

    def _cluster(self) -> None:
        """AKS at the spec's version: a private API server (public only from configured CIDRs), OIDC issuer and
        workload identity on, one agent pool per spec pool over the spec's zones, no node public IPs."""
        cluster = self.platform.cluster
        public_cidrs = list(self.options.api_public_cidrs)
        system_pool = self.platform.pool_for_namespace("platform-system")[0]
        profiles: dict[str, dict[str, Any]] = {}
        for pool in layout.node_pools(self.platform):
            profiles[pool.name] = {
                "mode": "System" if pool.name == system_pool else "User",
                "vm_size": pool.instance.name,
                "os_disk_size_gb": pool.disk_gib,
                "os_disk_type": "Managed",
                "os_type": "Linux",
                "type": "VirtualMachineScaleSets",
                "availability_zones": list(cluster.zones),
                "enable_auto_scaling": True,
                "min_count": pool.min_nodes,
                "max_count": pool.max_nodes,
                "count": pool.desired_nodes,
                "node_labels": pool.labels,
                "node_taints": [_taint(t) for t in pool.taints],
                "enable_node_public_ip": False,
                "enable_encryption_at_host": True,
                "vnet_subnet_id": self.subnet.id,
                "orchestrator_version": cluster.kubernetes_version,
            }
        self.cluster = azure.containerservice.ManagedCluster(
            self.prefix,
            resource_name_=self.prefix,
            resource_group_name=self._rg(),
            location=cluster.region,
            dns_prefix=self.prefix,
            kubernetes_version=cluster.kubernetes_version,
            identity={"type": "SystemAssigned"},
            sku={"name": "Base", "tier": "Standard"},
            enable_rbac=True,
            disable_local_accounts=True,
            aad_profile={"managed": True, "enable_azure_rbac": True},
            # AKS creates the system pool with the cluster; the other pools are AgentPool resources below, so
            # they can change without replacing the cluster.
            agent_pool_profiles=[{"name": system_pool, **profiles[system_pool]}],
            api_server_access_profile={
                "enable_private_cluster": not public_cidrs,
                **({"authorized_ip_ranges": public_cidrs} if public_cidrs else {}),
            },
            # The Azure Disk CSI driver provisions the tree's StorageClasses (disk.csi.azure.com); the snapshot controller
            # serves VolumeSnapshots (https://learn.microsoft.com/azure/aks/csi-storage-drivers).
            storage_profile={"disk_csi_driver": {"enabled": True}, "snapshot_controller": {"enabled": True}},
            # Azure CNI powered by Cilium enforces NetworkPolicies (https://learn.microsoft.com/azure/aks/azure-cni-powered-by-cilium).
            network_profile={
                "network_plugin": "azure",
                "network_plugin_mode": "overlay",
                "network_dataplane": "cilium",
                "network_policy": "cilium",
                "pod_cidr": POD_CIDR,
                "service_cidr": SERVICE_CIDR,
                "dns_service_ip": DNS_SERVICE_IP,
                "outbound_type": "userAssignedNATGateway",
            },
            oidc_issuer_profile={"enabled": True},
            security_profile={"workload_identity": {"enabled": True}},
            auto_upgrade_profile={"upgrade_channel": "patch", "node_os_upgrade_channel": "NodeImage"},
            tags=self.tags,
            # The cluster autoscaler moves each pool's count between its bounds.
            opts=pulumi.ResourceOptions(ignore_changes=["agentPoolProfiles[*].count"]),
        )
        self.agent_pools: dict[str, azure.containerservice.AgentPool] = {}
        for name, profile in profiles.items():
            if name == system_pool:
                continue
            self.agent_pools[name] = azure.containerservice.AgentPool(
                f"{self.prefix}-{name}",
                agent_pool_name=name,
                resource_name_=self.cluster.name,
                resource_group_name=self._rg(),
                **profile,
                opts=pulumi.ResourceOptions(ignore_changes=["count"]),
            )

    # ------------------------------------------------------------------ storage

    def _account(self, name: str, region: str, group: azure.resources.ResourceGroup) -> tuple[azure.storage.StorageAccount, Any]:
        account = azure.storage.StorageAccount(
            name,
            account_name=name,
            resource_group_name=group.name,
            location=region,
            kind="StorageV2",
            sku={"name": "Standard_ZRS"},
            allow_blob_public_access=False,
            allow_shared_key_access=False,
            minimum_tls_version="TLS1_2",
            enable_https_traffic_only=True,
            encryption={
                "key_source": "Microsoft.Storage",
                "require_infrastructure_encryption": True,
                "services": {"blob": {"enabled": True, "key_type": "Account"}},
            },
            tags=self.tags,
        )
        # Object replication needs versioning and the change feed on both accounts.
        properties = azure.storage.BlobServiceProperties(
            name, account_name=account.name, resource_group_name=group.name, blob_services_name="default",
            is_versioning_enabled=True, change_feed={"enabled": True},
        )
        return account, properties

    def _lifecycle(self, name: str, account: azure.storage.StorageAccount, group: azure.resources.ResourceGroup, plans: list[derived.BucketTarget]) -> None:
        rules = []
        for plan in plans:
            lifecycle = layout.bucket_lifecycle(plan)
            days = lifecycle.noncurrent_days
            if days is None:
                continue
            actions: dict[str, Any] = {"version": {"delete": {"days_after_creation_greater_than": days}}}
            if lifecycle.current_days is not None:
                actions["base_blob"] = {"delete": {"days_after_modification_greater_than": lifecycle.current_days}}
            rules.append(
                {
                    "name": f"{plan.key}-retention-{days}d",
                    "enabled": True,
                    "type": "Lifecycle",
                    "definition": {"filters": {"blob_types": ["blockBlob"], "prefix_match": [f"{plan.primary.bucket}/"]}, "actions": actions},
                }
            )
        azure.storage.ManagementPolicy(
            name, account_name=account.name, resource_group_name=group.name, management_policy_name="default", policy={"rules": rules}
        )

    def _storage(self) -> None:
        """One storage account in the region (a container per bucket) and one in ``dr_region`` holding the
        copies of cross/multi-region containers, fed by object replication; lifecycle rules per retention."""
        cluster = self.platform.cluster
        plans = derived.buckets(self.platform)
        self.account, primary_props = self._account(derived.storage_account_name(cluster.name, cluster.region), cluster.region, self.group)
        self.dr_account, dr_props = self._account(derived.storage_account_name(cluster.name, cluster.dr_region), cluster.dr_region, self.dr_group)
        self.containers: dict[str, azure.storage.BlobContainer] = {}
        self.replica_containers: dict[str, azure.storage.BlobContainer] = {}
        for plan in plans:
            self.containers[plan.key] = azure.storage.BlobContainer(
                plan.primary.bucket, container_name=plan.primary.bucket, account_name=self.account.name, resource_group_name=self._rg(),
                public_access="None",
            )
            if plan.copy is not None:
                self.replica_containers[plan.key] = azure.storage.BlobContainer(
                    f"{plan.copy.bucket}-{plan.copy.region}", container_name=plan.copy.bucket, account_name=self.dr_account.name,
                    resource_group_name=self.dr_group.name, public_access="None",
                )
        self._lifecycle(f"{self.prefix}-lifecycle", self.account, self.group, plans)
        self._lifecycle(f"{self.prefix}-dr-lifecycle", self.dr_account, self.dr_group, [p for p in plans if p.replicated])
        replicated = [p for p in plans if p.replicated]
        self.replication = None
        if not replicated:
            return
        rules = [{"source_container": p.primary.bucket, "destination_container": p.copy.bucket} for p in replicated if p.copy]
        depends = [primary_props, dr_props, *self.containers.values(), *self.replica_containers.values()]
        # Azure's order: the policy is created on the destination account first, then mirrored on the source
        # with the id and rule ids the destination assigned.
        destination = azure.storage.ObjectReplicationPolicy(
            f"{self.prefix}-replication-destination",
            account_name=self.dr_account.name, resource_group_name=self.dr_group.name, object_replication_policy_id="default",
            source_account=self.account.name, destination_account=self.dr_account.name, rules=rules,
            opts=pulumi.ResourceOptions(depends_on=depends),
        )
        self.replication = azure.storage.ObjectReplicationPolicy(
            f"{self.prefix}-replication-source",
            account_name=self.account.name, resource_group_name=self._rg(), object_replication_policy_id=destination.policy_id,
            source_account=self.account.name, destination_account=self.dr_account.name,
            rules=destination.rules.apply(
                lambda assigned: [
                    {"rule_id": r.rule_id, "source_container": r.source_container, "destination_container": r.destination_container}
                    for r in (assigned or [])
                ]
            ),
        )

    # ------------------------------------------------------------------ DNS and CDN

    def _dns_and_cdn(self) -> None:
        """Azure DNS for ``edge.domain``; with ``edge.cdn``, Front Door serving the public hosts from the gateway."""
        edge = self.platform.edge
        self.zone = azure.dns.Zone(f"{self.prefix}-zone", zone_name=edge.domain, resource_group_name=self._rg(), location="global", tags=self.tags)
        self.endpoint = None
        if not edge.cdn:
            return
        profile = azure.cdn.Profile(
            f"{self.prefix}-cdn", profile_name=f"{self.prefix}-cdn", resource_group_name=self._rg(), location="global",
            sku={"name": "Standard_AzureFrontDoor"}, tags=self.tags,
        )
        self.endpoint = azure.cdn.AFDEndpoint(
            f"{self.prefix}-cdn", endpoint_name=self.prefix, profile_name=profile.name, resource_group_name=self._rg(),
            location="global", enabled_state="Enabled",
        )
        group = azure.cdn.AFDOriginGroup(
            f"{self.prefix}-gateway", origin_group_name="gateway", profile_name=profile.name, resource_group_name=self._rg(),
            load_balancing_settings={"sample_size": 4, "successful_samples_required": 3, "additional_latency_in_milliseconds": 50},
            health_probe_settings={"probe_path": "/", "probe_protocol": "Https", "probe_request_type": "HEAD", "probe_interval_in_seconds": 60},
        )
        origin = azure.cdn.AFDOrigin(
            f"{self.prefix}-gateway", origin_name="gateway", origin_group_name=group.name, profile_name=profile.name,
            resource_group_name=self._rg(), host_name=layout.origin_host(self.platform), origin_host_header=layout.origin_host(self.platform),
            https_port=443, http_port=80, enabled_state="Enabled", enforce_certificate_name_check=True,
        )
        domains = []
        for host in layout.public_hosts(self.platform):
            label = host.removesuffix(f".{edge.domain}")
            domain = azure.cdn.AFDCustomDomain(
                f"{host}", custom_domain_name=host.replace(".", "-"), profile_name=profile.name, resource_group_name=self._rg(),
                host_name=host, azure_dns_zone={"id": self.zone.id},
                tls_settings={"certificate_type": "ManagedCertificate", "minimum_tls_version": "TLS12"},
            )
            domains.append(domain)
            azure.dns.RecordSet(
                f"{host}-cname", zone_name=self.zone.name, resource_group_name=self._rg(), relative_record_set_name=label,
                record_type="CNAME", ttl=300, cname_record={"cname": self.endpoint.host_name},
            )
            azure.dns.RecordSet(
                f"{host}-validation", zone_name=self.zone.name, resource_group_name=self._rg(),
                relative_record_set_name=f"_dnsauth.{label}", record_type="TXT", ttl=300,
                txt_records=[{"value": [domain.validation_properties.apply(lambda v: v.validation_token if v else "")]}],
            )
        azure.cdn.Route(
            f"{self.prefix}-cdn", route_name="gateway", endpoint_name=self.endpoint.name, profile_name=profile.name,
            resource_group_name=self._rg(), origin_group={"id": group.id}, custom_domains=[{"id": d.id} for d in domains],
            patterns_to_match=["/*"], supported_protocols=["Https", "Http"], https_redirect="Enabled",
            forwarding_protocol="HttpsOnly", link_to_default_domain="Disabled",
            opts=pulumi.ResourceOptions(depends_on=[origin]),
        )

    # ------------------------------------------------------------------ workload identity

    def _identities(self) -> None:
        """Azure workload identity: a user-assigned identity per service account, federated with the AKS OIDC
        issuer for exactly that subject, with role assignments scoped to what it needs."""
        cluster = self.platform.cluster
        issuer = self.cluster.oidc_issuer_profile.apply(lambda p: p.issuer_url if p else "")
        self.vault = azure.keyvault.Vault(
            f"{self.prefix}-secrets", vault_name=key_vault_name(self.platform), resource_group_name=self._rg(), location=cluster.region,
            properties={
                "tenant_id": self.client.tenant_id, "sku": {"family": "A", "name": "standard"}, "enable_rbac_authorization": True,
                "enable_purge_protection": True, "public_network_access": "Disabled",
            },
            tags=self.tags,
        )
        self.identities: dict[str, azure.managedidentity.UserAssignedIdentity] = {}
        for identity in derived.workload_identities(self.platform):
            uai = azure.managedidentity.UserAssignedIdentity(
                derived.cloud_identity_name(self.platform, identity), resource_name_=derived.cloud_identity_name(self.platform, identity),
                resource_group_name=self._rg(),
                location=cluster.region, tags=self.tags,
            )
            self.identities[identity.name] = uai
            azure.managedidentity.FederatedIdentityCredential(
                f"{self.prefix}-{identity.name}", resource_name_=uai.name, resource_group_name=self._rg(),
                federated_identity_credential_resource_name=f"{identity.namespace}-{identity.service_account}",
                issuer=issuer, subject=identity.subject,
                audiences=[WORKLOAD_IDENTITY_AUDIENCE],
            )
            scopes: list[tuple[str, str, Any]] = [(f"blob-{key}", "Storage Blob Data Contributor", self.containers[key].id) for key in identity.buckets]
            if identity.reads_copies:
                scopes += [(f"blob-{key}-copy", "Storage Blob Data Reader", self.replica_containers[key].id)
                           for key in identity.buckets if key in self.replica_containers]
            if identity.manages_dns:
                scopes.append(("dns", "DNS Zone Contributor", self.zone.id))
            if identity.reads_secrets:
                scopes.append(("secrets", "Key Vault Secrets User", self.vault.id))
            if identity.snapshots_volumes:
                scopes.append(("snapshots", "Disk Snapshot Contributor", self.group.id))
            for suffix, role, scope in scopes:
                azure.authorization.RoleAssignment(
                    f"{self.prefix}-{identity.name}-{suffix}",
                    principal_id=uai.principal_id,
                    principal_type="ServicePrincipal",
                    role_definition_id=self.client.subscription_id.apply(
                        lambda sub, role=role: f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{ROLE_IDS[role]}"
                    ),
                    scope=scope,
                )

    # ------------------------------------------------------------------ managed data stores

    def _managed_stores(self) -> None:
        """Azure Database for PostgreSQL (zone-redundant HA) and Azure Managed Redis, only for stores handed to the cloud,
        sized as ``plinth.catalog.managed_stores`` decides, reached through private endpoints in their own subnet
        (``derived.managed_store_cidrs``: the NetworkPolicies' egress names exactly it); their address and credentials go
        to the environment's Key Vault under the names the ExternalSecrets read (``derived.managed_store_secrets``)."""
        cluster = self.platform.cluster
        self.database = None
        self.cache = None
        self.store_secrets: dict[str, azure.keyvault.Secret] = {}
        postgres, redis = buildable(managed_store(self.platform, "postgres")), buildable(managed_store(self.platform, "redis"))
        if postgres is None and redis is None:
            return
        (endpoint_cidr,) = derived.managed_store_cidrs(self.platform)
        endpoints = azure.network.Subnet(
            f"{self.prefix}-data", resource_group_name=self._rg(), virtual_network_name=self.vnet.name, address_prefix=endpoint_cidr,
            default_outbound_access=False,
        )
        if postgres is not None:
            pg = self.platform.datastores.postgres
            password = random.RandomPassword(f"{self.prefix}-postgres", length=32, special=False)
            self.database = azure.dbforpostgresql.Server(
                f"{self.prefix}-postgres", server_name=f"{self.prefix}-postgres", resource_group_name=self._rg(), location=cluster.region,
                version=str(pg.version),
                sku={"name": postgres.instance_class, "tier": "GeneralPurpose"},
                storage={"storage_size_gb": postgres.storage_gib, "auto_grow": "Enabled"},
                backup={
                    "backup_retention_days": postgres.backup_retention_days,
                    "geo_redundant_backup": "Enabled" if postgres.backup_copy is not None else "Disabled",
                },
                high_availability={"mode": "ZoneRedundant" if postgres.zone_redundant else "Disabled"},
                network={"public_network_access": "Disabled"},
                # Password authentication for the clients the ExternalSecrets feed; Entra ID for administrators.
                administrator_login=MANAGED_POSTGRES_USER, administrator_login_password=password.result,
                auth_config={"active_directory_auth": "Enabled", "password_auth": "Enabled", "tenant_id": self.client.tenant_id},
                tags=self.tags,
            )
            azure.dbforpostgresql.Database(f"{self.prefix}-postgres", resource_group_name=self._rg(), server_name=self.database.name,
                                           database_name=self.platform.datastores.iceberg.catalog.database)
            address = self._private_endpoint("postgres", self.database.id, "postgresqlServer", endpoints)
            self._store_secrets("postgres", address, derived.managed_store_port(self.platform, "postgres"), MANAGED_POSTGRES_USER,
                                password.result)
        if redis is not None:
            spec = self.platform.datastores.redis
            self.cache = azure.redisenterprise.RedisEnterprise(
                f"{self.prefix}-redis", cluster_name=f"{self.prefix}-redis", resource_group_name=self._rg(), location=cluster.region,
                sku={"name": redis.instance_class}, high_availability="Enabled" if redis.zone_redundant else "Disabled",
                minimum_tls_version="1.2", public_network_access="Disabled",
                tags=self.tags,
            )
            database = azure.redisenterprise.Database(
                f"{self.prefix}-redis", cluster_name=self.cache.name, resource_group_name=self._rg(), database_name="default",
                client_protocol="Encrypted", clustering_policy="EnterpriseCluster", eviction_policy="NoEviction",
                persistence={"aof_enabled": spec.appendonly, **({"aof_frequency": "1s"} if spec.appendonly else {})},
                port=derived.managed_store_port(self.platform, "redis"),
            )
            keys = azure.redisenterprise.list_database_keys_output(
                cluster_name=self.cache.name, database_name=database.name, resource_group_name=self._rg())
            address = self._private_endpoint("redis", self.cache.id, "redisEnterprise", endpoints)
            self._store_secrets("redis", address, derived.managed_store_port(self.platform, "redis"), "default", keys.primary_key)

    def _private_endpoint(self, store: str, target: pulumi.Input[str], group: str, subnet: azure.network.Subnet) -> pulumi.Output[str]:
        """A private endpoint of a managed store in the data subnet; its private address is what clients connect to."""
        endpoint = azure.network.PrivateEndpoint(
            f"{self.prefix}-{store}", private_endpoint_name=f"{self.prefix}-{store}", resource_group_name=self._rg(),
            location=self.platform.cluster.region, subnet={"id": subnet.id},
            private_link_service_connections=[{"name": f"{self.prefix}-{store}", "private_link_service_id": target, "group_ids": [group]}],
            tags=self.tags,
        )
        return endpoint.custom_dns_configs.apply(_first_address)

    def _store_secrets(self, store: str, host: pulumi.Input[str], port: pulumi.Input[int], username: str, password: pulumi.Input[str]) -> None:
        """One Key Vault secret per client of a managed store, named as its ExternalSecret reads it, holding the store's
        address and credentials as JSON properties (host, port, username, password)."""
        value = pulumi.Output.all(host, port, password).apply(lambda args: layout.store_secret_value(args[0], args[1], username, args[2]))
        for name in derived.managed_store_secrets(self.platform, store):
            remote = derived.remote_secret_name(self.platform, name)
            self.store_secrets[remote] = azure.keyvault.Secret(
                remote, secret_name=remote, vault_name=self.vault.name, resource_group_name=self._rg(),
                properties={"value": pulumi.Output.secret(value), "content_type": "application/json"}, tags=self.tags,
            )


MANAGED_POSTGRES_USER = "plinth"
"""The managed PostgreSQL's administrator, whose credentials the cloud layer writes for the database's clients."""


def _first_address(configs: list[Any] | None) -> str:
    """The first private address of a private endpoint's DNS configurations (typed objects, or dicts under mocks)."""
    for config in configs or []:
        addresses = config.get("ip_addresses") if isinstance(config, dict) else getattr(config, "ip_addresses", None)
        if addresses:
            return str(addresses[0])
    return ""
