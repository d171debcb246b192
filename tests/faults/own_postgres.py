"""A PostgreSQL instance of the test's own (initdb in a temp directory, a free port), which it may restart,
stop with `-m immediate` or kill: the shared server of the other tests is never touched.

(A minimal stand-in for the `tests/pg_instance.py` fixture of the gateway work, until that is merged.)
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

BIN = Path("/usr/lib/postgresql/15/bin")


def _as_postgres(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["runuser", "-u", "postgres", "--", *command], check=True, capture_output=True, text=True, timeout=120
    )


@dataclass
class OwnPostgres:
    root: Path
    port: int

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        _as_postgres(
            str(BIN / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.root / "log"), "-w", "start"
        )

    def stop(self, mode: str = "fast") -> None:
        _as_postgres(str(BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self) -> None:
        """`pg_ctl restart`: a fast shutdown (sessions terminated), then a start."""
        self.stop("fast")
        self.start()

    def is_ready(self) -> bool:
        probe = subprocess.run(
            [str(BIN / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)], capture_output=True, timeout=10
        )
        return probe.returncode == 0


@contextlib.contextmanager
def own_postgres(port: int) -> Iterator[OwnPostgres]:
    root = Path(tempfile.mkdtemp(prefix="own-pg-", dir="/tmp"))
    shutil.chown(root, "postgres", "postgres")
    instance = OwnPostgres(root, port)
    _as_postgres(str(BIN / "initdb"), "-D", str(instance.data), "-A", "trust", "-U", "postgres", "--no-sync")
    instance.start()
    try:
        deadline = time.monotonic() + 30
        while not instance.is_ready() and time.monotonic() < deadline:
            time.sleep(0.1)
        yield instance
    finally:
        with contextlib.suppress(subprocess.SubprocessError):
            instance.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)
