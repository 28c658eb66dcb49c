"""The Iceberg REST catalog: Apache Polaris from its pinned chart in platform-data, its metadata in the
platform's PostgreSQL, the warehouse in the Iceberg bucket, and the table maintenance that keeps exactly the
Iceberg backup row's history.

Why Polaris (and not Lakekeeper): the chart is released by the Apache Polaris PMC from the server's own tag
(version = appVersion, monthly releases), renders deterministically with no Helm hooks, no ``lookup``, no
subcharts and no cluster-scoped objects, meets Pod Security "restricted" by default, and ships a PDB, zone
spread and a ServiceMonitor; the server is stateless (any number of replicas behind one Service, tokens signed
with one shared key pair), keeps its metadata in PostgreSQL through JDBC, reaches S3, GCS and ADLS with the
pod's own workload identity (the SDKs' default credential chains) and vends table-scoped storage credentials
to clients. Neither open-source catalog expires snapshots by itself (Lakekeeper's expiry and orphan removal
are in its commercial edition), so maintenance is a CronJob here either way.

Objects:

- the chart (``polaris``): ``replicas`` servers spread hard over the zones, a PDB allowing one pod down,
  the realm's token-broker key pair and database credentials from the secret store, JDBC through the
  PgBouncer pooler, the ``iceberg-catalog`` service account (the cloud identity of ``derived.WORKLOAD_IDENTITIES``);
- the catalog's PostgreSQL: a CloudNativePG ``Database`` owned by a role the Cluster manages
  (``postgres_role``; the postgres component adds it to ``spec.managed.roles``), its password an ExternalSecret;
- a one-time Job bootstrapping the realm (Polaris' admin tool; bootstrap is not idempotent, apache/polaris#2324);
- a reconciling CronJob (``plinth.lakehouse.catalog_setup``) that creates the catalog in the warehouse bucket
  and a principal per service that ``uses: iceberg``, whose credentials it keeps equal to the secret store's entry
  for the service (``service_credentials_entries``): the service's own ExternalSecret and the job's read the same
  entry, so the service's pods start with their credentials at once and nothing writes Secrets across namespaces;
- the maintenance CronJob (``plinth.lakehouse.maintenance``): snapshot expiry at the Iceberg row's retention
  and orphan-file removal; the bucket's lifecycle expires noncurrent versions after the same retention;
- the flows above (``flows``: the NetworkPolicies are rendered from them), alerts (availability, commit errors,
  maintenance) and panels.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from plinth.components.base import Component, HelmRelease, KubeObject
from plinth.components.delivery import image_reference
from plinth.kube import datastores as ds
from plinth.kube.conventions import DATASTORE_CLIENT_PODS, DATASTORE_LABEL, DATASTORE_NAMES, DATASTORE_PORTS
from plinth.kube.flows import CLOUD_IDENTITY, CLOUD_OBJECT_STORAGE, HTTPS, MANAGED_STORES, External, Flow, Pods, flow, scrape
from plinth.kube.objects import k8s_object, labels
from plinth.kube.scheduling import HOST_KEY, ZONE_KEY
from plinth.kube.secrets import external_secret
from plinth.kube.workloads import restricted_container_security_context, restricted_pod_security_context
from plinth.lakehouse import catalog_setup, maintenance
from plinth.monitoring.panels import Panel
from plinth.monitoring.rules import AlertRule, AlertTest, RuleGroup
from plinth.spec import derived
from plinth.spec.derived import IDENTITY_SECRETS_SCOPE, WORKLOAD_IDENTITIES, buckets
from plinth.spec.model import Platform

NAME = "iceberg-catalog"
"""Component (folder Application) name."""
RELEASE = "polaris"
"""Helm release and Application of the chart; the chart names its objects after it."""
NAMESPACE = ds.DATA_NAMESPACE
SERVICE = RELEASE
"""The catalog's Service (Iceberg REST API and management API)."""
MANAGEMENT_SERVICE = f"{RELEASE}-mgmt"
"""The headless management Service (health, metrics)."""
HTTP_PORT = 8181
MANAGEMENT_PORT = 8182
SERVER_LABELS = {"app.kubernetes.io/name": "polaris", "app.kubernetes.io/instance": RELEASE}
"""The chart's selector labels of the catalog server pods."""
IDENTITY = next(i for i in WORKLOAD_IDENTITIES if i.name == "iceberg")
SERVICE_ACCOUNT = IDENTITY.service_account
"""Service account of the catalog servers and jobs: the one the cloud layer gives the Iceberg bucket's identity."""
DB_SECRET = f"{NAME}-db"
"""basic-auth Secret of the catalog's PostgreSQL role (CloudNativePG sets the role's password from it)."""
ROOT_SECRET = f"{NAME}-root"
"""The realm's root principal credentials (client-id, client-secret)."""
TOKEN_BROKER_SECRET = f"{RELEASE}-token-broker"
"""RSA key pair every replica signs and checks tokens with (one key pair: tokens work across replicas)."""
SCRIPTS = f"{NAME}-scripts"
"""ConfigMap holding the setup and maintenance programs (``plinth.lakehouse``)."""
BOOTSTRAP_JOB = f"{NAME}-bootstrap"
SETUP_JOB = f"{NAME}-setup"
MAINTENANCE_JOB = "iceberg-maintenance"
SETUP_SCHEDULE = "*/15 * * * *"
"""The setup reconciles every 15 minutes: a new service's principal, or a deleted credentials Secret, within that."""
ADMIN_TOOL_IMAGE = "apache/polaris-admin-tool"
"""Polaris' admin tool (realm bootstrap), at the chart's appVersion."""
JOB_LABEL = "plinth.dev/iceberg-job"
"""Label of the catalog's job pods (bootstrap, setup, maintenance): their flows (and policies) select on it."""
MAINTENANCE_STALE_SECONDS = 2 * 86400
"""A daily maintenance job whose last success is older than two days has missed two runs."""
COMMIT_ERROR_RATIO = 0.05
"""Share of table commits failing with a server error, over 10 minutes, that pages."""
COMMIT_CONFLICT_RATIO = 0.25
"""Share of table commits refused as conflicts (writers racing for the same table) that warns."""
STORAGE_TYPES = {"aws": "S3", "gcp": "GCS", "azure": "AZURE"}
"""Polaris storage type of each cloud's object storage."""
COMMIT_URIS = ("/api/catalog/v1/{prefix}/namespaces/{namespace}/tables/{table}", "/api/catalog/v1/{prefix}/transactions/commit")
"""The Iceberg REST endpoints that commit table changes (POST), as Quarkus' HTTP metrics label them (uri template)."""
HTTP_METRIC = "http_server_requests_seconds"
"""Quarkus' Micrometer HTTP server timer (labels method, outcome, status, uri); Polaris tags it application="Polaris"."""


