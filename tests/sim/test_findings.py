"""What the simulated cluster's findings read from its objects (offline: plain objects as the API server lists them)."""

from __future__ import annotations

from plinth.sim.findings import mount_findings


def _pod(name: str, owner: str, volumes: list[dict], env: list[dict] | None = None, phase: str = "Running") -> dict:
    return {"kind": "Pod", "metadata": {"name": name, "namespace": "data", "ownerReferences": [{"kind": "StatefulSet", "name": owner}]},
            "spec": {"volumes": volumes, "containers": [{"name": "server", "env": env or []}]}, "status": {"phase": phase}}


def _objects(pods: list[dict]) -> dict:
    return {"pods": pods,
            "configmaps": [{"metadata": {"name": "kube-root-ca.crt", "namespace": "data"}, "data": {"ca.crt": "x"}},
                           {"metadata": {"name": "redis-config", "namespace": "data"}, "data": {"redis-additional.conf": "x"}}],
            "secrets": [{"metadata": {"name": "redis-password", "namespace": "data"}, "data": {"password": "eA=="}}]}


def test_a_volume_naming_a_missing_config_map_is_found_once_per_owner() -> None:
    inline = {"name": "external-config", "configMap": {"name": "min-replicas-to-write 1\nappendonly yes\n"}}
    token = {"name": "token", "projected": {"sources": [{"configMap": {"name": "kube-root-ca.crt"}}, {"serviceAccountToken": {"path": "token"}}]}}
    pods = [_pod(f"redis-{i}", "redis", [inline, token]) for i in range(3)]
    findings = mount_findings(_objects(pods))
    assert [(f.kind, f.object, f.source) for f in findings] == [("mount", "Pod/data/redis-0", "created by StatefulSet/redis")]
    assert "spec.volumes.0.configMap.name needs ConfigMap data/min-replicas-to-write 1" in findings[0].message
    assert "never start" in findings[0].message


def test_present_objects_optional_references_and_finished_pods_are_not_findings() -> None:
    volumes = [{"name": "config", "configMap": {"name": "redis-config"}},
               {"name": "maybe", "secret": {"secretName": "absent", "optional": True}}]
    env = [{"name": "REDIS_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "redis-password", "key": "password"}}}]
    done = _pod("job-1", "job", [{"name": "gone", "configMap": {"name": "gone"}}], phase="Succeeded")
    assert mount_findings(_objects([_pod("redis-0", "redis", volumes, env), done])) == []


def test_a_missing_key_of_an_existing_secret_is_found() -> None:
    env = [{"name": "REDIS_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "redis-password", "key": "redis-password"}}}]
    findings = mount_findings(_objects([_pod("redis-0", "redis", [], env)]))
    assert [f.message for f in findings] == ["spec.containers.0.env.0.valueFrom.secretKeyRef.name needs key 'redis-password' of Secret "
                                             "data/redis-password, which has only password: the kubelet would never start the pod"]

