"""The AWS program: VPC, EKS, managed node groups, IRSA, S3 with replication, Route 53, CloudFront, RDS, ElastiCache.

Plain ``pulumi_aws`` resources only, so unit tests under mocks see every node group, bucket and rule.
Every number comes from the spec (through :mod:`plinth.cloud.layout`); nothing is retyped here.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from plinth.catalog.managed_stores import buildable, managed_store
from plinth.cloud import layout
from plinth.cloud.options import CloudOptions
from plinth.spec import derived
from plinth.spec.model import Platform

_TAINT_EFFECTS = {"NoSchedule": "NO_SCHEDULE", "PreferNoSchedule": "PREFER_NO_SCHEDULE", "NoExecute": "NO_EXECUTE"}

EBS_CSI_SERVICE_ACCOUNT = ("kube-system", "ebs-csi-controller-sa")
"""The EBS CSI controller's ServiceAccount the EKS add-on creates (its IRSA role trusts exactly this subject)."""

CLOUDFRONT_CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
"""AWS managed cache policy "Managed-CachingDisabled": the API and app are dynamic; nothing is cached by default."""
CLOUDFRONT_ALL_VIEWER = "216adef6-5c7f-47e4-b989-5492eafa07d3"
"""AWS managed origin request policy "Managed-AllViewer": headers, cookies and query strings reach the gateway."""



def _assume_role(service: str) -> str:
    return json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]}
    )