# --------------------------------------------------------------------------- names other components use


def catalog_uri() -> str:
    """The Iceberg REST catalog URI clients configure (pyiceberg, Spark, Trino: ``.../api/catalog``)."""
    return f"http://{SERVICE}.{NAMESPACE}.svc:{HTTP_PORT}/api/catalog"


def api_base() -> str:
    """Polaris' API root (management API under /management/v1, OAuth tokens under /catalog/v1/oauth/tokens)."""
    return f"http://{SERVICE}.{NAMESPACE}.svc:{HTTP_PORT}/api"


def warehouse_location(platform: Platform) -> str:
    """Base location of the catalog: the Iceberg bucket in the cluster's region, from its root."""
    target = _warehouse_target(platform)
    return target.primary.url(target.prefix).rstrip("/") + "/"


def _warehouse_target(platform: Platform):
    return next(b for b in buckets(platform) if b.key == "iceberg")


SERVICE_CREDENTIAL_KEYS = ("client-id", "client-secret")


def service_credentials_secret(service: str) -> str:
    """The service's Secret (platform-apps) holding its catalog principal's credentials (keys client-id, client-secret)."""
    return f"{service}-iceberg-credentials"


def service_credentials_entries(service: str) -> dict[str, str]:
    """Secret key -> secret store entry (``name:property``) of a service's catalog principal credentials: read by the
    service's ExternalSecret (platform-apps) and by the setup job's (platform-data): one entry of the identities'
    subtree, the one both namespaces' stores may read."""
    return {key: f"{IDENTITY_SECRETS_SCOPE}/{service}/iceberg:{key}" for key in SERVICE_CREDENTIAL_KEYS}


