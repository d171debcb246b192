"""The schema is ready for Citus (service/db/citus.py, docs/scaling.md): every table is classified as distributed
(by which column), reference or coordinator; a distributed table's primary key and unique constraints include its
distribution column, which leads to one tenant; and the foreign keys are ones Citus allows. Read from the models
(SQLAlchemy metadata), and the table list also from a migrated database, so that a new table fails here until it
is classified."""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from sqlalchemy import MetaData, Table, UniqueConstraint, inspect

import service
from service.db import citus
from service.db.engine import create_engine
from service.db.models import Base

REFERENCE, COORDINATOR, DISTRIBUTED = citus.REFERENCE, citus.COORDINATOR, citus.DISTRIBUTED


def _load_every_model() -> MetaData:
    """Base.metadata once every module of the service that may declare a table is imported."""
    for module in pkgutil.walk_packages(service.__path__, "service."):
        if module.name.rsplit(".", 1)[-1].endswith("models"):
            importlib.import_module(module.name)
    return Base.metadata


METADATA = _load_every_model()


def _classes(table: str) -> list[str]:
    return [name for name, tables in (("reference", REFERENCE), ("coordinator", COORDINATOR)) if table in tables] + (
        ["distributed"] if table in DISTRIBUTED else []
    )


def _keys(table: Table) -> list[tuple[str, list[str]]]:
    """Every primary key, unique constraint and unique index of `table`, with its columns."""
    keys = [("primary key", [c.name for c in table.primary_key.columns])]
    keys += [
        (f"unique {c.name}", [col.name for col in c.columns])
        for c in table.constraints
        if isinstance(c, UniqueConstraint)
    ]
    keys += [(f"unique index {i.name}", [col.name for col in i.columns]) for i in table.indexes if i.unique]
    keys += [(f"unique column {c.name}", [c.name]) for c in table.columns if c.unique]
    return keys


def test_every_table_is_classified_once() -> None:
    for name in METADATA.tables:
        assert len(_classes(name)) == 1, (
            f"table {name!r} is {_classes(name) or 'not classified'}: add it to exactly one of DISTRIBUTED (by a"
            " column that belongs to one tenant), REFERENCE (small or global) or COORDINATOR in service/db/citus.py"
        )
    assert set(REFERENCE | COORDINATOR | set(DISTRIBUTED)) == set(METADATA.tables)


async def test_every_table_of_a_migrated_database_is_classified(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
    finally:
        await engine.dispose()
    unclassified = sorted(t for t in tables if t != "alembic_version" and not _classes(t))
    assert unclassified == [], f"tables without a Citus layout in service/db/citus.py: {unclassified}"


@pytest.mark.parametrize("name", sorted(DISTRIBUTED))
def test_a_distributed_tables_keys_include_its_distribution_column(name: str) -> None:
    table, column = METADATA.tables[name], DISTRIBUTED[name]
    for what, columns in _keys(table):
        assert column in columns, f"{name}: the {what} {columns} must include the distribution column {column}"
        # The index Citus routes by: the distribution column first.
        assert columns[0] == column, f"{name}: the {what} {columns} should lead with {column}"


@pytest.mark.parametrize("name", sorted(DISTRIBUTED))
def test_a_distribution_column_belongs_to_one_tenant(name: str) -> None:
    """Following foreign keys from the distribution column reaches the tenants: a shard key never spans
    tenants, so a tenant's statements are each routed to one shard."""
    table, seen = METADATA.tables[name], []
    column = table.columns[DISTRIBUTED[name]]
    while table.name != "tenants":
        references = [fk for fk in column.foreign_keys] or [
            fk for c in table.columns if c.name in ("catalog_id", "tenant_id") for fk in c.foreign_keys
        ]
        assert references, f"{name}: {'.'.join([*seen, table.name])} does not lead to a tenant"
        seen.append(f"{table.name}.{column.name}")
        column = references[0].column
        table = column.table
    assert table.name == "tenants"


def test_foreign_keys_are_ones_citus_allows() -> None:
    """A reference table references only reference tables (its rows are on every node); a coordinator table
    references no distributed table; a distributed table references reference tables, or a distributed table
    by both distribution columns (co-located)."""
    for table in METADATA.tables.values():
        for fk in table.foreign_keys:
            target = fk.column.table.name
            where = f"{table.name}.{fk.parent.name} -> {target}.{fk.column.name}"
            if table.name in REFERENCE:
                assert target in REFERENCE, f"{where}: a reference table may only reference reference tables"
            elif table.name in COORDINATOR:
                assert target not in DISTRIBUTED, f"{where}: a coordinator table cannot reference a distributed one"
            elif target in DISTRIBUTED:
                assert (fk.parent.name, fk.column.name) == (DISTRIBUTED[table.name], DISTRIBUTED[target]), (
                    f"{where}: distributed tables reference each other by their distribution columns only"
                )


def test_the_citus_commands_lay_out_every_table_after_what_it_references() -> None:
    order = [t.name for t in METADATA.sorted_tables]
    statements = citus.commands(order)
    assert statements[0] == "CREATE EXTENSION IF NOT EXISTS citus;"
    laid_out = [s.split("'")[1] for s in statements[1:]]
    assert sorted(laid_out) == sorted(METADATA.tables)
    for table in METADATA.tables.values():
        for fk in table.foreign_keys:
            if fk.column.table is not table:
                assert laid_out.index(fk.column.table.name) < laid_out.index(table.name), (
                    table.name,
                    fk.target_fullname,
                )
    assert "SELECT create_distributed_table('records', 'version_id');" in statements
    assert "SELECT create_reference_table('tenants');" in statements
