"""`plinth drill redis-failover`: kill a Redis primary under a recorded write load; Sentinel fails over.

A primary, two replicas and three Sentinels (Debian's redis-server and redis-sentinel) run with the
spec's settings (persistence, min-replicas-to-write/max-lag, Sentinel quorum, down-after, failover
timeout). Each run kills the primary with SIGKILL while a client writes and follows Sentinel to the
new primary; the drill measures the time writes were unavailable and the acknowledged writes lost.
Several runs, fresh servers each, reported as a distribution.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from plinth.drills.load import WriteLoad, loss_summary
from plinth.procs import ProcessSetupError, Supervisor, chown_to_service_user, free_ports, owned_tempdir, supervised, wait_until
from plinth.drills.report import DrillReport, Promise, at_most, distribution
from plinth.drills.settings import RedisDrillSettings
from plinth.kube.conventions import DATASTORE_NAMES

DRILL = "redis-failover"
MASTER_NAME = DATASTORE_NAMES["redis"]
"""Sentinel's name for the monitored primary."""
SABOTAGES = ("sentinel-quorum",)
"""Settings the drill can break on purpose: sentinel-quorum = a quorum larger than the Sentinels (no failover)."""
WRITES_AFTER_FAILOVER_SECONDS = 2.0
"""Keep writing this long on the new primary before counting."""


@dataclass(frozen=True)
class FailoverOptions:
    """Runs and pacing."""

    runs: int = 3
    """Independent runs (fresh servers each)."""
    rate_per_second: float = 200.0
    """Recorded writes per second."""
    warmup_seconds: float = 3.0
    """Writes before the primary is killed."""
    sabotage: str | None = None
    """A setting broken on purpose (one of SABOTAGES)."""


def run(settings: RedisDrillSettings, options: FailoverOptions, environment: str,
        progress: Callable[[str], None] = lambda _: None) -> DrillReport:
    """Run the drill ``options.runs`` times and report the distribution (failed steps are reported, not raised)."""
    if options.sabotage not in (None, *SABOTAGES):
        raise ValueError(f"sabotage: expected one of {SABOTAGES}, got {options.sabotage!r}")
    if options.runs < 1:
        raise ValueError("runs: expected at least 1")
    effective = settings
    if options.sabotage == "sentinel-quorum":
        effective = replace(settings, sentinel_quorum=settings.sentinels + 1)
    report = DrillReport(DRILL, environment, {**settings.as_dict(), "runs": options.runs,
                                              "rate_per_second": options.rate_per_second, "sabotage": options.sabotage})
    report.notes += [
        f"Debian redis-server/redis-sentinel; {settings.nodes} Redis + {settings.sentinels} Sentinels on 127.0.0.1, fresh each run.",
        "Failover time = primary killed -> first write acknowledged by the new primary (client follows Sentinel).",
        "Redis replicates asynchronously: Sentinel does not guarantee acknowledged writes survive a failover; "
        "min-replicas-to-write/max-lag bound the loss, they do not make it 0.",
    ]
    runs: list[dict[str, float | int]] = []
    for number in range(1, options.runs + 1):
        progress(f"run {number}/{options.runs}")
        with report.step(f"run {number}"):
            runs.append(_one_run(effective, options, lambda m, n=number: progress(f"run {n}: {m}")))
    report.measured["runs"] = runs
    done = runs
    report.measured["failover_seconds"] = distribution([float(r["failover_seconds"]) for r in done])
    report.measured["lost_writes"] = distribution([float(r["missing"]) for r in done])
    report.measured["rpo_seconds"] = distribution([float(r["rpo_seconds"]) for r in done])
    complete = len(done) == options.runs
    worst_failover = report.measured["failover_seconds"]["max"] if done and complete else None
    worst_rpo = report.measured["rpo_seconds"]["max"] if done and complete else None
    report.promises += [
        at_most("every run: writable again within the Redis RTO", "datastores.redis.ha.rto_seconds",
                settings.rto_seconds, worst_failover, "s", "worst of all runs", check_id="PL-HA-006"),
        at_most("every run: acknowledged writes lost span at most the Redis RPO", "datastores.redis.ha.rpo_seconds",
                settings.rpo_seconds, worst_rpo, "s", "worst of all runs", check_id="PL-RPO-003"),
        Promise("every run: failover completed", "datastores.redis.sentinel_quorum", options.runs, len(done), "runs", complete,
                check_id="PL-HA-006"),
    ]
    return report