def principal_secret(service: str) -> str:
    """The setup job's copy (platform-data) of a service's principal credentials."""
    return f"{NAME}-principal-{service}"


def principal_dir(service: str) -> str:
    """Where the setup job finds a service's principal credentials (files client-id, client-secret)."""
    return f"/credentials/services/{service}"


def iceberg_services(platform: Platform) -> list[str]:
    """Services that use Iceberg (each gets a principal in the catalog)."""
    return sorted(name for name, svc in platform.services.items() if "iceberg" in svc.uses)


def retention_days(platform: Platform) -> int | None:
    """History the maintenance keeps, days: the Iceberg backup row's retention (None: forever, nothing expires)."""
    return _warehouse_target(platform).retention.days


def maintenance_args(platform: Platform) -> list[str]:
    """Arguments of the maintenance program: the catalog, the principal, the retention and the orphan age."""
    args = ["--catalog-uri", catalog_uri(), "--warehouse", platform.datastores.iceberg.catalog.warehouse,
            "--client-id-file", "/credentials/root/client-id", "--client-secret-file", "/credentials/root/client-secret",
            "--orphan-min-age-days", str(platform.datastores.iceberg.maintenance.orphan_file_min_age_days)]
    days = retention_days(platform)
    if days is not None:
        args += ["--retention-days", str(days)]
    return args


# --------------------------------------------------------------------------- PostgreSQL


def postgres_role(platform: Platform) -> dict[str, Any]:
    """The catalog's role as an entry of the CloudNativePG Cluster's ``spec.managed.roles``."""
    return {"name": platform.datastores.iceberg.catalog.database, "ensure": "present", "login": True, "inherit": True,
            "superuser": False, "createdb": False, "createrole": False, "replication": False, "bypassrls": False,
            "passwordSecret": {"name": DB_SECRET}, "connectionLimit": -1, "comment": "Iceberg REST catalog (Apache Polaris)"}


def database(platform: Platform) -> KubeObject:
    """The catalog's database in the platform's CloudNativePG cluster, owned by its role; kept if the object goes."""
    db = platform.datastores.iceberg.catalog.database
    return k8s_object("postgresql.cnpg.io/v1", "Database", NAME, NAMESPACE, labels=labels(NAME, NAME), spec={
        "name": db, "owner": db, "cluster": {"name": DATASTORE_NAMES["postgres"]}, "ensure": "present",
        "databaseReclaimPolicy": "retain",
    })


JDBC_URL_KEY = "jdbc-url"
"""Key of the catalog's database Secret holding the JDBC URL when PostgreSQL is cloud-managed (its address arrives
with the credentials the cloud layer writes)."""


def managed_postgres(platform: Platform) -> bool:
    """True when the catalog's PostgreSQL is the cloud's (``datastores.postgres.managed_by: cloud``)."""
    return platform.datastores.postgres.managed_by == "cloud"


def jdbc_url(platform: Platform) -> str:
    """JDBC URL of the catalog's database through the PgBouncer pooler (transaction pooling: no server-side prepares)."""
    pooler = f"{DATASTORE_NAMES['postgres']}-pooler-rw"
    return (f"jdbc:postgresql://{pooler}.{NAMESPACE}.svc:{DATASTORE_PORTS['postgres'][0]}/"
            f"{platform.datastores.iceberg.catalog.database}?prepareThreshold=0")


