"""Regenerate examples/extra-service.yaml: platform.yaml plus the five-line "reports" service.

The example shows that a service added with five lines gets the full set of objects; it must stay
platform.yaml plus exactly that block (a test checks it), so it is generated, not edited.
Usage: .venv/bin/python scripts/extra_service_example.py
"""

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HEADER = """# Example: the default platform.yaml plus one service ("reports"), added with five lines.
# `plinth render --spec examples/extra-service.yaml` gives it an Argo Rollout (the environment's canary
# steps), ServiceAccount, Service, PDB, ServiceMonitor, HPA and Certificate like every other service.
"""
BLOCK = """  reports:
    description: Tenant reports, generated on demand
    image: {repository: ghcr.io/org/reports, tag: "1.0.0"}
    resources: {requests_cpu: 250m, requests_memory: 256Mi, limits_cpu: "1", limits_memory: 512Mi}
    scaling: {type: hpa, trigger: {kind: cpu, target_utilization_percent: 70}, min_replicas: 3, max_replicas: 10}

"""


def main() -> None:
    spec = (REPO / "platform.yaml").read_text()
    end_of_services = spec.index("\napi_services:")
    text = HEADER + spec[:end_of_services].rstrip("\n") + "\n" + BLOCK + spec[end_of_services + 1:]
    (REPO / "examples" / "extra-service.yaml").write_text(text)


if __name__ == "__main__":
    main()
