"""A full sync's updates, which PostgreSQL keeps in batches (a row per task and bucket of record ids:
service.store.postgres_change_batches, issue 15's cost bound), read like every other change: a task's changes page by
page in the order applied, beside the DELETE and CREATE changes kept a row each; a record's newest first, page by
page; `as_of`; the retention purge. Both backends give the same answers (SQLite keeps a row per change)."""

from __future__ import annotations

import datetime as dt

from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import Connection

from service import retention
from service.db.migrate import alembic_config, upgrade
from tests.conftest import start_stack
from tests.test_record_history import done, fields, history, month_ago

ITEMS = 300


def catalog(version: str, ids: range = range(ITEMS)) -> bytes:
    rows = "".join(f"i{n},Item {n} {version},/i{n}/{version}\n" for n in ids)
    return ("id,item_name,url\n" + rows).encode()


async def sync(s, csv: bytes) -> dict:
    response = await s.http.put(
        "/v1/catalog", params={"key": "acme"}, files={"items": ("items.csv", csv, "text/csv")}, headers=s.auth()
    )
    return await done(s, response)


async def pages(s, path: str, size: int) -> list[dict]:
    """Every change at `path`, following next_page_token `size` at a time."""
    changes: list[dict] = []
    token = ""
    while True:
        params = {"num_results_per_page": size} | ({"page_token": token} if token else {})
        response = await s.http.get(path, params=params, headers=s.auth())
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["changes"]) <= size
        changes += page["changes"]
        token = page.get("next_page_token", "")
        if not token:
            return changes


async def test_a_sync_s_batched_updates_page_with_its_deletes_and_creates(http_stack) -> None:
    s = http_stack
    first = await sync(s, catalog("v1"))
    # i0 leaves, i300 arrives, every other item changes its name and url.
    second = await sync(s, catalog("v2", range(1, ITEMS + 1)))
    if s.database_url.startswith("postgresql"):
        async with s.engine.connect() as conn:
            task = {"t": second["id"]}
            batches = await conn.scalar(text("SELECT count(*) FROM record_change_batches WHERE task_id = :t"), task)
            rows = await conn.scalar(text("SELECT count(*) FROM record_history WHERE task_id = :t"), task)
            compression = await conn.scalar(
                text(
                    "SELECT attcompression::text FROM pg_attribute"
                    " WHERE attrelid = 'record_change_batches'::regclass AND attname = 'changes'"
                )
            )
        # The updates in batches (a bucket can hold several of the 299), the delete and the create a row each.
        assert 0 < batches < ITEMS - 1 and rows == 2
        assert compression == "l"  # lz4 (migrations 0016, 0017), which PostgreSQL 15 of Debian has

    for size in (1, 7, 1000):
        changes = await pages(s, f"/v1/tasks/{second['id']}/changes", size)
        # In the order applied: the delete, the updates, the create; each change once.
        assert [c["operation"] for c in changes] == ["DELETE"] + ["UPDATE"] * (ITEMS - 1) + ["CREATE"], size
        assert changes[0]["id"] == "i0" and changes[-1]["id"] == f"i{ITEMS}"
        updated = {c["id"]: fields(c) for c in changes[1:-1]}
        assert updated == {
            f"i{n}": {"name": (f"Item {n} v1", f"Item {n} v2"), "data.url": (f"/i{n}/v1", f"/i{n}/v2")}
            for n in range(1, ITEMS)
        }
        assert {c["task_id"] for c in changes} == {second["id"]}

    third = await sync(s, catalog("v3", range(1, ITEMS + 1)))
    # Only updates: no row after the batches (a page short of them would end the listing early).
    for size in (1, 7):
        changes = await pages(s, f"/v1/tasks/{third['id']}/changes", size)
        assert sorted(c["id"] for c in changes) == sorted(f"i{n}" for n in range(1, ITEMS + 1)), size
    # A record's changes across two batches and its CREATE row, newest first, one per page or all at once.
    for size in (1, 10):
        changes = await pages(s, "/v2/items/i5/history", size)
        assert [(c["task_id"], c["operation"]) for c in changes] == [
            (third["id"], "UPDATE"),
            (second["id"], "UPDATE"),
            (first["id"], "CREATE"),
        ]
        assert fields(changes[0])["name"] == ("Item 5 v2", "Item 5 v3")
    # The record as it was between the second sync and the third.
    between = (dt.datetime.fromisoformat(changes[0]["change_time"]) - dt.timedelta(microseconds=1)).isoformat()
    response = await s.http.get("/v2/items/i5", params={"as_of": between}, headers=s.auth())
    assert response.status_code == 200, response.text
    assert (response.json()["name"], response.json()["version"]) == ("Item 5 v2", 2)


