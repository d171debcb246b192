"""Database URLs that lead through a connection pooler (tests/pgbouncer/), and the settings a service needs there.

tests/pgbouncer/conftest.py registers each pooled URL it hands out; start_stack, tests/processes.spawn and the
queue tier's engine read the settings from here, so the same tests run direct or pooled.
"""

from __future__ import annotations

# pooled URL -> {"database_pooler": "pgbouncer", "listen_database_url": the direct URL, ...}
POOLED: dict[str, dict[str, object]] = {}


def settings_for(database_url: str) -> dict[str, object]:
    """The settings a service on `database_url` needs (none for a direct URL)."""
    return dict(POOLED.get(database_url, {}))


def pooler_of(database_url: str) -> str:
    return str(POOLED.get(database_url, {}).get("database_pooler", ""))
