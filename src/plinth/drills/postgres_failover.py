"""`plinth drill postgres-failover`: kill the PostgreSQL leader of a synchronous cluster under a recorded load.

Patroni + etcd from Debian stand in for CloudNativePG's failover manager (no Kubernetes here): three
PostgreSQL 15 nodes, ``synchronous_mode`` with the spec's number of synchronous standbys. Each run
SIGKILLs the whole leader "node" (Patroni and its PostgreSQL) while a client writes through a
multi-host connection string (``target_session_attrs=read-write``, as applications reach the ``-rw``
service); the drill measures the time to a new writable primary and the acknowledged writes lost.
"""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from plinth.drills import pg
from plinth.drills.load import WriteLoad, loss_summary
from plinth.procs import chown_to_service_user, free_ports, owned_tempdir, supervised, wait_until
from plinth.drills.report import DrillReport, Promise, at_most, distribution
from plinth.drills.settings import PostgresDrillSettings
from plinth.kube.conventions import DATASTORE_NAMES
from plinth.kube.yamlio import dump_yaml

DRILL = "postgres-failover"
PATRONI_TIMERS = {"ttl": 10, "loop_wait": 2, "retry_timeout": 4}
"""The stand-in's leader-lock timers (seconds); CloudNativePG's own failover timing differs."""


@dataclass(frozen=True)
class PgFailoverOptions:
    """Runs and pacing."""

    runs: int = 3
    rate_per_second: float = 100.0
    warmup_seconds: float = 3.0


def run(settings: PostgresDrillSettings, options: PgFailoverOptions, environment: str,
        progress: Callable[[str], None] = lambda _: None) -> DrillReport:
    """Run the failover ``options.runs`` times; report the distribution (failed steps are reported, not raised)."""
    if options.runs < 1:
        raise ValueError("runs: expected at least 1")
    report = DrillReport(DRILL, environment, {**settings.as_dict(), "runs": options.runs,
                                              "rate_per_second": options.rate_per_second, "patroni": PATRONI_TIMERS})
    report.notes += [
        "Patroni 3 + etcd 3.4 (Debian) stand in for CloudNativePG's failover manager: same PostgreSQL synchronous "
        "replication, different failure detection. Timers used: " + json.dumps(PATRONI_TIMERS) + ".",
        "The whole leader node is killed (Patroni and PostgreSQL, SIGKILL); the client reconnects with a multi-host "
        "connection string (target_session_attrs=read-write).",
        "Failover time = leader killed -> first write acknowledged by the new primary.",
    ]
    nodes = max(settings.instances, settings.synchronous_standbys + 2)
    runs: list[dict[str, float | int]] = []
    for number in range(1, options.runs + 1):
        progress(f"run {number}/{options.runs}")
        with report.step(f"run {number}"):
            runs.append(_one_run(settings, nodes, options, lambda m, n=number: progress(f"run {n}: {m}")))
    report.measured["runs"] = runs
    report.measured["failover_seconds"] = distribution([float(r["failover_seconds"]) for r in runs])
    report.measured["lost_writes"] = distribution([float(r["missing"]) for r in runs])
    complete = len(runs) == options.runs
    worst = report.measured["failover_seconds"]["max"] if runs and complete else None
    lost = report.measured["lost_writes"]["max"] if runs and complete else None
    worst_rpo = max((float(r["rpo_seconds"]) for r in runs), default=0.0) if runs and complete else None
    report.promises += [
        at_most("every run: a new writable primary within the PostgreSQL RTO", "datastores.postgres.ha.rto_seconds",
                settings.rto_seconds, worst, "s", "worst of all runs", check_id="PL-HA-003"),
        at_most("every run: acknowledged writes lost span at most the PostgreSQL RPO", "datastores.postgres.ha.rpo_seconds",
                settings.rpo_seconds, worst_rpo, "s", "worst of all runs", check_id="PL-RPO-001"),
        Promise("every run: no acknowledged write lost (synchronous standby)", "datastores.postgres.synchronous_standbys",
                0, lost, "writes", lost == 0, check_id="PL-RPO-001"),
    ]
    return report


