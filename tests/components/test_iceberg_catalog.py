"""The Iceberg REST catalog: the spec's catalog block rendered into Polaris' values, its PostgreSQL database and role,
the bootstrap, setup and maintenance jobs, the flows and the policies rendered from them, and what the services that use Iceberg get."""

from __future__ import annotations

from pathlib import Path

import pytest

from plinth.components import iceberg_catalog as ic
from plinth.components import postgres
from plinth.components.app_services import credentials_secret, service_rollout
from plinth.components.registry import ALL_COMPONENTS
from plinth.kube.conventions import DATASTORE_NAMES
from plinth.lakehouse import catalog_setup, maintenance
from plinth.render import network
from plinth.render.pipeline import render_platform
from plinth.spec import derived
from plinth.spec.derived import WORKLOAD_IDENTITIES
from plinth.spec.loader import SpecError, load_all
from tests.conftest import spec_with


@pytest.fixture(scope="module")
def objects(prod):
    return {(r.obj["kind"], r.obj["metadata"]["name"]): r.obj for r in render_platform(prod)}


def test_polaris_values_make_stateless_ha_servers_on_the_data_pool(prod) -> None:
    values = ic.values(prod)
    catalog = prod.datastores.iceberg.catalog
    assert values["replicaCount"] == catalog.replicas == 3
    assert values["podDisruptionBudget"] == {"enabled": True, "maxUnavailable": 1}
    assert values["topologySpreadConstraints"][0] == {"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
                                                      "whenUnsatisfiable": "DoNotSchedule"}
    assert values["nodeSelector"] == {"plinth.dev/pool": "data"}
    assert values["resources"]["requests"] == {"cpu": catalog.resources.requests_cpu, "memory": catalog.resources.requests_memory}
    # The service account the cloud layer gives the Iceberg bucket's identity (derived.WORKLOAD_IDENTITIES).
    identity = next(i for i in WORKLOAD_IDENTITIES if i.name == "iceberg")
    assert values["serviceAccount"]["name"] == identity.service_account and identity.namespace == ic.NAMESPACE
    assert values["persistence"]["type"] == "relational-jdbc"
    assert values["persistence"]["relationalJdbc"]["secret"]["name"] == ic.DB_SECRET
    assert values["advancedConfig"]["quarkus.datasource.jdbc.url"] == (
        "jdbc:postgresql://plinth-pg-pooler-rw.platform-data.svc:5432/iceberg_catalog?prepareThreshold=0")
    assert values["authentication"]["tokenBroker"] == {"type": "rsa-key-pair", "secret": {"name": ic.TOKEN_BROKER_SECRET}}
    assert values["realmContext"]["realms"] == [catalog.realm]
    assert values["features"]["SUPPORTED_CATALOG_STORAGE_TYPES"] == ["S3"]


def test_the_catalog_owns_a_database_and_a_role_in_the_platforms_postgresql(prod, objects) -> None:
    db = objects[("Database", ic.NAME)]["spec"]
    assert db == {"name": "iceberg_catalog", "owner": "iceberg_catalog", "cluster": {"name": DATASTORE_NAMES["postgres"]},
                  "ensure": "present", "databaseReclaimPolicy": "retain"}
    roles = objects[("Cluster", postgres.CLUSTER)]["spec"]["managed"]["roles"]
    (role,) = [r for r in roles if r["name"] == "iceberg_catalog"]
    assert role == ic.postgres_role(prod)
    assert role["passwordSecret"] == {"name": ic.DB_SECRET} and role["login"] is True and role["superuser"] is False
    hba = objects[("Cluster", postgres.CLUSTER)]["spec"]["postgresql"]["pg_hba"]
    assert "host iceberg_catalog iceberg_catalog all scram-sha-256" in hba and hba[-1] == "host all all all reject"
    secret = objects[("ExternalSecret", ic.DB_SECRET)]["spec"]
    assert secret["target"]["template"]["type"] == "kubernetes.io/basic-auth"  # CloudNativePG's format
    assert {e["secretKey"] for e in secret["data"]} == {"username", "password"}


