"""Alembic environment: runs on the connection that service.db.migrate hands over, or offline (no
connection, `catalog-ingest migrate --sql`) for the dialect service.db.schema_version names."""

from __future__ import annotations

from alembic import context

from service.db.models import Base

if context.is_offline_mode():
    dialect = context.config.attributes["dialect"]
    context.configure(
        dialect_name=dialect,
        target_metadata=Base.metadata,
        render_as_batch=dialect == "sqlite",
        literal_binds=True,
        compare_type=True,
    )
else:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through service.db.migrate.upgrade()")
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
with context.begin_transaction():
    context.run_migrations()
