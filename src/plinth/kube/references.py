"""What an object's pods and volume claims refer to by name: Secrets, ConfigMaps, ServiceAccounts, StorageClasses,
PriorityClasses. Each reference carries the field path it was read from, for findings.

Pod specs are found where Kubernetes keeps them (workload templates, Jobs, CronJobs, bare Pods) and where the
operators of this platform take pod-level settings in their custom resources; claims are PersistentVolumeClaims,
StatefulSet ``volumeClaimTemplates`` and the storage blocks of the operators' custom resources.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from plinth.kube.objects import get

Obj = dict[str, Any]

POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Deployment": ("spec.template.spec",),
    "StatefulSet": ("spec.template.spec",),
    "DaemonSet": ("spec.template.spec",),
    "ReplicaSet": ("spec.template.spec",),
    "Rollout": ("spec.template.spec",),
    "Job": ("spec.template.spec",),
    "CronJob": ("spec.jobTemplate.spec.template.spec",),
    "Pod": ("spec",),
    "Pooler": ("spec.template.spec",),
}
"""Kind -> where its pod specs are."""


@dataclass(frozen=True)
class Reference:
    """One name an object refers to, and whether the pod starts without it."""

    kind: str
    """Secret, ConfigMap, ServiceAccount, StorageClass or PriorityClass."""
    name: str
    field_path: str
    optional: bool = False
    """``optional: true`` (a missing object is tolerated by the kubelet)."""
    key: str | None = None
    """The key an env ``secretKeyRef``/``configMapKeyRef`` reads (the kubelet needs it too)."""

    @property
    def namespaced(self) -> bool:
        """Secrets, ConfigMaps and ServiceAccounts live in the referring object's namespace."""
        return self.kind in ("Secret", "ConfigMap", "ServiceAccount")


def pod_specs(obj: Obj) -> Iterator[tuple[str, Obj]]:
    """(path, pod spec) of every pod spec of a core workload object."""
    for path in POD_SPEC_PATHS.get(str(obj.get("kind")), ()):
        pod = get(obj, path)
        if isinstance(pod, dict):
            yield path, pod


def _containers(pod: Obj) -> Iterator[tuple[str, Obj]]:
    for list_name in ("initContainers", "containers", "ephemeralContainers"):
        for index, container in enumerate(pod.get(list_name) or []):
            if isinstance(container, dict):
                yield f"{list_name}.{index}", container


def pod_references(pod: Obj, path: str) -> Iterator[Reference]:
    """Every Secret, ConfigMap, ServiceAccount and PriorityClass a pod spec names (``path`` prefixes the field paths)."""
    yield Reference("ServiceAccount", pod.get("serviceAccountName") or pod.get("serviceAccount") or "default",
                    f"{path}.serviceAccountName")
    if pod.get("priorityClassName"):
        yield Reference("PriorityClass", pod["priorityClassName"], f"{path}.priorityClassName")
    for index, secret in enumerate(pod.get("imagePullSecrets") or []):
        if secret.get("name"):
            yield Reference("Secret", secret["name"], f"{path}.imagePullSecrets.{index}.name")
    for index, volume in enumerate(pod.get("volumes") or []):
        where = f"{path}.volumes.{index}"
        if "secret" in volume:
            yield Reference("Secret", volume["secret"].get("secretName", ""), f"{where}.secret.secretName",
                            bool(volume["secret"].get("optional")))
        if "configMap" in volume:
            yield Reference("ConfigMap", volume["configMap"].get("name", ""), f"{where}.configMap.name",
                            bool(volume["configMap"].get("optional")))
        for s_index, source in enumerate(get(volume, "projected.sources", []) or []):
            for kind, key in (("Secret", "secret"), ("ConfigMap", "configMap")):
                if key in source:
                    yield Reference(kind, source[key].get("name", ""), f"{where}.projected.sources.{s_index}.{key}.name",
                                    bool(source[key].get("optional")))
        claim = get(volume, "ephemeral.volumeClaimTemplate.spec.storageClassName")
        if claim:
            yield Reference("StorageClass", claim, f"{where}.ephemeral.volumeClaimTemplate.spec.storageClassName")
    for c_path, container in _containers(pod):
        where = f"{path}.{c_path}"
        for index, source in enumerate(container.get("envFrom") or []):
            for kind, key in (("Secret", "secretRef"), ("ConfigMap", "configMapRef")):
                if key in source:
                    yield Reference(kind, source[key].get("name", ""), f"{where}.envFrom.{index}.{key}.name",
                                    bool(source[key].get("optional")))
        for index, env in enumerate(container.get("env") or []):
            for kind, key in (("Secret", "secretKeyRef"), ("ConfigMap", "configMapKeyRef")):
                ref = get(env, f"valueFrom.{key}")
                if ref:
                    yield Reference(kind, ref.get("name", ""), f"{where}.env.{index}.valueFrom.{key}.name", bool(ref.get("optional")),
                                    ref.get("key"))


OPERATOR_POD_FIELDS: dict[str, str] = {"Prometheus": "spec", "Alertmanager": "spec", "ThanosRuler": "spec"}
"""prometheus-operator custom resources whose ``spec`` carries pod-level names: ``secrets`` and ``configMaps`` it mounts
into every pod, ``serviceAccountName``, ``priorityClassName``, ``imagePullSecrets``."""


