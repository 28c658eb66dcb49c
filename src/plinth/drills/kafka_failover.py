"""`plinth drill kafka-failover`: kill the partition leader of a KRaft Kafka cluster under a recorded acks=all load.

Three KRaft controllers and three brokers (separate processes, as the spec's two node pools are) run Apache
Kafka from Maven Central with the spec's replication factor, min.insync.replicas and unclean-election setting.
An idempotent acks=all producer records every acknowledged write (partition, offset); brokers are killed or
stalled; after recovery a consumer reads every partition back. Runs on fresh clusters, reported as a distribution.

Scenarios (fault sequences):

- ``leader-kill``: SIGKILL the leader of partition 0 under load; restart it (its disk kept) and wait for full ISR.
- ``isolated-leader-lost``: stall (SIGSTOP) both followers until the controller fences them and the leader is
  alone in the ISR; keep writing; then the leader is lost with its volume (SIGKILL, log directory deleted) and
  the followers resume. With min.insync.replicas 2 nothing was acknowledged by the leader alone and a follower
  is elected from the eligible leader replicas; with 1 the partitions stay leaderless until an operator forces
  an unclean election, and the writes the leader acknowledged alone are gone.
- ``in-sync-replicas-lost``: stall one follower until it leaves the ISR; keep writing (acknowledged by the leader
  and the other follower); then stall that follower too and kill the leader; the stale follower resumes first.
  With unclean election off the partitions wait for an in-sync replica; with it on the stale follower is
  elected and the writes it missed are truncated from every replica when the others return.

``--sabotage min-insync-1`` runs ``isolated-leader-lost`` and ``--sabotage unclean-election`` runs
``in-sync-replicas-lost``, each with a second topic beside the spec's whose topic-level setting is broken
(min.insync.replicas 1, unclean.leader.election.enable true; both are topic settings in Kafka and in the
rendered KafkaTopics). Both topics go through the same faults at the same moment: the spec's topic is the
control, the sabotaged one shows the loss. ``--scenario`` runs a fault sequence with the spec's settings only.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plinth.drills.kafka_cluster import (BROKER_HEAP_MB, CONTROLLER_HEAP_MB, DRILL_SETTINGS, JVM_FLAGS,
                                         KAFKA_DEFAULT_TIMERS, KafkaCluster, KafkaNode)
from plinth.drills.kafka_dist import JAVA_MIN_MAJOR, KAFKA_ARTIFACT, java_major_version, require_libs
from plinth.drills.kafka_load import LIBRDKAFKA_LOG, PRODUCER_SETTINGS, ProducerLoad, read_back
from plinth.drills.load import loss_summary
from plinth.procs import ProcessSetupError, owned_tempdir, supervised, wait_until
from plinth.drills.report import DrillReport, Promise, at_most, distribution
from plinth.drills.settings import KafkaDrillSettings, kafka_properties

DRILL = "kafka-failover"
SABOTAGES = ("unclean-election", "min-insync-1")
"""Settings the drill can break on purpose."""
SCENARIOS = ("leader-kill", "isolated-leader-lost", "in-sync-replicas-lost")
"""Fault sequences (see the module docstring)."""
SABOTAGE_SCENARIO = {"min-insync-1": "isolated-leader-lost", "unclean-election": "in-sync-replicas-lost"}
"""The fault sequence that exposes each broken setting."""
SABOTAGED_FIELD = {"min-insync-1": "datastores.kafka.min_insync_replicas",
                   "unclean-election": "datastores.kafka.unclean_leader_election"}
"""The spec field each sabotage breaks (the control topic keeps it)."""
PARTITION_SCALE_DOWN = 10
"""The drill topic has the spec's largest topic's partitions divided by this (60 -> 6 on two cores)."""
WRITE_WINDOW_SECONDS = 3.0
"""How long the load runs in a degraded state (leader alone, or one follower out) before the next fault."""
LEADERLESS_WAIT_SECONDS = KAFKA_DEFAULT_TIMERS["broker.session.timeout.ms"] / 1000 + 6.0
"""How long the drill waits for Kafka to elect leaders by itself (the killed broker is fenced after the session
timeout; an election follows at once when a candidate exists) before the next step."""
CHECK_IDS = {"rpo": "PL-RPO-002", "ha": "PL-HA-004"}
"""`plinth check` checks whose promises this drill demonstrates on real brokers."""


@dataclass(frozen=True)
class KafkaFailoverOptions:
    """Runs, pacing and what to break."""

    runs: int = 5
    """Independent runs (a fresh cluster each)."""
    rate_per_second: float = 200.0
    """Recorded writes per second (split over the topics of a run)."""
    warmup_seconds: float = 3.0
    """Writes before the first fault."""
    sabotage: str | None = None
    """A setting broken on purpose (one of SABOTAGES)."""
    scenario: str | None = None
    """Fault sequence (one of SCENARIOS); default: the sabotage's, else leader-kill."""

    @property
    def fault(self) -> str:
        """The scenario run."""
        return self.scenario or SABOTAGE_SCENARIO.get(self.sabotage or "", "leader-kill")


