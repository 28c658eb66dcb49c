"""The Alertmanager configuration as data, from the spec, and the real ``amtool`` to check it.

Routing follows the rules' severities (``monitoring.rules.SEVERITIES``): the spec's paging severities
page PagerDuty, warnings go to a chat channel that pages nobody, info goes nowhere but the
Alertmanager and Grafana alert lists. The always-firing Watchdog goes to the spec's heartbeat service alone, every
``heartbeat.interval_minutes``: the dead man's switch (the service pages when the pings stop). A critical alert inhibits the warning of the same alert on the
same namespace and service. Notifications are grouped by namespace and service.

No secret is ever part of the configuration: the PagerDuty routing key and the chat webhook URL are
files mounted from Secrets that ExternalSecrets create (``routing_key_file``, ``api_url_file``).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from plinth.kube.yamlio import dump_yaml
from plinth.monitoring.promtool import PromtoolResult
from plinth.monitoring.rules import SEVERITIES
from plinth.spec.model import Platform

PAGERDUTY_RECEIVER = "pagerduty"
WARNING_RECEIVER = "team-chat"
SILENT_RECEIVER = "alert-list-only"
"""Receiver without a notifier: info alerts are only listed."""
HEARTBEAT_RECEIVER = "heartbeat"
"""Receiver of the always-firing Watchdog: the external heartbeat service (``alerting.heartbeat``)."""
WATCHDOG_ALERT = "Watchdog"
"""The always-firing alert (kube-prometheus-stack's ``general.rules``, ``vector(1)``) that proves the alerting path works."""

PAGERDUTY_SECRET = "alertmanager-pagerduty"
"""Secret (from an ExternalSecret) holding the PagerDuty Events v2 routing key."""
PAGERDUTY_SECRET_KEY = "routing-key"
CHAT_SECRET = "alertmanager-chat-webhook"
"""Secret (from an ExternalSecret) holding the chat (Slack-compatible) incoming-webhook URL."""
CHAT_SECRET_KEY = "webhook-url"
HEARTBEAT_SECRET = "alertmanager-heartbeat"
"""Secret (from an ExternalSecret) holding this environment's token of the heartbeat service."""
HEARTBEAT_SECRET_KEY = "token"
SECRETS_MOUNT = "/etc/alertmanager/secrets"
"""Where the Prometheus Operator mounts ``alertmanagerSpec.secrets`` (``<mount>/<secret>/<key>``)."""

GROUP_BY: tuple[str, ...] = ("namespace", "service")
INHIBIT_EQUAL: tuple[str, ...] = ("alertname", "namespace", "service")


def secret_file(secret: str, key: str) -> str:
    """Path inside the Alertmanager pod of a key of a mounted Secret."""
    return f"{SECRETS_MOUNT}/{secret}/{key}"


def mounted_secrets() -> list[str]:
    """Secrets the Alertmanager pods mount (``alertmanagerSpec.secrets``)."""
    return [PAGERDUTY_SECRET, CHAT_SECRET, HEARTBEAT_SECRET]


def _severity_matcher(severities: list[str]) -> str:
    if len(severities) == 1:
        return f'severity="{severities[0]}"'
    return f'severity=~"{"|".join(severities)}"'


def alertmanager_config(platform: Platform) -> dict[str, Any]:
    """The whole Alertmanager configuration (``alertmanager.yml``) for one platform."""
    alerting = platform.observability.alerting
    paging = [s for s in SEVERITIES if s in alerting.paging_severities]
    quiet = [s for s in SEVERITIES if s not in paging and s != "info"]
    heartbeat = alerting.heartbeat
    every = f"{heartbeat.interval_minutes}m"
    routes: list[dict[str, Any]] = [
        # First: the Watchdog reaches the heartbeat service alone, re-sent every interval (group_wait 0: at once).
        {"receiver": HEARTBEAT_RECEIVER, "matchers": [f'alertname="{WATCHDOG_ALERT}"'], "group_by": ["alertname"],
         "group_wait": "0s", "group_interval": every, "repeat_interval": every},
        {"receiver": PAGERDUTY_RECEIVER, "matchers": [_severity_matcher(paging)], "group_wait": "30s", "repeat_interval": "1h"},
    ]
    if quiet:
        routes.append({"receiver": WARNING_RECEIVER, "matchers": [_severity_matcher(quiet)]})
    routes.append({"receiver": SILENT_RECEIVER, "matchers": ['severity=~"info|none"']})
    return {
        "global": {"resolve_timeout": "5m"},
        "route": {
            # Alerts without a known severity still reach people, but never page them.
            "receiver": WARNING_RECEIVER,
            "group_by": list(GROUP_BY),
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "4h",
            "routes": routes,
        },
        "inhibit_rules": [
            {"source_matchers": ['severity="critical"'], "target_matchers": ['severity="warning"'], "equal": list(INHIBIT_EQUAL)},
        ],
        "receivers": [
            {"name": PAGERDUTY_RECEIVER, "pagerduty_configs": [{
                "routing_key_file": secret_file(PAGERDUTY_SECRET, PAGERDUTY_SECRET_KEY),
                "send_resolved": True,
                "severity": '{{ if .CommonLabels.severity }}{{ .CommonLabels.severity }}{{ else }}critical{{ end }}',
                "description": '{{ .CommonAnnotations.summary }}',
                "details": {"namespace": "{{ .CommonLabels.namespace }}", "service": "{{ .CommonLabels.service }}",
                            "runbook_url": "{{ .CommonAnnotations.runbook_url }}"},
            }]},
            {"name": WARNING_RECEIVER, "slack_configs": [{
                "api_url_file": secret_file(CHAT_SECRET, CHAT_SECRET_KEY),
                "channel": alerting.warning_channel,
                "send_resolved": True,
                "title": '[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }} ({{ .CommonLabels.namespace }})',
                "text": '{{ range .Alerts }}{{ .Annotations.description }} {{ .Annotations.runbook_url }}\n{{ end }}',
            }]},
            {"name": SILENT_RECEIVER},
            {"name": HEARTBEAT_RECEIVER, "webhook_configs": [{
                "url": heartbeat.url,
                "send_resolved": False,
                "max_alerts": 1,
                "http_config": {"authorization": {"type": heartbeat.auth_scheme,
                                                  "credentials_file": secret_file(HEARTBEAT_SECRET, HEARTBEAT_SECRET_KEY)}},
            }]},
        ],
    }


def amtool_path() -> str | None:
    """The amtool binary (Debian package ``prometheus-alertmanager``), or None."""
    return shutil.which("amtool")


def _with_config_file(config: dict[str, Any], args: list[str]) -> PromtoolResult:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "alertmanager.yml"
        path.write_text(dump_yaml(config, canonical_order=False))
        proc = subprocess.run([amtool_path() or "amtool", *[a.replace("{config}", str(path)) for a in args]],
                              capture_output=True, text=True)
        return PromtoolResult(proc.returncode, proc.stdout + proc.stderr)


def check_config(config: dict[str, Any]) -> PromtoolResult:
    """``amtool check-config`` on the configuration."""
    return _with_config_file(config, ["check-config", "{config}"])


def route_receivers(config: dict[str, Any], labels: dict[str, str]) -> list[str]:
    """Receivers ``amtool config routes test`` resolves for an alert with these labels."""
    result = _with_config_file(config, ["config", "routes", "test", "--config.file={config}",
                                        *[f"{k}={v}" for k, v in sorted(labels.items())]])
    if not result.ok:
        raise RuntimeError(f"amtool config routes test failed: {result.output}")
    lines = [line.strip() for line in result.output.splitlines() if line.strip() and not line.startswith("Warning:")]
    return sorted(r.strip() for r in lines[-1].split(","))


def verify_route(config: dict[str, Any], labels: dict[str, str], receivers: list[str]) -> PromtoolResult:
    """``amtool config routes test --verify.receivers``: exit 0 only if the labels reach exactly ``receivers``."""
    return _with_config_file(config, ["config", "routes", "test", "--config.file={config}",
                                      f"--verify.receivers={','.join(receivers)}",
                                      *[f"{k}={v}" for k, v in sorted(labels.items())]])