class AwsPlatform:
    """Builds the AWS resources of one platform environment; attributes keep the main resources for outputs."""

    def __init__(self, platform: Platform, options: CloudOptions):
        self.platform = platform
        self.options = options
        self.prefix = platform.cluster.name
        self.tags = {"plinth.dev/platform": platform.name, "plinth.dev/environment": platform.environment}
        self._network()
        self._cluster()
        self._node_pools()
        self._storage_driver()
        self._buckets()
        self._dns_and_cdn()
        self._identities()
        self._managed_stores()

    def outputs(self) -> dict[str, Any]:
        """Values the stack exports: what the Argo CD bootstrap and the charts need to know."""
        out: dict[str, Any] = {
            "kubeconfigCommand": pulumi.Output.concat(
                "aws eks update-kubeconfig --region ", self.platform.cluster.region, " --name ", self.cluster.name
            ),
            "clusterEndpoint": self.cluster.endpoint,
            "dnsZoneNameServers": self.zone.name_servers,
            "buckets": {key: bucket.bucket for key, bucket in self.buckets.items()},
            "replicaBuckets": {key: bucket.bucket for key, bucket in self.replicas.items()},
            "workloadIdentityRoles": {name: role.arn for name, role in self.identity_roles.items()},
        }
        if self.distribution is not None:
            out["cdnDomain"] = self.distribution.domain_name
        if self.database is not None:
            out["postgresEndpoint"] = self.database.address
        if self.cache is not None:
            out["redisEndpoint"] = self.cache.primary_endpoint_address
        return out

    # ------------------------------------------------------------------ network

    def _network(self) -> None:
        """One VPC; per zone a private node subnet, a public subnet holding only the NAT gateway and load balancers, and
        a /28 for the control plane's endpoint ENIs."""
        cluster = self.platform.cluster
        self.vpc = aws.ec2.Vpc(
            f"{self.prefix}-vpc", cidr_block=layout.NETWORK_CIDR, enable_dns_hostnames=True, enable_dns_support=True,
            tags={**self.tags, "Name": self.prefix},
        )
        igw = aws.ec2.InternetGateway(f"{self.prefix}-igw", vpc_id=self.vpc.id, tags=self.tags)
        public_routes = aws.ec2.RouteTable(
            f"{self.prefix}-public", vpc_id=self.vpc.id, routes=[{"cidr_block": "0.0.0.0/0", "gateway_id": igw.id}], tags=self.tags
        )
        self.private_subnets: list[aws.ec2.Subnet] = []
        self.public_subnets: list[aws.ec2.Subnet] = []
        owned = {f"kubernetes.io/cluster/{self.prefix}": "shared"}
        for zone, (private_cidr, public_cidr) in layout.subnets(cluster.zones).items():
            public = aws.ec2.Subnet(
                f"{self.prefix}-public-{zone}", vpc_id=self.vpc.id, cidr_block=public_cidr, availability_zone=zone,
                map_public_ip_on_launch=False, tags={**self.tags, **owned, "kubernetes.io/role/elb": "1"},
            )
            aws.ec2.RouteTableAssociation(f"{self.prefix}-public-{zone}", subnet_id=public.id, route_table_id=public_routes.id)
            nat_ip = aws.ec2.Eip(f"{self.prefix}-nat-{zone}", domain="vpc", tags=self.tags)
            nat = aws.ec2.NatGateway(f"{self.prefix}-nat-{zone}", subnet_id=public.id, allocation_id=nat_ip.id, tags=self.tags)
            private = aws.ec2.Subnet(
                f"{self.prefix}-nodes-{zone}", vpc_id=self.vpc.id, cidr_block=private_cidr, availability_zone=zone,
                map_public_ip_on_launch=False, tags={**self.tags, **owned, "kubernetes.io/role/internal-elb": "1"},
            )
            # One NAT gateway per zone: losing a zone does not cut the others' egress.
            routes = aws.ec2.RouteTable(
                f"{self.prefix}-nodes-{zone}", vpc_id=self.vpc.id, routes=[{"cidr_block": "0.0.0.0/0", "nat_gateway_id": nat.id}],
                tags=self.tags,
            )
            aws.ec2.RouteTableAssociation(f"{self.prefix}-nodes-{zone}", subnet_id=private.id, route_table_id=routes.id)
            self.private_subnets.append(private)
            self.public_subnets.append(public)
        # The control plane's endpoint ENIs get their own small subnets: nothing else lives there, so NetworkPolicies
        # name the API server by address without also naming every pod and node (plinth.spec.derived.cluster_addresses).
        self.control_plane_subnets: list[aws.ec2.Subnet] = []
        for zone, cidr in derived.control_plane_subnets(cluster.zones).items():
            subnet = aws.ec2.Subnet(
                f"{self.prefix}-control-plane-{zone}", vpc_id=self.vpc.id, cidr_block=cidr, availability_zone=zone,
                map_public_ip_on_launch=False, tags=self.tags,
            )
            self.control_plane_subnets.append(subnet)

    # ------------------------------------------------------------------ cluster

    def _cluster(self) -> None:
        """EKS at the spec's version; the API is reachable privately, publicly only from the configured CIDRs."""
        cluster = self.platform.cluster
        role = aws.iam.Role(f"{self.prefix}-cluster", assume_role_policy=_assume_role("eks.amazonaws.com"), tags=self.tags)
        aws.iam.RolePolicyAttachment(
            f"{self.prefix}-cluster-policy", role=role.name, policy_arn="arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"
        )
        self.secrets_key = aws.kms.Key(
            f"{self.prefix}-secrets", description=f"{self.prefix} Kubernetes secrets", enable_key_rotation=True, tags=self.tags
        )
        public_cidrs = list(self.options.api_public_cidrs)
        self.cluster = aws.eks.Cluster(
            self.prefix,
            name=self.prefix,
            version=cluster.kubernetes_version,
            role_arn=role.arn,
            vpc_config={
                "subnet_ids": [s.id for s in self.control_plane_subnets],
                "endpoint_private_access": True,
                "endpoint_public_access": bool(public_cidrs),
                **({"public_access_cidrs": public_cidrs} if public_cidrs else {}),
            },
            access_config={"authentication_mode": "API", "bootstrap_cluster_creator_admin_permissions": True},
            encryption_config={"resources": ["secrets"], "provider": {"key_arn": self.secrets_key.arn}},
            enabled_cluster_log_types=["api", "audit", "authenticator"],
            tags=self.tags,
        )
        issuer = self.cluster.identities.apply(lambda ids: ids[0]["oidcs"][0]["issuer"])
        self.oidc = aws.iam.OpenIdConnectProvider(
            f"{self.prefix}-oidc", url=issuer, client_id_lists=["sts.amazonaws.com"], tags=self.tags
        )
        self.oidc_issuer = issuer
        # EKS enforces NetworkPolicies only when the VPC CNI's network policy agent is on; without it every policy the
        # platform renders would be ignored and every pod could reach every other.
        self.vpc_cni = aws.eks.Addon(
            f"{self.prefix}-vpc-cni", cluster_name=self.cluster.name, addon_name="vpc-cni",
            configuration_values=json.dumps({"enableNetworkPolicy": "true"}), resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="OVERWRITE", tags=self.tags,
        )

    def _node_pools(self) -> None:
        """A managed node group per spec pool, over every zone's private subnet, nodes without public addresses."""
        node_role = aws.iam.Role(f"{self.prefix}-nodes", assume_role_policy=_assume_role("ec2.amazonaws.com"), tags=self.tags)
        attachments = [
            aws.iam.RolePolicyAttachment(f"{self.prefix}-nodes-{policy}", role=node_role.name, policy_arn=f"arn:aws:iam::aws:policy/{policy}")
            for policy in ("AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly")
        ]
        self.node_groups: dict[str, aws.eks.NodeGroup] = {}
        self.launch_templates: dict[str, aws.ec2.LaunchTemplate] = {}
        for pool in layout.node_pools(self.platform):
            template = aws.ec2.LaunchTemplate(
                f"{self.prefix}-{pool.name}",
                block_device_mappings=[
                    {"device_name": "/dev/xvda", "ebs": {"volume_size": pool.disk_gib, "volume_type": "gp3", "encrypted": "true"}}
                ],
                # No network interface block: a custom ENI would drop the cluster security group. Nodes get no
                # public address because their subnets never map one (EKS follows MapPublicIpOnLaunch).
                metadata_options={"http_tokens": "required", "http_put_response_hop_limit": 1},
                tags=self.tags,
            )
            self.launch_templates[pool.name] = template
            self.node_groups[pool.name] = aws.eks.NodeGroup(
                f"{self.prefix}-{pool.name}",
                cluster_name=self.cluster.name,
                node_group_name=pool.name,
                node_role_arn=node_role.arn,
                subnet_ids=[s.id for s in self.private_subnets],
                instance_types=[pool.instance.name],
                launch_template={"id": template.id, "version": template.latest_version.apply(str)},
                scaling_config={"min_size": pool.min_nodes, "max_size": pool.max_nodes, "desired_size": pool.desired_nodes},
                labels=pool.labels,
                taints=[{"key": t.key, "value": t.value, "effect": _TAINT_EFFECTS[t.effect]} for t in pool.taints],
                update_config={"max_unavailable": 1},
                tags={**self.tags, "k8s.io/cluster-autoscaler/enabled": "true", f"k8s.io/cluster-autoscaler/{self.prefix}": "owned"},
                # The cluster autoscaler moves the desired size between the bounds; Pulumi must not undo it.
                opts=pulumi.ResourceOptions(depends_on=attachments, ignore_changes=["scalingConfig.desiredSize"]),
            )

    # ------------------------------------------------------------------ object storage

    def _bucket_key(self, region: str) -> aws.kms.Key:
        """The KMS key encrypting the buckets of one region (replication re-encrypts with the replica region's key)."""
        if region not in self.bucket_keys:
            self.bucket_keys[region] = aws.kms.Key(
                f"{self.prefix}-buckets-{region}", region=region, description=f"{self.prefix} object storage in {region}",
                enable_key_rotation=True, tags=self.tags,
            )
        return self.bucket_keys[region]

    def _bucket(self, name: str, plan: derived.BucketTarget, region: str) -> tuple[aws.s3.Bucket, aws.s3.BucketVersioning]:
        """A private, versioned, KMS-encrypted bucket whose lifecycle keeps data exactly the plan's retention."""
        key = self._bucket_key(region)
        bucket = aws.s3.Bucket(name, bucket=name, region=region, tags={**self.tags, "plinth.dev/holds": plan.key})
        aws.s3.BucketPublicAccessBlock(
            name, bucket=bucket.id, region=region, block_public_acls=True, block_public_policy=True,
            ignore_public_acls=True, restrict_public_buckets=True,
        )
        versioning = aws.s3.BucketVersioning(name, bucket=bucket.id, region=region, versioning_configuration={"status": "Enabled"})
        aws.s3.BucketServerSideEncryptionConfiguration(
            name, bucket=bucket.id, region=region,
            rules=[
                {
                    "apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms", "kms_master_key_id": key.arn},
                    "bucket_key_enabled": True,
                }
            ],
        )
        lifecycle = layout.bucket_lifecycle(plan)
        days = lifecycle.noncurrent_days
        if days is not None:
            rule: dict[str, Any] = {"id": f"retention-{days}d", "status": "Enabled", "filter": {}}
            rule["noncurrent_version_expiration"] = {"noncurrent_days": days}
            if lifecycle.current_days is not None:
                rule["expiration"] = {"days": lifecycle.current_days}
            rule["abort_incomplete_multipart_upload"] = {"days_after_initiation": 7}
            aws.s3.BucketLifecycleConfiguration(
                name, bucket=bucket.id, region=region, rules=[rule], opts=pulumi.ResourceOptions(depends_on=[versioning])
            )
        return bucket, versioning

    def _buckets(self) -> None:
        """The spec's buckets, and for cross/multi-region ones a replica in ``dr_region`` fed by S3 replication."""
        cluster = self.platform.cluster
        self.bucket_keys: dict[str, aws.kms.Key] = {}
        self.buckets: dict[str, aws.s3.Bucket] = {}
        self.replicas: dict[str, aws.s3.Bucket] = {}
        replication_role = None
        rtc_minutes = derived.REPLICATION_BOUND_SECONDS["aws"] // 60  # type: ignore[operator]
        for plan in derived.buckets(self.platform):
            bucket, versioning = self._bucket(plan.primary.bucket, plan, plan.primary.region)
            self.buckets[plan.key] = bucket
            if plan.copy is None:
                continue
            replica, replica_versioning = self._bucket(plan.copy.bucket, plan, plan.copy.region)
            self.replicas[plan.key] = replica
            if replication_role is None:
                replication_role = aws.iam.Role(
                    f"{self.prefix}-s3-replication", assume_role_policy=_assume_role("s3.amazonaws.com"), tags=self.tags
                )
            aws.iam.RolePolicy(
                f"{plan.primary.bucket}-replication",
                role=replication_role.id,
                policy=pulumi.Output.all(bucket.arn, replica.arn).apply(lambda arns: json.dumps(_replication_policy(*arns))),
            )
            aws.s3.BucketReplicationConfig(
                f"{plan.primary.bucket}-replication",
                bucket=bucket.id,
                region=cluster.region,
                role=replication_role.arn,
                rules=[
                    {
                        "id": f"to-{cluster.dr_region}",
                        "status": "Enabled",
                        "filter": {},
                        "delete_marker_replication": {"status": "Enabled"},
                        "source_selection_criteria": {"sse_kms_encrypted_objects": {"status": "Enabled"}},
                        "destination": {
                            "bucket": replica.arn,
                            "storage_class": "STANDARD",
                            "encryption_configuration": {"replica_kms_key_id": self.bucket_keys[cluster.dr_region].arn},
                            # Replication Time Control: the bound the region-loss RPO counts on (derived.REPLICATION_BOUND_SECONDS).
                            "replication_time": {"status": "Enabled", "time": {"minutes": rtc_minutes}},
                            "metrics": {"status": "Enabled", "event_threshold": {"minutes": rtc_minutes}},
                        },
                    }
                ],
                opts=pulumi.ResourceOptions(depends_on=[versioning, replica_versioning]),
            )

    # ------------------------------------------------------------------ DNS and CDN

    def _dns_and_cdn(self) -> None:
        """The Route 53 zone of ``edge.domain`` and, when ``edge.cdn``, CloudFront in front of the gateway."""
        edge = self.platform.edge
        self.zone = aws.route53.Zone(f"{self.prefix}-zone", name=edge.domain, force_destroy=False, tags=self.tags)
        self.distribution = None
        if not edge.cdn:
            return
        hosts = layout.public_hosts(self.platform)
        # CloudFront only takes certificates from us-east-1.
        certificate = aws.acm.Certificate(
            f"{self.prefix}-cdn", region="us-east-1", domain_name=edge.domain, subject_alternative_names=[f"*.{edge.domain}"],
            validation_method="DNS", tags=self.tags,
        )
        validation_records = certificate.domain_validation_options.apply(
            lambda options: sorted({(o["resource_record_name"], o["resource_record_type"], o["resource_record_value"]) for o in options})
        )
        record = aws.route53.Record(
            f"{self.prefix}-cdn-validation",
            zone_id=self.zone.zone_id,
            name=validation_records.apply(lambda r: r[0][0]),
            type=validation_records.apply(lambda r: r[0][1]),
            records=[validation_records.apply(lambda r: r[0][2])],
            ttl=300,
            allow_overwrite=True,
        )
        validated = aws.acm.CertificateValidation(
            f"{self.prefix}-cdn", region="us-east-1", certificate_arn=certificate.arn, validation_record_fqdns=[record.fqdn]
        )
        origin_id = "gateway"
        self.distribution = aws.cloudfront.Distribution(
            f"{self.prefix}-cdn",
            enabled=True,
            is_ipv6_enabled=True,
            http_version="http2and3",
            price_class="PriceClass_100",
            aliases=hosts,
            origins=[
                {
                    "origin_id": origin_id,
                    "domain_name": layout.origin_host(self.platform),
                    "custom_origin_config": {
                        "http_port": 80, "https_port": 443, "origin_protocol_policy": "https-only", "origin_ssl_protocols": ["TLSv1.2"],
                    },
                }
            ],
            default_cache_behavior={
                "target_origin_id": origin_id,
                "viewer_protocol_policy": "redirect-to-https",
                "allowed_methods": ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"],
                "cached_methods": ["GET", "HEAD"],
                "cache_policy_id": CLOUDFRONT_CACHING_DISABLED,
                "origin_request_policy_id": CLOUDFRONT_ALL_VIEWER,
                "compress": True,
            },
            restrictions={"geo_restriction": {"restriction_type": "none"}},
            viewer_certificate={
                "acm_certificate_arn": validated.certificate_arn, "ssl_support_method": "sni-only", "minimum_protocol_version": "TLSv1.2_2021",
            },
            tags=self.tags,
        )
        for host in hosts:
            for record_type in ("A", "AAAA"):
                aws.route53.Record(
                    f"{host}-{record_type.lower()}",
                    zone_id=self.zone.zone_id,
                    name=host,
                    type=record_type,
                    aliases=[{"name": self.distribution.domain_name, "zone_id": self.distribution.hosted_zone_id, "evaluate_target_health": False}],
                )

    # ------------------------------------------------------------------ workload identity

    def _irsa_role(self, name: str, namespace: str, service_account: str) -> aws.iam.Role:
        """An IAM role named ``name`` that only ``namespace/service_account`` may assume, through the cluster's OIDC issuer."""
        subject = f"system:serviceaccount:{namespace}:{service_account}"
        trust = pulumi.Output.all(self.oidc.arn, self.oidc_issuer).apply(lambda args: json.dumps(_irsa_trust(*args, subject)))
        # The role's name is fixed: the ServiceAccount annotation names its ARN (derived.aws_role_arn).
        return aws.iam.Role(name, name=name, assume_role_policy=trust, tags=self.tags)

    def _identities(self) -> None:
        """IRSA: an IAM role per service account of the identity table, trusted only by that account through the
        cluster's OIDC issuer (https://docs.aws.amazon.com/eks/latest/userguide/iam-roles-for-service-accounts.html)."""
        self.identity_roles: dict[str, aws.iam.Role] = {}
        cluster = self.platform.cluster
        secrets = f"arn:aws:secretsmanager:{cluster.region}:{cluster.account}:secret:{derived.secret_name_prefix(self.platform)}/*"
        for identity in derived.workload_identities(self.platform):
            name = derived.cloud_identity_name(self.platform, identity)
            role = self._irsa_role(name, identity.namespace, identity.service_account)
            self.identity_roles[identity.name] = role
            arns = [self.buckets[key].arn for key in identity.buckets]
            if identity.reads_copies:
                arns += [self.replicas[key].arn for key in identity.buckets if key in self.replicas]
            policy = pulumi.Output.all(self.zone.arn, *arns).apply(
                lambda args, identity=identity: json.dumps(_identity_policy(identity, args[0], tuple(args[1:]), secrets, self.prefix))
            )
            aws.iam.RolePolicy(name, role=role.id, policy=policy)

    def _storage_driver(self) -> None:
        """The EBS CSI driver as an EKS add-on, with its own IRSA role (AWS's managed AmazonEBSCSIDriverPolicy): it provisions
        the volumes of the tree's StorageClasses (``ebs.csi.aws.com``, gp3, encrypted).
        https://docs.aws.amazon.com/eks/latest/userguide/ebs-csi.html"""
        namespace, service_account = EBS_CSI_SERVICE_ACCOUNT
        role = self._irsa_role(f"{self.prefix}-ebs-csi", namespace, service_account)
        attachment = aws.iam.RolePolicyAttachment(
            f"{self.prefix}-ebs-csi", role=role.name, policy_arn="arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"
        )
        self.storage_driver = aws.eks.Addon(
            f"{self.prefix}-ebs-csi", cluster_name=self.cluster.name, addon_name="aws-ebs-csi-driver", service_account_role_arn=role.arn,
            resolve_conflicts_on_create="OVERWRITE", resolve_conflicts_on_update="OVERWRITE", tags=self.tags,
            # The controller runs on nodes: the add-on stays degraded until a node group exists.
            opts=pulumi.ResourceOptions(depends_on=[attachment, *self.node_groups.values()]),
        )

    # ------------------------------------------------------------------ managed data stores

    def _managed_stores(self) -> None:
        """RDS PostgreSQL and ElastiCache Redis, only for the stores the spec hands to the cloud, sized and configured as
        ``plinth.catalog.managed_stores`` decides, in their own data subnets (``derived.managed_store_subnets``: the
        NetworkPolicies' egress names exactly them); their address and credentials go to Secrets Manager under the names
        the ExternalSecrets read (``derived.managed_store_secrets``)."""
        self.database = None
        self.cache = None
        self.store_secrets: dict[str, aws.secretsmanager.Secret] = {}
        postgres, redis = buildable(managed_store(self.platform, "postgres")), buildable(managed_store(self.platform, "redis"))
        if postgres is None and redis is None:
            return
        cluster = self.platform.cluster
        self.data_subnets = [
            aws.ec2.Subnet(f"{self.prefix}-data-{zone}", vpc_id=self.vpc.id, cidr_block=cidr, availability_zone=zone,
                           map_public_ip_on_launch=False, tags=self.tags)
            for zone, cidr in derived.managed_store_subnets(cluster.zones).items()
        ]
        data_sg = aws.ec2.SecurityGroup(
            f"{self.prefix}-managed-stores",
            vpc_id=self.vpc.id,
            description="Managed data stores: reachable from the cluster's network only",
            ingress=[
                {"protocol": "tcp", "from_port": port, "to_port": port, "cidr_blocks": [layout.NETWORK_CIDR]}
                for port in sorted(derived.MANAGED_STORE_PORTS["aws"].values())
            ],
            tags=self.tags,
        )
        subnet_ids = [s.id for s in self.data_subnets]
        if postgres is not None:
            pg = self.platform.datastores.postgres
            password = random.RandomPassword(f"{self.prefix}-postgres", length=32, special=False)
            subnet_group = aws.rds.SubnetGroup(f"{self.prefix}-postgres", subnet_ids=subnet_ids, tags=self.tags)
            self.database = aws.rds.Instance(
                f"{self.prefix}-postgres",
                engine="postgres",
                engine_version=str(pg.version),
                instance_class=postgres.instance_class,
                allocated_storage=postgres.storage_gib,
                storage_type="gp3",
                storage_encrypted=True,
                # Multi-AZ DB instance: a synchronous standby in another zone (the zone-loss promise, RPO 0).
                multi_az=postgres.zone_redundant,
                db_subnet_group_name=subnet_group.name,
                vpc_security_group_ids=[data_sg.id],
                publicly_accessible=False,
                username=MANAGED_POSTGRES_USER,
                password=password.result,
                # The Iceberg catalog's database; services use the default database of the same instance.
                db_name=self.platform.datastores.iceberg.catalog.database,
                # RDS keeps automated backups at most 35 days (plinth check PL-MGD-002 says when the spec wants more).
                backup_retention_period=postgres.backup_retention_days,
                deletion_protection=True,
                skip_final_snapshot=False,
                final_snapshot_identifier=f"{self.prefix}-postgres-final",
                tags=self.tags,
            )
            if postgres.backup_copy is not None:
                # Snapshots and transaction logs copied to the DR region: a point-in-time restore there after a region loss.
                self.database_backup_copy = aws.rds.InstanceAutomatedBackupsReplication(
                    f"{self.prefix}-postgres-{cluster.dr_region}", source_db_instance_arn=self.database.arn,
                    retention_period=postgres.backup_retention_days, region=cluster.dr_region,
                    kms_key_id=self._bucket_key(cluster.dr_region).arn,
                )
            self._store_secrets("postgres", self.database.address, self.database.port, MANAGED_POSTGRES_USER, password.result)
        if redis is not None:
            spec = self.platform.datastores.redis
            token = random.RandomPassword(f"{self.prefix}-redis", length=32, special=False)
            subnet_group = aws.elasticache.SubnetGroup(f"{self.prefix}-redis", subnet_ids=subnet_ids, tags=self.tags)
            self.cache = aws.elasticache.ReplicationGroup(
                f"{self.prefix}-redis",
                description=f"{self.prefix} Redis",
                # ElastiCache's Redis OSS line ends at 7.1; from 7.2 on it offers Valkey, the protocol-compatible fork.
                engine=elasticache_engine(spec.version),
                engine_version=spec.version,
                node_type=redis.instance_class,
                num_cache_clusters=redis.nodes,
                automatic_failover_enabled=True,
                multi_az_enabled=redis.zone_redundant,
                at_rest_encryption_enabled="true",
                transit_encryption_enabled=True,
                auth_token=token.result,
                subnet_group_name=subnet_group.name,
                security_group_ids=[data_sg.id],
                tags=self.tags,
            )
            self._store_secrets("redis", self.cache.primary_endpoint_address, derived.managed_store_port(self.platform, "redis"), "default",
                                token.result)

    def _store_secrets(self, store: str, host: pulumi.Input[str], port: pulumi.Input[int], username: str, password: pulumi.Input[str]) -> None:
        """One Secrets Manager secret per client of a managed store, named as its ExternalSecret reads it, holding the
        store's address and credentials as JSON properties (host, port, username, password)."""
        value = pulumi.Output.all(host, port, password).apply(lambda args: layout.store_secret_value(args[0], args[1], username, args[2]))
        for name in derived.managed_store_secrets(self.platform, store):
            remote = derived.remote_secret_name(self.platform, name)
            secret = aws.secretsmanager.Secret(remote, name=remote, description=f"{store} address and credentials ({name})",
                                               recovery_window_in_days=7, tags=self.tags)
            aws.secretsmanager.SecretVersion(remote, secret_id=secret.id, secret_string=pulumi.Output.secret(value))
            self.store_secrets[remote] = secret


