"""A batch into a catalog version, set-based: batch_items is already a table, so the records are
written by INSERT ... SELECT / UPDATE ... FROM / DELETE statements straight from it, on both backends.

Item errors collect in a temporary table (`ingest_errors`): the schema check runs in Python over the
batch read in chunks, the structural checks are SQL. Every write below skips the items in error.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, NamedTuple

from sqlalchemy import select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from service.db.backend import backend_of
from service.db.models import BatchItem
from service.store.links import LinkRules
from service.store.sync_marks import CREATED_GEN, GEN_JOIN, before, not_after

CHUNK_ROWS = 1000
SAMPLE_IDS = 5
# The error types of itemErrorsSummary.
INVALID_ATTRIBUTES = "INVALID_ATTRIBUTES"
MISSING_PARENT = "MISSING_PARENT"
MISSING_ITEM = "MISSING_ITEM"
DUPLICATE_ID = "DUPLICATE_ID"
MISSING_GROUP = "MISSING_GROUP"

_NO_ERROR = (
    "NOT EXISTS (SELECT 1 FROM ingest_errors e WHERE e.item_type = {b}.item_type AND e.item_id = {b}.item_id"
    " AND e.context = {b}.context)"
)
_OK_B = _NO_ERROR.format(b="b")
_LIVE = "b.batch_id = :batch AND NOT b.deleted"
# A batch item and the version's record it writes: a batch-written record keeps its item type; one written
# by another API (no type) is any type's.
_SAME_RECORD = (
    "r.version_id = :version AND r.kind IN (1, 2) AND r.record_id = b.item_id AND r.context = b.context"
    " AND (r.item_type = b.item_type OR r.item_type IS NULL)"
)


# The batch's snapshot time: when its newest operation happened, or its creation when it has none.
_SNAPSHOT_TIME = (
    "SELECT coalesce(max(s.op_ts), (SELECT c.created_at FROM batches c WHERE c.id = :batch))"
    " FROM batch_items s WHERE s.batch_id = :batch"
)


class BatchCounts(NamedTuple):
    # Items added or modified (not tombstones); of them, modifications of items the batch never had.
    items: int
    partial: int
    deleted: int


class BatchIngest:
    def __init__(self, conn: AsyncConnection, batch_pk: str, version_id: int) -> None:
        self.conn = conn
        self.backend = backend_of(conn)
        self.sql = self.backend.sql
        self.params = {"batch": batch_pk, "version": version_id}

    async def _run(self, sql: str, **params: Any) -> Any:
        return await self.conn.execute(text(sql), {**self.params, **params})

    async def prepare(self) -> None:
        for statement in self.sql.temp_table(
            "ingest_errors",
            "item_type TEXT, item_id TEXT, context TEXT, error_type TEXT, message TEXT,"
            " PRIMARY KEY (item_type, item_id, context)",
        ):
            await self._run(statement)

    async def counts(self) -> BatchCounts:
        """What the batch holds, in one pass over it."""
        row = (
            await self._run(
                "SELECT coalesce(sum(CASE WHEN NOT deleted THEN 1 ELSE 0 END), 0),"
                " coalesce(sum(CASE WHEN partial AND NOT deleted THEN 1 ELSE 0 END), 0),"
                " coalesce(sum(CASE WHEN deleted THEN 1 ELSE 0 END), 0)"
                " FROM batch_items WHERE batch_id = :batch"
            )
        ).one()
        return BatchCounts(*(int(n) for n in row))

    async def refresh_statistics(self, engine: AsyncEngine) -> None:
        """ANALYZE batch_items on a connection of its own, committed at once.

        A batch streamed in moments ago has no statistics yet: the planner then estimates it at a few
        hundred rows and picks nested loops over it (100k items: 97 s in the parent check, 3 s after
        ANALYZE). Inside the task's transaction ANALYZE would hold its lock until the ingestion ends and
        serialize the ingestions of all catalogs; on its own it takes ~0.2 s.
        """
        await self.backend.analyze(engine, "batch_items")

    async def chunks(self) -> AsyncIterator[list[Any]]:
        """The batch's items (not tombstones) in key order, CHUNK_ROWS at a time: memory stays bounded."""
        table = BatchItem.__table__
        key = tuple_(table.c.item_type, table.c.item_id, table.c.context)
        last: tuple[str, str, str] | None = None
        while True:
            query = (
                select(table.c.item_type, table.c.item_id, table.c.context, table.c.attributes, table.c.partial)
                .where(table.c.batch_id == self.params["batch"], table.c.deleted.is_(False))
                .order_by(table.c.item_type, table.c.item_id, table.c.context)
                .limit(CHUNK_ROWS)
            )
            if last is not None:
                query = query.where(key > tuple_(*last))
            rows = (await self.conn.execute(query)).all()
            if not rows:
                return
            yield rows
            last = (rows[-1].item_type, rows[-1].item_id, rows[-1].context)

    async def add_errors(self, errors: list[dict[str, str]]) -> None:
        if errors:
            await self.conn.execute(
                text(
                    "INSERT INTO ingest_errors (item_type, item_id, context, error_type, message)"
                    " VALUES (:item_type, :item_id, :context, :error_type, :message)"
                ),
                errors,
            )

    async def check_structure(self, version: int) -> None:
        """Items the version could not hold: modifications of an item it lacks, variants without a parent,
        two items of different types that would be the same record."""
        await self._run(
            f"""INSERT INTO ingest_errors (item_type, item_id, context, error_type, message)
                SELECT b.item_type, b.item_id, b.context, '{MISSING_ITEM}',
                       'item ''' || b.item_id || ''' was only modified in the batch and is not in catalog version '
                       || :number
                FROM batch_items b
                WHERE {_LIVE} AND b.partial AND {_OK_B}
                  AND NOT EXISTS (SELECT 1 FROM records r WHERE {_SAME_RECORD})""",
            number=str(version),
        )
        await self._run(
            f"""INSERT INTO ingest_errors (item_type, item_id, context, error_type, message)
                SELECT b.item_type, b.item_id, b.context, '{MISSING_PARENT}',
                       'parentId ''' || b.parent_id || ''' names no valid item of the batch or of catalog version '
                       || :number
                FROM batch_items b
                WHERE {_LIVE} AND b.parent_id IS NOT NULL AND {_OK_B}
                  AND NOT EXISTS (SELECT 1 FROM batch_items p WHERE p.batch_id = :batch AND NOT p.deleted
                                  AND NOT p.partial AND p.parent_id IS NULL AND p.item_id = b.parent_id
                                  AND p.context = b.context AND {_NO_ERROR.format(b="p")})
                  AND NOT EXISTS (SELECT 1 FROM records r WHERE r.version_id = :version AND r.kind = 1
                                  AND r.record_id = b.parent_id AND r.context = b.context)""",
            number=str(version),
        )
        await self._run(
            f"""INSERT INTO ingest_errors (item_type, item_id, context, error_type, message)
                SELECT item_type, item_id, context, '{DUPLICATE_ID}',
                       'item ''' || item_id || ''' is also in the batch with type ''' || kept || ''''
                FROM (SELECT b.item_type, b.item_id, b.context,
                             row_number() OVER w AS n, first_value(b.item_type) OVER w AS kept
                      FROM batch_items b WHERE {_LIVE} AND NOT b.partial AND {_OK_B}
                      WINDOW w AS (PARTITION BY b.parent_id IS NULL, b.item_id, b.context
                                   ORDER BY b.op_ts DESC, b.item_type)) d
                WHERE n > 1"""
        )

    async def check_group_links(self, version: int) -> None:
        """Items whose attributes' group_ids name a group the version lacks (R2): an item error."""
        group_ids = self.sql.json_member("b.attributes", "group_ids")
        await self._run(
            f"""INSERT INTO ingest_errors (item_type, item_id, context, error_type, message)
                SELECT b.item_type, b.item_id, b.context, '{MISSING_GROUP}',
                       'group_ids names ''' || min(g.value) || ''', which is not an item group of catalog version '
                       || :number
                FROM batch_items b, {self.sql.json_array_values(group_ids)}
                WHERE {_LIVE} AND b.parent_id IS NULL AND {_OK_B}
                  AND NOT EXISTS (SELECT 1 FROM records p WHERE p.version_id = :version AND p.kind = 3
                                  AND p.record_id = g.value AND p.context = b.context)
                GROUP BY b.item_type, b.item_id, b.context""",
            number=str(version),
        )

    async def cascade_variations(self, *, tombstones_only: bool) -> int:
        """The variants of the items this ingestion deleted (R2): of its tombstones, or of any item."""
        tombstones = "SELECT item_id, context FROM batch_items WHERE batch_id = :batch AND deleted"
        return await LinkRules(self.conn, self.params["version"]).cascade_variations(
            tombstones if tombstones_only else None, staged=False, batch=self.params["batch"]
        )

    async def error_summary(self) -> tuple[int, dict[str, dict[str, Any]]]:
        """(errors, {type: {count, sample_ids, sample_message}})."""
        counts = (await self._run("SELECT error_type, count(*) FROM ingest_errors GROUP BY error_type")).all()
        summary: dict[str, dict[str, Any]] = {}
        for error_type, count in counts:
            samples = (
                await self._run(
                    "SELECT item_id, message FROM ingest_errors WHERE error_type = :t"
                    " ORDER BY item_type, item_id, context LIMIT :n",
                    t=error_type,
                    n=SAMPLE_IDS,
                )
            ).all()
            summary[error_type] = {
                "count": count,
                "sample_ids": [row[0] for row in samples],
                "sample_message": samples[0][1] if samples else "",
            }
        return sum(s["count"] for s in summary.values()), summary

    async def item_errors(self, limit: int) -> list[Any]:
        """Every item error (the first `limit`, in item order) with the item as the batch holds it."""
        return list(
            (
                await self._run(
                    "SELECT e.item_type, e.item_id, e.context, e.error_type, e.message, b.parent_id, b.attributes"
                    " FROM ingest_errors e LEFT JOIN batch_items b ON b.batch_id = :batch"
                    " AND b.item_type = e.item_type AND b.item_id = e.item_id AND b.context = e.context"
                    " ORDER BY e.item_type, e.item_id, e.context LIMIT :n",
                    n=limit,
                )
            ).all()
        )

    async def upsert(self, source: str) -> int:
        """Added items become the version's records (an older write than the record's last is ignored).

        Into a version that holds no items or variants yet (a new version being filled, the usual case), a
        plain INSERT: nothing can conflict (check_structure left one item per record key), and it skips the
        speculative insertion of ON CONFLICT (measured: ~18% less time for this statement, its largest)."""
        empty = self.sql.empty_object
        # Only a change of what readers see moves the record's version and update time (a newer identical
        # write still moves op_ts).
        changed = (
            f"({self.sql.json_differs('r.data', 'excluded.data')}"
            " OR coalesce(r.parent_id, '') <> coalesce(excluded.parent_id, ''))"
        )
        first_load = not (
            await self._run(
                "SELECT EXISTS (SELECT 1 FROM records WHERE version_id = :version AND kind = 1)"
                " OR EXISTS (SELECT 1 FROM records WHERE version_id = :version AND kind = 2)"
            )
        ).scalar()
        conflict = (
            ""
            if first_load
            else f"""ON CONFLICT (version_id, kind, record_id, context) DO UPDATE SET
                    parent_id = excluded.parent_id, data = excluded.data, source = excluded.source,
                    item_type = excluded.item_type, op_ts = excluded.op_ts,
                    updated_at = CASE WHEN {changed} THEN excluded.updated_at ELSE r.updated_at END,
                    version = CASE WHEN {changed} THEN r.version + 1 ELSE r.version END
                WHERE {not_after("r", "excluded.op_ts")}"""
        )
        written = await self._run(
            f"""INSERT INTO records AS r (version_id, kind, record_id, context, parent_id, data, source, item_type,
                                          op_ts, updated_at, sync_gen)
                SELECT CAST(:version AS INTEGER), b.kind, b.item_id, b.context, b.parent_id,
                       coalesce(b.attributes, {empty}), :source, b.item_type, b.op_ts, CURRENT_TIMESTAMP, {CREATED_GEN}
                FROM (SELECT CASE WHEN parent_id IS NULL THEN 1 ELSE 2 END AS kind, * FROM batch_items) b
                     {GEN_JOIN.format(version="CAST(:version AS INTEGER)", s="b")}
                WHERE {_LIVE} AND NOT b.partial AND {_OK_B}
                {conflict}""",
            source=source,
        )
        return written.rowcount or 0

    async def merge_partial(self) -> int:
        """Items only modified in the batch: their attributes merge into the version's records, each attribute
        replacing the record's whole (SqlDialect.merge_objects)."""
        merged = self.sql.merge_objects("r.data", "b.attributes")
        changed = (
            f"({self.sql.json_differs(merged, 'r.data')}"
            " OR coalesce(b.parent_id, r.parent_id, '') <> coalesce(r.parent_id, ''))"
        )
        # A modification changes only the attributes it names: the record keeps its source (R4).
        written = await self._run(
            f"""UPDATE records AS r SET data = {merged}, parent_id = coalesce(b.parent_id, r.parent_id),
                       op_ts = b.op_ts,
                       updated_at = CASE WHEN {changed} THEN CURRENT_TIMESTAMP ELSE r.updated_at END,
                       version = CASE WHEN {changed} THEN r.version + 1 ELSE r.version END
                FROM batch_items b
                WHERE {_LIVE} AND b.partial AND {_OK_B} AND {_SAME_RECORD} AND {not_after("r", "b.op_ts")}"""
        )
        return written.rowcount or 0

    async def apply_tombstones(self) -> int:
        gone = await self._run(
            f"""DELETE FROM records WHERE version_id = :version AND kind IN (1, 2) AND EXISTS (
                 SELECT 1 FROM batch_items b WHERE b.batch_id = :batch AND b.deleted
                 AND b.item_id = records.record_id AND b.context = records.context
                 AND (records.item_type = b.item_type OR records.item_type IS NULL)
                 AND {not_after("records", "b.op_ts")})"""
        )
        return gone.rowcount or 0

    async def delete_missing(self, source: str) -> int:
        """Records of `source` the batch does not hold (an item in error is held: it is not deleted), and only
        those last written before the batch's snapshot time: an older batch ingested after a newer one removes
        nothing the newer one wrote (R3)."""
        gone = await self._run(
            f"""DELETE FROM records WHERE version_id = :version AND kind IN (1, 2) AND source = :source
               AND {before("records", f"({_SNAPSHOT_TIME})")}
               AND NOT EXISTS (SELECT 1 FROM batch_items b WHERE b.batch_id = :batch AND NOT b.deleted
                               AND b.item_id = records.record_id AND b.context = records.context)""",
            source=source,
        )
        return gone.rowcount or 0