def test_maintenance_expires_at_the_iceberg_backup_rows_retention(prod, objects, tmp_path) -> None:
    job = objects[("CronJob", ic.MAINTENANCE_JOB)]["spec"]
    args = job["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"]
    row = prod.backup_for("iceberg")
    assert args[args.index("--retention-days") + 1] == str(row.retention_days) == "365"
    assert args[args.index("--orphan-min-age-days") + 1] == str(prod.datastores.iceberg.maintenance.orphan_file_min_age_days)
    assert args[args.index("--catalog-uri") + 1] == ic.catalog_uri()
    assert job["schedule"] == prod.datastores.iceberg.maintenance.schedule and job["concurrencyPolicy"] == "Forbid"
    # Kept forever: nothing expires (no --retention-days at all).
    index = next(i for i, b in enumerate(prod.backups) if b.data == "iceberg")
    forever = load_all(spec_with(tmp_path, [(f"backups.{index}.retention_days", "forever")]))["prod"]
    assert "--retention-days" not in ic.maintenance_args(forever)


def test_the_jobs_run_the_lakehouse_programs_from_a_configmap(objects) -> None:
    data = objects[("ConfigMap", ic.SCRIPTS)]["data"]
    for module in (maintenance, catalog_setup):
        assert data[Path(module.__file__).name] == Path(module.__file__).read_text()
    setup = objects[("CronJob", ic.SETUP_JOB)]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert setup["containers"][0]["args"][0] == "/opt/plinth/catalog_setup.py"
    # It talks to Polaris only: no Kubernetes API token (the credentials come from the secret store).
    assert setup["serviceAccountName"] == ic.SERVICE_ACCOUNT and setup["automountServiceAccountToken"] is False
    bootstrap = objects[("Job", ic.BOOTSTRAP_JOB)]["spec"]["template"]["spec"]["containers"][0]
    assert bootstrap["image"] == "apache/polaris-admin-tool:1.7.0"
    assert bootstrap["args"][:3] == ["bootstrap", "--realm", "POLARIS"]


def test_services_using_iceberg_get_the_catalog_uri_warehouse_and_principal(prod, objects) -> None:
    users = ic.iceberg_services(prod)
    assert users == ["data-workers"]
    setup_args = objects[("CronJob", ic.SETUP_JOB)]["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"]
    for name in users:
        container = service_rollout(prod, name)["spec"]["template"]["spec"]["containers"][0]
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env["ICEBERG_CATALOG_URI"] == "http://polaris.platform-data.svc:8181/api/catalog"
        assert env["ICEBERG_WAREHOUSE"] == prod.datastores.iceberg.catalog.warehouse != "rest"
        assert "ICEBERG_CATALOG" not in env
        secret = ic.service_credentials_secret(name)
        assert secret == credentials_secret(name, "iceberg")
        assert f"{name}={ic.principal_dir(name)}" in setup_args
        # One secret store entry: the service's ExternalSecret and the setup job's copy read the same keys.
        service_copy = objects[("ExternalSecret", secret)]["spec"]
        job_copy = objects[("ExternalSecret", ic.principal_secret(name))]["spec"]
        assert service_copy["data"] == job_copy["data"]
        assert {e["secretKey"] for e in job_copy["data"]} == {"client-id", "client-secret"}
        # In the identities' subtree (the one platform-apps and platform-data may both read), relative to the AWS
        # store's prefix plinth/prod/identities/.
        assert job_copy["data"][0]["remoteRef"] == {"key": f"{name}/iceberg", "property": "client-id"}
        assert job_copy["data"][0]["sourceRef"] == {"storeRef": {"kind": "ClusterSecretStore", "name": "secrets-identities"}}
        assert ("RoleBinding", f"{name}-iceberg-credentials-writer") not in objects