MANAGED_POSTGRES_USER = "plinth"
"""The managed PostgreSQL's administrator, whose credentials the cloud layer writes for the database's clients."""


def elasticache_engine(version: str) -> str:
    """ElastiCache engine for a Redis version: "redis" up to 7.1, "valkey" from 7.2 (AWS has no Redis OSS 7.2)."""
    major, minor = (int(part) for part in version.split(".")[:2])
    return "valkey" if (major, minor) >= (7, 2) else "redis"


def _replication_policy(source_arn: str, replica_arn: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"], "Resource": source_arn},
            {
                "Effect": "Allow",
                "Action": ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"],
                "Resource": f"{source_arn}/*",
            },
            {"Effect": "Allow", "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"], "Resource": f"{replica_arn}/*"},
            {"Effect": "Allow", "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"], "Resource": "*"},
        ],
    }


def _irsa_trust(provider_arn: str, issuer: str, subject: str) -> dict[str, Any]:
    host = issuer.removeprefix("https://")
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": {f"{host}:sub": subject, f"{host}:aud": "sts.amazonaws.com"}},
            }
        ],
    }


def _identity_policy(identity: derived.WorkloadIdentity, zone_arn: str, bucket_arns: tuple[str, ...], secrets_arn: str,
                     cluster_name: str) -> dict[str, Any]:
    statements: list[dict[str, Any]] = []
    if bucket_arns:
        statements.append({"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"], "Resource": list(bucket_arns)})
        statements.append(
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
                "Resource": [f"{arn}/*" for arn in bucket_arns],
            }
        )
        statements.append({"Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*"})
    if identity.manages_dns:
        statements.append({"Effect": "Allow", "Action": ["route53:ChangeResourceRecordSets"], "Resource": zone_arn})
        statements.append(
            {"Effect": "Allow", "Action": ["route53:ListHostedZones", "route53:ListResourceRecordSets", "route53:ListTagsForResources"], "Resource": "*"}
        )
    if identity.reads_secrets:
        statements.append(
            {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"], "Resource": secrets_arn}
        )
    if identity.snapshots_volumes:
        statements.append(
            {
                "Effect": "Allow",
                "Action": ["ec2:DescribeVolumes", "ec2:DescribeSnapshots", "ec2:CreateTags", "ec2:CreateVolume", "ec2:CreateSnapshot", "ec2:DeleteSnapshot"],
                "Resource": "*",
            }
        )
    if identity.scales_nodes:
        # The cluster autoscaler's minimum policy (its AWS README): read every group, resize only this cluster's.
        statements.append(
            {
                "Effect": "Allow",
                "Action": ["autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeAutoScalingInstances", "autoscaling:DescribeLaunchConfigurations",
                           "autoscaling:DescribeScalingActivities", "autoscaling:DescribeTags", "ec2:DescribeImages", "ec2:DescribeInstanceTypes",
                           "ec2:DescribeLaunchTemplateVersions", "ec2:GetInstanceTypesFromInstanceRequirements", "eks:DescribeNodegroup"],
                "Resource": "*",
            }
        )
        statements.append(
            {
                "Effect": "Allow",
                "Action": ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
                "Resource": "*",
                "Condition": {"StringEquals": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster_name}": "owned"}},
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}
