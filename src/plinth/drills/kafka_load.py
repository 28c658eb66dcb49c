"""The Kafka drill's recorded write load and read-back.

An ``acks=all`` idempotent producer (confluent-kafka, librdkafka) writes ids 1, 2, 3... as key and value; every
write the brokers acknowledge is recorded with its time, partition and offset. After recovery a consumer reads
every partition from the beginning to its high watermark; acknowledged ids it does not find were lost.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

LIBRDKAFKA_LOG = logging.getLogger("plinth.drills.librdkafka")
"""librdkafka's own log lines (connection refused while a broker is down...): kept off the drill's output; the
errors that matter reach the load through its callbacks."""
LIBRDKAFKA_LOG.addHandler(logging.NullHandler())
LIBRDKAFKA_LOG.propagate = False

PRODUCER_SETTINGS = {"acks": "all", "enable.idempotence": True, "linger.ms": 5}
"""What the promise needs from producers; everything else is librdkafka's default (retries until
message.timeout.ms, 300 s, so a leader change delays writes rather than failing them)."""


@dataclass
class ProducerLoad:
    """Writes ids at ``rate_per_second`` from a thread; records acknowledgements, failures and client errors."""

    bootstrap: str
    topic: str
    rate_per_second: float
    acked: list[tuple[int, float]] = field(default_factory=list)
    """(id, monotonic time the acknowledgement was seen), in order."""
    placed: dict[int, tuple[int, int]] = field(default_factory=dict)
    """id -> (partition, offset) the broker acknowledged it at."""
    sent_at: dict[int, float] = field(default_factory=dict)
    failed: list[tuple[int, float, str]] = field(default_factory=list)
    """Writes the producer gave up on (id, time, error): not acknowledged."""
    client_errors: list[tuple[float, str]] = field(default_factory=list)
    """Errors librdkafka reported to the application (connections refused, brokers down...)."""
    fatal_errors: list[tuple[float, str]] = field(default_factory=list)
    """Fatal producer errors: the idempotent producer saw the broker lose writes it had acknowledged (sequence
    numbers out of order). The load then starts a new producer, as an application has to."""
    producer_restarts: int = 0
    """New producers started after a fatal error."""
    unacknowledged_at_stop: int = 0
    """Writes still waiting for an acknowledgement when the load stopped (purged, not acknowledged)."""
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _producer: Any = None

    def start(self) -> None:
        """Create the producer and start writing."""
        self._producer = self._new_producer()
        self._thread = threading.Thread(target=self._loop, name="kafka-drill-load", daemon=True)
        self._thread.start()

    def stop(self, flush_seconds: float = 20.0) -> None:
        """Stop writing, wait up to ``flush_seconds`` for outstanding acknowledgements, give up on the rest."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        if self._producer is None:
            return
        from confluent_kafka import KafkaException

        deadline = time.monotonic() + flush_seconds
        try:
            while len(self._producer) and time.monotonic() < deadline:
                self._producer.poll(0.1)
        except KafkaException as exc:  # fatal: the outstanding writes stay unacknowledged
            self.fatal_errors.append((time.monotonic(), str(exc.args[0])))
        self.unacknowledged_at_stop = len(self._producer)
        self._discard(self._producer)
        self._producer = None

    def _new_producer(self) -> Any:
        from confluent_kafka import Producer

        return Producer({"bootstrap.servers": self.bootstrap, **PRODUCER_SETTINGS, "error_cb": self._on_error,
                         "logger": LIBRDKAFKA_LOG})

    def _discard(self, producer: Any) -> None:
        """Give up on a producer's outstanding writes (their delivery reports say so) and drop it."""
        try:
            producer.purge()
            producer.poll(0.5)
        except Exception:  # noqa: BLE001 - a producer in fatal state may refuse; its writes stay unacknowledged
            pass

    def acked_after(self, moment: float, partitions: set[int] | None = None) -> float | None:
        """Time of the first acknowledgement after ``moment`` (on the given partitions, if any)."""
        for write_id, at in list(self.acked):
            if at > moment and (partitions is None or self.placed[write_id][0] in partitions):
                return at
        return None

    def acked_between(self, start: float, end: float) -> int:
        """Acknowledgements seen in [start, end)."""
        return sum(1 for _, at in list(self.acked) if start <= at < end)

    def errors_between(self, start: float, end: float) -> dict[str, int]:
        """Failed writes and client errors seen in [start, end)."""
        return {"failed_writes": sum(1 for _, at, _ in list(self.failed) if start <= at < end),
                "client_errors": sum(1 for at, _ in list(self.client_errors) if start <= at < end)}

    def max_ack_latency(self, sent_from: float, sent_to: float) -> float:
        """Longest send -> acknowledgement time of writes sent in [sent_from, sent_to) (seconds)."""
        latencies = [at - self.sent_at[i] for i, at in list(self.acked) if sent_from <= self.sent_at[i] < sent_to]
        return round(max(latencies, default=0.0), 3)

    def _restart_after_fatal(self, error: Any) -> None:
        """Record the fatal error (the specific one, not librdkafka's generic _FATAL) and start a new producer."""
        from confluent_kafka import KafkaException

        message = str(error)
        try:
            self._producer.poll(0)
        except KafkaException as exc:
            message = str(exc.args[0])
        self.fatal_errors.append((time.monotonic(), message))
        self.producer_restarts += 1
        self._discard(self._producer)
        self._producer = self._new_producer()

    def _on_error(self, error: Any) -> None:
        if _is_fatal(error):
            self.fatal_errors.append((time.monotonic(), str(error)))
        else:
            self.client_errors.append((time.monotonic(), str(error)))

    def _on_delivery(self, error: Any, message: Any) -> None:
        write_id = int(message.value())
        now = time.monotonic()
        if error is not None:
            if not (self._stop.is_set() and "PURGE" in error.name()):  # given up at stop: unacknowledged_at_stop
                self.failed.append((write_id, now, error.name()))
            return
        self.placed[write_id] = (message.partition(), message.offset())
        self.acked.append((write_id, now))

    def _loop(self) -> None:
        from confluent_kafka import KafkaException

        interval = 1.0 / self.rate_per_second
        next_id = 1
        while not self._stop.is_set():
            started = time.monotonic()
            payload = str(next_id).encode()
            try:
                self.sent_at[next_id] = started
                self._producer.produce(self.topic, key=payload, value=payload, on_delivery=self._on_delivery)
                next_id += 1
                self._producer.poll(0)
            except BufferError:
                pass  # the local queue is full (all leaders gone for long): try the same id again
            except KafkaException as exc:
                if not _is_fatal(exc.args[0]):
                    raise
                self._restart_after_fatal(exc.args[0])
            time.sleep(max(0.0, interval - (time.monotonic() - started)))