def test_rendered_network_policies_carry_the_catalogs_flows(prod) -> None:
    """The policies rendered from the catalog's and the services' flows: data-workers (uses: iceberg) and the setup and
    maintenance jobs reach the servers' API port; the servers and the bootstrap reach PostgreSQL through the pooler;
    the servers and the maintenance job reach object storage on 443; Prometheus the management port."""
    policies = {p["metadata"]["name"]: p["spec"] for p in network.network_policies(prod, ALL_COMPONENTS)
                if p["metadata"]["namespace"] == ic.NAMESPACE}
    data_ns = {"kubernetes.io/metadata.name": ic.NAMESPACE}
    pooler = {"cnpg.io/poolerName": f"{DATASTORE_NAMES['postgres']}-pooler-rw"}
    job = lambda name: {"podSelector": {"matchLabels": {ic.JOB_LABEL: name}}}  # noqa: E731
    server = policies["allow-polaris"]
    assert server["podSelector"] == {"matchLabels": ic.SERVER_LABELS}
    api_in = [r["from"][0] for r in server["ingress"] if r["ports"] == [{"protocol": "TCP", "port": ic.HTTP_PORT}]]
    users = sorted(n for n, svc in prod.services.items() if "iceberg" in svc.uses)
    assert users == ["data-workers"]
    assert {get_name(peer) for peer in api_in if "namespaceSelector" in peer} == set(users)
    assert job(ic.SETUP_JOB) in api_in and job(ic.MAINTENANCE_JOB) in api_in and job(ic.BOOTSTRAP_JOB) not in api_in
    assert {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "platform-monitoring"}},
                      "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}}}],
            "ports": [{"protocol": "TCP", "port": ic.MANAGEMENT_PORT}]} in server["ingress"]
    assert {"to": [{"podSelector": {"matchLabels": pooler}}], "ports": [{"protocol": "TCP", "port": 5432}]} in server["egress"]
    public = [r for r in server["egress"] if "ipBlock" in r["to"][0]]
    assert [r["ports"] for r in public] == [[{"protocol": "TCP", "port": 443}]]
    assert "10.0.0.0/8" in public[0]["to"][0]["ipBlock"]["except"]
    assert policies[f"allow-{ic.BOOTSTRAP_JOB}"]["egress"] == [{"to": [{"podSelector": {"matchLabels": pooler}}],
                                                              "ports": [{"protocol": "TCP", "port": 5432}]}]
    assert policies[f"allow-{ic.SETUP_JOB}"]["egress"] == [{"to": [{"podSelector": {"matchLabels": ic.SERVER_LABELS}}],
                                                          "ports": [{"protocol": "TCP", "port": ic.HTTP_PORT}]}]
    maintenance_out = policies[f"allow-{ic.MAINTENANCE_JOB}"]["egress"]
    assert {"to": [{"podSelector": {"matchLabels": ic.SERVER_LABELS}}], "ports": [{"protocol": "TCP", "port": ic.HTTP_PORT}]} in maintenance_out
    assert any("ipBlock" in r["to"][0] and r["ports"] == [{"protocol": "TCP", "port": 443}] for r in maintenance_out)
    pooler_in = [r["from"][0] for r in policies["allow-plinth-pg-pooler-rw"]["ingress"]]
    assert {"podSelector": {"matchLabels": ic.SERVER_LABELS}} in pooler_in and job(ic.BOOTSTRAP_JOB) in pooler_in
    workers = next(p for p in network.network_policies(prod, ALL_COMPONENTS) if p["metadata"]["name"].startswith("allow-data-workers"))
    assert {"to": [{"namespaceSelector": {"matchLabels": data_ns}, "podSelector": {"matchLabels": ic.SERVER_LABELS}}],
            "ports": [{"protocol": "TCP", "port": ic.HTTP_PORT}]} in workers["spec"]["egress"]


def get_name(peer: dict) -> str:
    """The service a peer selects (``app.kubernetes.io/name``)."""
    return peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"]


def test_gcp_binds_the_google_service_account(tmp_path) -> None:
    spec = spec_with(tmp_path, [("cluster.provider", "gcp"), ("cluster.region", "us-central1"), ("cluster.dr_region", "us-east1"),
                                ("cluster.zones", ["us-central1-a", "us-central1-b", "us-central1-c"]),
                                ("secrets.gcp_project_id", "plinth-proj"), ("cluster.account", "plinth-proj")])
    platform = load_all(spec)["prod"]
    annotations = ic.values(platform)["serviceAccount"]["annotations"]
    assert annotations == derived.identity_annotations(platform, "iceberg")
    assert annotations["iam.gke.io/gcp-service-account"].endswith("@plinth-proj.iam.gserviceaccount.com")
    assert ic.values(platform)["features"]["SUPPORTED_CATALOG_STORAGE_TYPES"] == ["GCS"]
    assert ic.warehouse_location(platform) == "gs://plinth-iceberg/"


