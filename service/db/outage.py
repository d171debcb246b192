"""Telling a database outage (connection lost, server restarting) from an error of the work itself."""

from __future__ import annotations

import asyncpg
from sqlalchemy import exc as sa_exc

_OUTAGE_TYPES: tuple[type[BaseException], ...] = (
    OSError,  # includes ConnectionError and socket errors
    TimeoutError,
    asyncpg.PostgresConnectionError,  # connection failures, ConnectionDoesNotExistError
    asyncpg.InterfaceError,  # "connection is closed", "connection was closed in the middle of operation"
    # AdminShutdownError ("terminating connection due to administrator command"), CrashShutdownError,
    # CannotConnectNowError ("the database system is shutting down / starting up").
    asyncpg.OperatorInterventionError,
)


def is_database_outage(error: BaseException) -> bool:
    """Whether `error` (or what caused it) says the database went away rather than refused the work."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, sa_exc.DBAPIError) and current.connection_invalidated:
            return True
        # A statement timeout is an operator intervention too, but of the work: not an outage.
        if isinstance(current, _OUTAGE_TYPES) and not isinstance(current, asyncpg.QueryCanceledError):
            return True
        if isinstance(current, sa_exc.DBAPIError) and current.orig is not None:
            current = current.orig
            continue
        current = current.__cause__ or current.__context__
    return False
