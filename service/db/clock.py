"""The database clock: every time two processes compare (leases, heartbeats, task times) comes from it.

Python clocks of different hosts drift apart; the database has one clock. PostgreSQL's
statement_timestamp() is the time the statement started (now() would be the start of a task's
long transaction); SQLite's 'now' is UTC, written in the text format SQLAlchemy stores datetimes in.
One Clock per backend; the queue stores (service.tasks.queue_postgres, queue_sqlite) each hold theirs.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import DateTime
from sqlalchemy.sql.elements import ColumnElement, literal_column


@dataclass(frozen=True)
class Clock:
    # SQL for the current time; `ago_template` has a `{seconds}` slot (a float literal, never user input).
    now_sql: str
    ago_template: str

    def ago_sql(self, seconds: float) -> str:
        """SQL text for the database's current time minus `seconds`."""
        return self.ago_template.format(seconds=f"{float(seconds):.6f}")

    def now(self) -> ColumnElement:
        """The database's current time, as a value for inserts and updates and in comparisons."""
        return literal_column(self.now_sql, DateTime(timezone=True))

    def ago(self, seconds: float) -> ColumnElement:
        return literal_column(self.ago_sql(seconds), DateTime(timezone=True))


POSTGRES = Clock(
    now_sql="statement_timestamp()",
    ago_template="(statement_timestamp() - make_interval(secs => {seconds}))",
)
SQLITE = Clock(
    now_sql="(strftime('%Y-%m-%d %H:%M:%f', 'now') || '000')",
    ago_template="(strftime('%Y-%m-%d %H:%M:%f', 'now', '-{seconds} seconds') || '000')",
)


# For code that holds only a dialect name; the queue stores hold their Clock.
def for_dialect(dialect: str) -> Clock:
    return POSTGRES if dialect == "postgresql" else SQLITE


def now_sql(dialect: str) -> str:
    """SQL text for the database's current time."""
    return for_dialect(dialect).now_sql


def ago_sql(dialect: str, seconds: float) -> str:
    """SQL text for the database's current time minus `seconds`."""
    return for_dialect(dialect).ago_sql(seconds)


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
