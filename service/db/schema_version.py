"""Which schema a database is at, the SQL that brings it to the latest (Alembic offline mode), and the
start-up rule: migrate, or with CATALOG_INGEST_MIGRATE_ON_START=false refuse a schema that is behind."""

from __future__ import annotations

import io

from alembic import command
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from service.db.migrate import alembic_config, upgrade
from service.db.postgres_url import is_postgres_url
from service.settings import Settings


class SchemaBehind(Exception):
    """The database schema is not the one this version needs, and migrating on start is off."""


def head() -> str:
    """The latest revision this version of the service ships."""
    script = ScriptDirectory.from_config(alembic_config())
    found = script.get_current_head()
    assert found is not None
    return found


async def current(engine: AsyncEngine) -> str | None:
    """The database's revision; None for a database never migrated."""

    def read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with engine.connect() as conn:
        return await conn.run_sync(read)


def upgrade_sql(dialect: str, from_revision: str | None = None) -> str:
    """The SQL `catalog-ingest migrate` would run, from `from_revision` (default: an empty database)."""
    output = io.StringIO()
    config = alembic_config()
    config.output_buffer = output
    config.attributes["dialect"] = dialect
    target = f"{from_revision}:head" if from_revision else "head"
    command.upgrade(config, target, sql=True)
    return output.getvalue()


def upgrade_sql_for(database_url: str, from_revision: str | None = None) -> str:
    """upgrade_sql for the database a URL names (PostgreSQL, else the SQLite default)."""
    return upgrade_sql("postgresql" if is_postgres_url(database_url) else "sqlite", from_revision)


async def prepare(engine: AsyncEngine, settings: Settings) -> None:
    """On start: migrate, or (migrate_on_start off) raise SchemaBehind unless the schema is the latest."""
    if settings.migrate_on_start:
        await upgrade(engine)
        return
    at, needed = await current(engine), head()
    if at != needed:
        raise SchemaBehind(
            f"the database schema is at revision {at or 'none (empty database)'}, this version needs {needed};"
            " run `catalog-ingest migrate` first (CATALOG_INGEST_MIGRATE_ON_START is false)"
        )
