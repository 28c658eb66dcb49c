"""Least-privilege checks on the data plane (PL-SEC-*): every ``uses`` edge of the spec has its own identity in the
store, a grant or ACL and a secret; no identity can do more than its edge; no Kafka listener reachable from
applications is plaintext or unauthenticated; no namespace admits more than its pods need (Pod Security).

What each service should have is ``plinth.spec.access``; what it has is read back from the rendered objects
(CloudNativePG managed roles, Databases and pg_hba; the ClickHouseInstallation's users; KafkaUsers; the Redis
ACL file's template; the ExternalSecrets both sides read the password from; the workloads' secret volumes).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from plinth.charts.union import Item
from plinth.checks.engine import Check, CheckContext, Finding
from plinth.components.registry import ALL_COMPONENTS
from plinth.kube.admission import BASELINE_CAPABILITIES, host_access_refusals, policy_name
from plinth.kube.conventions import DATASTORE_NAMES
from plinth.kube.objects import get
from plinth.kube.pods import PodGroup
from plinth.render.stages import host_access_agents
from plinth.spec.access import (IDENTITY_STORES, KAFKA_CONSUME_OPERATIONS, KAFKA_PRODUCE_OPERATIONS, StoreIdentity, identities, kafka_users,
                                platform_postgres_roles)
from plinth.spec.derived import remote_secret_name, secret_name_separator, secret_scopes

APPS_NAMESPACE = "platform-apps"
DATA_NAMESPACE = "platform-data"
ROLE_ATTRIBUTES = ("superuser", "createdb", "createrole", "replication", "bypassrls")
"""PostgreSQL role attributes no service role may have."""
REDIS_FORBIDDEN_CATEGORIES = ("-@admin", "-@dangerous")
"""Command categories a Redis service user must be denied."""


# --------------------------------------------------------------------------- reading the objects


@dataclass(frozen=True)
class SecretSource:
    """A Secret an ExternalSecret writes: where, from which remote keys, with which templated keys."""

    item: Item
    namespace: str
    name: str
    remote_keys: frozenset[str]
    template: dict[str, Any]


def store_prefixes(ctx: CheckContext) -> dict[str, str]:
    """The prefix each ClusterSecretStore adds to every key it reads (AWS ``prefix``; empty for the other providers)."""
    return {str(get(i.obj, "metadata.name")): str(get(i.obj, "spec.provider.aws.prefix") or "") for i in ctx.of_kind("ClusterSecretStore")}


def remote_entries(obj: dict[str, Any], prefixes: dict[str, str]) -> list[tuple[int, str, str]]:
    """(index, store, full remote name) of each ``data`` entry of an ExternalSecret: the store it reads through (its own
    ``sourceRef`` or the ExternalSecret's) and the key with that store's prefix."""
    default = str(get(obj, "spec.secretStoreRef.name", ""))
    result = []
    for index, entry in enumerate(get(obj, "spec.data", []) or []):
        store = str(get(entry, "sourceRef.storeRef.name") or default)
        result.append((index, store, prefixes.get(store, "") + str(get(entry, "remoteRef.key", ""))))
    return result


def secret_sources(ctx: CheckContext) -> dict[tuple[str, str], SecretSource]:
    """Every ExternalSecret's target Secret, by (namespace, name), with the full remote names it reads."""
    prefixes = store_prefixes(ctx)
    result: dict[tuple[str, str], SecretSource] = {}
    for item in ctx.of_kind("ExternalSecret"):
        meta = item.obj.get("metadata", {})
        ns = meta.get("namespace", "")
        target = get(item.obj, "spec.target.name") or meta.get("name", "")
        keys = frozenset(full for _, _, full in remote_entries(item.obj, prefixes))
        result[(ns, target)] = SecretSource(item, ns, target, keys, get(item.obj, "spec.target.template.data", {}) or {})
    return result


def _remote(ctx: CheckContext, identity: StoreIdentity) -> str:
    return remote_secret_name(ctx.platform, identity.remote_key)


def _mounted_secrets(item: Item) -> set[str]:
    """Secrets a workload's pods mount as volumes or read in env."""
    pod = get(item.obj, "spec.template.spec", {}) or {}
    names = {get(v, "secret.secretName") for v in pod.get("volumes", []) or []}
    for c in pod.get("containers", []) or []:
        names |= {get(e, "valueFrom.secretKeyRef.name") for e in c.get("env", []) or []}
        names |= {get(e, "secretRef.name") for e in c.get("envFrom", []) or []}
    return {n for n in names if n}


def _service_workload(ctx: CheckContext, service: str) -> Item | None:
    for kind in ("Rollout", "Deployment"):
        item = ctx.find(kind, APPS_NAMESPACE, service)
        if item is not None:
            return item
    return None


def _client_secret(ctx: CheckContext, sources: dict[tuple[str, str], SecretSource], identity: StoreIdentity) -> SecretSource | None:
    """The Secret the service's pods mount that carries this identity (its user name and its remote password)."""
    workload = _service_workload(ctx, identity.service)
    if workload is None:
        return None
    for name in sorted(_mounted_secrets(workload)):
        source = sources.get((APPS_NAMESPACE, name))
        if source and _remote(ctx, identity) in source.remote_keys and source.template.get("username") == identity.user:
            return source
    return None


def _store_secret_reads(sources: dict[tuple[str, str], SecretSource], namespace: str, name: str, remote: str) -> bool:
    source = sources.get((namespace, name))
    return bool(source and remote in source.remote_keys)


# --------------------------------------------------------------------------- per store: identity, grant, server-side secret


def _postgres(ctx: CheckContext, sources: dict[tuple[str, str], SecretSource], identity: StoreIdentity) -> list[str]:
    cluster = ctx.find("Cluster", DATA_NAMESPACE, DATASTORE_NAMES["postgres"])
    if cluster is None:
        return [f"no CloudNativePG Cluster {DATASTORE_NAMES['postgres']} rendered"]
    problems = []
    roles = {r.get("name"): r for r in get(cluster.obj, "spec.managed.roles", []) or []}
    role = roles.get(identity.user)
    if role is None or role.get("login") is not True or role.get("ensure", "present") != "present":
        problems.append(f"no managed login role {identity.user} in Cluster {DATASTORE_NAMES['postgres']}")
    elif not _store_secret_reads(sources, DATA_NAMESPACE, str(get(role, "passwordSecret.name", "")), _remote(ctx, identity)):
        problems.append(f"role {identity.user}'s passwordSecret is not written from {_remote(ctx, identity)}")
    owned = [d for d in ctx.of_kind("Database") if get(d.obj, "spec.name") == identity.database
             and get(d.obj, "spec.owner") == identity.user and get(d.obj, "spec.cluster.name") == DATASTORE_NAMES["postgres"]]
    if not owned:
        problems.append(f"no Database {identity.database} owned by {identity.user}")
    hba = [" ".join(str(line).split()) for line in get(cluster.obj, "spec.postgresql.pg_hba", []) or []]
    if not any(line.startswith(f"host {identity.database} {identity.user} ") or line.startswith(f"hostssl {identity.database} {identity.user} ")
               for line in hba):
        problems.append(f"no pg_hba rule admitting {identity.user} to {identity.database}")
    return problems


def _clickhouse_users(ctx: CheckContext) -> tuple[Item | None, dict[str, dict[str, Any]]]:
    chi = ctx.find("ClickHouseInstallation", DATA_NAMESPACE, DATASTORE_NAMES["clickhouse"])
    users: dict[str, dict[str, Any]] = {}
    if chi is None:
        return None, users
    for key, value in (get(chi.obj, "spec.configuration.users", {}) or {}).items():
        user, _, setting = str(key).partition("/")
        users.setdefault(user, {})[setting] = value
    return chi, users


def _clickhouse(ctx: CheckContext, sources: dict[tuple[str, str], SecretSource], identity: StoreIdentity) -> list[str]:
    chi, users = _clickhouse_users(ctx)
    if chi is None:
        return [f"no ClickHouseInstallation {DATASTORE_NAMES['clickhouse']} rendered"]
    user = users.get(identity.user)
    if user is None:
        return [f"no ClickHouse user {identity.user}"]
    problems = []
    ref = str(user.get("k8s_secret_password", ""))
    parts = ref.split("/")
    ns, name = (parts[0], parts[1]) if len(parts) == 3 else (DATA_NAMESPACE, parts[0])
    if not _store_secret_reads(sources, ns, name, _remote(ctx, identity)):
        problems.append(f"ClickHouse user {identity.user}'s password is not read from {_remote(ctx, identity)}")
    grants = user.get("grants/query") or []
    if not any(f"ON {identity.database}.*" in str(g) for g in grants):
        problems.append(f"ClickHouse user {identity.user} has no grant on its database {identity.database}")
    return problems


def _kafka_user_items(ctx: CheckContext) -> dict[str, Item]:
    return {str(get(i.obj, "metadata.name")): i for i in ctx.of_kind("KafkaUser")
            if get(i.obj, "metadata.namespace") == DATA_NAMESPACE}


def _kafka_acls(item: Item) -> list[tuple[str, str, str, frozenset[str]]]:
    """(resource type, name, pattern type, operations) of a KafkaUser's ACLs."""
    return [(str(get(a, "resource.type", "")), str(get(a, "resource.name", "")), str(get(a, "resource.patternType", "literal")),
             frozenset(a.get("operations", []) or ([a["operation"]] if "operation" in a else [])))
            for a in get(item.obj, "spec.authorization.acls", []) or [] if a.get("type", "allow") == "allow"]


def _kafka(ctx: CheckContext, sources: dict[tuple[str, str], SecretSource], identity: StoreIdentity) -> list[str]:
    item = _kafka_user_items(ctx).get(identity.user)
    if item is None:
        return [f"no KafkaUser {identity.user}"]
    problems = []
    if get(item.obj, "spec.authentication.type") != "scram-sha-512":
        problems.append(f"KafkaUser {identity.user} does not authenticate with SCRAM-SHA-512")
    secret = str(get(item.obj, "spec.authentication.password.valueFrom.secretKeyRef.name", ""))
    if not _store_secret_reads(sources, DATA_NAMESPACE, secret, _remote(ctx, identity)):
        problems.append(f"KafkaUser {identity.user}'s password is not read from {_remote(ctx, identity)}")
    acls = _kafka_acls(item)
    for needed in identity.kafka_acls:
        if not any(t == needed.resource_type and n == needed.name and set(needed.operations) <= ops for t, n, _, ops in acls):
            problems.append(f"KafkaUser {identity.user} lacks {'/'.join(needed.operations)} on {needed.resource_type} {needed.name}")
    return problems


def _redis_acl_lines(ctx: CheckContext, sources: dict[tuple[str, str], SecretSource]) -> tuple[dict[str, str], SecretSource | None]:
    replication = ctx.find("RedisReplication", DATA_NAMESPACE, DATASTORE_NAMES["redis"])
    name = get(replication.obj, "spec.acl.secret.secretName") if replication else None
    source = sources.get((DATA_NAMESPACE, str(name))) if name else None
    text = str((source.template if source else {}).get("user.acl", ""))
    lines = {}
    for line in text.splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] == "user":
            lines[words[1]] = line
    return lines, source