def secrets(platform: Platform) -> list[KubeObject]:
    """ExternalSecrets: the database role (basic-auth, as CloudNativePG requires), root credentials, token keys, and
    the principal credentials of each service using Iceberg (the setup job's copy)."""
    keys = ("host", "port", "username", "password") if managed_postgres(platform) else ("username", "password")
    db = external_secret(platform, DB_SECRET, NAMESPACE, NAME,
                         {key: f"{derived.ICEBERG_CATALOG_DB_SECRET}:{key}" for key in keys})
    db["spec"]["target"]["template"] = {"type": "kubernetes.io/basic-auth", "metadata": {"labels": {"cnpg.io/reload": "true"}}}
    if managed_postgres(platform):
        # The cloud layer writes the managed database's address beside the credentials: the JDBC URL is built from it.
        db["spec"]["target"]["template"] = {
            "type": "kubernetes.io/basic-auth", "engineVersion": "v2", "mergePolicy": "Merge",
            "data": {JDBC_URL_KEY: "jdbc:postgresql://{{ .host }}:{{ .port }}/"
                                   f"{platform.datastores.iceberg.catalog.database}?sslmode=require"}}
    return [
        db,
        external_secret(platform, ROOT_SECRET, NAMESPACE, NAME, {"client-id": "iceberg/catalog-root:client-id",
                                                                  "client-secret": "iceberg/catalog-root:client-secret"}),
        external_secret(platform, TOKEN_BROKER_SECRET, NAMESPACE, NAME, {"public.pem": "iceberg/token-broker:public.pem",
                                                                          "private.pem": "iceberg/token-broker:private.pem"}),
        *(external_secret(platform, principal_secret(service), NAMESPACE, NAME, service_credentials_entries(service))
          for service in iceberg_services(platform)),
    ]


# --------------------------------------------------------------------------- the chart


def values(platform: Platform) -> dict[str, Any]:
    """Helm values of the polaris chart: HA, placement, PostgreSQL through JDBC, token keys, metrics."""
    catalog = platform.datastores.iceberg.catalog
    place = ds.placement(platform)
    target = _warehouse_target(platform)
    env = [{"name": "AWS_REGION", "value": target.primary.region}] if platform.cluster.provider == "aws" else []
    result: dict[str, Any] = {
        "replicaCount": catalog.replicas,
        "serviceAccount": {"create": True, "name": SERVICE_ACCOUNT, "annotations": derived.identity_annotations(platform, IDENTITY.name)},
        "podLabels": {DATASTORE_LABEL: "iceberg", **derived.identity_pod_labels(platform)},
        "resources": ds.resources(catalog.resources),
        "podDisruptionBudget": {"enabled": True, "maxUnavailable": 1},
        # The chart fills in each constraint's labelSelector with the server pods' selector labels.
        "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": ZONE_KEY, "whenUnsatisfiable": "DoNotSchedule"},
                                      {"maxSkew": 1, "topologyKey": HOST_KEY, "whenUnsatisfiable": "ScheduleAnyway"}],
        "nodeSelector": place["nodeSelector"],
        "persistence": {"type": "relational-jdbc",
                        "relationalJdbc": {"secret": {"name": DB_SECRET, "username": "username", "password": "password",
                                                      "jdbcUrl": JDBC_URL_KEY if managed_postgres(platform) else ""}}},
        "advancedConfig": {**({} if managed_postgres(platform) else {"quarkus.datasource.jdbc.url": jdbc_url(platform)}),
                           "quarkus.http.access-log.enabled": "true"},
        "realmContext": {"type": "default", "realms": [catalog.realm]},
        "features": {"SUPPORTED_CATALOG_STORAGE_TYPES": [STORAGE_TYPES[platform.cluster.provider]]},
        "authentication": {"type": "internal", "tokenBroker": {"type": "rsa-key-pair", "secret": {"name": TOKEN_BROKER_SECRET}}},
        "metrics": {"enabled": True},
        "serviceMonitor": {"enabled": True},
        "extraEnv": env,
    }
    if "tolerations" in place:
        result["tolerations"] = place["tolerations"]
    return result


def charts(platform: Platform) -> list[HelmRelease]:
    """The polaris chart (after the PostgreSQL Cluster it stores its metadata in)."""
    return [HelmRelease(RELEASE, platform.datastores.iceberg.catalog.chart, NAMESPACE, values(platform), sync_wave=1)]


# --------------------------------------------------------------------------- jobs


def scripts() -> KubeObject:
    """The setup and maintenance programs, as the drill runs them (the files of ``plinth.lakehouse``)."""
    data = {Path(module.__file__).name: Path(module.__file__).read_text(encoding="utf-8")  # type: ignore[arg-type]
            for module in (catalog_setup, maintenance)}
    return k8s_object("v1", "ConfigMap", SCRIPTS, NAMESPACE, labels=labels(NAME, SCRIPTS), data=data)


