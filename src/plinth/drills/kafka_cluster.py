"""A KRaft Kafka cluster on 127.0.0.1 for the Kafka drill: separate controller and broker processes, as the spec's
node pools are, started from the Maven Central jars (``kafka_dist``) in their own process groups.

Every node is a JVM (``java -cp '<libs>/*' kafka.Kafka server.properties``) with a small heap; ports are picked at
run time; storage is formatted by Kafka's own ``kafka.tools.StorageTool``. The brokers get the spec's broker
settings (the same ``broker_config`` the Strimzi Kafka object is rendered with) and the spec's zones as
``broker.rack``. Kafka does not refuse root and the cached jars may sit where only the invoking user can read
them, so the JVMs run as the invoking user (unlike PostgreSQL).
"""

from __future__ import annotations

import base64
import re
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plinth.drills.kafka_load import LIBRDKAFKA_LOG
from plinth.procs import ProcessSetupError, Supervisor, free_ports, wait_until
from plinth.drills.settings import KafkaDrillSettings, kafka_properties

BROKER_HEAP_MB = 320
"""-Xmx/-Xms of a broker JVM (the spec gives brokers 8 GiB; this machine has 2 cores for six JVMs)."""
CONTROLLER_HEAP_MB = 192
"""-Xmx/-Xms of a controller JVM."""
JVM_FLAGS = ("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData", "-Djava.awt.headless=true")
"""Serial GC and the client compiler only: less CPU and start-up time for six JVMs on two shared cores."""
KAFKA_DEFAULT_TIMERS = {"broker.session.timeout.ms": 9000, "broker.heartbeat.interval.ms": 2000,
                        "replica.lag.time.max.ms": 30000}
"""Kafka's own defaults (Strimzi keeps them; the spec sets none): a killed broker is fenced after the session timeout."""
DRILL_SETTINGS = {
    "unclean.leader.election.interval.ms": 1000,  # Kafka's default is 5 min; matters only with unclean election on
    "num.network.threads": 2, "num.io.threads": 2, "num.replica.fetchers": 1, "num.recovery.threads.per.data.dir": 1,
    "group.initial.rebalance.delay.ms": 0, "log.segment.bytes": 16 * 1024 * 1024,
}
"""Settings the drill adds for this machine (not in the spec): thread counts, a faster unclean-election check."""
BROKER_NODE_ID_BASE = 1
CONTROLLER_NODE_ID_BASE = 100
LOG4J2_PROPERTIES = """status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = OUT
logger.clients.name = org.apache.kafka.clients
logger.clients.level = WARN
"""


