"""Low-level Kubernetes kit shared by every component: objects as plain data, the one YAML writer, naming
conventions, scheduling, network policies, secrets, workload security and the data-store placement kit.

Nothing here knows a component: components build on it, the pipeline and the checks read through it.
"""