def operator_pod_references(obj: Obj) -> Iterator[Reference]:
    """The names a prometheus-operator custom resource makes its pods refer to."""
    path = OPERATOR_POD_FIELDS.get(str(obj.get("kind")))
    if path is None or not str(obj.get("apiVersion", "")).startswith("monitoring.coreos.com/"):
        return
    spec = get(obj, path, {}) or {}
    for index, name in enumerate(spec.get("secrets") or []):
        yield Reference("Secret", name, f"{path}.secrets.{index}")
    for index, name in enumerate(spec.get("configMaps") or []):
        yield Reference("ConfigMap", name, f"{path}.configMaps.{index}")
    if spec.get("serviceAccountName"):
        yield Reference("ServiceAccount", spec["serviceAccountName"], f"{path}.serviceAccountName")
    if spec.get("priorityClassName"):
        yield Reference("PriorityClass", spec["priorityClassName"], f"{path}.priorityClassName")
    for index, secret in enumerate(spec.get("imagePullSecrets") or []):
        if secret.get("name"):
            yield Reference("Secret", secret["name"], f"{path}.imagePullSecrets.{index}.name")


REDIS_OPERATOR_FIELDS: tuple[tuple[str, str], ...] = (
    ("ConfigMap", "spec.redisConfig.additionalRedisConfig"),
    ("ConfigMap", "spec.redisSentinelConfig.additionalSentinelConfig"),
    ("Secret", "spec.kubernetesConfig.redisSecret.name"),
    ("Secret", "spec.acl.secret.secretName"),
    ("Secret", "spec.redisSentinelConfig.redisReplicationPassword.secretKeyRef.name"),
)
"""Fields of the OT redis-operator's custom resources that name a ConfigMap or Secret the operator mounts into (or
reads for) their pods: ``additionalRedisConfig`` is a ConfigMap's name, mounted as the ``external-config``
volume (internal/k8sutils/statefulset.go, getExternalConfig), never inline configuration."""


def redis_operator_references(obj: Obj) -> Iterator[Reference]:
    """The names an OT redis-operator custom resource makes its pods refer to."""
    if not str(obj.get("apiVersion", "")).startswith("redis.redis.opstreelabs.in/"):
        return
    for kind, path in REDIS_OPERATOR_FIELDS:
        name = get(obj, path)
        if isinstance(name, str) and name:
            yield Reference(kind, name, path)


def _claim(spec: Obj | None, path: str) -> Iterator[Reference]:
    if spec and spec.get("storageClassName"):
        yield Reference("StorageClass", spec["storageClassName"], f"{path}.storageClassName")


CLAIM_PATHS: dict[str, tuple[str, ...]] = {
    "PersistentVolumeClaim": ("spec",),
    "Prometheus": ("spec.storage.volumeClaimTemplate.spec",),
    "Alertmanager": ("spec.storage.volumeClaimTemplate.spec",),
    "RedisReplication": ("spec.storage.volumeClaimTemplate.spec",),
    "RedisSentinel": ("spec.storage.volumeClaimTemplate.spec",),
    "Redis": ("spec.storage.volumeClaimTemplate.spec",),
}
"""Kind -> where a single claim spec is (operators create the claims from it)."""


def claim_references(obj: Obj) -> Iterator[Reference]:
    """The StorageClasses an object's volume claims name (claims without a class use the cluster's default)."""
    kind = str(obj.get("kind"))
    for path in CLAIM_PATHS.get(kind, ()):
        yield from _claim(get(obj, path), path)
    if kind == "StatefulSet":
        for index, template in enumerate(get(obj, "spec.volumeClaimTemplates", []) or []):
            yield from _claim(template.get("spec"), f"spec.volumeClaimTemplates.{index}.spec")
    if kind in ("ClickHouseInstallation", "ClickHouseKeeperInstallation"):
        for index, template in enumerate(get(obj, "spec.templates.volumeClaimTemplates", []) or []):
            yield from _claim(template.get("spec"), f"spec.templates.volumeClaimTemplates.{index}.spec")
    if kind == "Cluster" and str(obj.get("apiVersion", "")).startswith("postgresql.cnpg.io/"):
        for block in ("storage", "walStorage"):
            name = get(obj, f"spec.{block}.storageClass")
            if name:
                yield Reference("StorageClass", name, f"spec.{block}.storageClass")
    if kind == "KafkaNodePool":
        storage = get(obj, "spec.storage", {}) or {}
        volumes = storage.get("volumes") if storage.get("type") == "jbod" else [storage]
        for index, volume in enumerate(volumes or []):
            if volume.get("class"):
                where = f"spec.storage.volumes.{index}.class" if storage.get("type") == "jbod" else "spec.storage.class"
                yield Reference("StorageClass", volume["class"], where)


def references(obj: Obj) -> list[Reference]:
    """Every name the object's pods and claims refer to."""
    found = [ref for path, pod in pod_specs(obj) for ref in pod_references(pod, path)]
    found += list(operator_pod_references(obj))
    found += list(redis_operator_references(obj))
    found += list(claim_references(obj))
    return [r for r in found if r.name]