def _redis(ctx: CheckContext, sources: dict[tuple[str, str], SecretSource], identity: StoreIdentity) -> list[str]:
    lines, source = _redis_acl_lines(ctx, sources)
    if source is None:
        return [f"RedisReplication {DATASTORE_NAMES['redis']} has no ACL file written by an ExternalSecret"]
    line = lines.get(identity.user)
    if line is None or " on " not in f" {line} ":
        return [f"no enabled Redis ACL user {identity.user}"]
    problems = []
    if _remote(ctx, identity) not in source.remote_keys:
        problems.append(f"Redis ACL user {identity.user}'s password is not read from {_remote(ctx, identity)}")
    if f"~{identity.redis_keys}" not in line.split():
        problems.append(f"Redis ACL user {identity.user} is not granted its keys {identity.redis_keys}")
    return problems


STORE_READERS = {"postgres": _postgres, "clickhouse": _clickhouse, "kafka": _kafka, "redis": _redis}


def uses_edges_have_identities(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    """Every (service, store) edge of ``uses`` has its own identity in the store, a grant or ACL, the store's side
    of its password from the secret store, and the service mounts a Secret with that identity."""
    sources = secret_sources(ctx)
    for identity in identities(ctx.platform):
        problems = STORE_READERS[identity.store](ctx, sources, identity)
        workload = _service_workload(ctx, identity.service)
        if workload is not None and _client_secret(ctx, sources, identity) is None:
            problems.append(f"the service mounts no Secret with user {identity.user} and the password {_remote(ctx, identity)}")
        for problem in problems:
            ref = workload if workload is not None else ctx.expected_ref("Rollout", APPS_NAMESPACE, identity.service)
            yield check.finding(ctx, ref, f"uses.{identity.store}", f"{identity.service} uses {identity.store}: {problem}")


# --------------------------------------------------------------------------- no more than the edge


def _service_of_user(ctx: CheckContext, store: str) -> dict[str, StoreIdentity]:
    return {i.user: i for i in identities(ctx.platform, store)}


def identities_grant_no_more(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    """No identity can do more than its ``uses`` edge: no store user for a service that does not use the store,
    no grant outside its own database, topics, group or key prefix, no admin attribute, and no service mounts
    credentials of another service's identity."""
    # PostgreSQL
    cluster = ctx.find("Cluster", DATA_NAMESPACE, DATASTORE_NAMES["postgres"])
    if cluster is not None:
        known = _service_of_user(ctx, "postgres")
        own_databases = {**{user: i.database for user, i in known.items()}, **platform_postgres_roles(ctx.platform)}
        for index, role in enumerate(get(cluster.obj, "spec.managed.roles", []) or []):
            path = f"spec.managed.roles.{index}"
            if role.get("name") not in own_databases:
                yield check.finding(ctx, cluster, path, f"role {role.get('name')} belongs to no service that uses postgres")
            granted = [a for a in ROLE_ATTRIBUTES if role.get(a) is True] + [f"member of {r}" for r in role.get("inRoles", []) or []]
            if granted:
                yield check.finding(ctx, cluster, path, f"role {role.get('name')} has {', '.join(granted)}: a service role owns its database, nothing more")
        users = set(own_databases)
        for index, line in enumerate(get(cluster.obj, "spec.postgresql.pg_hba", []) or []):
            words = str(line).split()
            if len(words) >= 4 and words[0] in ("host", "hostssl", "hostnossl") and words[-1] != "reject":
                database, user = words[1], words[2]
                if user in ("all",) or (user in own_databases and database != own_databases[user]):
                    yield check.finding(ctx, cluster, f"spec.postgresql.pg_hba.{index}",
                                        f"pg_hba line {line!r} admits {user} to {database}: a service role reaches its own database only")
                if words[-1] in ("trust", "password", "md5") and user in users | {"all"}:
                    yield check.finding(ctx, cluster, f"spec.postgresql.pg_hba.{index}", f"pg_hba line {line!r} does not require SCRAM")
    owned = {**{user: i.database for user, i in _service_of_user(ctx, "postgres").items()}, **platform_postgres_roles(ctx.platform)}
    for item in ctx.of_kind("Database"):
        owner, name = get(item.obj, "spec.owner"), get(item.obj, "spec.name")
        if str(owner) in owned and owned[str(owner)] != name:
            yield check.finding(ctx, item, "spec.owner", f"{owner} owns database {name}, not only its own {owned[str(owner)]}")
    # ClickHouse
    chi, users_config = _clickhouse_users(ctx)
    if chi is not None:
        known = _service_of_user(ctx, "clickhouse")
        for user, settings in sorted(users_config.items()):
            identity = known.get(user)
            if identity is None:
                continue
            for index, grant in enumerate(settings.get("grants/query") or []):
                scope = re.search(r"\bON\s+(\S+)", str(grant))
                if scope is None or scope.group(1) != f"{identity.database}.*":
                    yield check.finding(ctx, chi, f"spec.configuration.users.{user}/grants/query.{index}",
                                        f"ClickHouse user {user} is granted {grant!r}: a service user acts on {identity.database}.* only")
    # Kafka
    expected = {i.user: i for i in kafka_users(ctx.platform)}
    for user, item in sorted(_kafka_user_items(ctx).items()):
        identity = expected.get(user)
        if identity is None:
            yield check.finding(ctx, item, "metadata.name", f"KafkaUser {user} belongs to no service that uses kafka")
            continue
        allowed = {(a.resource_type, a.name): set(a.operations) for a in identity.kafka_acls}
        for index, (rtype, name, pattern, ops) in enumerate(_kafka_acls(item)):
            extra = sorted(ops - allowed.get((rtype, name), set()))
            if pattern != "literal" or name == "*" or extra:
                what = f"{'/'.join(extra) or '/'.join(sorted(ops))} on {rtype} {name}" + (f" ({pattern})" if pattern != "literal" else "")
                yield check.finding(ctx, item, f"spec.authorization.acls.{index}",
                                    f"KafkaUser {user} may {what}, beyond what {identity.service} produces/consumes")
    # Redis
    lines, source = _redis_acl_lines(ctx, secret_sources(ctx))
    if source is not None:
        known = _service_of_user(ctx, "redis")
        for user, line in sorted(lines.items()):
            if user == "default":
                continue
            identity = known.get(user)
            words = line.split()
            keys = [w for w in words if w.startswith("~") or w.startswith("%") or w == "allkeys"]
            if identity is None:
                yield check.finding(ctx, source.item, "spec.target.template.data.user.acl", f"Redis user {user} belongs to no service that uses redis")
            elif keys != [f"~{identity.redis_keys}"] or not all(c in words for c in REDIS_FORBIDDEN_CATEGORIES):
                yield check.finding(ctx, source.item, "spec.target.template.data.user.acl",
                                    f"Redis user {user} may touch {' '.join(keys) or 'every key'} or admin commands; "
                                    f"its keys are ~{identity.redis_keys} and it is denied {' '.join(REDIS_FORBIDDEN_CATEGORIES)}")
    # A service mounts only its own identities.
    sources = secret_sources(ctx)
    owners = {remote_secret_name(ctx.platform, i.remote_key): i for i in identities(ctx.platform)}
    owners.update({remote_secret_name(ctx.platform, i.remote_key): i for i in kafka_users(ctx.platform)})
    for name in sorted(ctx.platform.services):
        workload = _service_workload(ctx, name)
        if workload is None:
            continue
        for secret in sorted(_mounted_secrets(workload)):
            source = sources.get((APPS_NAMESPACE, secret))
            for key in sorted(source.remote_keys if source else ()):
                owner = owners.get(key)
                if owner is not None and owner.service != name:
                    yield check.finding(ctx, workload, "spec.template.spec.volumes",
                                        f"{name} mounts Secret {secret} with {owner.service}'s {owner.store} identity ({key})")


# --------------------------------------------------------------------------- listeners


def no_plaintext_listeners(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    """Kafka listeners serve TLS and authenticate every client; Redis requires a password and an ACL file;
    every ClickHouse user has a password; PostgreSQL refuses what no rule admits."""
    for item in ctx.of_kind("Kafka"):
        for index, listener in enumerate(get(item.obj, "spec.kafka.listeners", []) or []):
            missing = [what for what, ok in (("TLS", listener.get("tls") is True),
                                             ("authentication", bool(get(listener, "authentication.type")))) if not ok]
            if missing:
                yield check.finding(ctx, item, f"spec.kafka.listeners.{index}",
                                    f"listener {listener.get('name')} on {listener.get('port')} has no {' and no '.join(missing)}: "
                                    "any pod that reaches it reads and writes every topic in clear")
        if get(item.obj, "spec.kafka.authorization.type") is None:
            yield check.finding(ctx, item, "spec.kafka.authorization", "no authorization: every authenticated user may use every topic")
    for item in ctx.of_kind("RedisReplication"):
        if not get(item.obj, "spec.kubernetesConfig.redisSecret.name"):
            yield check.finding(ctx, item, "spec.kubernetesConfig.redisSecret", "Redis accepts clients without a password")
        if not get(item.obj, "spec.acl.secret.secretName"):
            yield check.finding(ctx, item, "spec.acl", "no ACL file: every client shares the default user and its keys")
    chi, users = _clickhouse_users(ctx)
    if chi is not None:
        for user, settings in sorted(users.items()):
            if user != "default" and not any(k.startswith("password") or k.startswith("k8s_secret_password") for k in settings):
                yield check.finding(ctx, chi, f"spec.configuration.users.{user}", f"ClickHouse user {user} has no password")
    cluster = ctx.find("Cluster", DATA_NAMESPACE, DATASTORE_NAMES["postgres"])
    if cluster is not None:
        hba = [" ".join(str(line).split()) for line in get(cluster.obj, "spec.postgresql.pg_hba", []) or []]
        if "host all all all reject" not in hba:
            yield check.finding(ctx, cluster, "spec.postgresql.pg_hba",
                                "pg_hba does not end in 'host all all all reject': CloudNativePG's default admits every role to every database")


# --------------------------------------------------------------------------- secret stores


def namespaces_read_only_their_secrets(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    """Every secret store is limited to the namespaces of its subtree, and every ExternalSecret reads through a store
    its namespace may use, names inside that namespace's subtrees only (``derived.secret_scopes``)."""
    scopes = secret_scopes(ctx.platform)
    allowed_for: dict[str, set[str]] = {}
    for item in ctx.of_kind("ClusterSecretStore"):
        name = str(get(item.obj, "metadata.name"))
        conditions = get(item.obj, "spec.conditions", []) or []
        namespaces = {ns for c in conditions for ns in c.get("namespaces", []) or []}
        if not conditions or any(c.get("namespaceSelector") or c.get("namespaceRegexes") for c in conditions) or not namespaces:
            yield check.finding(ctx, item, "spec.conditions", f"store {name} is not limited to named namespaces: any namespace may read through it")
        allowed_for[name] = namespaces
    prefixes = store_prefixes(ctx)
    for item in ctx.of_kind("ExternalSecret"):
        ns = str(get(item.obj, "metadata.namespace", ""))
        readable = tuple(remote_secret_name(ctx.platform, scope) + secret_name_separator(ctx.platform) for scope in scopes.get(ns, ()))
        for index, store, full in remote_entries(item.obj, prefixes):
            if ns not in allowed_for.get(store, set()):
                yield check.finding(ctx, item, f"spec.data.{index}", f"reads through store {store}, which namespace {ns} may not use")
            if not full.startswith(readable):
                yield check.finding(ctx, item, f"spec.data.{index}.remoteRef.key",
                                    f"reads {full}, outside {ns}'s secrets ({', '.join(readable) or 'none'})")


# --------------------------------------------------------------------------- Pod Security


PSA_LEVELS = {"privileged": 2, "baseline": 1, "restricted": 0}


def pod_security_level(spec: dict[str, Any]) -> tuple[str, str]:
    """The least Pod Security level a pod spec passes (privileged, baseline or restricted) and why."""
    containers = [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]
    if spec.get("hostNetwork") or spec.get("hostPID") or spec.get("hostIPC"):
        return "privileged", "host namespaces"
    if any("hostPath" in v for v in spec.get("volumes") or []):
        return "privileged", "hostPath volumes"
    for c in containers:
        sc = c.get("securityContext") or {}
        if sc.get("privileged"):
            return "privileged", f"container {c.get('name')} is privileged"
        if set((sc.get("capabilities") or {}).get("add") or []) - BASELINE_CAPABILITIES:
            return "privileged", f"container {c.get('name')} adds capabilities"
        if any(p.get("hostPort") for p in c.get("ports") or []):
            return "privileged", f"container {c.get('name')} uses a host port"
    pod_sc = spec.get("securityContext") or {}
    for c in containers:
        sc = c.get("securityContext") or {}
        if sc.get("allowPrivilegeEscalation") is not False:
            return "baseline", f"container {c.get('name')} may escalate privileges"
        if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
            return "baseline", f"container {c.get('name')} keeps capabilities"
        if not (sc.get("runAsNonRoot") or pod_sc.get("runAsNonRoot")):
            return "baseline", f"container {c.get('name')} may run as root"
        seccomp = (sc.get("seccompProfile") or pod_sc.get("seccompProfile") or {}).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            return "baseline", f"container {c.get('name')} has no seccomp profile"
    return "restricted", "every container is restricted"


OPERATOR_POD_LEVEL = "baseline"
"""What pods an operator writes (CloudNativePG instances, Strimzi nodes, Redis, ClickHouse, Prometheus) are assumed to
need: they run unprivileged, but not all of them set a seccomp profile or drop every capability."""
POD_SPEC_PATHS = {"Deployment": "spec.template.spec", "StatefulSet": "spec.template.spec", "DaemonSet": "spec.template.spec",
                  "ReplicaSet": "spec.template.spec", "Rollout": "spec.template.spec", "Job": "spec.template.spec",
                  "CronJob": "spec.jobTemplate.spec.template.spec", "Pod": "spec"}
"""Where the pod spec of the kinds whose pods are fully written in the object lives (operators' pods are not judged:
their security context is the operator's)."""


def _pod_spec(group: PodGroup) -> dict[str, Any] | None:
    if group.obj is None or group.obj.get("kind") not in POD_SPEC_PATHS:
        return None
    spec = get(group.obj, POD_SPEC_PATHS[group.obj["kind"]])
    return spec if isinstance(spec, dict) else None


def namespaces_admit_no_more(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    """A namespace's enforced Pod Security level is no higher than its most demanding pod needs."""
    needed: dict[str, tuple[int, str]] = {}
    for group in ctx.pod_groups():
        spec = _pod_spec(group)
        if spec is not None:
            level, why = pod_security_level(spec)
        elif group.obj is not None:
            level, why = OPERATOR_POD_LEVEL, "its operator writes the pod spec (assumed to need baseline)"
        else:
            continue
        if PSA_LEVELS[level] > needed.get(group.namespace, (-1, ""))[0]:
            needed[group.namespace] = (PSA_LEVELS[level], f"{group.kind}/{group.object_name}: {why}")
    for item in ctx.of_kind("Namespace"):
        name = get(item.obj, "metadata.name")
        enforce = get(item.obj, "metadata.labels", {}).get("pod-security.kubernetes.io/enforce")
        if enforce not in PSA_LEVELS or name not in needed:
            continue
        rank, why = needed[name]
        if PSA_LEVELS[enforce] > rank:
            level = next(k for k, v in PSA_LEVELS.items() if v == rank)
            yield check.finding(ctx, item, "metadata.labels.pod-security.kubernetes.io/enforce",
                                f"enforces {enforce}, but its pods need only {level} (most demanding: {why})")


def _confining_bindings(ctx: CheckContext) -> dict[str, list[str]]:
    """Namespace -> the policies a Deny binding applies to it by its name label (policies present in the tree)."""
    policies = {get(item.obj, "metadata.name") for item in ctx.of_kind("ValidatingAdmissionPolicy")}
    result: dict[str, list[str]] = {}
    for item in ctx.of_kind("ValidatingAdmissionPolicyBinding"):
        spec = item.obj.get("spec") or {}
        namespace = (get(spec, "matchResources.namespaceSelector.matchLabels", {}) or {}).get("kubernetes.io/metadata.name")
        if namespace and "Deny" in (spec.get("validationActions") or []) and spec.get("policyName") in policies:
            result.setdefault(namespace, []).append(spec["policyName"])
    return result


def host_access_is_confined(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    """A namespace that must enforce the privileged Pod Security level gives host access to its declared node agents'
    pods only: its host-access policy is bound with Deny, and every pod there needing host access is an agent's, within
    what the agent declares (otherwise the policy would refuse it at the first sync)."""
    agents = {(a.namespace, a.daemonset): a for a in host_access_agents(ALL_COMPONENTS)}
    bound = _confining_bindings(ctx)
    privileged = set()
    for item in ctx.of_kind("Namespace"):
        name = get(item.obj, "metadata.name")
        if get(item.obj, "metadata.labels", {}).get("pod-security.kubernetes.io/enforce") != "privileged":
            continue
        privileged.add(name)
        if policy_name(name) not in bound.get(name, []):
            yield check.finding(ctx, item, "metadata.labels.pod-security.kubernetes.io/enforce",
                                f"enforces privileged with no binding of {policy_name(name)} (Deny): every pod there may use "
                                "the host's network, processes and files")
    for group in ctx.pod_groups():
        spec = _pod_spec(group)
        if spec is None or group.namespace not in privileged:
            continue
        agent = agents.get((group.namespace, group.object_name)) if group.kind == "DaemonSet" else None
        if agent and spec.get("serviceAccountName") != agent.service_account:
            agent = None
        refused = host_access_refusals(spec, agent)
        if refused:
            item = next((i for i in ctx.objects if i.obj is group.obj), None)
            if item is not None:
                yield check.finding(ctx, item, POD_SPEC_PATHS[group.kind],
                                    f"{group.kind}/{group.object_name} would be refused by {policy_name(group.namespace)}: "
                                    f"{', '.join(refused)} (host access is for the declared node agents' DaemonSets only: "
                                    "Component.host_access)")


# --------------------------------------------------------------------------- downloaded plugins


ROLLOUTS_PLUGIN_KEYS: tuple[str, ...] = ("trafficRouterPlugins", "metricPlugins", "stepPlugins")
"""Keys of Argo Rollouts' ``argo-rollouts-config`` ConfigMap listing plugins the controller downloads and runs."""


def downloaded_plugins_are_pinned(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    """Every plugin the Argo Rollouts controller downloads over the network carries the sha256 it verifies: the
    controller runs the binary with its own rights (it rewrites HTTPRoutes and Rollouts in every namespace)."""
    for item in ctx.of_kind("ConfigMap"):
        data = item.obj.get("data") or {}
        for key in ROLLOUTS_PLUGIN_KEYS:
            if key not in data:
                continue
            try:
                plugins = yaml.safe_load(data[key]) or []
            except yaml.YAMLError as exc:
                yield check.finding(ctx, item, f"data.{key}", f"{key} is not YAML: {exc}")
                continue
            for index, plugin in enumerate(plugins if isinstance(plugins, list) else []):
                location = str((plugin or {}).get("location", ""))
                if location.startswith(("http://", "https://")) and not (plugin or {}).get("sha256"):
                    yield check.finding(ctx, item, f"data.{key}.{index}",
                                        f"plugin {plugin.get('name')} is downloaded from {location} without a sha256: the "
                                        "controller would run whatever that address serves")


CHECKS = (
    Check("PL-SEC-001", "error", "tree", "Every uses edge has its own identity, grant and secret",
          "Render the service's identity in the store (plinth.spec.access: role + Database + pg_hba, ClickHouse user with "
          "grants, KafkaUser with ACLs, Redis ACL user), the store's ExternalSecret and the service's mounted one, both "
          "reading the identity's remote password.", uses_edges_have_identities,
          params={"stores": list(IDENTITY_STORES)}),
    Check("PL-SEC-002", "error", "tree", "No identity grants more than its uses edge",
          "Keep each identity to its own database, its produced/consumed topics and consumer group, its key prefix; no "
          "admin attributes; mount only the service's own credentials.", identities_grant_no_more,
          params={"role_attributes": list(ROLE_ATTRIBUTES), "produce": list(KAFKA_PRODUCE_OPERATIONS),
                  "consume": list(KAFKA_CONSUME_OPERATIONS), "redis_denied": list(REDIS_FORBIDDEN_CATEGORIES)}),
    Check("PL-SEC-003", "error", "object", "No unauthenticated or plaintext data-store listener",
          "Kafka listeners: tls true with SCRAM-SHA-512 and simple authorization; Redis: a password and an ACL file; "
          "ClickHouse users: a password; PostgreSQL: pg_hba ending in reject.", no_plaintext_listeners),
    Check("PL-SEC-004", "error", "tree", "No namespace admits more than its pods need (Pod Security)",
          "Lower the namespace's pod-security.kubernetes.io/enforce label to the most demanding pod's level, or move the "
          "pods that need more to a namespace of their own.", namespaces_admit_no_more,
          params={"levels": list(PSA_LEVELS)}),
    Check("PL-SEC-005", "error", "tree", "A namespace reads only its own secrets",
          "Read through the namespace's own store (kube/secrets.external_secret) and keep remote names in the namespace's "
          "subtree (derived.secret_scopes); limit every store to named namespaces (conditions).",
          namespaces_read_only_their_secrets),
    Check("PL-SEC-006", "warning", "object", "Downloaded controller plugins are pinned by sha256",
          "Set the plugin's sha256 from its release's published checksums (for the Gateway API plugin: "
          "delivery.gateway_plugin_sha256), or ship the binary in an image pinned by digest and point location at file://.",
          downloaded_plugins_are_pinned, params={"keys": list(ROLLOUTS_PLUGIN_KEYS)}),
    Check("PL-SEC-007", "error", "tree", "Host access in a privileged namespace is confined to its node agents",
          "Keep the host-access policy bound to the namespace (the host-access stage renders it for every privileged "
          "namespace) and declare each node agent's DaemonSet and the host features it needs in its component's host_access; "
          "run any other pod without host namespaces, hostPath, host ports, privileged containers or extra capabilities.",
          host_access_is_confined),
)
