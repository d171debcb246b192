"""Whether an error means the database cannot be reached right now (an outage a client should retry)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import asyncpg
from sqlalchemy import exc as sa_exc

# PostgreSQL refusing or losing connections: class 08 (connection exception), 57P01-57P03 (admin shutdown,
# crash shutdown, "the database system is starting up / shutting down"), 53300 (too many connections).
_PG_OUTAGE = (
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
)
# SQLite: the write lock was not released within the busy timeout, or the file cannot be opened.
_SQLITE_OUTAGE_MESSAGES = ("database is locked", "database table is locked", "unable to open database file")


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending += [current.__cause__, current.__context__, getattr(current, "orig", None)]


def outage_reason(error: BaseException) -> str:
    """A short description of the outage `error` shows (empty when it is not one)."""
    for current in _chain(error):
        if isinstance(current, sa_exc.DBAPIError) and current.connection_invalidated:
            return "the connection to the database was lost"
        if isinstance(current, sa_exc.TimeoutError):
            return "no database connection is free (pool timeout)"
        if isinstance(current, _PG_OUTAGE):
            return f"the database refused or lost the connection ({type(current).__name__})"
        # An interface error is the driver's word for a connection it can no longer use ("connection is closed",
        # "another operation is in progress" on a connection a restart cut mid-statement): an outage.
        if isinstance(current, asyncpg.exceptions.InterfaceError | sa_exc.InterfaceError):
            return "the connection to the database was lost"
        if isinstance(current, ConnectionError | TimeoutError) or (
            isinstance(current, OSError) and current.errno is not None and "connect" in str(current).lower()
        ):
            return f"the database cannot be reached ({type(current).__name__})"
        if isinstance(current, sqlite3.OperationalError) and str(current).lower().startswith(_SQLITE_OUTAGE_MESSAGES):
            return f"the database is busy ({current})"
    return ""


def is_database_outage(error: BaseException) -> bool:
    """Whether `error` (or what caused it) says the database went away rather than refused the work."""
    return bool(outage_reason(error))
