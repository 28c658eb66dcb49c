"""Debian PostgreSQL 15 servers for drills: initdb, configuration, start, connect."""

from __future__ import annotations

import subprocess
from pathlib import Path

from plinth.procs import ProcessSetupError, Supervisor, run_checked, wait_until

PG_BIN = Path("/usr/lib/postgresql/15/bin")
"""Debian's postgresql-15 binaries."""
SUPERUSER = "drill"
"""Superuser the drill's clusters are initialised with (trust auth, loopback only)."""
DATABASE = "drill"
"""Database the drill writes to."""


def pg_bin(name: str) -> str:
    """Path of a PostgreSQL 15 binary."""
    return str(PG_BIN / name)


def initdb(data_dir: Path) -> None:
    """Create a cluster in ``data_dir`` (as the service user) with a trust-auth superuser."""
    run_checked([pg_bin("initdb"), "-D", str(data_dir), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--no-sync"],
                what="initdb")


def append_conf(data_dir: Path, parameters: dict[str, str]) -> None:
    """Append parameters to postgresql.conf (later lines win); values are quoted as PostgreSQL expects."""
    text = "".join(f"{key} = '{value.replace(chr(39), chr(39) * 2)}'\n" for key, value in parameters.items())
    with open(data_dir / "postgresql.conf", "a") as conf:
        conf.write("\n# plinth drill\n" + text)


def base_parameters(port: int, socket_dir: Path) -> dict[str, str]:
    """Loopback-only listening and small memory, fit for a 2-core CI machine."""
    return {"listen_addresses": "127.0.0.1", "port": str(port), "unix_socket_directories": str(socket_dir),
            "shared_buffers": "128MB", "max_wal_size": "1GB", "log_min_messages": "warning"}


def start(supervisor: Supervisor, name: str, data_dir: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start ``postgres -D data_dir`` under the supervisor (its process group is the server)."""
    return supervisor.start(name, [pg_bin("postgres"), "-D", str(data_dir)], env=env)


def dsn(port: int, dbname: str = DATABASE) -> str:
    """Connection string for a drill server on loopback."""
    return f"host=127.0.0.1 port={port} user={SUPERUSER} dbname={dbname} connect_timeout=3"


def wait_writable(supervisor: Supervisor, name: str, port: int, timeout_seconds: float, dbname: str = "postgres") -> float:
    """Wait until the server accepts queries and is out of recovery; fail fast if it exits. Returns the time."""
    import psycopg

    proc = supervisor.processes[name]

    def writable() -> bool:
        if proc.poll() is not None:
            raise ProcessSetupError(f"{name} exited (code {proc.returncode}):\n{supervisor.log_tail(name)}")
        with psycopg.connect(dsn(port, dbname), autocommit=True) as conn:
            return conn.execute("SELECT NOT pg_is_in_recovery()").fetchone()[0]  # type: ignore[index]

    try:
        return wait_until(writable, timeout_seconds, f"{name} to accept writes", interval_seconds=0.1)
    except ProcessSetupError as exc:
        if proc.poll() is not None and "exited" not in str(exc):
            raise ProcessSetupError(f"{name} exited (code {proc.returncode}):\n{supervisor.log_tail(name)}") from exc
        raise


def present_ids(port: int, table: str = "drill_writes") -> set[int]:
    """Ids present in the drill's write table."""
    import psycopg

    with psycopg.connect(dsn(port), autocommit=True) as conn:
        return {row[0] for row in conn.execute(f"SELECT id FROM {table}")}
