"""A recorded write load: every acknowledged write is remembered with the time it was acknowledged.

Losses are then counted exactly (acknowledged ids missing after recovery) instead of estimated.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class WriteLoad:
    """Calls ``write(id)`` in a thread at up to ``rate_per_second``; an id counts once ``write`` returns."""

    write: Callable[[int], None]
    """Performs one write and returns only when the store acknowledged it (raises otherwise)."""
    rate_per_second: float
    """Target writes per second (the thread sleeps to keep it)."""
    on_error: Callable[[Exception], None] = lambda exc: None
    """Called on a failed write (e.g. to reconnect); the id is not acknowledged."""
    acked: list[tuple[int, float]] = field(default_factory=list)
    """(id, monotonic time of acknowledgement), in order."""
    failures: int = 0
    """Writes that raised."""
    _stop: threading.Event = field(default_factory=threading.Event)
    _running: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        """Start writing."""
        self._running.set()
        self._thread = threading.Thread(target=self._loop, name="drill-write-load", daemon=True)
        self._thread.start()

    def pause(self) -> None:
        """Stop issuing writes (the one in flight finishes) until ``resume``."""
        self._running.clear()
        time.sleep(0.3)

    def resume(self) -> None:
        """Resume writing."""
        self._running.set()

    def stop(self) -> None:
        """Stop the thread and wait for it."""
        self._stop.set()
        self._running.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def acked_ids(self) -> set[int]:
        """Ids acknowledged so far."""
        return {i for i, _ in list(self.acked)}

    def first_ack_after(self, moment: float) -> float | None:
        """Monotonic time of the first acknowledgement after ``moment`` (None if none)."""
        for _, at in self.acked:
            if at > moment:
                return at
        return None

    def _loop(self) -> None:
        next_id = 1
        interval = 1.0 / self.rate_per_second
        while not self._stop.is_set():
            self._running.wait()
            if self._stop.is_set():
                break
            started = time.monotonic()
            try:
                self.write(next_id)
                self.acked.append((next_id, time.monotonic()))
            except Exception as exc:  # noqa: BLE001 - any failure means "not acknowledged"
                self.failures += 1
                try:
                    self.on_error(exc)
                except Exception:  # noqa: BLE001
                    time.sleep(0.05)
            next_id += 1
            time.sleep(max(0.0, interval - (time.monotonic() - started)))


def loss_summary(acked: list[tuple[int, float]], present: set[int], loss_at: float) -> dict[str, float | int]:
    """Acknowledged writes missing after recovery, and the time they span (the measured RPO)."""
    missing = [(i, at) for i, at in acked if i not in present]
    summary: dict[str, float | int] = {"acknowledged": len(acked), "missing": len(missing), "rpo_seconds": 0.0,
                                       "missing_span_seconds": 0.0}
    if missing:
        first, last = missing[0][1], missing[-1][1]
        summary["rpo_seconds"] = round(max(0.0, loss_at - first), 3)
        summary["missing_span_seconds"] = round(last - first, 3)
    return summary
