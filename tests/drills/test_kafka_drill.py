"""The Kafka drill: three KRaft controllers and three brokers from Maven Central's jars on this machine.

A leader killed under an acks=all load loses no acknowledged write; each sabotaged setting loses some while the
spec's topic, put through the same faults on the same brokers, loses none. The live tests need Java 17 and the
Kafka jars (`scripts/setup.sh test` installs openjdk-17 and Maven and resolves the jars); on CI they never skip.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from plinth.cli import app
from plinth.components.kafka import broker_config
from plinth.docs.report import ReportInputs, report_html
from plinth.drills import kafka_dist
from plinth.drills.kafka_failover import (CHECK_IDS, PARTITION_SCALE_DOWN, KafkaFailoverOptions, _promises,
                                          drill_partitions, sabotaged_topic_config)
from plinth.procs import ProcessSetupError
from plinth.drills.report import DrillReport
from plinth.drills.settings import kafka_properties, kafka_settings
from tests.conftest import DEFAULT_SPEC, spec_with


def _kafka_ready() -> bool:
    try:
        return shutil.which("java") is not None and kafka_dist.is_resolved(kafka_settings_for_default().version)
    except Exception:  # noqa: BLE001 - any problem means "not ready"
        return False


def kafka_settings_for_default():  # type: ignore[no-untyped-def]
    from plinth.spec.loader import load_all

    return kafka_settings(load_all(DEFAULT_SPEC)["prod"])


needs_kafka = pytest.mark.skipif(
    not _kafka_ready() and not os.environ.get("CI"),
    reason="needs Java 17 and the Kafka jars from Maven Central (scripts/setup.sh test resolves them into .cache/kafka)",
)


def _drill(tmp_path: Path, *args: str, spec: Path = DEFAULT_SPEC) -> tuple[int, dict, str]:
    result = CliRunner().invoke(app, ["drill", "kafka-failover", *args, "--spec", str(spec), "--out", str(tmp_path)])
    report_path = tmp_path / "kafka-failover.json"
    assert report_path.exists(), result.output
    assert (tmp_path / "kafka-failover.md").read_text().startswith("# Drill `kafka-failover`")
    return result.exit_code, json.loads(report_path.read_text()), result.output


def _promise(report: dict, source: str) -> dict:
    return next(p for p in report["promises"] if p["source"] == source)


# ------------------------------------------------------------------ pure: settings, scaling, promises


def test_settings_come_from_the_spec_and_the_rendered_broker_config(prod) -> None:
    k = prod.datastores.kafka
    settings = kafka_settings(prod)
    assert (settings.version, settings.brokers, settings.controllers) == (k.version, k.brokers, k.controllers)
    assert settings.broker_config == broker_config(prod)
    assert settings.topic_config["min.insync.replicas"] == k.min_insync_replicas
    assert settings.topic_partitions == max(t.partitions for t in k.topics)
    assert (settings.rto_seconds, settings.rpo_seconds) == (int(k.ha.rto_seconds), int(k.ha.rpo_seconds))
    assert kafka_properties(settings.broker_config)["unclean.leader.election.enable"] == "false"


def test_partitions_are_the_spec_topic_scaled_down(tmp_path: Path) -> None:
    from plinth.spec.loader import load_all

    settings = kafka_settings_for_default()
    assert drill_partitions(settings) == -(-settings.topic_partitions // PARTITION_SCALE_DOWN)
    spec = spec_with(tmp_path, [("datastores.kafka.topics.0.partitions", 95)])
    assert drill_partitions(kafka_settings(load_all(spec)["prod"])) == 10


def test_sabotage_breaks_exactly_one_topic_setting() -> None:
    settings = kafka_settings_for_default()
    assert sabotaged_topic_config(settings, "min-insync-1") == {**settings.topic_config, "min.insync.replicas": 1}
    assert sabotaged_topic_config(settings, "unclean-election") == {**settings.topic_config,
                                                                    "unclean.leader.election.enable": True}


def test_a_lost_write_or_a_leaderless_partition_fails_the_promises() -> None:
    settings = kafka_settings_for_default()
    good = {"missing": 0, "new_leader_seconds": 9.1, "min_isr_after": 3}
    report = DrillReport("kafka-failover", "prod", {})
    _promises(report, settings, KafkaFailoverOptions(runs=2), [good, dict(good)])
    assert report.passed
    assert {p.check_id for p in report.promises if p.check_id} == set(CHECK_IDS.values())
    lost = DrillReport("kafka-failover", "prod", {})
    _promises(lost, settings, KafkaFailoverOptions(runs=2), [good, {**good, "missing": 1}])
    assert not lost.passed
    leaderless = DrillReport("kafka-failover", "prod", {})
    _promises(leaderless, settings, KafkaFailoverOptions(runs=1), [{**good, "new_leader_seconds": None}])
    rto = next(p for p in leaderless.promises if p.source == "datastores.kafka.ha.rto_seconds")
    assert rto.measured is None and not rto.passed and not leaderless.passed


def test_unknown_scenario_or_sabotage_is_bad_input(tmp_path: Path) -> None:
    for option, value in (("--scenario", "nope"), ("--sabotage", "nope")):
        result = CliRunner().invoke(app, ["drill", "kafka-failover", option, value, "--out", str(tmp_path),
                                          "--spec", str(DEFAULT_SPEC)])
        assert result.exit_code == 2, result.output
        assert f"{option}: expected one of" in result.output
    assert not (tmp_path / "kafka-failover.json").exists()


def test_missing_jars_are_a_clear_setup_error(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(kafka_dist.CACHE_ENV, str(tmp_path / "cache"))
    assert kafka_dist.libs_dir("4.2.0") == tmp_path / "cache" / "4.2.0" / "libs"
    with pytest.raises(ProcessSetupError, match="scripts/setup.sh test"):
        kafka_dist.require_libs("4.2.0")


def test_jar_resolution_rejects_a_bad_spec(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "platform.yaml"
    bad.write_text("datastores: [\n")
    assert kafka_dist.main(["--spec", str(bad)]) == 2
    assert "error:" in capsys.readouterr().err


# ------------------------------------------------------------------ live: real brokers


@needs_kafka
def test_leader_kill_keeps_every_acknowledged_write(tmp_path: Path, prod) -> None:
    code, report, _ = _drill(tmp_path, "--runs", "1")
    assert report["errors"] == [], report["errors"]
    assert code == 0 and report["passed"]
    run = report["measured"]["runs"][0]
    assert run["acknowledged"] > 500 and run["missing"] == 0 and run["duplicates"] == 0 and run["moved"] == 0
    # A SIGKILLed broker is noticed by its session timing out, not at once; a new leader comes within the RTO.
    assert 3 < run["new_leader_seconds"] < prod.datastores.kafka.ha.rto_seconds
    assert run["first_ack_seconds"] >= run["new_leader_seconds"] - 1
    assert run["full_isr_seconds"] > 0 and run["min_isr_after"] == prod.datastores.kafka.default_replication_factor
    assert run["peak_broker_rss_mib"] > 100 and run["cluster_start_seconds"] > 0
    assert run["features"]["metadata.version"] > 0  # read from what Kafka's StorageTool formatted
    rpo = _promise(report, "datastores.kafka.ha.rpo_seconds")
    assert rpo["check_id"] == "PL-RPO-002" and rpo["target"] == 0 and rpo["measured"] == 0
    rto = _promise(report, "datastores.kafka.ha.rto_seconds")
    assert rto["check_id"] == "PL-HA-004" and rto["measured"] == run["new_leader_seconds"]
    assert report["settings"]["effective_broker_config"]["min.insync.replicas"] == str(prod.datastores.kafka.min_insync_replicas)
    assert report["settings"]["drill_topic_partitions"] == drill_partitions(kafka_settings(prod))
    # The report card of `plinth report` shows the drill with the checks it demonstrates.
    page = report_html(ReportInputs(platforms={"prod": prod}, objects_by_env={"prod": 0}, validation_problems=None,
                                    drills=[report]))
    assert "kafka-failover (prod)" in page and "PL-RPO-002" in page and "sabotaged" not in page


@needs_kafka
def test_min_insync_1_loses_writes_the_isolated_leader_acknowledged(tmp_path: Path, prod) -> None:
    code, report, _ = _drill(tmp_path, "--runs", "1", "--sabotage", "min-insync-1")
    assert report["errors"] == [], report["errors"]
    assert code == 1 and not report["passed"]
    run = report["measured"]["runs"][0]
    assert run["scenario"] == "isolated-leader-lost"
    sabotaged, control = run["topics"]["sabotaged"], run["topics"]["spec"]
    # Writes the leader acknowledged alone are gone with it; the spec's topic, same faults, lost nothing.
    assert 0 < sabotaged["missing"] <= run["acked_since_followers_stalled"]
    assert control["missing"] == 0 and control["acknowledged"] > 500
    # Kafka left the sabotaged partitions leaderless (no clean candidate): only an operator brought them back.
    assert run["operator_unclean_election"] and sabotaged["new_leader_seconds"] is None
    assert control["new_leader_seconds"] is not None
    assert report["settings"]["sabotaged_topic_config"]["min.insync.replicas"] == "1"
    assert not _promise(report, "datastores.kafka.ha.rpo_seconds")["passed"]
    reference = _promise(report, "datastores.kafka.min_insync_replicas")
    assert reference["counts"] is False and reference["passed"] and reference["measured"] == 0
    page = report_html(ReportInputs(platforms={"prod": prod}, objects_by_env={"prod": 0}, validation_problems=None,
                                    drills=[report]))
    assert "sabotaged: min-insync-1" in page


@needs_kafka
def test_unclean_election_elects_a_stale_replica_and_loses_acknowledged_writes(tmp_path: Path) -> None:
    code, report, _ = _drill(tmp_path, "--runs", "1", "--sabotage", "unclean-election")
    assert report["errors"] == [], report["errors"]
    assert code == 1 and not report["passed"]
    run = report["measured"]["runs"][0]
    assert run["scenario"] == "in-sync-replicas-lost"
    sabotaged, control = run["topics"]["sabotaged"], run["topics"]["spec"]
    assert run["stale_replica_elected"] and run["stale_elected_topics"] == [sabotaged["topic"]]
    assert 0 < sabotaged["missing"] <= run["acked_since_stale_stalled"]
    assert control["missing"] == 0 and control["acknowledged"] > 500
    assert report["settings"]["sabotaged_topic_config"]["unclean.leader.election.enable"] == "true"
    reference = _promise(report, "datastores.kafka.unclean_leader_election")
    assert reference["counts"] is False and reference["passed"] and reference["measured"] == 0
