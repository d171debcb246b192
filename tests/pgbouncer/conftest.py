"""The service through a real PgBouncer in transaction pooling mode (tests/pgbouncer_instance.py), a few server
connections shared by every client connection: `pg_url` (and so `database_url`, PostgreSQL only) is the test's
clone of the template through PgBouncer, registered in tests.poolers with the settings the service needs there
(CATALOG_INGEST_DATABASE_POOLER=pgbouncer, the direct URL for LISTEN). The modules here re-run the queue,
FIFO and upload tests of the other tiers with it, and add what only a pooler shows."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from tests.conftest import PG_ADMIN_URL
from tests.pgbouncer_instance import PgBouncer, pgbouncer_instance
from tests.poolers import POOLED


@pytest.fixture(scope="session")
def pgbouncer() -> Iterator[PgBouncer]:
    server = urlsplit(PG_ADMIN_URL)
    with pgbouncer_instance(server.hostname or "127.0.0.1", server.port or 5432) as bouncer:
        yield bouncer


@pytest.fixture
def backend() -> str:
    return "postgresql"


@pytest.fixture
def direct_url(pg_url: str) -> str:
    """The test's database, connected to directly."""
    return str(POOLED[pg_url]["listen_database_url"])


@pytest.fixture
def pg_url(pg_url: str, pgbouncer: PgBouncer) -> Iterator[str]:
    pooled = pgbouncer.url_of(pg_url)
    # Leases of 5 s, not the other tests' 2-3 s: every statement, a heartbeat too, may wait its turn for one of
    # the few server connections, and on a loaded 2-core machine that wait alone took more than 2 s.
    POOLED[pooled] = {"database_pooler": "pgbouncer", "listen_database_url": pg_url, "worker_lease_timeout": 5.0}
    yield pooled
    del POOLED[pooled]
