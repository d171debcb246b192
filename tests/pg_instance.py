"""A PostgreSQL server of a test's own, which it may stop, kill and start again (never the shared one).

    with pg_instance() as pg:
        async with start_stack(pg.url) as stack: ...
        pg.stop("immediate")   # an outage, as a crash or `pg_ctl stop -m immediate` makes it
        pg.start()             # back, same data, same port

initdb and pg_ctl run as the `postgres` user in a temporary directory, on a free port.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tests.ports import free_port

BIN = Path(os.environ.get("CATALOG_INGEST_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
USER = "postgres"


class PgInstance:
    """One data directory and port; `start` and `stop` as often as a test likes."""

    def __init__(self, root: Path, port: int) -> None:
        self.root = root
        self.data = root / "data"
        self.port = port

    @property
    def url(self) -> str:
        return self.database_url("postgres")

    def database_url(self, database: str) -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, timeout: float = 60) -> None:
        command = ["runuser", "-u", USER, "--", *args] if os.geteuid() == 0 else list(args)
        done = subprocess.run(command, capture_output=True, timeout=timeout, cwd=self.root)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:2])} failed: {done.stderr.decode(errors='replace')[-2000:]}")

    def init(self) -> None:
        self._run(str(BIN / "initdb"), "-D", str(self.data), "-U", USER, "-A", "trust", "--no-sync", "-E", "UTF8")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        self._run(str(BIN / "pg_ctl"), "start", "-w", "-D", str(self.data), "-l", str(self.root / "log"), "-o", options)

    def stop(self, mode: str = "fast") -> None:
        """`mode` as pg_ctl takes it: smart, fast, or immediate (no shutdown checkpoint, like a crash)."""
        self._run(str(BIN / "pg_ctl"), "stop", "-w", "-D", str(self.data), "-m", mode)

    def restart(self) -> None:
        """As `pg_ctl restart`: a fast shutdown (sessions terminated), then a start."""
        self.stop("fast")
        self.start()

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()


@contextlib.contextmanager
def pg_instance() -> Iterator[PgInstance]:
    """A fresh, started instance; stopped (immediately) and deleted at the end."""
    root = Path(tempfile.mkdtemp(prefix="pg-instance-"))
    if os.geteuid() == 0:
        shutil.chown(root, USER, USER)
    instance = PgInstance(root, free_port())
    try:
        instance.init()
        instance.start()
        yield instance
    finally:
        if instance.running():
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                instance.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)
