"""Run the cloud programs under Pulumi mocks: a fresh event loop and mocks per test (pulumi/pulumi#6561)."""

from __future__ import annotations

import asyncio
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import pulumi
import pytest

from plinth.kube.secrets import remote_entries, store_prefixes
from plinth.cloud.options import CloudOptions
from plinth.render.pipeline import render_platform
from plinth.spec import derived
from plinth.spec.loader import load_platform
from plinth.spec.model import Platform
from tests.conftest import spec_with

CLOUD_SITES: dict[str, list[tuple[str, Any]]] = {
    "aws": [],
    "gcp": [
        ("cluster.provider", "gcp"),
        ("cluster.region", "us-central1"),
        ("cluster.dr_region", "us-east1"),
        ("cluster.zones", ["us-central1-a", "us-central1-b", "us-central1-c"]),
        ("secrets.gcp_project_id", "plinth-prod"),
        ("cluster.account", "plinth-test"),
    ],
    "azure": [
        ("cluster.provider", "azure"),
        ("cluster.region", "eastus"),
        ("cluster.dr_region", "westus2"),
        ("cluster.zones", ["1", "2", "3"]),
        ("secrets.azure_key_vault_url", "https://plinth-prod.vault.azure.net"),
        ("environments.staging.secrets", {"azure_key_vault_url": "https://plinth-staging.vault.azure.net"}),
        ("cluster.account", "00000000-0000-0000-0000-000000000001"),
    ],
}
"""The default spec moved to each cloud (the regions of the design's cost table, and a DR region)."""

MANAGED_STORES = [("datastores.postgres.managed_by", "cloud"), ("datastores.redis.managed_by", "cloud")]


@dataclass
class Registered:
    """One resource the program registered, as the engine would have seen it."""

    type: str
    name: str
    inputs: dict[str, Any]


@dataclass
class Deployment:
    """Everything one program run registered."""

    resources: list[Registered] = field(default_factory=list)
    built: Any = None

    def of_type(self, type_: str) -> list[Registered]:
        """Resources of one Pulumi type token, e.g. ``aws:eks/nodeGroup:NodeGroup``."""
        return [r for r in self.resources if r.type == type_]

    def named(self, type_: str, name: str) -> Registered:
        """The resource of a type with a logical name."""
        matches = [r for r in self.of_type(type_) if r.name == name]
        assert len(matches) == 1, f"{type_} {name}: {len(matches)} registered"
        return matches[0]


class RecordingMocks(pulumi.runtime.Mocks):
    """Echo inputs as state, add the computed outputs the programs read, and record every resource."""

    def __init__(self, deployment: Deployment):
        self.deployment = deployment

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.deployment.resources.append(Registered(args.typ, args.name, dict(args.inputs)))
        state = dict(args.inputs)
        state.setdefault("arn", f"arn:mock:{args.typ}:{args.name}")
        state.setdefault("name", args.name)
        extra = _COMPUTED.get(args.typ)
        if extra:
            state.update(extra(args))
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        if args.token not in _CALLS:
            raise AssertionError(f"the program invoked {args.token}, which these mocks do not answer")
        return _CALLS[args.token]


_CALLS: dict[str, dict[str, Any]] = {
    "gcp:organizations/getProject:getProject": {"number": "123456789"},
    "gcp:storage/getProjectServiceAccount:getProjectServiceAccount": {
        "emailAddress": "service-1@gs-project-accounts.iam.gserviceaccount.com"
    },
    "azure-native:redisenterprise:listDatabaseKeys": {"primaryKey": "mock-redis-key", "secondaryKey": "mock-redis-key-2"},
    "azure-native:authorization:getClientConfig": {
        "subscriptionId": "00000000-0000-0000-0000-000000000001", "tenantId": "t", "clientId": "c", "objectId": "o"
    },
}