def _one_run(settings: RedisDrillSettings, options: FailoverOptions, say: Callable[[str], None]) -> dict[str, float | int]:
    import redis

    with owned_tempdir("plinth-drill-redis-") as work, supervised(work) as sup:
        ports = free_ports(settings.nodes + settings.sentinels)
        node_ports, sentinel_ports = ports[: settings.nodes], ports[settings.nodes:]
        say(f"starting {settings.nodes} Redis and {settings.sentinels} Sentinels")
        for index, port in enumerate(node_ports):
            _start_redis(sup, work, index, port, primary_port=None if index == 0 else node_ports[0], settings=settings)
        primary = redis.Redis(host="127.0.0.1", port=node_ports[0], socket_timeout=2)
        wait_until(lambda: primary.info("replication")["connected_slaves"] == settings.nodes - 1, 30, "replicas to connect")
        for index, port in enumerate(sentinel_ports):
            _start_sentinel(sup, work, index, port, node_ports[0], settings)
        sentinels = [redis.Redis(host="127.0.0.1", port=p, socket_timeout=2) for p in sentinel_ports]
        wait_until(lambda: all(len(s.sentinel_sentinels(MASTER_NAME)) == settings.sentinels - 1
                               and len(s.sentinel_slaves(MASTER_NAME)) == settings.nodes - 1 for s in sentinels),
                   60, "Sentinels to discover each other and the replicas", interval_seconds=0.5)

        client = _SentinelFollowingClient(sentinels, node_ports[0])
        load = WriteLoad(client.write, options.rate_per_second, on_error=client.rediscover)
        load.start()
        try:
            time.sleep(options.warmup_seconds)
            say("SIGKILL the primary")
            sup.kill("redis-0")
            killed_at = time.monotonic()
            limit = max(2.0 * settings.rto_seconds, settings.down_after_seconds + settings.failover_timeout_seconds)
            try:
                wait_until(lambda: load.first_ack_after(killed_at) is not None, limit, "a write acknowledged after failover",
                           interval_seconds=0.05)
            except ProcessSetupError as exc:
                raise ProcessSetupError(f"no failover within {limit:.0f} s: {exc}") from exc
            resumed_at = load.first_ack_after(killed_at)
            time.sleep(WRITES_AFTER_FAILOVER_SECONDS)
        finally:
            load.stop()
        acked = list(load.acked)
        new_primary = redis.Redis(host="127.0.0.1", port=client.port, socket_timeout=5)
        present = _present_ids(new_primary, [i for i, _ in acked])
        summary = loss_summary(acked, present, killed_at)
        assert resumed_at is not None
        return {**summary, "failover_seconds": round(resumed_at - killed_at, 3), "new_primary_port": client.port,
                "failed_write_attempts": load.failures}


class _SentinelFollowingClient:
    """Writes to the primary Sentinel names; on any error asks the Sentinels again (as Sentinel clients do)."""

    def __init__(self, sentinels: list, port: int) -> None:  # type: ignore[type-arg]
        import redis

        self._redis = redis
        self.sentinels = sentinels
        self.port = port
        self.conn = redis.Redis(host="127.0.0.1", port=port, socket_timeout=1, socket_connect_timeout=1)

    def write(self, write_id: int) -> None:
        self.conn.set(f"drill:{write_id}", "1")

    def rediscover(self, _exc: Exception) -> None:
        for sentinel in self.sentinels:
            try:
                _host, port = sentinel.sentinel_get_master_addr_by_name(MASTER_NAME)
            except Exception:  # noqa: BLE001 - try the next Sentinel
                continue
            if int(port) != self.port:
                self.port = int(port)
                self.conn = self._redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1, socket_connect_timeout=1)
            break
        time.sleep(0.05)


def _present_ids(conn, ids: list[int]) -> set[int]:  # type: ignore[no-untyped-def]
    present: set[int] = set()
    for start in range(0, len(ids), 1000):
        batch = ids[start:start + 1000]
        values = conn.mget([f"drill:{i}" for i in batch])
        present.update(i for i, v in zip(batch, values) if v is not None)
    return present


def _start_redis(sup: Supervisor, work: Path, index: int, port: int, primary_port: int | None,
                 settings: RedisDrillSettings) -> None:
    data = work / f"redis-{index}"
    data.mkdir()
    lines = [f"port {port}", "bind 127.0.0.1", f"dir {data}", "save \"\"", "daemonize no",
             *(f"{k} {v}" for k, v in settings.server_directives.items())]
    if primary_port is not None:
        lines.append(f"replicaof 127.0.0.1 {primary_port}")
    conf = data / "redis.conf"
    conf.write_text("\n".join(lines) + "\n")
    chown_to_service_user(data)
    sup.start(f"redis-{index}", ["redis-server", str(conf)])


def _start_sentinel(sup: Supervisor, work: Path, index: int, port: int, primary_port: int, settings: RedisDrillSettings) -> None:
    data = work / f"sentinel-{index}"
    data.mkdir()
    lines = [f"port {port}", "bind 127.0.0.1", f"dir {data}", "daemonize no",
             f"sentinel monitor {MASTER_NAME} 127.0.0.1 {primary_port} {settings.sentinel_quorum}",
             *settings.sentinel_directives]
    conf = data / "sentinel.conf"
    conf.write_text("\n".join(lines) + "\n")
    chown_to_service_user(data)
    sup.start(f"sentinel-{index}", ["redis-sentinel", str(conf)])