def new_cluster_id() -> str:
    """A random cluster id as Kafka writes them (URL-safe base64 of a UUID, not starting with '-')."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


@dataclass
class KafkaNode:
    """One Kafka process: a broker or a KRaft controller."""

    name: str
    node_id: int
    role: str
    """"broker" or "controller"."""
    port: int
    data_dir: Path
    config: Path
    started_at: float = 0.0


@dataclass
class KafkaCluster:
    """Controllers and brokers of one drill run; the Supervisor stops them all."""

    sup: Supervisor
    work: Path
    libs: Path
    settings: KafkaDrillSettings
    broker_settings: dict[str, Any]
    """Broker and controller settings: the spec's broker_config (possibly sabotaged) plus DRILL_SETTINGS."""
    cluster_id: str = field(default_factory=new_cluster_id)
    controllers: list[KafkaNode] = field(default_factory=list)
    brokers: list[KafkaNode] = field(default_factory=list)
    format_output: str = ""
    """What StorageTool printed while formatting the first controller (metadata version, features)."""

    def __post_init__(self) -> None:
        ports = free_ports(self.settings.controllers + self.settings.brokers)
        (self.work / "log4j2.properties").write_text(LOG4J2_PROPERTIES)
        for index in range(self.settings.controllers):
            node_id = CONTROLLER_NODE_ID_BASE + index
            self.controllers.append(self._node(f"controller-{index}", node_id, "controller", ports[index]))
        for index in range(self.settings.brokers):
            node_id = BROKER_NODE_ID_BASE + index
            self.brokers.append(self._node(f"broker-{index}", node_id, "broker", ports[self.settings.controllers + index]))
        for node in self.controllers + self.brokers:
            self.write_config(node)

    def _node(self, name: str, node_id: int, role: str, port: int) -> KafkaNode:
        folder = self.work / name
        folder.mkdir()
        return KafkaNode(name, node_id, role, port, folder / "data", folder / "server.properties")

    @property
    def voters(self) -> str:
        """controller.quorum.voters: the static KRaft quorum."""
        return ",".join(f"{c.node_id}@127.0.0.1:{c.port}" for c in self.controllers)

    def write_config(self, node: KafkaNode) -> None:
        """server.properties of a node: its role, listener, the quorum, the spec's settings."""
        props: dict[str, Any] = {
            "process.roles": node.role, "node.id": node.node_id, "controller.quorum.voters": self.voters,
            "controller.listener.names": "CONTROLLER", "log.dirs": str(node.data_dir),
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        }
        if node.role == "broker":
            zone = self.settings.zones[(node.node_id - BROKER_NODE_ID_BASE) % len(self.settings.zones)]
            props.update({"listeners": f"PLAINTEXT://127.0.0.1:{node.port}",
                          "advertised.listeners": f"PLAINTEXT://127.0.0.1:{node.port}",
                          "inter.broker.listener.name": "PLAINTEXT", "broker.rack": zone})
        else:
            props["listeners"] = f"CONTROLLER://127.0.0.1:{node.port}"
        props.update(self.broker_settings)
        node.config.write_text("".join(f"{k}={v}\n" for k, v in kafka_properties(props).items()))

    def java(self, heap_mb: int, main_class: str, *args: str) -> list[str]:
        """A JVM command line running ``main_class`` from the cached jars."""
        return ["java", f"-Xmx{heap_mb}m", f"-Xms{heap_mb}m", *JVM_FLAGS,
                f"-Dlog4j2.configurationFile={self.work / 'log4j2.properties'}", "-cp", f"{self.libs}/*", main_class, *args]

    def format_storage(self) -> None:
        """Format every node's log directory with the cluster id (in parallel: each is a JVM start)."""
        runs = [(node, subprocess.Popen(self.java(128, "kafka.tools.StorageTool", "format", "--cluster-id", self.cluster_id,
                                                  "--config", str(node.config)),
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
                                        start_new_session=True))
                for node in self.controllers + self.brokers]
        failures = []
        try:
            for node, proc in runs:
                try:
                    output, _ = proc.communicate(timeout=180)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    output, _ = proc.communicate()
                if proc.returncode != 0:
                    failures.append(f"{node.name}: {output.strip()[-800:]}")
                elif node is self.controllers[0]:
                    self.format_output = output.strip()
        finally:
            for _, proc in runs:  # interrupted (Ctrl-C, SIGTERM): stop the formatters too, by PID
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        if failures:
            raise ProcessSetupError("kafka storage format failed:\n" + "\n".join(failures))

    def features(self) -> dict[str, int]:
        """Feature levels the storage was formatted with (metadata.version, eligible.leader.replicas.version...)."""
        return {name: int(level) for name, level in re.findall(r"name='([a-z.]+)', featureLevel=(\d+)", self.format_output)}

    def start_node(self, node: KafkaNode) -> None:
        """Start one node's JVM in its own process group."""
        heap = BROKER_HEAP_MB if node.role == "broker" else CONTROLLER_HEAP_MB
        node.started_at = time.monotonic()
        self.sup.start(node.name, self.java(heap, "kafka.Kafka", str(node.config)), as_service_user=False)

    def start(self, timeout_seconds: float = 180) -> dict[str, float]:
        """Format and start the controllers, then the brokers; wait until every broker is registered and unfenced."""
        began = time.monotonic()
        self.format_storage()
        formatted = time.monotonic()
        for node in self.controllers + self.brokers:
            self.start_node(node)
        self.wait_brokers_visible([b.node_id for b in self.brokers], timeout_seconds)
        ready = time.monotonic()
        return {"format_seconds": round(formatted - began, 3), "start_seconds": round(ready - formatted, 3)}

    def exited(self, node: KafkaNode) -> str | None:
        """The tail of a node's log when its process has exited (None while it runs)."""
        proc = self.sup.processes.get(node.name)
        if proc is not None and proc.poll() is not None:
            return f"{node.name} exited ({proc.returncode}):\n{self.sup.log_tail(node.name)}"
        return None

    def bootstrap(self, brokers: list[KafkaNode] | None = None) -> str:
        """bootstrap.servers for clients."""
        return ",".join(f"127.0.0.1:{b.port}" for b in (brokers or self.brokers))

    def metadata(self, via: KafkaNode, topic: str | None = None, timeout_seconds: float = 2.0) -> Any:
        """A Metadata answer from one broker (a fresh client bootstrapped only to it, so no other broker answers)."""
        from confluent_kafka.admin import AdminClient

        admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{via.port}", "socket.connection.setup.timeout.ms": 2000,
                             "logger": LIBRDKAFKA_LOG})
        return admin.list_topics(topic=topic, timeout=timeout_seconds)

    def partitions(self, via: KafkaNode, topics: list[str]) -> dict[tuple[str, int], tuple[int, tuple[int, ...]]]:
        """(topic, partition) -> (leader node id or -1, ISR) as one broker sees them."""
        meta = self.metadata(via)
        state: dict[tuple[str, int], tuple[int, tuple[int, ...]]] = {}
        for topic in topics:
            described = meta.topics.get(topic)
            if described is None or not described.partitions:
                raise RuntimeError(f"topic {topic} not described by {via.name}: {described.error if described else 'absent'}")
            state.update({(topic, p.id): (p.leader, tuple(sorted(p.isrs))) for p in described.partitions.values()})
        return state

    def wait_brokers_visible(self, node_ids: list[int], timeout_seconds: float, via: KafkaNode | None = None) -> float:
        """Wait until the given brokers are registered and unfenced (listed in Metadata); return when."""
        def visible() -> bool:
            for node in self.controllers + [b for b in self.brokers if b.node_id in node_ids]:
                failure = self.exited(node)
                if failure:
                    raise ProcessSetupError(failure)
            asked = via or next(b for b in self.brokers if b.node_id in node_ids)
            return set(node_ids) <= set(self.metadata(asked).brokers)
        return wait_until(visible, timeout_seconds, f"brokers {node_ids} to register", interval_seconds=0.2)

    def broker(self, node_id: int) -> KafkaNode:
        """The broker with this node id."""
        return next(b for b in self.brokers if b.node_id == node_id)

    def peak_memory_mib(self) -> dict[str, float]:
        """Peak resident memory (VmHWM) of every running node, MiB."""
        peaks: dict[str, float] = {}
        for node in self.controllers + self.brokers:
            proc = self.sup.processes.get(node.name)
            if proc is None or proc.poll() is not None:
                continue
            try:
                status = Path(f"/proc/{proc.pid}/status").read_text()
            except OSError:
                continue
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    peaks[node.name] = round(int(line.split()[1]) / 1024, 1)
        return peaks
