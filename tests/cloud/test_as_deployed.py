"""The tree runs on the cloud as the cloud layer builds it, per cloud and environment: every StorageClass the tree uses
is provisioned by a CSI driver the cloud layer installs, every ServiceAccount identity annotation names an identity
the cloud layer creates and trusts for exactly that ServiceAccount, every remote secret name is one the cloud layer
lets External Secrets read (and no other environment's), NetworkPolicies are enforced and node pools autoscale
between the spec's bounds."""

from __future__ import annotations

import fnmatch
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from plinth.kube.secrets import remote_names_read
from plinth.cloud.options import CloudOptions
from plinth.components import cluster_autoscaler, storage_classes
from plinth.drills.cluster import restore_drill_objects
from plinth.kube.references import pod_specs, references
from plinth.render.pipeline import render_platform
from plinth.spec import derived
from plinth.spec.loader import load_platform
from plinth.spec.model import Platform
from tests.cloud.conftest import CLOUD_SITES, Deployment, mock_client_id, platform_on
from tests.conftest import REPO, needs_charts

ENVIRONMENTS = ("prod", "staging")
OPTIONS = {"aws": CloudOptions(), "gcp": CloudOptions(gcp_project="plinth-test"), "azure": CloudOptions()}


@dataclass(frozen=True)
class Annotated:
    """A ServiceAccount of the tree (or of a chart's values) that carries a cloud identity annotation."""

    namespace: str
    service_account: str
    value: str
    where: str


def _tree(platform: Platform) -> list[dict[str, Any]]:
    return [r.obj for r in render_platform(platform)] + restore_drill_objects(platform)


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def annotated_accounts(platform: Platform, objects: list[dict[str, Any]]) -> list[Annotated]:
    """Every ServiceAccount the tree gives a cloud identity: ServiceAccount objects, charts' ``serviceAccount`` values
    (named, in the Application's destination namespace) and CloudNativePG's ``serviceAccountTemplate`` (named after
    its Cluster)."""
    key = derived.IDENTITY_ANNOTATIONS[platform.cluster.provider]
    found: list[Annotated] = []
    for obj in objects:
        meta = obj["metadata"]
        namespace = obj.get("spec", {}).get("destination", {}).get("namespace") if obj["kind"] == "Application" else meta.get("namespace")
        for node in _walk(obj):
            annotations = node.get("annotations")
            if not isinstance(annotations, dict) or key not in annotations:
                continue
            if node is meta:
                assert obj["kind"] == "ServiceAccount", f"{obj['kind']}/{meta['name']} carries {key}"
                name = meta["name"]
            elif "name" in node:
                name = node["name"]
            else:  # serviceAccountTemplate.metadata: the account is named after its Cluster
                assert obj["kind"] == "Cluster", f"{obj['kind']}/{meta['name']}: {key} on an unnamed account"
                name = meta["name"]
            found.append(Annotated(namespace, name, annotations[key], f"{obj['kind']}/{meta['name']}"))
    return found


def _created_identities(cloud: str, platform: Platform, run: Deployment) -> dict[str, tuple[str, str]]:
    """What each annotation value may be -> the (namespace, service account) the cloud layer trusts with it."""
    result: dict[str, tuple[str, str]] = {}
    if cloud == "aws":
        for role in run.of_type("aws:iam/role:Role"):
            trust = json.loads(role.inputs["assumeRolePolicy"])
            for statement in trust["Statement"]:
                subjects = [v for k, v in statement.get("Condition", {}).get("StringEquals", {}).items() if k.endswith(":sub")]
                for subject in subjects:
                    _, _, namespace, account = subject.split(":")
                    result[f"arn:aws:iam::{platform.cluster.account}:role/{role.inputs['name']}"] = (namespace, account)
    elif cloud == "gcp":
        accounts = {f"{a.name}": a for a in run.of_type("gcp:serviceaccount/account:Account")}
        for binding in run.of_type("gcp:serviceaccount/iAMMember:IAMMember"):
            account = accounts[binding.inputs["serviceAccountId"].removesuffix("-id")]
            namespace, name = re.fullmatch(r"serviceAccount:.*\.svc\.id\.goog\[(.+)/(.+)\]", binding.inputs["member"]).groups()
            result[f"{account.inputs['accountId']}@{account.inputs['project']}.iam.gserviceaccount.com"] = (namespace, name)
    else:
        identities = {i.name: i for i in run.of_type("azure-native:managedidentity:UserAssignedIdentity")}
        for federation in run.of_type("azure-native:managedidentity:FederatedIdentityCredential"):
            identity = identities[federation.inputs["resourceName"]]
            _, _, namespace, name = federation.inputs["subject"].split(":")
            result[mock_client_id(identity.name)] = (namespace, name)
    return result