async def test_the_purge_drops_expired_batches(http_stack) -> None:
    s = http_stack
    await sync(s, catalog("v1"))
    old = await sync(s, catalog("v2"))
    new = await sync(s, catalog("v3"))
    # The first two syncs' changes made 31 days ago: past the 30 days kept.
    async with s.engine.begin() as conn:
        month = month_ago(conn)
        for table in ("record_history", "record_change_batches"):
            await conn.execute(text(f"UPDATE {table} SET changed_at = {month} WHERE task_id <> :t"), {"t": new["id"]})
    async with s.engine.connect() as conn:
        purged = await retention.purge(conn, retention.Policy.of(s.settings))
    assert purged.record_changes == 2 * ITEMS
    assert [c["task_id"] for c in await history(s, "items", "i7")] == [new["id"]]
    assert await pages(s, f"/v1/tasks/{old['id']}/changes", 100) == []
    assert len(await pages(s, f"/v1/tasks/{new['id']}/changes", 1000)) == ITEMS


def _to_0015(connection: Connection) -> None:
    command.downgrade(alembic_config(connection), "0015")


def _to_0016(connection: Connection) -> None:
    command.downgrade(alembic_config(connection), "0016")


async def test_a_downgrade_keeps_the_batched_changes_as_rows(pg_url: str) -> None:
    """The downgrades (0017's, then 0016's) write each batched change back as a row of record_history (then
    upgraded again: the same changes read the same, with the same ids, from the rows)."""
    async with start_stack(pg_url) as s:
        await sync(s, catalog("v1"))
        second = await sync(s, catalog("v2"))
        before = await pages(s, f"/v1/tasks/{second['id']}/changes", 1000)
        record = await history(s, "items", "i9")
        async with s.engine.connect() as conn:
            await conn.run_sync(_to_0015)
            await conn.commit()
            assert await conn.scalar(text("SELECT count(*) FROM record_history WHERE operation = 'UPDATE'")) == ITEMS
        await upgrade(s.engine)
        async with s.engine.connect() as conn:
            assert await conn.scalar(text("SELECT count(*) FROM record_change_batches")) == 0
        assert await pages(s, f"/v1/tasks/{second['id']}/changes", 1000) == before
        assert await history(s, "items", "i9") == record
        # New changes are numbered after the converted ones, and batched again.
        third = await sync(s, catalog("v3"))
        assert [c["task_id"] for c in await history(s, "items", "i9")] == [third["id"], *(c["task_id"] for c in record)]


# Migration 0016's layout: an array per side, one of 1024 buckets.
_SIDES = ", ".join(
    f"{side}_{name}"
    for side, names in (
        ("before", "name suggested_score parent_id parent_ids data op_ts version updated_at"),
        ("after", "name suggested_score parent_id parent_ids data"),
    )
    for name in names.split()
)
_AS_0016_BATCHES = f"""INSERT INTO record_change_batches (first_id, version_id, kind, bucket, operation, task_id,
        task_type, request_id, changed_at, record_ids, contexts, {_SIDES})
    SELECT min(id), version_id, kind, hashtextextended(record_id, 0) & 1023, operation, task_id, task_type, request_id,
           changed_at, array_agg(record_id ORDER BY id), array_agg(context ORDER BY id),
           {", ".join(f"array_agg({name} ORDER BY id)" for name in _SIDES.split(", "))}
    FROM record_history WHERE operation = 'UPDATE'
    GROUP BY 2, 3, 4, 5, 6, 7, 8, 9
    HAVING max(id) - min(id) + 1 = count(*)"""


async def test_the_upgrade_to_0017_converts_the_batches_0016_wrote(pg_url: str) -> None:
    """Batches in 0016's layout (13 arrays, 1024 buckets) read the same after 0017 made them one array of
    record_change in one of 256 buckets."""
    async with start_stack(pg_url) as s:
        async with s.engine.connect() as conn:
            # Records of one bucket of 1024 (519, within 256's 7): the sync's batch of them is also 0016's batch of the
            # same changes, ids and all, which the test rebuilds from the rows 0017's downgrade leaves.
            ids = await conn.scalars(
                text("SELECT n FROM generate_series(0, 100000) n WHERE hashtextextended('i' || n, 0) & 1023 = 519")
            )
            ids = ids.all()[:40]
        await sync(s, catalog("v1", ids))
        second = await sync(s, catalog("v2", ids))
        before = await pages(s, f"/v1/tasks/{second['id']}/changes", 7)
        record = await history(s, "items", f"i{ids[3]}")
        async with s.engine.connect() as conn:
            await conn.run_sync(_to_0016)
            assert (await conn.execute(text(_AS_0016_BATCHES))).rowcount == 1
            assert (await conn.execute(text("DELETE FROM record_history WHERE operation = 'UPDATE'"))).rowcount == 40
            await conn.commit()
        await upgrade(s.engine)
        async with s.engine.connect() as conn:
            batch = (await conn.execute(text("SELECT bucket, cardinality(changes) FROM record_change_batches"))).all()
            assert batch == [(7, 40)]
        assert await pages(s, f"/v1/tasks/{second['id']}/changes", 7) == before
        assert await history(s, "items", f"i{ids[3]}") == record
        assert [c["operation"] for c in record] == ["UPDATE", "CREATE"]