def _job_pod(platform: Platform, job: str, containers: list[dict[str, Any]], volumes: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "metadata": {"labels": {**labels(NAME, job), JOB_LABEL: job, **derived.identity_pod_labels(platform)}},
        "spec": {
            **ds.placement(platform),
            "serviceAccountName": SERVICE_ACCOUNT,
            "restartPolicy": "Never",
            "securityContext": restricted_pod_security_context(),
            "containers": containers,
            "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}, *volumes],
        },
    }


def _container(name: str, image: str, *, command: list[str], args: list[str], env: list[dict[str, Any]],
               mounts: list[dict[str, Any]], cpu: str, cpu_limit: str, memory: str) -> dict[str, Any]:
    return {"name": name, "image": image, "imagePullPolicy": "Always", "command": command, "args": args, "env": env,
            "resources": {"requests": {"cpu": cpu, "memory": memory}, "limits": {"cpu": cpu_limit, "memory": memory}},
            "securityContext": restricted_container_security_context(),
            "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}, *mounts]}


ROOT_VOLUME = {"name": "root", "secret": {"secretName": ROOT_SECRET, "defaultMode": 0o440}}
SCRIPTS_VOLUME = {"name": "scripts", "configMap": {"name": SCRIPTS}}
ROOT_MOUNT = {"name": "root", "mountPath": "/credentials/root", "readOnly": True}
SCRIPTS_MOUNT = {"name": "scripts", "mountPath": "/opt/plinth", "readOnly": True}


def bootstrap_job(platform: Platform) -> KubeObject:
    """The realm's bootstrap (schema and root principal), run once with Polaris' admin tool. Bootstrap fails on a
    realm that exists (apache/polaris#2324), so the Job is applied once and kept: delete it only for a new realm."""
    catalog = platform.datastores.iceberg.catalog
    app_version = platform.charts[catalog.chart].app_version
    secret_env = lambda var, secret, key: {"name": var, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}  # noqa: E731
    env = [{"name": "POLARIS_PERSISTENCE_TYPE", "value": "relational-jdbc"},
           (secret_env("QUARKUS_DATASOURCE_JDBC_URL", DB_SECRET, JDBC_URL_KEY) if managed_postgres(platform)
            else {"name": "QUARKUS_DATASOURCE_JDBC_URL", "value": jdbc_url(platform)}),
           secret_env("QUARKUS_DATASOURCE_USERNAME", DB_SECRET, "username"),
           secret_env("QUARKUS_DATASOURCE_PASSWORD", DB_SECRET, "password"),
           secret_env("ROOT_CLIENT_ID", ROOT_SECRET, "client-id"),
           secret_env("ROOT_CLIENT_SECRET", ROOT_SECRET, "client-secret")]
    container = _container("bootstrap", f"{ADMIN_TOOL_IMAGE}:{app_version}", command=["/opt/jboss/container/java/run/run-java.sh"],
                           args=["bootstrap", "--realm", catalog.realm, "--credential", f"{catalog.realm},$(ROOT_CLIENT_ID),$(ROOT_CLIENT_SECRET)"],
                           env=env, mounts=[{"name": "home", "mountPath": "/home/default"}], cpu="250m", cpu_limit="1", memory="512Mi")
    # The root filesystem stays read-only: the JVM's temporary files go to /tmp, the launcher's to the user's home.
    container["env"] += [{"name": "HOME", "value": "/home/default"}, {"name": "JAVA_OPTS_APPEND", "value": "-Djava.io.tmpdir=/tmp"}]
    pod = _job_pod(platform, BOOTSTRAP_JOB, [container], [{"name": "home", "emptyDir": {"sizeLimit": "64Mi"}}])
    pod["spec"]["automountServiceAccountToken"] = False
    return k8s_object("batch/v1", "Job", BOOTSTRAP_JOB, NAMESPACE, labels=labels(NAME, BOOTSTRAP_JOB),
                      annotations={"argocd.argoproj.io/sync-wave": "1"},
                      spec={"backoffLimit": 6, "template": pod})


def _cronjob(name: str, schedule: str, pod: dict[str, Any], deadline_seconds: int) -> KubeObject:
    return k8s_object("batch/v1", "CronJob", name, NAMESPACE, labels=labels(NAME, name), spec={
        "schedule": schedule, "timeZone": "Etc/UTC", "concurrencyPolicy": "Forbid",
        "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 3,
        "jobTemplate": {"spec": {"backoffLimit": 2, "activeDeadlineSeconds": deadline_seconds, "template": pod}},
    })


def setup_cronjob(platform: Platform) -> KubeObject:
    """The catalog and each Iceberg-using service's principal, reconciled every 15 minutes (idempotent)."""
    catalog = platform.datastores.iceberg.catalog
    args = ["/opt/plinth/catalog_setup.py", "--api", api_base(), "--realm", catalog.realm,
            "--root-client-id-file", "/credentials/root/client-id", "--root-client-secret-file", "/credentials/root/client-secret",
            "--catalog", catalog.warehouse, "--base-location", warehouse_location(platform),
            "--storage-type", STORAGE_TYPES[platform.cluster.provider], "--region", _warehouse_target(platform).primary.region]
    volumes, mounts = [ROOT_VOLUME, SCRIPTS_VOLUME], [ROOT_MOUNT, SCRIPTS_MOUNT]
    for service in iceberg_services(platform):
        args += ["--service", f"{service}={principal_dir(service)}"]
        volumes.append({"name": f"principal-{service}", "secret": {"secretName": principal_secret(service), "defaultMode": 0o440}})
        mounts.append({"name": f"principal-{service}", "mountPath": principal_dir(service), "readOnly": True})
    container = _container("setup", image_reference(platform.datastores.iceberg.maintenance.image), command=["python3"], args=args,
                           env=[{"name": "HOME", "value": "/tmp"}], mounts=mounts, cpu="50m", cpu_limit="500m", memory="128Mi")
    pod = _job_pod(platform, SETUP_JOB, [container], volumes)
    pod["spec"]["automountServiceAccountToken"] = False
    return _cronjob(SETUP_JOB, SETUP_SCHEDULE, pod, 600)


def maintenance_cronjob(platform: Platform) -> KubeObject:
    """Snapshot expiry and orphan-file removal on the spec's schedule (``plinth.lakehouse.maintenance``)."""
    m = platform.datastores.iceberg.maintenance
    container = _container("maintenance", image_reference(m.image), command=["python3"],
                           args=["/opt/plinth/maintenance.py", *maintenance_args(platform)],
                           env=[{"name": "HOME", "value": "/tmp"}], mounts=[ROOT_MOUNT, SCRIPTS_MOUNT], cpu="250m", cpu_limit="2", memory="1Gi")
    pod = _job_pod(platform, MAINTENANCE_JOB, [container], [ROOT_VOLUME, SCRIPTS_VOLUME])
    pod["spec"]["automountServiceAccountToken"] = False
    return _cronjob(MAINTENANCE_JOB, m.schedule, pod, 6 * 3600)


# --------------------------------------------------------------------------- flows


def flows(platform: Platform) -> list[Flow]:
    """The services that ``uses: iceberg`` (``app_services``) reach the catalog; the catalog reaches its database
    through the PgBouncer pooler and the warehouse with its workload identity; the bootstrap Job reaches the database;
    the setup and maintenance jobs reach the catalog's API, the maintenance job also the warehouse (expiry and
    orphan removal delete files). Prometheus scrapes the management port (the chart's ServiceMonitor)."""
    servers = Pods.of(NAMESPACE, SERVER_LABELS)
    job = lambda name: Pods.of(NAMESPACE, {JOB_LABEL: name})  # noqa: E731
    (pooler_labels, pooler_ports), = DATASTORE_CLIENT_PODS["postgres"]
    pooler: Pods | External = Pods.of(NAMESPACE, pooler_labels)
    if managed_postgres(platform):
        pooler, pooler_ports = MANAGED_STORES, (derived.managed_store_port(platform, "postgres"),)
    return [
        flow(servers, pooler, pooler_ports, "the catalog keeps its metadata in PostgreSQL (JDBC through PgBouncer)"),
        flow(servers, CLOUD_OBJECT_STORAGE, HTTPS, "the catalog reads and writes table metadata in the Iceberg warehouse"),
        flow(servers, CLOUD_IDENTITY, HTTPS, "workload identity: a token for the Iceberg bucket"),
        flow(job(BOOTSTRAP_JOB), pooler, pooler_ports, "the realm's bootstrap creates the schema and the root principal"),
        flow(job(SETUP_JOB), servers, HTTP_PORT, "the setup job reconciles the catalog and the services' principals"),
        flow(job(MAINTENANCE_JOB), servers, HTTP_PORT, "the maintenance job loads and commits tables through the catalog"),
        flow(job(MAINTENANCE_JOB), CLOUD_OBJECT_STORAGE, HTTPS, "snapshot expiry and orphan removal delete warehouse files"),
        flow(job(MAINTENANCE_JOB), CLOUD_IDENTITY, HTTPS, "workload identity: a token for the Iceberg bucket"),
        scrape(servers, MANAGEMENT_PORT),
    ]


def objects(platform: Platform) -> list[KubeObject]:
    """Every object of the catalog besides the chart."""
    # A cloud-managed PostgreSQL gets the catalog's database from the cloud layer, not from a CloudNativePG Database.
    return [*secrets(platform), *([] if managed_postgres(platform) else [database(platform)]), scripts(), bootstrap_job(platform), setup_cronjob(platform),
            maintenance_cronjob(platform)]


# --------------------------------------------------------------------------- alerts and panels


def _selector(**extra: str) -> str:
    matchers = {"namespace": NAMESPACE, "application": "Polaris", **extra}
    return ",".join(f'{k}=~"{v}"' if k in ("uri", "status") else f'{k}="{v}"' for k, v in matchers.items())


def _commit_selector(**extra: str) -> str:
    uris = "|".join(u.replace("{", "\\\\{").replace("}", "\\\\}") for u in COMMIT_URIS)
    return _selector(method="POST", uri=uris, **extra)


def _commit_ratio(status: str) -> str:
    total = f"sum by (namespace) (rate({HTTP_METRIC}_count{{{_commit_selector()}}}[10m]))"
    part = f"sum by (namespace) (rate({HTTP_METRIC}_count{{{_commit_selector(status=status)}}}[10m]))"
    return f"{part} / {total}"


def alerts(platform: Platform) -> list[RuleGroup]:
    """Catalog down or short of replicas, commits failing or conflicting, maintenance not running."""
    replicas = platform.datastores.iceberg.catalog.replicas
    available = f'kube_deployment_status_replicas_available{{namespace="{NAMESPACE}",deployment="{SERVICE}"}}'
    days = retention_days(platform)
    kept = f"{days} days" if days is not None else "forever"
    return [RuleGroup("iceberg-catalog", (
        AlertRule(
            name="IcebergCatalogDown",
            expr=f"max by (namespace, deployment) ({available}) < 1",
            for_="3m", severity="critical", labels={"datastore": "iceberg"},
            summary="The Iceberg REST catalog has no ready server",
            description="No catalog server is ready: every Iceberg read and commit (the pipelines' writes) fails until one is.",
        ),
        AlertRule(
            name="IcebergCatalogReplicasMissing",
            expr=f"max by (namespace, deployment) ({available}) < {replicas}",
            for_="15m", severity="warning", labels={"datastore": "iceberg"},
            summary="The Iceberg REST catalog runs with fewer than its replicas",
            description=f"Fewer than {replicas} catalog servers have been ready for 15 minutes: one more loss (a zone) may leave "
                        "the catalog without a server.",
        ),
        AlertRule(
            name="IcebergCommitErrors",
            expr=f'{_commit_ratio("5..")} > {COMMIT_ERROR_RATIO}',
            for_="10m", severity="critical", labels={"datastore": "iceberg"},
            summary="Iceberg table commits fail with server errors",
            description=f"More than {COMMIT_ERROR_RATIO:.0%} of table commits through the catalog have failed with a server error "
                        "for 10 minutes (PostgreSQL or object storage unreachable?): writers retry, then lose their batches.",
        ),
        AlertRule(
            name="IcebergCommitConflictsHigh",
            expr=f'{_commit_ratio("409")} > {COMMIT_CONFLICT_RATIO}',
            for_="15m", severity="warning", labels={"datastore": "iceberg"},
            summary="Iceberg table commits keep conflicting",
            description=f"More than {COMMIT_CONFLICT_RATIO:.0%} of table commits have been refused as conflicts for 15 minutes: "
                        "writers race for the same tables and waste their work (orphan files grow).",
        ),
        AlertRule(
            name="IcebergMaintenanceStale",
            expr=(f'time() - max by (namespace, cronjob) (kube_cronjob_status_last_successful_time{{namespace="{NAMESPACE}",'
                  f'cronjob="{MAINTENANCE_JOB}"}}) > {MAINTENANCE_STALE_SECONDS}'),
            for_="1h", severity="warning", labels={"datastore": "iceberg"},
            summary="Iceberg table maintenance has not succeeded for two days",
            description=f"The maintenance job has not succeeded for {MAINTENANCE_STALE_SECONDS // 86400} days: history beyond the "
                        f"retention ({kept}) and orphan files are not removed, and storage grows.",
        ),
    ))]


def alert_tests(platform: Platform) -> list[AlertTest]:
    """promtool cases for the catalog alerts."""
    replicas = platform.datastores.iceberg.catalog.replicas
    dep = f'kube_deployment_status_replicas_available{{namespace="{NAMESPACE}",deployment="{SERVICE}"}}'
    labels_ = {"namespace": NAMESPACE, "deployment": SERVICE}

    def commits(status: str, per_minute: float) -> dict[str, str]:
        series = (f'{HTTP_METRIC}_count{{namespace="{NAMESPACE}",application="Polaris",method="POST",'
                  f'uri="{COMMIT_URIS[0]}",status="{status}",outcome="X",pod="polaris-0"}}')
        return {"series": series, "values": f"0+{per_minute:g}x40"}

    cron = f'kube_cronjob_status_last_successful_time{{namespace="{NAMESPACE}",cronjob="{MAINTENANCE_JOB}"}}'
    horizon = MAINTENANCE_STALE_SECONDS + 2 * 3600
    return [
        AlertTest.one_series("IcebergCatalogDown", dep, "0x10", f"{replicas}x10", "5m", labels_),
        AlertTest.one_series("IcebergCatalogReplicasMissing", dep, f"{replicas - 1}x30", f"{replicas}x30", "20m", labels_),
        AlertTest("IcebergCommitErrors", (commits("200", 60), commits("500", 30)), (commits("200", 60), commits("409", 5)), "30m",
                  {"namespace": NAMESPACE}),
        AlertTest("IcebergCommitConflictsHigh", (commits("200", 60), commits("409", 60)), (commits("200", 60), commits("409", 1)),
                  "30m", {"namespace": NAMESPACE}),
        AlertTest.one_series("IcebergMaintenanceStale", cron, f"0x{horizon // 60}", f"{horizon - 3600}x{horizon // 60}",
                             f"{horizon // 60 - 10}m", {"namespace": NAMESPACE, "cronjob": MAINTENANCE_JOB}),
    ]


def panels(platform: Platform) -> list[Panel]:
    """Pipeline-execution row: commits by outcome, commit latency, ready catalog servers, maintenance age."""
    sel = _commit_selector()
    return [
        Panel("pipeline-execution", "Iceberg commits per second by status",
              (f"sum by (status) (rate({HTTP_METRIC}_count{{{sel}}}[$__rate_interval]))",), unit="reqps", legend=("{{status}}",)),
        Panel("pipeline-execution", "Iceberg commit latency (mean)",
              (f"sum(rate({HTTP_METRIC}_sum{{{sel}}}[$__rate_interval])) / sum(rate({HTTP_METRIC}_count{{{sel}}}[$__rate_interval]))",),
              unit="s"),
        Panel("pipeline-execution", f"Iceberg catalog servers ready (of {platform.datastores.iceberg.catalog.replicas})",
              (f'max(kube_deployment_status_replicas_available{{namespace="{NAMESPACE}",deployment="{SERVICE}"}})',), kind="stat"),
        Panel("pipeline-execution", "Iceberg maintenance: time since last success",
              (f'time() - max(kube_cronjob_status_last_successful_time{{namespace="{NAMESPACE}",cronjob="{MAINTENANCE_JOB}"}})',),
              unit="s", kind="stat"),
    ]


COMPONENT = Component(
    name=NAME,
    namespace=NAMESPACE,
    objects=objects,
    charts=charts,
    alerts=alerts,
    alert_tests=alert_tests,
    panels=panels,
    sync_wave=1,
    flows=flows,
)
