"""Network flows: what the platform intends to connect, what its NetworkPolicies allow over the real pods, and
the difference (``plinth flows``, the PL-NET checks, the report's flow graph)."""
