"""The Strimzi User Operator's stand-in against the real API server, with the pinned chart's CRDs and prod's own
KafkaUsers (needs ../shared/charts)."""

from __future__ import annotations

import base64
import os

import pytest

from plinth.sim.apply import APPLIED, apply_objects
from plinth.sim.cluster import running_cluster
from plinth.sim.kubeclient import SECRETS, cluster_client
from plinth.sim.standin_operators import KAFKA_USERS, KAFKAS, strimzi_user_pass
from plinth.sim.toolchain import SimVersions
from plinth.spec.model import Platform

pytestmark = pytest.mark.sim


def _condition(obj: dict) -> str:
    return next((c["type"] for c in (obj.get("status") or {}).get("conditions") or [] if c.get("status") == "True"), "")


def test_users_get_their_secret_once_the_cluster_is_ready(sim_versions: SimVersions, prod: Platform, prod_charts) -> None:
    rendered, hydration = prod_charts
    crds = [o.obj for o in hydration.objects if o.application == "strimzi-kafka-operator" and o.obj["kind"] == "CustomResourceDefinition"]
    users = [r.obj for r in rendered if r.obj["kind"] == "KafkaUser"]
    kafka = next(r.obj for r in rendered if r.obj["kind"] == "Kafka")
    namespace = kafka["metadata"]["namespace"]
    first, *others = sorted(users, key=lambda u: u["metadata"]["name"])
    ref = first["spec"]["authentication"]["password"]["valueFrom"]["secretKeyRef"]
    source = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": ref["name"], "namespace": namespace},
              "data": {ref["key"]: base64.b64encode(b"s3cret-from-the-store").decode()}}
    with running_cluster(f"c{os.getpid()}", sim_versions) as cluster:
        report = apply_objects(cluster, [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}, *crds, kafka, *users, source])
        assert not [r for r in report.results if r.status != APPLIED], [r for r in report.results if r.status != APPLIED][:5]
        client = cluster_client(str(cluster.folder), cluster.server, cluster.netns)
        assert strimzi_user_pass(client) == [], "nothing before the Kafka cluster is Ready"
        client.patch(KAFKAS, kafka["metadata"]["name"], {"status": {"conditions": [{"type": "Ready", "status": "True"}]}}, namespace, sub="status")
        strimzi_user_pass(client)

        ready = client.get(KAFKA_USERS, first["metadata"]["name"], namespace)
        assert _condition(ready) == "Ready" and ready["status"]["secret"] == ready["status"]["username"] == first["metadata"]["name"]
        secret = client.get(SECRETS, first["metadata"]["name"], namespace)
        assert base64.b64decode(secret["data"]["password"]) == b"s3cret-from-the-store"
        assert 'password="s3cret-from-the-store"' in base64.b64decode(secret["data"]["sasl.jaas.config"]).decode()
        assert secret["metadata"]["labels"]["strimzi.io/kind"] == "KafkaUser"
        assert secret["metadata"]["ownerReferences"][0]["name"] == first["metadata"]["name"]
        for user in others:  # their password Secrets (written by External Secrets) do not exist here
            live = client.get(KAFKA_USERS, user["metadata"]["name"], namespace)
            assert _condition(live) == "NotReady" and "does not exist" in live["status"]["conditions"][0]["message"]
            assert client.get(SECRETS, user["metadata"]["name"], namespace) is None
