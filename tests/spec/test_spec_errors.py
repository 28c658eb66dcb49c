"""Every spec validator's error: located (file:line:column), the field path, and what was expected."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from plinth.spec.loader import SpecError, load_all
from tests.conftest import DEFAULT_SPEC, DELETE, REPO, spec_with

CASES: list[tuple[str, list[tuple[str, Any]], str, str]] = [
    # id, changes, expected field path, expected message fragment
    ("unknown-field", [("cluster.colour", "blue")], "cluster.colour", "unknown field"),
    ("wrong-type", [("node_pools.apps.nodes", "ten")], "node_pools.apps.nodes", "valid integer"),
    ("missing-field", [("cluster.region", DELETE)], "cluster.region", "required field is missing"),
    ("negative-retention", [("observability.loki.retention_days", -30)], "observability.loki.retention_days", "greater than or equal to 1"),
    ("rpo-not-a-duration", [("datastores.postgres.ha.rpo_seconds", "soon")], "datastores.postgres.ha.rpo_seconds", "expected a duration"),
    ("rto-negative", [("datastores.kafka.ha.rto_seconds", -5)], "datastores.kafka.ha.rto_seconds", "duration >= 0"),
    ("control-plane-even", [("cluster.control_plane.nodes", 2)], "cluster.control_plane.nodes", "odd number"),
    ("dr-region-same", [("cluster.dr_region", "us-east-1")], "cluster.dr_region", "must differ from region"),
    ("zones-duplicate", [("cluster.zones", ["a", "a", "b"])], "cluster.zones", "only once"),
    ("k8s-version", [("cluster.kubernetes_version", "1.9")], "cluster.kubernetes_version", "should match pattern"),
    ("pool-min-gt-max", [("node_pools.apps.min_nodes", 20)], "node_pools.apps.min_nodes", "must be <= max_nodes"),
    ("pool-nodes-outside", [("node_pools.apps.nodes", 30)], "node_pools.apps.nodes", "must lie between"),
    ("limitrange-request-gt-limit", [("namespaces.platform-apps.limits.default_request_cpu", "2")], "namespaces.platform-apps.limits.default_request_cpu", "<= default_limit_cpu"),
    ("limitrange-request-mem", [("namespaces.platform-apps.limits.default_request_memory", "1Gi")], "namespaces.platform-apps.limits.default_request_memory", "<= default_limit_memory"),
    ("limitrange-default-gt-max-cpu", [("namespaces.platform-apps.limits.max_cpu", "500m")], "namespaces.platform-apps.limits.default_limit_cpu", "<= max_cpu"),
    ("limitrange-default-gt-max-mem", [("namespaces.platform-apps.limits.max_memory", "256Mi")], "namespaces.platform-apps.limits.default_limit_memory", "<= max_memory"),
    ("bad-cpu-quantity", [("services.auth.resources.requests_cpu", "lots")], "services.auth.resources.requests_cpu", "CPU quantity"),
    ("bad-memory-quantity", [("services.auth.resources.requests_memory", "12 apples")], "services.auth.resources.requests_memory", "memory quantity"),
    ("scaling-min-gt-max", [("services.frontend.scaling.min_replicas", 12)], "services.frontend.scaling.min_replicas", "must be <= max_replicas (10)"),
    ("hpa-on-rps", [("services.api-gateway.scaling.type", "hpa")], "services.api-gateway.scaling.trigger.kind", "cannot drive a 'hpa' autoscaler"),
    ("requests-gt-limits-cpu", [("services.auth.resources.requests_cpu", "3")], "services.auth.resources.requests_cpu", "must be <= limits_cpu"),
    ("requests-gt-limits-mem", [("services.auth.resources.requests_memory", "4Gi")], "services.auth.resources.requests_memory", "must be <= limits_memory"),
    ("postgres-min-1", [("datastores.postgres.scaling.min_replicas", 1)], "datastores.postgres.scaling.min_replicas", "must be >= 3"),
    ("postgres-instances-outside", [("datastores.postgres.instances", 5)], "datastores.postgres.instances", "must lie between"),
    ("postgres-sync-too-many", [("datastores.postgres.synchronous_standbys", 2)], "datastores.postgres.instances", "synchronous_standbys + 2"),
    ("postgres-rpo0-async", [("datastores.postgres.synchronous_standbys", 0)], "datastores.postgres.synchronous_standbys", "must be >= 1 when ha.rpo_seconds is 0"),
    ("clickhouse-keeper-even", [("datastores.clickhouse.keeper_nodes", 2)], "datastores.clickhouse.keeper_nodes", "odd and >= 3"),
    ("clickhouse-replicas-outside", [("datastores.clickhouse.replicas", 12)], "datastores.clickhouse.replicas", "must lie between"),
    ("clickhouse-quorum", [("datastores.clickhouse.insert_quorum", 4), ("datastores.clickhouse.replicas", 3)], "datastores.clickhouse.insert_quorum", "<= replicas"),
    ("redis-sentinels-even", [("datastores.redis.sentinels", 4)], "datastores.redis.sentinels", "odd and >= 3"),
    ("redis-quorum-minority", [("datastores.redis.sentinel_quorum", 1)], "datastores.redis.sentinel_quorum", "majority"),
    ("redis-min-replicas", [("datastores.redis.min_replicas_to_write", 3)], "datastores.redis.min_replicas_to_write", "<= nodes - 1"),
    ("redis-two-nodes", [("datastores.redis.nodes", 2), ("datastores.redis.min_replicas_to_write", 0)], "datastores.redis.nodes", "one primary and two replicas"),
    ("kafka-controllers-even", [("datastores.kafka.controllers", 2)], "datastores.kafka.controllers", "odd and >= 3"),
    ("kafka-rf-gt-brokers", [("datastores.kafka.default_replication_factor", 4)], "datastores.kafka.default_replication_factor", "<= brokers"),
    ("kafka-isr-gt-rf", [("datastores.kafka.min_insync_replicas", 3), ("datastores.kafka.default_replication_factor", 2)], "datastores.kafka.min_insync_replicas", "<= default_replication_factor"),
    ("backup-no-schedule", [("backups.0.schedule", DELETE)], "backups.0.schedule", "needs a cron schedule"),
    ("backup-continuous-schedule", [("backups.2.schedule", "0 * * * *")], "backups.2.schedule", "has no cron schedule"),
    ("backup-negative-retention", [("backups.0.retention_days", -3)], "backups.0.retention_days", "between 1 and 3650"),
    ("backup-git-bucket", [("backups.3.bucket", "somewhere")], "backups.3.bucket", "only for them"),
    ("canary-decreasing", [("delivery.canary_steps.1.weight_percent", 5)], "delivery.canary_steps", "must not decrease"),
    ("namespace-two-pools", [("node_pools.data.namespaces", ["platform-data", "platform-apps"])], "node_pools.data.namespaces", "already placed"),
    ("namespace-no-pool", [("node_pools.data.namespaces", ["platform-system"]), ("node_pools.apps.namespaces", ["platform-apps", "platform-monitoring"])], "node_pools", "placed on no pool"),
    ("unknown-call", [("services.frontend.calls", ["nope"])], "services.frontend.calls", "unknown services ['nope']"),
    ("unknown-topic", [("services.data-workers.scaling.trigger.topic", "nope")], "services.data-workers.scaling.trigger.topic", "is not a Kafka topic"),
    ("backup-twice", [("backups.4.data", "clickhouse")], "backups", "listed twice"),
    ("backup-missing", [("backups.1", DELETE)], "backups", "no backup for clickhouse"),
    ("backup-missing-cluster-state", [("backups.4", DELETE)], "backups", "no backup for cluster-state"),
    ("bad-dns-label", [("services.frontend.scaling.min_replicas", 3), ("cluster.name", "Plinth_Prod")], "cluster.name", "DNS-1123 label"),
    ("overlay-unknown-pool", [("environments.staging.node_pools.gpu", {"nodes": 1})], "environments.staging.node_pools.gpu", "no such entry 'gpu'"),
    ("overlay-breaks-base-rule", [("environments.staging.node_pools.apps.min_nodes", 20)], "environments.staging.node_pools.apps.min_nodes", "must be <= max_nodes"),
    ("overlay-unknown-backup", [("environments.staging.backups.mongo", {"bucket": "x"})], "environments.staging.backups.mongo", "no such entry 'mongo'"),
    ("overlay-unknown-field", [("environments.staging.edge.colour", "red")], "environments.staging.edge.colour", "unknown field"),
]


@pytest.mark.parametrize("case_id,changes,field,fragment", CASES, ids=[c[0] for c in CASES])
def test_spec_error_is_located_and_explained(tmp_path: Path, case_id: str, changes, field: str, fragment: str | None) -> None:
    spec = spec_with(tmp_path, changes)
    with pytest.raises(SpecError) as caught:
        load_all(spec)
    problems = caught.value.problems
    assert problems, "expected at least one problem"
    matching = [p for p in problems if p.path == field]
    assert matching, f"no problem at {field}; got: {[str(p) for p in problems]}"
    problem = matching[0]
    if fragment is not None:
        assert fragment in problem.message, str(problem)
    assert problem.file == str(spec)
    # the reported line really holds the field's key (or its parent's, for a missing field)
    line_text = spec.read_text().splitlines()[problem.line - 1]
    last_present = [part for part in field.split(".") if not part.isdigit()]
    assert any(part in line_text for part in last_present) or line_text.strip().startswith("-"), (problem, line_text)
    assert re.match(rf"^{re.escape(str(spec))}:\d+:\d+: {re.escape(field)}: ", str(problem))


def test_malformed_yaml_is_located(tmp_path: Path) -> None:
    spec = tmp_path / "platform.yaml"
    spec.write_text("name: plinth\ncluster: [unclosed\nzones: x\n")
    with pytest.raises(SpecError) as caught:
        load_all(spec)
    (problem,) = caught.value.problems
    assert problem.message.startswith("malformed YAML")
    assert problem.line == 3


def test_duplicate_key_is_rejected(tmp_path: Path) -> None:
    spec = tmp_path / "platform.yaml"
    spec.write_text(DEFAULT_SPEC.read_text() + "\nname: again\n")
    with pytest.raises(SpecError) as caught:
        load_all(spec)
    assert "duplicate key" in caught.value.problems[0].message


def test_top_level_must_be_mapping(tmp_path: Path) -> None:
    spec = tmp_path / "platform.yaml"
    spec.write_text("- just\n- a list\n")
    with pytest.raises(SpecError) as caught:
        load_all(spec)
    assert "mapping" in caught.value.problems[0].message


def test_every_problem_is_reported_not_just_the_first(tmp_path: Path) -> None:
    spec = spec_with(tmp_path, [("cluster.colour", "blue"), ("observability.tempo.retention_days", 0), ("node_pools.data.vcpu", "many")])
    with pytest.raises(SpecError) as caught:
        load_all(spec)
    paths = {p.path for p in caught.value.problems}
    assert {"cluster.colour", "observability.tempo.retention_days", "node_pools.data.vcpu"} <= paths


def test_cli_bad_spec_exits_2_without_traceback_or_output(tmp_path: Path) -> None:
    spec = spec_with(tmp_path, [("services.frontend.scaling.min_replicas", 0)])
    out = tmp_path / "tree"
    result = subprocess.run(
        [sys.executable, "-m", "plinth.cli", "render", "--spec", str(spec), "--out", str(out)],
        capture_output=True, text=True, cwd=REPO,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert re.search(r"platform\.yaml:\d+:\d+: services\.frontend\.scaling\.min_replicas: ", result.stderr), result.stderr
    assert not out.exists()


def test_cli_unknown_environment_exits_2(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "plinth.cli", "render", "--spec", str(DEFAULT_SPEC), "--env", "qa", "--out", str(tmp_path / "t")],
        capture_output=True, text=True, cwd=REPO,
    )
    assert result.returncode == 2
    assert "no environment qa" in result.stderr
