"""A PgBouncer of a test's own in transaction pooling mode, in front of the shared PostgreSQL.

    with pgbouncer_instance("127.0.0.1", 5432) as bouncer:
        pooled = bouncer.url_of("postgresql://postgres@127.0.0.1:5432/ci_abc")   # same database, through it
        bouncer.show("POOLS")                                                    # the admin console

Its ini and userlist go to a temporary directory; it listens on a free port, forwards every database name
(`* =`), and keeps at most `pool_size` server connections per database, so that many client connections
share a few server connections, each transaction on whichever is free.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from tests.ports import free_port

BIN = Path(os.environ.get("CATALOG_INGEST_TEST_PGBOUNCER", "/usr/sbin/pgbouncer"))
USER = "postgres"
# Small, so that dozens of client connections share them. At 4, on the loaded 2-core machine, the heartbeats of
# three worker processes waited behind the other transactions past their lease (docs/scaling.md, Sizing).
POOL_SIZE = 8
# Unaligned, tab-separated, then the command.
PSQL_FLAGS = ("-A", "-F", "\t", "-c")


class PgBouncer:
    def __init__(self, root: Path, port: int, pool_size: int) -> None:
        self.root = root
        self.port = port
        self.pool_size = pool_size

    def url_of(self, direct_url: str) -> str:
        """`direct_url`'s database, through this PgBouncer."""
        parts = urlsplit(direct_url)
        user = parts.netloc.rsplit("@", 1)[0] if "@" in parts.netloc else USER
        return urlunsplit((parts.scheme, f"{user}@127.0.0.1:{self.port}", parts.path, parts.query, ""))

    def show(self, what: str) -> list[dict[str, str]]:
        """`SHOW <what>` on the admin console (simple query protocol only: psql), one dict per row."""
        done = subprocess.run(
            [
                "psql",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                USER,
                "-d",
                "pgbouncer",
                "-A",
                "-F",
                "\t",
                "-c",
                f"SHOW {what}",
            ],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        lines = [line for line in done.stdout.splitlines() if line and not line.startswith("(")]
        header = lines[0].split("\t")
        return [dict(zip(header, line.split("\t"), strict=False)) for line in lines[1:]]

    def server_connections(self, database: str) -> int:
        """Server connections PgBouncer holds open to `database` now (busy or idle)."""
        return sum(
            int(row["sv_active"])
            + int(row["sv_idle"])
            + int(row["sv_used"])
            + int(row["sv_tested"])
            + int(row["sv_login"])
            for row in self.show("POOLS")
            if row["database"] == database
        )

    def log(self) -> str:
        path = self.root / "pgbouncer.log"
        return path.read_text(errors="replace") if path.exists() else ""


@contextlib.contextmanager
def pgbouncer_instance(server_host: str, server_port: int, pool_size: int = POOL_SIZE) -> Iterator[PgBouncer]:
    """Start PgBouncer (transaction pooling, `pool_size` server connections per database) and stop it after."""
    root = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
    port = free_port()
    (root / "userlist.txt").write_text(f'"{USER}" ""\n')
    (root / "pgbouncer.ini").write_text(
        f"""[databases]
* = host={server_host} port={server_port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {root}/userlist.txt
admin_users = {USER}
pool_mode = transaction
default_pool_size = {pool_size}
min_pool_size = 0
reserve_pool_size = 0
max_client_conn = 2000
query_wait_timeout = 60
ignore_startup_parameters = extra_float_digits
logfile = {root}/pgbouncer.log
pidfile = {root}/pgbouncer.pid
"""
    )
    command = [str(BIN), str(root / "pgbouncer.ini")]
    if os.geteuid() == 0:  # PgBouncer refuses to run as root
        shutil.chown(root, USER)
        for path in root.iterdir():
            shutil.chown(path, USER)
        command[1:1] = ["-u", USER]
    # Its log goes to the logfile; stderr (a copy) to a file too: a pipe nobody reads fills up and freezes it.
    with open(root / "stderr.log", "wb") as stderr:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)
    bouncer = PgBouncer(root, port, pool_size)
    try:
        deadline = time.monotonic() + 15
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            if process.poll() is not None or time.monotonic() > deadline:
                stderr = (root / "stderr.log").read_text(errors="replace")
                raise RuntimeError(f"pgbouncer did not start: {stderr}{bouncer.log()}")
            time.sleep(0.05)
        yield bouncer
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        shutil.rmtree(root, ignore_errors=True)
