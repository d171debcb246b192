"""The migrations produce the models: on a freshly migrated database, Alembic's autogenerate comparison of the
schema with service.db.models finds nothing to change (both backends). A model changed without a migration,
or a migration that drifts from the models, fails here."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from service.db.engine import create_engine
from service.db.migrate import upgrade
from service.db.models import Base


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(context, Base.metadata)


async def test_a_migrated_database_matches_the_models(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        # The template is migrated already: this also shows that a second upgrade is a no-op.
        await upgrade(engine)
        async with engine.connect() as conn:
            assert await conn.run_sync(_differences) == []
    finally:
        await engine.dispose()
