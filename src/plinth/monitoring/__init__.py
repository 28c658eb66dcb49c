"""Monitoring artifacts as typed data: alert and recording rules, their promtool tests, dashboard panels."""