@pytest.fixture(scope="module")
def deployed(tmp_path_factory) -> dict[tuple[str, str], tuple[Platform, list[dict[str, Any]]]]:
    """Each cloud and environment's platform and rendered tree (rendering is the slow part: once per module)."""
    result = {}
    for cloud in sorted(CLOUD_SITES):
        for environment in ENVIRONMENTS:
            platform = platform_on(tmp_path_factory.mktemp(f"{cloud}-{environment}"), cloud, environment=environment)
            result[(cloud, environment)] = (platform, _tree(platform))
    return result


CASES = [(cloud, environment) for cloud in sorted(CLOUD_SITES) for environment in ENVIRONMENTS]


@pytest.mark.parametrize(("cloud", "environment"), CASES)
def test_every_storage_class_the_tree_uses_exists_and_its_driver_is_installed(deploy, deployed, cloud, environment) -> None:
    platform, objects = deployed[(cloud, environment)]
    run = deploy(platform, OPTIONS[cloud])
    classes = {o["metadata"]["name"]: o for o in objects if o["kind"] == "StorageClass"}
    used = {ref.name for obj in objects for ref in references(obj) if ref.kind == "StorageClass"}
    assert used, "the tree's data stores name a StorageClass"
    assert used <= set(classes), f"classes used but not created: {sorted(used - set(classes))}"
    for storage_class in classes.values():
        assert storage_class["volumeBindingMode"] == "WaitForFirstConsumer" and storage_class["allowVolumeExpansion"] is True
    drivers = {storage_class["provisioner"] for storage_class in classes.values()}
    if cloud == "aws":
        (addon,) = [a for a in run.of_type("aws:eks/addon:Addon") if a.inputs["addonName"] == "aws-ebs-csi-driver"]
        assert drivers == {"ebs.csi.aws.com"}
        assert all(c["parameters"]["encrypted"] == "true" for c in classes.values())
        roles = {f"{r.name}-id": r for r in run.of_type("aws:iam/role:Role")}
        assert addon.inputs["serviceAccountRoleArn"].endswith(f"aws:iam/role:Role:{platform.cluster.name}-ebs-csi")
        attachments = [a for a in run.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment") if a.name == f"{platform.cluster.name}-ebs-csi"]
        assert attachments and attachments[0].inputs["policyArn"].endswith("/AmazonEBSCSIDriverPolicy")
        assert f"{platform.cluster.name}-ebs-csi-id" in roles
        # EKS ships no default class since 1.30: the platform's is the default for the charts' unnamed claims.
        defaults = [n for n, c in classes.items() if c["metadata"].get("annotations", {}).get(storage_classes.DEFAULT_CLASS_ANNOTATION) == "true"]
        assert defaults == [storage_classes.default_class(platform)]
    elif cloud == "gcp":
        (cluster,) = run.of_type("gcp:container/cluster:Cluster")
        assert drivers == {"pd.csi.storage.gke.io"}
        assert cluster.inputs["addonsConfig"]["gcePersistentDiskCsiDriverConfig"]["enabled"] is True
    else:
        (cluster,) = run.of_type("azure-native:containerservice:ManagedCluster")
        assert drivers == {"disk.csi.azure.com"}
        assert cluster.inputs["storageProfile"]["diskCSIDriver"]["enabled"] is True


@pytest.mark.parametrize(("cloud", "environment"), CASES)
def test_every_identity_annotation_names_an_identity_the_cloud_layer_trusts_for_that_account(deploy, deployed, cloud, environment) -> None:
    platform, objects = deployed[(cloud, environment)]
    run = deploy(platform, OPTIONS[cloud])
    created = _created_identities(cloud, platform, run)
    annotated = annotated_accounts(platform, objects)
    for account in annotated:
        assert account.value in created, f"{account.where}: {account.value} is no identity the cloud layer creates"
        assert created[account.value] == (account.namespace, account.service_account), (
            f"{account.where}: {account.value} trusts {created[account.value]}, the annotation sits on "
            f"{account.namespace}/{account.service_account}")
    expected = {(i.namespace, i.service_account) for i in derived.workload_identities(platform)}
    assert {(a.namespace, a.service_account) for a in annotated} == expected
    # No static cloud keys: no ExternalSecret reads object-storage or cloud credentials.
    for obj in objects:
        if obj["kind"] == "ExternalSecret":
            for entry in obj["spec"]["data"]:
                assert not re.search(r"backups|object-storage", entry["remoteRef"]["key"]), f"{obj['metadata']['name']} reads a cloud key"
    if cloud == "azure":
        # The webhook only gives a token to labelled pods: every identity's pods carry the label.
        pods = [n for o in objects for n in _walk(o) if n.get(derived.AZURE_USE_LABEL) == "true"]
        assert len(pods) >= len(expected) - 1


def _remote_keys(objects: list[dict[str, Any]]) -> set[str]:
    """The full remote names the ExternalSecrets read (each key with the prefix its store adds)."""
    return remote_names_read(objects)


@pytest.mark.parametrize("cloud", sorted(CLOUD_SITES))
def test_every_secret_name_the_tree_reads_is_allowed_for_its_environment_only(deploy, deployed, cloud) -> None:
    keys = {env: _remote_keys(deployed[(cloud, env)][1]) for env in ENVIRONMENTS}
    assert keys["prod"] and keys["staging"] and not keys["prod"] & keys["staging"], "staging and prod read the same secrets"
    for environment in ENVIRONMENTS:
        platform, objects = deployed[(cloud, environment)]
        run = deploy(platform, OPTIONS[cloud])
        separator, refused, _ = derived.SECRET_NAME_RULES[cloud]
        prefix = derived.secret_name_prefix(platform) + separator
        other = deployed[(cloud, next(e for e in ENVIRONMENTS if e != environment))][0]
        for key in keys[environment]:
            assert key.startswith(prefix) and not re.search(refused, key), key
            assert allowed(cloud, platform, run, key), f"{cloud}/{environment}: the cloud layer does not let External Secrets read {key}"
        for key in keys[environment]:
            assert not allowed(cloud, other, deploy(other, OPTIONS[cloud]), key, home=platform), (
                f"{cloud}: {key} is readable from the other environment")


def allowed(cloud: str, platform: Platform, run: Deployment, key: str, home: Platform | None = None) -> bool:
    """True when the cloud layer of ``platform`` lets its external-secrets identity read remote secret ``key``, which
    lives in the secret manager of ``home`` (the environment that reads it; by default ``platform``)."""
    home = home or platform
    name = derived.cloud_identity_name(platform, derived.workload_identity(platform, "external-secrets"))
    if cloud == "aws":
        policy = json.loads(run.named("aws:iam/rolePolicy:RolePolicy", name).inputs["policy"])
        arn = f"arn:aws:secretsmanager:{platform.cluster.region}:{platform.cluster.account}:secret:{key}-AbCdEf"
        return any("secretsmanager:GetSecretValue" in s["Action"] and fnmatch.fnmatchcase(arn, s["Resource"])
                   for s in policy["Statement"] if isinstance(s["Resource"], str))
    if cloud == "gcp":
        (binding,) = [m for m in run.of_type("gcp:projects/iAMMember:IAMMember") if m.inputs["role"] == "roles/secretmanager.secretAccessor"]
        prefix = re.fullmatch(r'resource\.name\.startsWith\("(.+)"\)', binding.inputs["condition"]["expression"]).group(1)
        return f"projects/123456789/secrets/{key}".startswith(prefix) and binding.inputs["project"] == home.secrets.gcp_project_id
    (vault,) = run.of_type("azure-native:keyvault:Vault")
    store_url = home.secrets.azure_key_vault_url
    grants = [r for r in run.of_type("azure-native:authorization:RoleAssignment") if r.name == f"{platform.cluster.name}-external-secrets-secrets"]
    return bool(grants) and grants[0].inputs["scope"] == f"{vault.name}-id" and store_url == f"https://{vault.inputs['vaultName']}.vault.azure.net"


@pytest.mark.parametrize(("cloud", "environment"), CASES)
def test_network_policies_are_enforced_and_pools_autoscale_within_their_bounds(deploy, deployed, cloud, environment) -> None:
    platform, objects = deployed[(cloud, environment)]
    run = deploy(platform, OPTIONS[cloud])
    bounds = {name: (pool.min_nodes, pool.max_nodes) for name, pool in platform.node_pools.items()}
    if cloud == "aws":
        (cni,) = [a for a in run.of_type("aws:eks/addon:Addon") if a.inputs["addonName"] == "vpc-cni"]
        assert json.loads(cni.inputs["configurationValues"])["enableNetworkPolicy"] == "true"
        groups = {g.inputs["nodeGroupName"]: g.inputs for g in run.of_type("aws:eks/nodeGroup:NodeGroup")}
        assert {n: (g["scalingConfig"]["minSize"], g["scalingConfig"]["maxSize"]) for n, g in groups.items()} == bounds
        # The cluster autoscaler discovers exactly this cluster's groups by the tags EKS puts on their Auto Scaling groups.
        (deployment,) = [o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == cluster_autoscaler.NAME]
        command = deployment["spec"]["template"]["spec"]["containers"][0]["command"]
        discovery = next(c for c in command if c.startswith("--node-group-auto-discovery="))
        tags = discovery.split("=", 2)[2].split(",")
        for group in groups.values():
            assert all(group["tags"].get(tag) for tag in tags), f"{group['nodeGroupName']} lacks the discovery tags {tags}"
        policy = json.dumps(json.loads(run.named("aws:iam/rolePolicy:RolePolicy", f"{platform.cluster.name}-cluster-autoscaler").inputs["policy"]))
        assert "autoscaling:SetDesiredCapacity" in policy and f"k8s.io/cluster-autoscaler/{platform.cluster.name}" in policy
    elif cloud == "gcp":
        (cluster,) = run.of_type("gcp:container/cluster:Cluster")
        assert cluster.inputs["datapathProvider"] == "ADVANCED_DATAPATH"
        pools = {p.inputs["name"]: p.inputs["autoscaling"] for p in run.of_type("gcp:container/nodePool:NodePool")}
        assert {n: (a["totalMinNodeCount"], a["totalMaxNodeCount"]) for n, a in pools.items()} == bounds
        assert not [o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == cluster_autoscaler.NAME]
    else:
        (cluster,) = run.of_type("azure-native:containerservice:ManagedCluster")
        assert cluster.inputs["networkProfile"]["networkPolicy"] == "cilium"
        profiles = {p["name"]: p for p in cluster.inputs["agentPoolProfiles"]}
        profiles.update({p.inputs["agentPoolName"]: p.inputs for p in run.of_type("azure-native:containerservice:AgentPool")})
        assert all(p["enableAutoScaling"] is True for p in profiles.values())
        assert {n: (p["minCount"], p["maxCount"]) for n, p in profiles.items()} == bounds
        assert not [o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == cluster_autoscaler.NAME]


def test_gke_nodes_run_as_a_least_privilege_account(deploy, deployed) -> None:
    platform, _ = deployed[("gcp", "prod")]
    run = deploy(platform, OPTIONS["gcp"])
    node_account = run.named("gcp:serviceaccount/account:Account", f"{platform.cluster.name}-nodes")
    email = f"{node_account.name}-id"
    roles = [m.inputs["role"] for m in run.of_type("gcp:projects/iAMMember:IAMMember") if m.name == f"{platform.cluster.name}-nodes"]
    assert roles == ["roles/container.defaultNodeServiceAccount"]
    for pool in run.of_type("gcp:container/nodePool:NodePool"):
        assert pool.inputs["nodeConfig"]["serviceAccount"] and pool.inputs["nodeConfig"]["workloadMetadataConfig"]["mode"] == "GKE_METADATA"
    assert email


@needs_charts
@pytest.mark.parametrize("spec", ["platform.yaml", "examples/azure.yaml"])
def test_the_hydrated_charts_service_accounts_carry_their_identity(tmp_path: Path, spec: str) -> None:
    """What the charts make of their values: every identity's ServiceAccount, rendered or hydrated, carries the
    annotation the identity table gives it, and the pods run as it."""
    out = tmp_path / "hydrated"
    result = subprocess.run([sys.executable, "-m", "plinth.cli", "hydrate", "--spec", spec, "--env", "prod", "--out", str(out)],
                            capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    platform = load_platform(REPO / spec, "prod")
    objects = [r.obj for r in render_platform(platform)]
    objects += [doc for path in sorted(out.rglob("*.yaml")) for doc in yaml.safe_load_all(path.read_text()) if doc]
    accounts = {(o["metadata"].get("namespace"), o["metadata"]["name"]): o for o in objects if o["kind"] == "ServiceAccount"}
    pods = [(o["metadata"].get("namespace"), pod) for o in objects for _, pod in pod_specs(o)]
    pods += [(o["metadata"]["namespace"], t["spec"]) for o in objects if o["kind"] == "ClickHouseInstallation"
             for t in o["spec"]["templates"]["podTemplates"]]
    pod_accounts = {(namespace, pod.get("serviceAccountName")) for namespace, pod in pods}
    for identity in derived.workload_identities(platform):
        if identity.namespace == "plinth-restore-drill":
            continue
        where = (identity.namespace, identity.service_account)
        if identity.name == "cnpg-backups":  # CloudNativePG creates it from the Cluster's serviceAccountTemplate
            continue
        assert where in accounts, f"{identity.name}: no ServiceAccount {where[0]}/{where[1]}"
        assert accounts[where]["metadata"].get("annotations", {}) | derived.identity_annotations(platform, identity.name) == \
            accounts[where]["metadata"]["annotations"], f"{identity.name}: {where} lacks its identity annotation"
        assert where in pod_accounts, f"{identity.name}: no pod runs as {where[0]}/{where[1]}"