def _patroni_config(work: Path, index: int, pg_port: int, api_port: int, etcd_port: int, settings: PostgresDrillSettings) -> Path:
    node_dir = work / f"node-{index}"
    node_dir.mkdir()
    config = {
        "scope": DATASTORE_NAMES["postgres"], "name": f"node-{index}",
        "restapi": {"listen": f"127.0.0.1:{api_port}", "connect_address": f"127.0.0.1:{api_port}"},
        "etcd3": {"hosts": [f"127.0.0.1:{etcd_port}"]},
        "bootstrap": {
            "dcs": {**PATRONI_TIMERS, "maximum_lag_on_failover": 1048576,
                    "synchronous_mode": settings.synchronous_standbys > 0,
                    "synchronous_node_count": max(1, settings.synchronous_standbys),
                    "postgresql": {"use_pg_rewind": False, "parameters": {"wal_level": "replica", "hot_standby": "on",
                                                                          "max_wal_senders": 10, "max_replication_slots": 10,
                                                                          "shared_buffers": "64MB"}}},
            "initdb": [{"encoding": "UTF8"}, {"auth": "trust"}],
        },
        "postgresql": {
            "listen": f"127.0.0.1:{pg_port}", "connect_address": f"127.0.0.1:{pg_port}",
            "data_dir": str(node_dir / "data"), "bin_dir": str(pg.PG_BIN),
            "pgpass": str(node_dir / "pgpass"),
            "authentication": {"superuser": {"username": pg.SUPERUSER, "password": "drill"},
                               "replication": {"username": "replicator", "password": "drill"}},
            "parameters": {"unix_socket_directories": str(node_dir)},
            "pg_hba": ["local all all trust", "host all all 127.0.0.1/32 trust", "host replication all 127.0.0.1/32 trust"],
        },
        "tags": {"nofailover": False, "noloadbalance": False},
    }
    path = node_dir / "patroni.yml"
    path.write_text(dump_yaml(config, canonical_order=False))
    chown_to_service_user(node_dir)
    return path