@dataclass
class DrillTopic:
    """A topic written during a run, with its own recorded load."""

    label: str
    """"spec" (the spec's settings) or "sabotaged"."""
    name: str
    config: dict[str, Any]
    load: ProducerLoad | None = None


@dataclass
class RunContext:
    """What a fault sequence works on."""

    cluster: KafkaCluster
    topics: list[DrillTopic]
    settings: KafkaDrillSettings
    say: Callable[[str], None]
    result: dict[str, Any] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        """Every topic's name."""
        return [t.name for t in self.topics]

    @property
    def subject(self) -> DrillTopic:
        """The topic the promise is judged on: the sabotaged one when there is one."""
        return self.topics[-1]


def drill_partitions(settings: KafkaDrillSettings) -> int:
    """Partitions of the drill topic: the spec's largest topic scaled down for this machine (at least one per broker)."""
    return max(settings.brokers, -(-settings.topic_partitions // PARTITION_SCALE_DOWN))


def sabotaged_topic_config(settings: KafkaDrillSettings, sabotage: str) -> dict[str, Any]:
    """The spec's topic settings with one broken."""
    config = dict(settings.topic_config)
    if sabotage == "min-insync-1":
        config["min.insync.replicas"] = 1
    elif sabotage == "unclean-election":
        config["unclean.leader.election.enable"] = True
    return config


def run(settings: KafkaDrillSettings, options: KafkaFailoverOptions, environment: str,
        progress: Callable[[str], None] = lambda _: None) -> DrillReport:
    """Run the drill ``options.runs`` times and report the distribution (failed steps are reported, not raised)."""
    if options.sabotage not in (None, *SABOTAGES):
        raise ValueError(f"sabotage: expected one of {SABOTAGES}, got {options.sabotage!r}")
    if options.scenario not in (None, *SCENARIOS):
        raise ValueError(f"scenario: expected one of {SCENARIOS}, got {options.scenario!r}")
    if options.runs < 1:
        raise ValueError("runs: expected at least 1")
    partitions = drill_partitions(settings)
    broker_config = {**settings.broker_config, **DRILL_SETTINGS}
    report = DrillReport(DRILL, environment, {
        **settings.as_dict(), "runs": options.runs, "rate_per_second": options.rate_per_second,
        "sabotage": options.sabotage, "scenario": options.fault, "drill_topic_partitions": partitions,
        "partition_scale_down": PARTITION_SCALE_DOWN, "effective_broker_config": kafka_properties(broker_config),
        "sabotaged_topic_config": kafka_properties(sabotaged_topic_config(settings, options.sabotage)) if options.sabotage else None,
        "kafka_default_timers": KAFKA_DEFAULT_TIMERS, "producer": PRODUCER_SETTINGS,
        "broker_heap_mib": BROKER_HEAP_MB, "controller_heap_mib": CONTROLLER_HEAP_MB, "jvm_flags": list(JVM_FLAGS),
    })
    report.notes += _notes(settings, options, partitions)
    try:
        java = java_major_version()
        libs = require_libs(settings.version)
        if java < JAVA_MIN_MAJOR:
            raise ProcessSetupError(f"Kafka {settings.version} needs Java {JAVA_MIN_MAJOR}+; the machine has Java {java}")
    except ProcessSetupError as exc:
        report.errors.append(str(exc))
        _promises(report, settings, options, [])
        return report
    report.measured["java"] = java_version_line()
    report.measured["kafka_libs"] = str(libs)
    runs: list[dict[str, Any]] = []
    for number in range(1, options.runs + 1):
        progress(f"run {number}/{options.runs} ({options.fault})")
        with report.step(f"run {number}"):
            runs.append(_one_run(settings, options, broker_config, partitions, libs,
                                 lambda m, n=number: progress(f"run {n}: {m}")))
    report.measured["runs"] = runs
    for key in ("missing", "new_leader_seconds", "first_ack_seconds", "full_isr_seconds", "broker_restart_seconds",
                "failed_writes_in_gap", "client_errors_in_gap", "max_ack_latency_in_gap", "cluster_start_seconds"):
        report.measured[key] = distribution([float(r[key]) for r in runs if r.get(key) is not None])
    if options.sabotage:
        report.measured["control_missing"] = distribution([float(r["control_missing"]) for r in runs])
    report.measured["peak_broker_rss_mib"] = max((r["peak_broker_rss_mib"] for r in runs), default=None)
    report.measured["peak_controller_rss_mib"] = max((r["peak_controller_rss_mib"] for r in runs), default=None)
    _promises(report, settings, options, runs)
    return report


def _notes(settings: KafkaDrillSettings, options: KafkaFailoverOptions, partitions: int) -> list[str]:
    notes = [
        f"Apache Kafka {settings.version} = datastores.kafka.version, present on Maven Central "
        f"(org.apache.kafka:{KAFKA_ARTIFACT}:{settings.version}), so no other release was needed; KRaft; started from the "
        "jars Maven resolved, on the machine's Java.",
        f"{settings.controllers} KRaft controllers (a static quorum of {settings.controllers} voters) and {settings.brokers} "
        "brokers as separate processes, as the spec's two node pools are: killing a broker leaves the controller quorum "
        "whole, as it does in the cluster.",
        f"Drill topic: {partitions} partitions (the spec's {settings.topic} has {settings.topic_partitions}: scaled down "
        f"{PARTITION_SCALE_DOWN}x for two shared cores), replication factor {settings.replication_factor}, the topic "
        "settings the platform renders into its KafkaTopics; brokers get the spec's zones as broker.rack.",
        f"Heaps {BROKER_HEAP_MB} MiB per broker, {CONTROLLER_HEAP_MB} MiB per controller (the spec gives brokers "
        f"{settings.broker_memory_limit} and controllers {settings.controller_memory_limit}); peak resident memory measured.",
        "Failure detection uses Kafka's defaults (the spec sets none): "
        + ", ".join(f"{k} {v}" for k, v in KAFKA_DEFAULT_TIMERS.items())
        + "; a SIGKILLed broker is fenced by the controller when its session times out.",
        "Time to new leader = broker killed -> every partition has a leader again that is alive (Metadata of a "
        "surviving broker, polled every 0.2 s).",
        "Producer: confluent-kafka (librdkafka) with " + ", ".join(f"{k}={v}" for k, v in PRODUCER_SETTINGS.items())
        + "; librdkafka retries through a leader change, so the gap shows as delayed acknowledgements, not errors.",
        "Storage is formatted with the release's default features, eligible leader replicas (KIP-966) included: a "
        "replica that left the ISR while it was below min.insync.replicas can still be elected cleanly.",
        "Acknowledged means in the page cache of min.insync.replicas brokers, not fsynced: RPO 0 holds for broker, node "
        "and zone loss as long as the in-sync replicas do not all lose power at once.",
    ]
    if options.sabotage:
        notes.append(f"Sabotaged: {options.sabotage}, scenario {options.fault}. Two topics go through the same faults: the "
                     "spec's settings (the control) and the broken topic setting; the promise is judged on the broken "
                     "one and is expected to fail.")
    if options.fault == "in-sync-replicas-lost":
        notes.append(f"unclean.leader.election.interval.ms {DRILL_SETTINGS['unclean.leader.election.interval.ms']} ms "
                     "(Kafka's default is 5 min) so that an unclean election, where enabled, happens within the drill. "
                     "Without one, the time to a new leader is counted from the in-sync replicas' return.")
    if options.fault == "isolated-leader-lost":
        notes.append("The isolated leader is lost with its volume (log directory deleted, not restarted): a write held by "
                     "one broker is lost with it. Partitions Kafka leaves leaderless get an operator's unclean election "
                     f"after {LEADERLESS_WAIT_SECONDS:g} s (the only way back without that broker); the RTO is then not met.")
    return notes


def _promises(report: DrillReport, settings: KafkaDrillSettings, options: KafkaFailoverOptions, runs: list[dict[str, Any]]) -> None:
    complete = bool(runs) and len(runs) == options.runs
    lost = max(int(r["missing"]) for r in runs) if complete else None
    leaders = [r.get("new_leader_seconds") for r in runs]
    worst_leader = max(leaders) if complete and None not in leaders else None  # type: ignore[type-var]
    report.promises += [
        Promise("every run: no acknowledged write lost (acks=all, RF 3, min.insync.replicas 2, unclean election off)",
                "datastores.kafka.ha.rpo_seconds", settings.rpo_seconds, lost, "writes", lost == 0,
                note="acknowledged ids the consumer did not read back, worst run"
                + (" (the sabotaged topic)" if options.sabotage else ""), check_id=CHECK_IDS["rpo"]),
        at_most("every run: partitions led again within the Kafka RTO, no operator action", "datastores.kafka.ha.rto_seconds",
                settings.rto_seconds, worst_leader, "s",
                "broker killed -> every partition has a live leader, worst run; not measured when Kafka left partitions "
                "leaderless", check_id=CHECK_IDS["ha"]),
        Promise("every run: completed", "datastores.kafka.brokers", options.runs, len(runs), "runs", complete),
    ]
    if options.fault != "isolated-leader-lost":
        in_sync = [r.get("min_isr_after") for r in runs]
        worst_isr = min(in_sync) if complete and None not in in_sync else None  # type: ignore[type-var]
        report.promises.append(Promise(
            "every run: every partition back to full ISR after the brokers return", "datastores.kafka.default_replication_factor",
            settings.replication_factor, worst_isr, "replicas", worst_isr == settings.replication_factor,
            note="smallest ISR of any partition at the end, worst run", check_id=CHECK_IDS["ha"]))
    if options.sabotage:
        control = max(int(r["control_missing"]) for r in runs) if complete else None
        report.promises.append(Promise(
            "same faults, the spec's topic settings: no acknowledged write lost", SABOTAGED_FIELD[options.sabotage],
            settings.rpo_seconds, control, "writes", control == 0, counts=False,
            note="the control topic of the sabotaged runs", check_id=CHECK_IDS["rpo"]))


def _one_run(settings: KafkaDrillSettings, options: KafkaFailoverOptions, broker_config: dict[str, Any],
             partitions: int, libs: Path, say: Callable[[str], None]) -> dict[str, Any]:
    from confluent_kafka.admin import AdminClient, NewTopic

    with owned_tempdir("plinth-drill-kafka-") as work, supervised(work) as sup:
        cluster = KafkaCluster(sup, work, libs, settings, broker_config)
        say(f"formatting and starting {settings.controllers} controllers and {settings.brokers} brokers (Kafka {settings.version})")
        started = time.monotonic()
        result: dict[str, Any] = {"scenario": options.fault, "load_average_1m": round(os.getloadavg()[0], 2)}
        result.update(cluster.start())
        result["cluster_start_seconds"] = round(time.monotonic() - started, 3)
        result["features"] = cluster.features()
        topics = [DrillTopic("spec", f"drill-{settings.topic}", dict(settings.topic_config))]
        if options.sabotage:
            topics.append(DrillTopic("sabotaged", f"drill-{settings.topic}-{options.sabotage}",
                                     sabotaged_topic_config(settings, options.sabotage)))
        admin = AdminClient({"bootstrap.servers": cluster.bootstrap(), "logger": LIBRDKAFKA_LOG})
        futures = admin.create_topics([NewTopic(t.name, partitions, settings.replication_factor,
                                                config=kafka_properties(t.config)) for t in topics])
        for future in futures.values():
            future.result(timeout=60)
        ctx = RunContext(cluster, topics, settings, say, result)
        wait_until(lambda: _all_in_sync(ctx, cluster.brokers[0]), 60, "every partition fully in sync", interval_seconds=0.2)
        for topic in topics:
            topic.load = ProducerLoad(cluster.bootstrap(), topic.name, options.rate_per_second / len(topics))
            topic.load.start()
        try:
            wait_until(lambda: all(t.load.acked for t in topics), 30, "the first acknowledged writes")
            time.sleep(options.warmup_seconds)
            {"leader-kill": _leader_kill, "isolated-leader-lost": _isolated_leader_lost,
             "in-sync-replicas-lost": _in_sync_replicas_lost}[options.fault](ctx)
            time.sleep(1.0)
            peaks = cluster.peak_memory_mib()
            result["peak_broker_rss_mib"] = max((v for k, v in peaks.items() if k.startswith("broker")), default=None)
            result["peak_controller_rss_mib"] = max((v for k, v in peaks.items() if k.startswith("controller")), default=None)
        finally:
            for topic in topics:
                if topic.load is not None:
                    topic.load.stop()
        say("reading every partition back")
        killed_at = result.pop("_killed_at")
        readable = [b for b in cluster.brokers if _running(cluster, b)]
        result["topics"] = {}
        for topic in topics:
            load = topic.load
            assert load is not None
            back = read_back(cluster.bootstrap(readable), topic.name, list(range(partitions)))
            result["topics"][topic.label] = {
                "topic": topic.name, **loss_summary(list(load.acked), back.present(), killed_at),
                "duplicates": back.duplicates(), "moved": back.moved(load.placed),
                "unreadable_partitions": back.unreadable_partitions, "failed_writes": len(load.failed),
                "failed_writes_by_error": dict(sorted(Counter(name for _, _, name in load.failed).items())),
                "unacknowledged_at_stop": load.unacknowledged_at_stop, "client_errors": len(load.client_errors),
                "producer_fatal_errors": [message for _, message in load.fatal_errors][:3],
                "producer_restarts": load.producer_restarts,
                "new_leader_seconds": result.get("new_leader_by_topic", {}).get(topic.name),
            }
        subject = result["topics"][ctx.subject.label]
        result.update({key: subject[key] for key in ("acknowledged", "missing", "rpo_seconds", "missing_span_seconds",
                                                     "duplicates", "moved", "failed_writes", "producer_restarts")})
        if options.sabotage:
            result["control_missing"] = result["topics"]["spec"]["missing"]
        result.pop("new_leader_by_topic", None)
        for node in cluster.brokers + cluster.controllers:
            sup.kill(node.name)  # a throw-away cluster: no controlled shutdown needed
        return result


def _running(cluster: KafkaCluster, node: KafkaNode) -> bool:
    proc = cluster.sup.processes.get(node.name)
    return proc is not None and proc.poll() is None and node.name not in cluster.sup.paused


def _all_in_sync(ctx: RunContext, via: KafkaNode) -> bool:
    state = ctx.cluster.partitions(via, ctx.names)
    return all(leader >= 0 and len(isr) == ctx.settings.replication_factor for leader, isr in state.values())


def _min_isr(ctx: RunContext, via: KafkaNode) -> int:
    return min(len(isr) for _, isr in ctx.cluster.partitions(via, ctx.names).values())


def _watch_leaders(ctx: RunContext, via: KafkaNode, gone: set[int], since: float, timeout_seconds: float,
                   led: dict[str, float] | None = None) -> dict[str, float]:
    """Poll until every topic's partitions all have a live leader (not in ``gone``) or the timeout passes; return
    topic -> seconds since ``since`` it took (topics never led are absent)."""
    led = dict(led or {})
    deadline = time.monotonic() + timeout_seconds
    while len(led) < len(ctx.topics) and time.monotonic() < deadline:
        try:
            state = ctx.cluster.partitions(via, ctx.names)
        except Exception:  # noqa: BLE001 - a broker just resumed may not answer yet
            time.sleep(0.2)
            continue
        now = time.monotonic()
        for topic in ctx.names:
            if topic not in led and all(leader >= 0 and leader not in gone
                                        for (name, _), (leader, _) in state.items() if name == topic):
                led[topic] = round(now - since, 3)
        time.sleep(0.2)
    return led


def _gap_figures(load: ProducerLoad, killed_at: float, back_at: float | None) -> dict[str, Any]:
    end = (back_at or time.monotonic()) + 1.0
    errors = load.errors_between(killed_at, end)
    return {"failed_writes_in_gap": errors["failed_writes"], "client_errors_in_gap": errors["client_errors"],
            "max_ack_latency_in_gap": load.max_ack_latency(killed_at - 1.0, end)}


def _leader_kill(ctx: RunContext) -> None:
    cluster, result, load = ctx.cluster, ctx.result, ctx.subject.load
    assert load is not None
    state = cluster.partitions(cluster.brokers[0], ctx.names)
    victim = cluster.broker(state[(ctx.subject.name, 0)][0])
    led = {p for (_, p), (leader, _) in state.items() if leader == victim.node_id}
    survivor = next(b for b in cluster.brokers if b is not victim)
    ctx.say(f"SIGKILL {victim.name} (node {victim.node_id}), leader of partitions {sorted(led)}")
    cluster.sup.kill(victim.name)
    killed_at = time.monotonic()
    limit = 2.0 * ctx.settings.rto_seconds
    led_by_topic = _watch_leaders(ctx, survivor, {victim.node_id}, killed_at, limit)
    if ctx.subject.name not in led_by_topic:
        raise ProcessSetupError(f"no new leaders within {limit:.0f} s of killing {victim.name}")
    wait_until(lambda: load.acked_after(killed_at, led) is not None, 60, "a write acknowledged by a new leader",
               interval_seconds=0.05)
    first_ack = load.acked_after(killed_at, led)
    assert first_ack is not None
    time.sleep(2.0)
    ctx.say(f"restarting {victim.name} (its log directory kept)")
    restarted_at = time.monotonic()
    cluster.start_node(victim)
    registered_at = cluster.wait_brokers_visible([victim.node_id], 120, via=survivor)
    full_at = wait_until(lambda: _all_in_sync(ctx, survivor), limit, "full ISR again", interval_seconds=0.2)
    result.update({
        "_killed_at": killed_at, "victim": victim.node_id, "partitions_led": len(led),
        "new_leader_seconds": led_by_topic[ctx.subject.name], "new_leader_by_topic": led_by_topic,
        "first_ack_seconds": round(first_ack - killed_at, 3), "broker_restart_seconds": round(registered_at - restarted_at, 3),
        "full_isr_seconds": round(full_at - restarted_at, 3), "full_isr_since_kill_seconds": round(full_at - killed_at, 3),
        "min_isr_after": _min_isr(ctx, survivor), **_gap_figures(load, killed_at, first_ack)})


def _isolated_leader_lost(ctx: RunContext) -> None:
    cluster, result, load = ctx.cluster, ctx.result, ctx.subject.load
    assert load is not None
    state = cluster.partitions(cluster.brokers[0], ctx.names)
    victim = cluster.broker(state[(ctx.subject.name, 0)][0])
    followers = [b for b in cluster.brokers if b is not victim]
    ctx.say(f"SIGSTOP the followers {[f.name for f in followers]}: wait until {victim.name} is alone in every ISR")
    for follower in followers:
        cluster.sup.pause(follower.name)
    stalled_at = time.monotonic()
    alone_at = wait_until(lambda: all(leader == victim.node_id and isr == (victim.node_id,)
                                      for leader, isr in cluster.partitions(victim, ctx.names).values()),
                          120, f"{victim.name} alone in the ISR", interval_seconds=0.2)
    time.sleep(WRITE_WINDOW_SECONDS)
    cluster.sup.kill(victim.name)
    killed_at = time.monotonic()
    acked = {t.label: t.load.acked_between(stalled_at, killed_at) for t in ctx.topics if t.load is not None}
    shutil.rmtree(victim.data_dir, ignore_errors=True)
    ctx.say(f"writes acknowledged since the followers stalled: {acked}; {victim.name} SIGKILLed, its volume deleted; "
            "resuming the followers")
    for follower in followers:
        cluster.sup.resume(follower.name)
    witness = followers[0]
    cluster.wait_brokers_visible([f.node_id for f in followers], 120, via=witness)
    led_by_topic = _watch_leaders(ctx, witness, {victim.node_id}, killed_at, LEADERLESS_WAIT_SECONDS)
    leaderless = [f"{name}-{p}" for (name, p), (leader, _) in sorted(cluster.partitions(witness, ctx.names).items()) if leader < 0]
    result.update({"_killed_at": killed_at, "victim": victim.node_id, "fenced_seconds": round(alone_at - stalled_at, 3),
                   "acked_since_followers_stalled": acked[ctx.subject.label],
                   "new_leader_seconds": led_by_topic.get(ctx.subject.name), "leaderless_partitions": leaderless,
                   "operator_unclean_election": bool(leaderless)})
    if leaderless:
        ctx.say(f"partitions {leaderless} have no leader: the operator forces an unclean election (the broker is gone for good)")
        _elect_unclean(cluster, witness, [(name, p) for (name, p), (leader, _) in
                                          cluster.partitions(witness, ctx.names).items() if leader < 0])
        after = _watch_leaders(ctx, witness, {victim.node_id}, killed_at, 60, led_by_topic)
        result["recovered_by_operator_seconds"] = after.get(ctx.subject.name)
    result["new_leader_by_topic"] = led_by_topic
    first_ack = load.acked_after(killed_at + 0.5)
    result["first_ack_seconds"] = None if first_ack is None else round(first_ack - killed_at, 3)
    new_leader = led_by_topic.get(ctx.subject.name)
    result.update(_gap_figures(load, killed_at, None if new_leader is None else killed_at + new_leader))


def _in_sync_replicas_lost(ctx: RunContext) -> None:
    cluster, result, load = ctx.cluster, ctx.result, ctx.subject.load
    assert load is not None
    state = cluster.partitions(cluster.brokers[0], ctx.names)
    victim = cluster.broker(state[(ctx.subject.name, 0)][0])
    witness, stale = [b for b in cluster.brokers if b is not victim]
    ctx.say(f"SIGSTOP {stale.name}: wait until it is out of every ISR")
    cluster.sup.pause(stale.name)
    stalled_at = time.monotonic()
    out_at = wait_until(lambda: all(leader in (victim.node_id, witness.node_id) and stale.node_id not in isr
                                    for leader, isr in cluster.partitions(victim, ctx.names).values()),
                        120, f"{stale.name} out of the ISR", interval_seconds=0.2)
    time.sleep(WRITE_WINDOW_SECONDS)
    cluster.sup.pause(witness.name)
    cluster.sup.kill(victim.name)
    killed_at = time.monotonic()
    acked = {t.label: t.load.acked_between(stalled_at, killed_at) for t in ctx.topics if t.load is not None}
    ctx.say(f"writes acknowledged since {stale.name} stalled: {acked}; {witness.name} SIGSTOPped, {victim.name} SIGKILLed; "
            f"resuming {stale.name}")
    cluster.sup.resume(stale.name)
    cluster.wait_brokers_visible([stale.node_id], 120, via=stale)
    gone = {victim.node_id, witness.node_id}
    stale_led = _watch_leaders(ctx, stale, gone, killed_at, LEADERLESS_WAIT_SECONDS)
    ctx.say(f"topics led by the stale replica: {sorted(stale_led) or 'none'}; resume {witness.name}, restart {victim.name} "
            "(its log directory kept)")
    cluster.sup.resume(witness.name)
    returned_at = time.monotonic()
    cluster.start_node(victim)
    # Without an unclean election the partitions wait for an in-sync replica: Kafka's part of that outage is the
    # time from their return to a leader (how long they were away is the drill's choice).
    after_return = _watch_leaders(ctx, stale, set(), returned_at, 2.0 * ctx.settings.rto_seconds,
                                  {name: 0.0 for name in stale_led})
    led_by_topic = {name: stale_led.get(name, after_return.get(name)) for name in ctx.names if name in after_return}
    cluster.wait_brokers_visible([witness.node_id, victim.node_id], 120, via=stale)
    full_at = wait_until(lambda: _all_in_sync(ctx, stale), 2.0 * ctx.settings.rto_seconds, "full ISR again",
                         interval_seconds=0.2)
    new_leader = led_by_topic.get(ctx.subject.name)
    subject_elected = ctx.subject.name in stale_led
    result.update({
        "_killed_at": killed_at, "victim": victim.node_id, "stale": stale.node_id,
        "out_of_isr_seconds": round(out_at - stalled_at, 3), "acked_since_stale_stalled": acked[ctx.subject.label],
        "stale_replica_elected": subject_elected, "stale_elected_topics": sorted(stale_led),
        "new_leader_seconds": new_leader, "new_leader_by_topic": led_by_topic,
        "new_leader_measured_from": "broker killed" if subject_elected else "in-sync replicas returned",
        "full_isr_seconds": round(full_at - returned_at, 3), "min_isr_after": _min_isr(ctx, stale),
        **_gap_figures(load, killed_at, None if new_leader is None else
                       (killed_at if subject_elected else returned_at) + new_leader)})


def _elect_unclean(cluster: KafkaCluster, via: KafkaNode, partitions: list[tuple[str, int]]) -> None:
    """What an operator runs when a partition's only in-sync replica is gone for good (kafka-leader-election --election-type unclean)."""
    from confluent_kafka import ElectionType, TopicPartition
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{via.port}", "logger": LIBRDKAFKA_LOG})
    outcome = admin.elect_leaders(ElectionType.UNCLEAN, [TopicPartition(t, p) for t, p in partitions]).result(timeout=30)
    failures = {f"{tp.topic}-{tp.partition}": str(err) for tp, err in outcome.items() if err is not None}
    if failures:
        raise ProcessSetupError(f"unclean election refused: {failures}")


def java_version_line() -> str:
    """First line of ``java -version`` (for the report)."""
    binary = shutil.which("java")
    if binary is None:
        return "java not found"
    return subprocess.run([binary, "-version"], capture_output=True, text=True, check=False).stderr.splitlines()[0]
