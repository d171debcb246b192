"""The database clock: every time two processes compare (leases, heartbeats, task times) comes from it.

Python clocks of different hosts drift apart; the database has one clock. PostgreSQL's
statement_timestamp() is the time the statement started (now() would be the start of a task's
long transaction); SQLite's 'now' is UTC, written in the text format SQLAlchemy stores datetimes in.
One Clock per backend; the queue stores (service.tasks.queue_postgres, queue_sqlite) each hold theirs.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import DateTime
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.sql.elements import ColumnElement, literal_column


@dataclass(frozen=True)
class Clock:
    # SQL for the current time; `ago_template` has a `{seconds}` slot (a float literal, never user input).
    now_sql: str
    ago_template: str
    later_template: str

    def ago_sql(self, seconds: float) -> str:
        """SQL text for the database's current time minus `seconds`."""
        return self.ago_template.format(seconds=f"{float(seconds):.6f}")

    def now(self) -> ColumnElement:
        """The database's current time, as a value for inserts and updates and in comparisons."""
        return literal_column(self.now_sql, DateTime(timezone=True))

    def ago(self, seconds: float) -> ColumnElement:
        return literal_column(self.ago_sql(seconds), DateTime(timezone=True))

    def later_sql(self, seconds: float) -> str:
        """SQL text for the database's current time plus `seconds` (an expiry, a lease's end)."""
        return self.later_template.format(seconds=f"{float(seconds):.6f}")

    def later(self, seconds: float) -> ColumnElement:
        return literal_column(self.later_sql(seconds), DateTime(timezone=True))


POSTGRES = Clock(
    now_sql="statement_timestamp()",
    ago_template="(statement_timestamp() - make_interval(secs => {seconds}))",
    later_template="(statement_timestamp() + make_interval(secs => {seconds}))",
)
SQLITE = Clock(
    now_sql="(strftime('%Y-%m-%d %H:%M:%f', 'now') || '000')",
    ago_template="(strftime('%Y-%m-%d %H:%M:%f', 'now', '-{seconds} seconds') || '000')",
    later_template="(strftime('%Y-%m-%d %H:%M:%f', 'now', '+{seconds} seconds') || '000')",
)


def for_dialect(dialect: str) -> Clock:
    return POSTGRES if dialect == "postgresql" else SQLITE


def of(bind: AsyncEngine | AsyncConnection | AsyncSession) -> Clock:
    """The clock of the database an engine, connection or session talks to."""
    dialect = bind.bind.dialect if isinstance(bind, AsyncSession) else bind.dialect
    return for_dialect(dialect.name)
