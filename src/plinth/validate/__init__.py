"""Schema validation of rendered objects (Kubernetes OpenAPI and CRD schemas)."""
