"""Migration 0015 keeps the history recorded before it: changes the 0011 triggers wrote as JSON read the same
once their sides are columns (both backends; the downgrade is exercised on the way)."""

from __future__ import annotations

from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import Connection

from service.auth import ensure_tenant
from service.db.engine import create_engine, session_factory
from service.db.migrate import alembic_config, upgrade
from service.domain.catalogs import ensure_catalog
from service.domain.record_history import change_to_proto, undo
from service.store.record_history import record_changes


def _downgrade(connection: Connection) -> None:
    command.downgrade(alembic_config(connection), "0014")


async def test_changes_written_before_0015_read_the_same(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            tenant = await ensure_tenant(session, "acme")
            version = (await ensure_catalog(session, tenant.id, "Products")).active_version_id
            await session.commit()
        async with engine.connect() as conn:
            await conn.run_sync(_downgrade)
            await conn.commit()
        # As a task did under 0011: its writer declared, the triggers write both sides as JSON.
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO record_history_writers VALUES (7, 'catalog_sync', 'req-7')"))
            await conn.execute(
                text(
                    "INSERT INTO records (version_id, kind, record_id, context, name, suggested_score, parent_ids,"
                    " data, op_ts, updated_at, version) VALUES (:v, 3, 'g', '', 'Group', 2.5, '[\"p\"]',"
                    ' \'{"rank": 1, "facets": {"ink": ["blue"]}}\', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 1)'
                ),
                {"v": version},
            )
            await conn.execute(
                text(
                    "UPDATE records SET name = 'Group 2', parent_ids = '[]',"
                    ' data = \'{"rank": 2, "facets": {"ink": ["red"]}}\', version = 2 WHERE record_id = \'g\''
                )
            )
            await conn.execute(text("DELETE FROM records WHERE record_id = 'g'"))
            await conn.execute(text("DELETE FROM record_history_writers"))
        await upgrade(engine)
        async with engine.connect() as conn:
            deleted, updated, created = await record_changes(conn, version, 3, "g", "", 10)
    finally:
        await engine.dispose()

    def fields(row: object) -> dict[str, tuple[str, str]]:
        return {f.field: (f.before_json, f.after_json) for f in change_to_proto(row).fields}

    assert [c.operation for c in (deleted, updated, created)] == ["DELETE", "UPDATE", "CREATE"]
    assert {c.task_id for c in (deleted, updated, created)} == {7}
    assert fields(updated) == {
        "name": ('"Group"', '"Group 2"'),
        "parent_ids": ('["p"]', "[]"),
        "data.rank": ("1", "2"),
        "data.facets.ink": ('["blue"]', '["red"]'),
    }
    assert fields(deleted)["name"] == ('"Group 2"', "")
    # as_of rewinds through them: before the delete the updated record, before the update the created one.
    state = undo(None, deleted)
    assert state is not None and (state["name"], state["parent_ids"], state["data"], state["version"]) == (
        "Group 2",
        [],
        {"rank": 2, "facets": {"ink": ["red"]}},
        2,
    )
    state = undo(state, updated)
    assert state is not None and (state["name"], state["suggested_score"], state["parent_ids"], state["version"]) == (
        "Group",
        2.5,
        ["p"],
        1,
    )
    assert state["updated_at"] is not None and undo(state, created) is None