def _cluster_state(api_port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{api_port}/cluster", timeout=2) as response:
        return json.loads(response.read())


def _one_run(settings: PostgresDrillSettings, nodes: int, options: PgFailoverOptions, say: Callable[[str], None]) -> dict[str, float | int]:
    import psycopg

    with owned_tempdir("plinth-drill-patroni-") as work, supervised(work) as sup:
        ports = free_ports(2 + 2 * nodes)
        etcd_client, etcd_peer = ports[0], ports[1]
        pg_ports, api_ports = ports[2:2 + nodes], ports[2 + nodes:]
        say("starting etcd")
        (work / "etcd").mkdir()
        chown_to_service_user(work / "etcd")
        sup.start("etcd", ["etcd", "--name", "e0", "--data-dir", str(work / "etcd"),
                           "--listen-client-urls", f"http://127.0.0.1:{etcd_client}",
                           "--advertise-client-urls", f"http://127.0.0.1:{etcd_client}",
                           "--listen-peer-urls", f"http://127.0.0.1:{etcd_peer}",
                           "--initial-advertise-peer-urls", f"http://127.0.0.1:{etcd_peer}",
                           "--initial-cluster", f"e0=http://127.0.0.1:{etcd_peer}"],
                  env={"ETCD_UNSUPPORTED_ARCH": ""})
        wait_until(lambda: urllib.request.urlopen(f"http://127.0.0.1:{etcd_client}/health", timeout=1).status == 200, 30, "etcd")
        say(f"starting {nodes} Patroni nodes (synchronous_node_count {max(1, settings.synchronous_standbys)})")
        for index in range(nodes):
            config = _patroni_config(work, index, pg_ports[index], api_ports[index], etcd_client, settings)
            sup.start(f"patroni-{index}", ["patroni", str(config)])
            if index == 0:
                wait_until(lambda: any(m["role"] == "leader" and m["state"] == "running"
                                       for m in _cluster_state(api_ports[0])["members"]), 90, "the first leader")

        def ready() -> bool:
            members = _cluster_state(api_ports[0])["members"]
            leaders = [m for m in members if m["role"] == "leader" and m["state"] == "running"]
            sync = [m for m in members if m["role"] == "sync_standby" and m["state"] in ("running", "streaming")]
            return len(leaders) == 1 and len(sync) >= max(1, settings.synchronous_standbys) and len(members) == nodes

        wait_until(ready, 120, "leader + synchronous standbys", interval_seconds=0.5)
        leader = next(m for m in _cluster_state(api_ports[0])["members"] if m["role"] == "leader")
        leader_index = pg_ports.index(int(leader["port"]))
        hosts = ",".join("127.0.0.1" for _ in pg_ports)
        conninfo = (f"host={hosts} port={','.join(map(str, pg_ports))} user={pg.SUPERUSER} dbname=postgres "
                    "target_session_attrs=read-write connect_timeout=1")
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute("CREATE TABLE drill_writes (id bigint PRIMARY KEY)")

        client = _ReconnectingWriter(conninfo)
        load = WriteLoad(client.write, options.rate_per_second, on_error=client.reset)
        load.start()
        try:
            time.sleep(options.warmup_seconds)
            say(f"SIGKILL the leader node-{leader_index} (Patroni + PostgreSQL)")
            postmaster = _postmaster_pid(work / f"node-{leader_index}" / "data")
            old_port = pg_ports[leader_index]
            killed_at = time.monotonic()
            sup.kill(f"patroni-{leader_index}")
            if postmaster:
                _kill_group(postmaster)
            limit = 2.0 * settings.rto_seconds
            # Only a write another server acknowledged ends the outage: on a loaded machine the old leader's last
            # acknowledgements can be recorded after the kill.
            wait_until(lambda: client.first_ack_elsewhere(load, killed_at, old_port) is not None, limit,
                       "a write on the new primary", interval_seconds=0.05)
            resumed_at = client.first_ack_elsewhere(load, killed_at, old_port)
            time.sleep(2.0)
        finally:
            load.stop()
            client.close()
        acked = list(load.acked)
        present: set[int] = set()

        def count() -> bool:
            # A primary may be demoted again right after promotion (Patroni loses its leader lock on a busy
            # machine): wait for whichever node is writable to count what survived.
            with psycopg.connect(conninfo, autocommit=True) as conn:
                present.update(row[0] for row in conn.execute("SELECT id FROM drill_writes"))
            return True

        wait_until(count, 60, "a writable primary to count the surviving writes", interval_seconds=0.5)
        assert resumed_at is not None
        return {**loss_summary(acked, present, killed_at), "failover_seconds": round(resumed_at - killed_at, 3),
                "failed_write_attempts": load.failures}


def _postmaster_pid(data_dir: Path) -> int | None:
    try:
        return int((data_dir / "postmaster.pid").read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None


def _kill_group(pid: int) -> None:
    """SIGKILL a PostgreSQL postmaster's process group (its backends), as losing the node would."""
    try:
        os.killpg(os.getpgid(pid), signal.SIGKILL)
    except ProcessLookupError:
        pass


class _ReconnectingWriter:
    """Writes through a multi-host connection string; any error drops the connection (next write reconnects)."""

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self.conn = None
        self.server_ports: dict[int, int] = {}
        """Write id -> port of the server that acknowledged it."""

    def write(self, write_id: int) -> None:
        import psycopg

        if self.conn is None:
            self.conn = psycopg.connect(self.conninfo, autocommit=True)
        self.conn.execute("INSERT INTO drill_writes (id) VALUES (%s)", (write_id,))
        self.server_ports[write_id] = int(self.conn.info.port)

    def first_ack_elsewhere(self, load: WriteLoad, after: float, port: int) -> float | None:
        """Time of the first acknowledgement after ``after`` by a server other than the one on ``port``."""
        for write_id, at in list(load.acked):
            if at > after and self.server_ports.get(write_id) != port:
                return at
        return None

    def reset(self, _exc: Exception) -> None:
        self.close()
        time.sleep(0.05)

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:  # noqa: BLE001 - the server may be gone
                pass
            self.conn = None
