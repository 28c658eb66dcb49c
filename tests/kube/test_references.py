"""What pods and claims refer to by name: every place a pod spec or a claim names a Secret, ConfigMap,
ServiceAccount, StorageClass or PriorityClass, with the field path, optional ones marked."""

from __future__ import annotations

from plinth.kube.references import references
from tests.plan import fixtures as fx


def test_a_pod_spec_names_its_secrets_configmaps_account_and_priority() -> None:
    container = {**fx.container("100m", "64Mi"),
                 "envFrom": [{"secretRef": {"name": "env-secret"}}, {"configMapRef": {"name": "env-config", "optional": True}}],
                 "env": [{"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}]}
    deployment = fx.deployment("api", 1, [container])
    pod = deployment["spec"]["template"]["spec"]
    pod.update({"serviceAccountName": "api", "priorityClassName": "platform-critical", "imagePullSecrets": [{"name": "registry"}],
                "volumes": [{"name": "tls", "secret": {"secretName": "api-tls"}},
                            {"name": "ca", "projected": {"sources": [{"configMap": {"name": "kube-root-ca.crt"}}]}}]})
    found = {(r.kind, r.name, r.optional): r.field_path for r in references(deployment)}
    base = "spec.template.spec"
    assert found == {
        ("ServiceAccount", "api", False): f"{base}.serviceAccountName",
        ("PriorityClass", "platform-critical", False): f"{base}.priorityClassName",
        ("Secret", "registry", False): f"{base}.imagePullSecrets.0.name",
        ("Secret", "api-tls", False): f"{base}.volumes.0.secret.secretName",
        ("ConfigMap", "kube-root-ca.crt", False): f"{base}.volumes.1.projected.sources.0.configMap.name",
        ("Secret", "env-secret", False): f"{base}.containers.0.envFrom.0.secretRef.name",
        ("ConfigMap", "env-config", True): f"{base}.containers.0.envFrom.1.configMapRef.name",
        ("Secret", "db", False): f"{base}.containers.0.env.0.valueFrom.secretKeyRef.name",
    }


def test_a_pod_without_an_account_uses_the_default_one_and_cronjobs_are_read() -> None:
    cron = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": fx.meta("backup", fx.NS_DATA),
            "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {"spec": {"containers": [fx.container("1", "1Gi")]}}}}}}
    (ref,) = references(cron)
    assert (ref.kind, ref.name, ref.field_path) == ("ServiceAccount", "default", "spec.jobTemplate.spec.template.spec.serviceAccountName")


def test_claims_name_their_storage_classes() -> None:
    sts = fx.statefulset("kafka", 3, "1", "1Gi", "100Gi")
    sts["spec"]["volumeClaimTemplates"][0]["spec"]["storageClassName"] = "plinth-ssd"
    pg = fx.cnpg_cluster()
    pg["spec"]["storage"]["storageClass"] = "plinth-ssd"
    alertmanager = {"apiVersion": "monitoring.coreos.com/v1", "kind": "Alertmanager", "metadata": fx.meta("kps", fx.NS_MON),
                    "spec": {"secrets": ["pagerduty"], "storage": {"volumeClaimTemplate": {"spec": {"storageClassName": "fast"}}}}}
    assert [(r.kind, r.name, r.field_path) for r in references(sts) if r.kind == "StorageClass"] == [
        ("StorageClass", "plinth-ssd", "spec.volumeClaimTemplates.0.spec.storageClassName")]
    assert ("StorageClass", "plinth-ssd", "spec.storage.storageClass") in [(r.kind, r.name, r.field_path) for r in references(pg)]
    assert [(r.kind, r.name, r.field_path) for r in references(alertmanager)] == [
        ("Secret", "pagerduty", "spec.secrets.0"), ("StorageClass", "fast", "spec.storage.volumeClaimTemplate.spec.storageClassName")]
