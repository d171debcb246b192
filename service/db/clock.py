"""The database clock: every time two processes compare (leases, heartbeats, task times) comes from it.

Python clocks of different hosts drift apart; the database has one clock. PostgreSQL's
statement_timestamp() is the time the statement started (now() would be the start of a task's
long transaction); SQLite's 'now' is UTC, written in the text format SQLAlchemy stores datetimes in.
"""

from __future__ import annotations

from sqlalchemy import DateTime
from sqlalchemy.sql.elements import ColumnElement, literal_column


def now_sql(dialect: str) -> str:
    """SQL text for the database's current time."""
    if dialect == "postgresql":
        return "statement_timestamp()"
    return "(strftime('%Y-%m-%d %H:%M:%f', 'now') || '000')"


def ago_sql(dialect: str, seconds: float) -> str:
    """SQL text for the database's current time minus `seconds`."""
    if dialect == "postgresql":
        return f"(statement_timestamp() - make_interval(secs => {seconds:.6f}))"
    return f"(strftime('%Y-%m-%d %H:%M:%f', 'now', '-{seconds:.6f} seconds') || '000')"


def now(dialect: str) -> ColumnElement:
    """The database's current time, as a value for inserts and updates and in comparisons."""
    return literal_column(now_sql(dialect), DateTime(timezone=True))


def ago(dialect: str, seconds: float) -> ColumnElement:
    return literal_column(ago_sql(dialect, seconds), DateTime(timezone=True))


def later(dialect: str, seconds: float) -> ColumnElement:
    """The database's current time plus `seconds` (an expiry)."""
    if dialect == "postgresql":
        sql = f"(statement_timestamp() + make_interval(secs => {seconds:.6f}))"
    else:
        sql = f"(strftime('%Y-%m-%d %H:%M:%f', 'now', '+{seconds:.6f} seconds') || '000')"
    return literal_column(sql, DateTime(timezone=True))
