"""Service processes for tests: each `serve` runs in a process of its own, on a given database."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.poolers import settings_for

ROOT = Path(__file__).resolve().parent.parent


def spawn(
    started: list, database_url: str, *roles: str, log_level: str = "WARNING", **settings: object
) -> subprocess.Popen[bytes]:
    """`catalog-ingest serve` with the given roles and CATALOG_INGEST_* settings, added to `started`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CATALOG_INGEST_")}
    env.update(
        {
            "CATALOG_INGEST_DATABASE_URL": database_url,
            "CATALOG_INGEST_WORKER_POLL_INTERVAL": "0.2",
            "CATALOG_INGEST_WORKER_HEARTBEAT_INTERVAL": "0.5",
            "CATALOG_INGEST_WORKER_LEASE_TIMEOUT": "2",
        }
        | {f"CATALOG_INGEST_{k.upper()}": str(v) for k, v in (settings_for(database_url) | settings).items()}
    )
    command = [sys.executable, "-m", "service.cli", "--log-level", log_level, "serve", *(f"--role={r}" for r in roles)]
    # Its log goes to a file: a pipe nobody reads fills up and blocks the process at its next log line.
    log = tempfile.NamedTemporaryFile(prefix=f"serve-{'-'.join(roles)}-", suffix=".log", delete=False)
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)
    log.close()
    process.log_path = Path(log.name)  # type: ignore[attr-defined]
    started.append(process)
    return process