def _is_fatal(error: Any) -> bool:
    """A producer error after which the producer is unusable (librdkafka raises its generic _FATAL for it too)."""
    from confluent_kafka import KafkaError

    return bool(error.fatal()) or error.code() == KafkaError._FATAL


@dataclass
class ReadBack:
    """What a consumer found reading the topic back."""

    found: dict[int, list[tuple[int, int]]]
    """id -> every (partition, offset) it was read at."""
    unreadable_partitions: list[int]
    """Partitions that could not be read (no leader)."""

    def present(self) -> set[int]:
        """Ids read at least once."""
        return set(self.found)

    def duplicates(self) -> int:
        """Ids read more than once (the idempotent producer should make this 0)."""
        return sum(1 for places in self.found.values() if len(places) > 1)

    def moved(self, placed: dict[int, tuple[int, int]]) -> int:
        """Acknowledged ids found, but not at the partition/offset they were acknowledged at (a truncated and rewritten log)."""
        return sum(1 for i, place in placed.items() if i in self.found and place not in self.found[i])


def read_back(bootstrap: str, topic: str, partitions: list[int], timeout_seconds: float = 60.0) -> ReadBack:
    """Read every partition from its beginning up to its high watermark."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"plinth-drill-{uuid.uuid4().hex[:8]}",
                         "enable.auto.commit": False, "enable.partition.eof": True, "auto.offset.reset": "earliest",
                         "logger": LIBRDKAFKA_LOG})
    found: dict[int, list[tuple[int, int]]] = {}
    unreadable: list[int] = []
    try:
        ends: dict[int, int] = {}
        for partition in partitions:
            try:
                _low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
            except KafkaException:
                unreadable.append(partition)
                continue
            ends[partition] = high
        pending = {p for p, high in ends.items() if high > 0}
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in sorted(pending)])
        deadline = time.monotonic() + timeout_seconds
        while pending and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error() is not None:
                continue  # end-of-partition events and transient errors; the offsets decide when we are done
            partition, offset = message.partition(), message.offset()
            found.setdefault(int(message.value()), []).append((partition, offset))
            if offset >= ends[partition] - 1:
                pending.discard(partition)
        unreadable.extend(sorted(pending))
    finally:
        consumer.close()
    return ReadBack(found, sorted(unreadable))
