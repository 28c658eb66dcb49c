"""The quiet window of `plinth sim sync` (offline: Application statuses as Argo CD reports them)."""

from __future__ import annotations

from plinth.sim.sync import ApplicationStatus, _fingerprint


def test_a_retry_repeating_its_error_with_new_numbers_is_not_a_change() -> None:
    """The quiet window of `plinth sim sync`: KEDA repeats its Kafka error with a new source port on each poll."""
    def status(port: int, health: str = "Degraded") -> list[ApplicationStatus]:
        return [ApplicationStatus("app-services", 2, "Synced", health, unhealthy=[
            f"ScaledObject/platform-apps/data-workers: Degraded: dial tcp: lookup kafka on 127.0.0.1:53: read udp 127.0.0.1:{port}->127.0.0.1:53"])]

    assert _fingerprint(status(46607)) == _fingerprint(status(42175))
    assert _fingerprint(status(46607)) != _fingerprint(status(46607, "Healthy"))