@pytest.mark.parametrize(("change", "where", "message"), [
    (("datastores.iceberg.catalog.replicas", 2), "datastores.iceberg.catalog.replicas", "the stateless services' promise needs >= 3"),
    (("datastores.iceberg.catalog.chart", "iceberg"), "datastores.iceberg.catalog.chart", "'iceberg' is not a pinned chart"),
    (("datastores.iceberg.catalog.chart", "loki"), "datastores.iceberg.catalog.chart", "installs 'loki'"),
    (("datastores.iceberg.maintenance.orphan_file_min_age_days", 365), "datastores.iceberg.maintenance.orphan_file_min_age_days",
     "must be below the iceberg backup row's retention (365 days)"),
    (("datastores.iceberg.catalog", "rest"), "datastores.iceberg.catalog", "valid dictionary"),
    (("datastores.iceberg.maintenance.schedule", "61 4 * * *"), "datastores.iceberg.maintenance.schedule",
     "Kubernetes would not run the maintenance CronJob as written: minute field: 61 is out of range 0-59"),
])
def test_a_bad_catalog_block_is_a_located_error(tmp_path, change, where, message) -> None:
    spec = spec_with(tmp_path, [change])
    with pytest.raises(SpecError) as caught:
        load_all(spec)
    problems = [p for p in caught.value.problems if p.path == where]
    assert problems and message in problems[0].message, [str(p) for p in caught.value.problems]
    assert problems[0].line > 1


def test_the_setup_names_the_storage_of_each_cloud(monkeypatch) -> None:
    monkeypatch.setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/plinth-prod-iceberg")
    assert catalog_setup.storage_config("S3", "s3://plinth-iceberg/", "us-east-1") == {
        "storageType": "S3", "allowedLocations": ["s3://plinth-iceberg/"], "region": "us-east-1",
        "roleArn": "arn:aws:iam::123456789012:role/plinth-prod-iceberg"}
    assert catalog_setup.storage_config("GCS", "gs://plinth-iceberg/", "") == {"storageType": "GCS", "allowedLocations": ["gs://plinth-iceberg/"]}
    monkeypatch.delenv("AZURE_TENANT_ID", raising=False)
    with pytest.raises(catalog_setup.SetupError, match="AZURE_TENANT_ID"):
        catalog_setup.storage_config("AZURE", "abfss://plinth-iceberg@acct.dfs.core.windows.net/", "")


class RecordingPolaris:
    """The management API calls of ``ensure_service`` answered as Polaris answers them, recorded."""

    def __init__(self, principal_exists: bool, valid: tuple[str, str] | None):
        self.principal_exists = principal_exists
        self.valid = valid
        self.calls: list[tuple[str, str, object]] = []

    def ensure(self, path, create_path, body, what) -> bool:
        self.calls.append(("ensure", path, body))
        return False

    def call(self, method, path, body=None):
        self.calls.append((method, path, body))
        if method == "GET" and path.startswith("/principals/"):
            return (200, {"name": path.rsplit("/", 1)[1]}) if self.principal_exists else (404, None)
        if path.endswith("/reset"):
            self.valid = (body["clientId"], body["clientSecret"])
            return 200, {"credentials": body}
        return 201, None

    def authenticates(self, client_id, client_secret) -> bool:
        return self.valid == (client_id, client_secret)


@pytest.mark.parametrize(("exists", "valid", "reset"), [
    (False, None, True),                                            # a new principal gets the store's credentials
    (True, ("0123456789abcdef", "0" * 32), False),                  # the store's credentials work: nothing changes
    (True, ("0123456789abcdef", "f" * 32), True),                   # the store's entry was rotated: reset to it
])
def test_the_setup_gives_each_principal_the_secret_stores_credentials(exists, valid, reset) -> None:
    polaris = RecordingPolaris(exists, valid)
    done = catalog_setup.ensure_service(polaris, "plinth", "data-workers", "0123456789abcdef", "0" * 32)  # type: ignore[arg-type]
    resets = [c for c in polaris.calls if c[1].endswith("/reset")]
    assert bool(resets) is reset, done
    if reset:
        assert resets == [("POST", "/principals/data-workers/reset", {"clientId": "0123456789abcdef", "clientSecret": "0" * 32})]
    assert polaris.authenticates("0123456789abcdef", "0" * 32)
    assert ("PUT", "/principals/data-workers/principal-roles", {"principalRole": {"name": "data-workers"}}) in polaris.calls
