"""PostgreSQL: the full sync's UPDATE changes, stored a row per task and bucket of record ids (issue 15's cost
bound; migrations 0016 and 0017, README "What record history costs").

A row per change (record_history) is a heap tuple and three index entries: on a sync that changes every record
that made history cost 1.3-1.45x the same sync without it, whatever the indexes. Here one statement per slice
of the sync's diff groups the slice's changes by bucket (a hash of the record id, `BUCKETS` of them) into one
row each: the record ids, the contexts and the changes' two sides (an array of the composite type
record_change, RecordHistory's before_* and after_* columns), lz4-compressed where the server has lz4: at 150k
changes a few thousand rows instead of 150k, and a quarter of the WAL. The i-th element of every array is the
i-th change. A batch takes one id from RecordHistory's sequence, which steps by ID_STRIDE on PostgreSQL, and its
i-th change is `first_id + i - 1`: the two tables never share an id, and read as one history in one order.

Reads: a record's changes are in its bucket's rows, found by their record ids (only the rows that hold it have
their changes decompressed); a task's, in its batches in id order, of which a page needs
one more than it has changes (the first may hold only ids before the page).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg
from sqlalchemy import delete, func, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from service.db.models import RecordChangeBatch, RecordHistory
from service.store.history_expiry import expired

# Migration 0017 (0016 had 1024, each a quarter of one of these).
BUCKETS = 256
# The step of record_history's id sequence on PostgreSQL (migration 0016): a batch takes one id and its changes
# are numbered from it, so it holds fewer changes than this (see _MAX_ROWS_PER_SLICE).
ID_STRIDE = 1 << 20
# A slice of the diff's pages grouped by one statement. At most this many rows (the most a page can hold,
# MaxHeapTuplesPerPage, times the pages), so that a batch, at most a slice, holds fewer than ID_STRIDE changes;
# and at most SLICE_BYTES of pages, whose sort by bucket stays within the processor's cache: the slices of 28 MB
# that 0016 sorted into 1024 buckets (the same ~35 changes a batch, in a sync changing everything) cost the
# statements 13-25% more (150k changes, best and median of five: 0.47 and 0.70 s against 0.42 and 0.56 s).
_MAX_ROWS_PER_SLICE = ID_STRIDE - 1
SLICE_BYTES = 7 << 20
WORK_MEM = "64MB"

# The bucket of a record id: the text hash PostgreSQL's hash partitions rely on (so kept across pg_upgrade).
_BUCKET = f"(hashtextextended({{record_id}}, 0) & {BUCKETS - 1})"
# RecordHistory's columns, in its order (record_history.HISTORY_COLUMNS), and of them each side's values: the
# fields of record_change, in this order (migration 0017).
_COLUMNS = tuple(column.name for column in RecordHistory.__table__.columns)
_SIDES = tuple(name for name in _COLUMNS if name.startswith(("before_", "after_")))
# sync_diff's columns for each side: the stored record (old_*) and the staged values (new_*).
_DIFF_SIDES = tuple(name.replace("before_", "old_").replace("after_", "new_") for name in _SIDES)

# The changes of sync_diff's 'u' rows in a slice of its pages, grouped by bucket (sorted in memory first, with
# enable_hashagg off: a hash of the groups was no faster); a batch takes one id from the sequence, its changes
# the ids that follow. One array of both sides, not one per column: 13 arrays built and compressed per batch cost
# the statements 5-25% more (150k changes, best and median of five: 0.58 and 0.74 s against 0.47 and 0.70 s).
_WRITE = f"""INSERT INTO record_change_batches (first_id, version_id, kind, bucket, operation, task_id, task_type,
        request_id, changed_at, record_ids, contexts, changes)
    SELECT nextval('record_history_id_seq'), $1, d.kind, {_BUCKET.format(record_id="d.record_id")}, 'UPDATE', $4, $5,
           $6, statement_timestamp(), array_agg(d.record_id), array_agg(d.context),
           array_agg(ROW({", ".join(f"d.{name}" for name in _DIFF_SIDES)})::record_change)
    FROM sync_diff d
    WHERE d.what = 'u' AND d.ctid >= $2::tid AND d.ctid < $3::tid
    GROUP BY d.kind, {_BUCKET.format(record_id="d.record_id")}"""


async def write_updates(raw: asyncpg.Connection, version_id: int) -> None:
    """The changes of the sync's UPDATE (sync_diff's 'u' rows, each with both sides), as the declared writer's."""
    block = int(await raw.fetchval("SELECT current_setting('block_size')"))
    pages = await raw.fetchval("SELECT pg_relation_size('sync_diff') / $1", block)
    # MaxHeapTuplesPerPage: the page header (24 bytes), then per row its item pointer (4) and header (24).
    slice_pages = min(_MAX_ROWS_PER_SLICE // ((block - 24) // 28), SLICE_BYTES // block)
    writer = await raw.fetchrow("SELECT task_id, task_type, request_id FROM record_history_writers")
    settings = await raw.fetchrow("SELECT current_setting('work_mem'), current_setting('enable_hashagg')")
    await raw.execute(f"SET LOCAL work_mem = '{WORK_MEM}'; SET LOCAL enable_hashagg = off")
    for start in range(0, pages + 1, slice_pages):
        await raw.execute(_WRITE, version_id, (start, 0), (start + slice_pages, 0), *writer)
    await raw.execute("SELECT set_config('work_mem', $1, true), set_config('enable_hashagg', $2, true)", *settings)


# The changes of a batch `b`, unnested once (subscripting a compressed array decompresses it each time), as
# RecordHistory's columns; `u.i` the position (1-based). Unnested beside other arrays, a composite's fields are
# columns of their own.
_UNNEST = (
    f"unnest(b.record_ids, b.contexts, b.changes) WITH ORDINALITY AS u(record_id, context, {', '.join(_SIDES)}, i)"
)
_UNNESTED = ", ".join(
    ["b.first_id + u.i - 1 AS id", "b.version_id", "b.kind", "u.record_id", "u.context", "b.operation"]
    + ["b.task_id", "b.task_type", "b.request_id", "b.changed_at"]
    + [f"u.{name}" for name in _SIDES]
)
_ROW_COLUMNS = ", ".join(_COLUMNS)


def _typed(sql: str) -> Any:
    """`sql` with RecordHistory's column types for its result (JSON decoded as the ORM reads it)."""
    return text(sql).columns(*RecordHistory.__table__.columns)


class PostgresChangeBatches:
    """The reads of service.store.record_history on PostgreSQL, over both tables (service.store.ports)."""

    # How many changes both tables keep.
    count_sql = (
        "SELECT (SELECT count(*) FROM record_history)"
        " + (SELECT coalesce(sum(cardinality(record_ids)), 0) FROM record_change_batches)"
    )

    async def record_changes(
        self,
        bind: AsyncSession | AsyncConnection,
        version_id: int,
        kind: int,
        record_id: str,
        context: str,
        limit: int,
        *,
        before_id: int | None,
        after_time: dt.datetime | None,
    ) -> list[Any]:
        rows, batches = ["TRUE"], ["TRUE"]
        params: dict[str, Any] = {"v": version_id, "k": kind, "r": record_id, "c": context, "n": limit}
        if before_id is not None:
            rows.append("id < :before")
            batches.append("b.first_id + u.i - 1 < :before")
            params["before"] = before_id
        if after_time is not None:
            rows.append("changed_at > :after")
            batches.append("b.changed_at > :after")
            params["after"] = after_time.astimezone(dt.UTC)
        sql = f"""(SELECT {_ROW_COLUMNS} FROM record_history
                   WHERE version_id = :v AND kind = :k AND record_id = :r AND context = :c AND {" AND ".join(rows)}
                   ORDER BY id DESC LIMIT :n)
                  UNION ALL
                  (SELECT {_UNNESTED} FROM record_change_batches b
                   CROSS JOIN LATERAL {_UNNEST}
                   WHERE b.version_id = :v AND b.kind = :k
                     AND b.bucket = {_BUCKET.format(record_id="CAST(:r AS text)")}
                     AND CAST(:r AS text) = ANY(b.record_ids)
                     AND u.record_id = :r AND u.context = :c AND {" AND ".join(batches)}
                   ORDER BY id DESC LIMIT :n)
                  ORDER BY id DESC LIMIT :n"""
        return list((await bind.execute(_typed(sql), params)).all())

    async def task_changes(
        self, bind: AsyncSession | AsyncConnection, task_id: int, limit: int, *, after_id: int | None
    ) -> list[Any]:
        """A batch's ids lie below the next id the sequence gives (ID_STRIDE apart), so of the batches that may
        hold ids after `after_id` only the first may hold none: the first `limit` + 1 hold the task's first
        `limit` batched changes after it."""
        params: dict[str, Any] = {"t": task_id, "n": limit, "after": after_id if after_id is not None else 0}
        sql = f"""(SELECT {_ROW_COLUMNS} FROM record_history WHERE task_id = :t AND id > :after ORDER BY id LIMIT :n)
                  UNION ALL
                  (SELECT {_UNNESTED}
                   FROM (SELECT * FROM record_change_batches WHERE task_id = :t AND first_id > :after - {ID_STRIDE}
                         ORDER BY first_id LIMIT :n + 1) b
                   CROSS JOIN LATERAL {_UNNEST}
                   WHERE b.first_id + u.i - 1 > :after)
                  ORDER BY id LIMIT :n"""
        return list((await bind.execute(_typed(sql), params)).all())

    async def purge(self, conn: AsyncConnection, cutoff: Any) -> int:
        """As record_history's purge: the first batch kept, by id, bounds the statement."""
        condition = await expired(conn, RecordChangeBatch.first_id, RecordChangeBatch.changed_at, cutoff)
        result = await conn.execute(
            delete(RecordChangeBatch).where(condition).returning(func.cardinality(RecordChangeBatch.record_ids))
        )
        return sum(n for (n,) in result.all())