def mock_client_id(identity_resource: str) -> str:
    """The client ID these mocks give the managed identity named ``identity_resource`` (Azure assigns a GUID)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"mock-managed-identity/{identity_resource}"))


_COMPUTED: dict[str, Callable[[pulumi.runtime.MockResourceArgs], dict[str, Any]]] = {
    "aws:eks/cluster:Cluster": lambda a: {
        "identities": [{"oidcs": [{"issuer": "https://oidc.eks.mock.amazonaws.com/id/MOCK"}]}],
        "endpoint": "https://mock.eks.amazonaws.com",
    },
    "aws:ec2/launchTemplate:LaunchTemplate": lambda a: {"latestVersion": 1},
    "azure-native:network:PrivateEndpoint": lambda a: {"customDnsConfigs": [{"ipAddresses": ["10.0.112.4"]}]},
    "gcp:sql/databaseInstance:DatabaseInstance": lambda a: {"privateIpAddress": "10.0.112.3"},
    "gcp:redis/instance:Instance": lambda a: {"host": "10.0.112.8", "port": 6378, "authString": "mock-auth"},
    "random:index/randomPassword:RandomPassword": lambda a: {"result": f"mock-password-{a.name}"},
    "aws:route53/zone:Zone": lambda a: {"zoneId": "ZMOCK", "nameServers": ["ns-1.mock"]},
    "aws:route53/record:Record": lambda a: {"fqdn": str(a.inputs.get("name"))},
    "aws:acm/certificate:Certificate": lambda a: {
        "domainValidationOptions": [
            {"domainName": a.inputs["domainName"], "resourceRecordName": "_x." + a.inputs["domainName"], "resourceRecordType": "CNAME", "resourceRecordValue": "_y.acm"}
        ]
    },
    "aws:cloudfront/distribution:Distribution": lambda a: {"domainName": "d111.cloudfront.net", "hostedZoneId": "Z2FDTNDATAQYW2"},
    "gcp:container/cluster:Cluster": lambda a: {"endpoint": "10.0.0.2"},
    "gcp:dns/managedZone:ManagedZone": lambda a: {"nameServers": ["ns-cloud-a1.googledomains.com."]},
    "gcp:compute/globalAddress:GlobalAddress": lambda a: {"address": "203.0.113.10"},
    "gcp:serviceaccount/account:Account": lambda a: {"email": f"{a.inputs['accountId']}@project.iam.gserviceaccount.com"},
    "azure-native:containerservice:ManagedCluster": lambda a: {
        "oidcIssuerProfile": {"enabled": True, "issuerURL": "https://eastus.oic.prod-aks.azure.com/tenant/uuid/"}
    },
    "azure-native:storage:ObjectReplicationPolicy": lambda a: {
        "policyId": "policy-1",
        "rules": [dict(r, ruleId=f"rule-{i}") for i, r in enumerate(a.inputs.get("rules", []))],
    },
    "azure-native:managedidentity:UserAssignedIdentity": lambda a: {"principalId": f"principal-{a.name}", "clientId": mock_client_id(a.name)},
    "azure-native:cdn:AFDEndpoint": lambda a: {"hostName": "plinth-prod.z01.azurefd.net"},
    "azure-native:cdn:AFDCustomDomain": lambda a: {"validationProperties": {"validationToken": "token"}},
    "aws:rds/instance:Instance": lambda a: {"address": "pg.mock.rds.amazonaws.com", "port": 5432},
    "aws:elasticache/replicationGroup:ReplicationGroup": lambda a: {"primaryEndpointAddress": "redis.mock.cache.amazonaws.com"},
}


_RUNS: dict[tuple[str, CloudOptions], Deployment] = {}
"""Program runs already done in this session, by (resolved spec, options): a run is pure, and each takes
seconds, so tests that read the same deployment share one run."""


@contextmanager
def _fresh_loop() -> Iterator[None]:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        yield
    finally:
        loop.close()
        asyncio.set_event_loop(None)


@pytest.fixture
def deploy() -> Callable[..., Deployment]:
    """Run a cloud program for a platform under fresh mocks and a fresh event loop; return what it registered."""

    def run(platform: Platform, options: CloudOptions | None = None) -> Deployment:
        from plinth.cloud.program import build

        options = options or CloudOptions()
        key = (platform.model_dump_json(), options)
        if key in _RUNS:
            return _RUNS[key]
        deployment = Deployment()
        with _fresh_loop():
            pulumi.runtime.set_mocks(RecordingMocks(deployment), preview=False)

            def program() -> None:
                deployment.built = build(platform, options)

            pulumi.runtime.test(program)()
        _RUNS[key] = deployment
        return deployment

    return run


@pytest.fixture
def deploy_stack() -> Callable[[dict[str, str]], Deployment]:
    """Run the Pulumi entry point (``deploy/__main__.py``'s ``main``) with stack config, under fresh mocks."""

    def run(config: dict[str, str]) -> Deployment:
        from plinth.cloud.program import main

        deployment = Deployment()
        with _fresh_loop():
            pulumi.runtime.set_mocks(RecordingMocks(deployment), preview=False)
            pulumi.runtime.set_all_config(config)
            try:
                pulumi.runtime.test(main)()
            finally:
                pulumi.runtime.set_all_config({})
        return deployment

    return run


def platform_on(tmp_path: Path, cloud: str, extra: list[tuple[str, Any]] | None = None, environment: str = "prod") -> Platform:
    """The default spec moved to ``cloud`` (plus ``extra`` changes), resolved for ``environment``.

    On Azure the spec also names each environment's managed identities' client IDs, as an operator copies them from
    ``pulumi stack output workloadIdentityClientIds``: here the IDs these mocks assign."""
    changes = CLOUD_SITES[cloud] + (extra or [])
    if cloud == "azure":
        changes = changes + azure_client_id_changes(load_platform(spec_with(tmp_path, changes), "prod"),
                                                    load_platform(spec_with(tmp_path, changes), "staging"))
    return load_platform(spec_with(tmp_path, changes), environment)


def azure_client_id_changes(prod: Platform, staging: Platform) -> list[tuple[str, Any]]:
    """Spec changes naming the client IDs the mocked Azure program gives each environment's identities."""

    def ids(platform: Platform) -> dict[str, str]:
        return {i.name: mock_client_id(derived.cloud_identity_name(platform, i)) for i in derived.workload_identities(platform)}

    return [("cluster.identity_client_ids", ids(prod)), ("environments.staging.cluster.identity_client_ids", ids(staging))]


def unsecret(value):
    """A Pulumi secret as the mocks see it (a tagged dict) unwrapped to its value."""
    return value["value"] if isinstance(value, dict) and "value" in value else value


def external_secret_keys(platform, store: str) -> set[str]:
    """Full remote names the rendered ExternalSecrets of ``store``'s clients read (services and the Iceberg catalog):
    each key with the prefix its secret store adds (AWS stores carry their subtree as ``prefix``)."""
    objects = [rendered.obj for rendered in render_platform(platform)]
    prefixes = store_prefixes(objects)
    keys = set()
    for obj in objects:
        if obj["kind"] != "ExternalSecret":
            continue
        name = obj["metadata"]["name"]
        if name.endswith(f"-{store}-credentials") or (store == "postgres" and name == "iceberg-catalog-db"):
            keys |= {full for _, _, full in remote_entries(obj, prefixes)}
    return keys
