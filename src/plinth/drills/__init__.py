"""Disaster-recovery drills: real servers on loopback, killed on purpose, measured against the spec's promises.

Local drills (``postgres_restore``, ``redis_failover``, ``postgres_failover``) start and stop every process
they need; ``cluster`` renders the same restore drill for a real cluster; ``runbooks`` writes the runbooks.
"""
