"""PostgreSQL: binary COPY into a temporary staging table, then set-based SQL.

Every statement runs on the task's own connection, inside its one transaction.
Operations on the same record in one task are applied in rounds (round n holds each
record's n-th operation) so a task means exactly what applying its operations in order means.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from service.error_reasons import ErrorReason
from service.errors import TaskFailed
from service.store import postgres_change_batches, postgres_history
from service.store.staged import (
    MAX_SKIPPED_SHOWN,
    DuplicateRecord,
    ErrorSink,
    StagedRecord,
    add_counts,
    add_skipped,
    check_safety_thresholds,
    empty_counts,
    orphans_failure,
)
from service.store.sync_marks import CREATED_GEN, GEN_JOIN, before, not_after

STAGE_COLUMNS = StagedRecord._fields
# Below this many staged rows the planner's default guess for an unanalyzed table plans well enough,
# and ANALYZE would cost a task of 1,000 records more than it saves.
ANALYZE_ABOVE = 5000
# After writing more than this many records, refresh the records table's statistics in the same
# transaction (ANALYZE counts its own inserts): a freshly loaded catalog otherwise looks empty to the
# planner, and the parent check and the timestamp touch, in this task and the next ones, re-scan the
# whole catalog per staged row (4 s for 20k items instead of 0.05 s).
ANALYZE_RECORDS_ABOVE = 10_000
# The work_mem of a task staging more than ANALYZE_ABOVE rows (never lowered): the sync's full join of the staged
# rows with the catalog and the duplicate check hash in memory instead of spilling to temporary files in batches
# (the full join of 300k records 0.79 -> 0.62 s). SET LOCAL: it ends with the task's transaction, also on a
# pooled connection.
LARGE_TASK_WORK_MEM = "64MB"
_RAISE_WORK_MEM = (
    "SELECT set_config('work_mem', $1, true) WHERE pg_size_bytes(current_setting('work_mem')) < pg_size_bytes($1)"
)
_KEY = "r.version_id = $1 AND r.kind = s.kind AND r.record_id = s.record_id AND r.context = s.context"
# The staged values a sync writes, carried by its diff (sync_diff `new_*`): the UPDATE reads them there rather
# than joining stage_records again (a sync changing 150k records: 4.29 -> 3.87 s, UPDATE 1.9 -> 1.4 s).
_STAGED_VALUES = (
    ", s.name AS new_name, s.suggested_score AS new_suggested_score, s.parent_id AS new_parent_id,"
    " s.parent_ids AS new_parent_ids, s.data AS new_data, s.op_ts AS new_op_ts"
)
_CHANGED = (
    "r.name IS DISTINCT FROM s.name OR r.suggested_score IS DISTINCT FROM s.suggested_score"
    " OR r.parent_id IS DISTINCT FROM s.parent_id OR r.parent_ids IS DISTINCT FROM s.parent_ids"
    " OR r.data IS DISTINCT FROM s.data"
)

# The keys of a JSON object whose value is null: a merge removes them (R8).
_NULL_KEYS = "ARRAY(SELECT n.key FROM jsonb_each({0}) n WHERE n.value = 'null'::jsonb)"
# jsonb `||`, except that facets merge per facet (a patch that names one facet keeps the others) and a
# null removes the property (or the facet).
_MERGED_DATA = (
    "(CASE WHEN jsonb_typeof(s.data->'facets') = 'object' AND jsonb_typeof(r.data->'facets') = 'object'"
    " THEN r.data || s.data || jsonb_build_object('facets', ((r.data->'facets') || (s.data->'facets')) - "
    + _NULL_KEYS.format("s.data->'facets'")
    + ") ELSE r.data || s.data END) - "
    + _NULL_KEYS.format("s.data")
)


async def raw_connection(conn: AsyncConnection) -> asyncpg.Connection:
    # The SQLAlchemy transaction must have begun, or asyncpg statements would autocommit.
    await conn.execute(text("SELECT 1"))
    return (await conn.get_raw_connection()).driver_connection


class PostgresRecordStore:
    def __init__(self, raw: asyncpg.Connection, version_id: int) -> None:
        self.raw = raw
        self.version_id = version_id
        self._staged = False
        self._analyzed = False
        self._rows = 0

    async def stage(self, records: Iterable[StagedRecord]) -> None:
        if not self._staged:
            await self.raw.execute(
                # Dropped first: consecutive small writes share one transaction (service.tasks.worker._follow).
                """DROP TABLE IF EXISTS pg_temp.stage_records; CREATE TEMP TABLE stage_records (
                    seq bigint, kind smallint, record_id text, context text,
                    name text, has_name bool, suggested_score float8, has_score bool,
                    parent_id text, has_parent bool, parent_ids jsonb, has_parent_ids bool,
                    data jsonb, op_ts timestamptz, round int) ON COMMIT DROP"""
            )
            self._staged = True
        records = list(records)
        self._rows += len(records)
        await self.raw.copy_records_to_table("stage_records", records=records, columns=STAGE_COLUMNS)

    async def _rounds(self) -> int:
        await self.raw.execute(
            """UPDATE stage_records s SET round = n.round FROM (
                 SELECT seq, row_number() OVER (PARTITION BY kind, record_id, context ORDER BY seq) AS round
                 FROM stage_records) n
               WHERE s.seq = n.seq"""
        )
        await self.raw.execute("CREATE INDEX ON stage_records (round, kind, record_id, context)")
        self._analyzed = False
        await self.analyze()
        return await self.raw.fetchval("SELECT coalesce(max(round), 0) FROM stage_records")

    async def _staged_per_kind(self, where: str = "true") -> dict[int, int]:
        rows = await self.raw.fetch(f"SELECT kind, count(*) FROM stage_records s WHERE {where} GROUP BY kind")
        return {row[0]: row[1] for row in rows}

    async def replace(self, dedupe: bool = True) -> dict[str, Any]:
        """Create or wholly replace each record; with `dedupe` the last operation on a record wins,
        without it a record staged twice raises DuplicateRecord."""
        await self.analyze()
        counts = empty_counts()
        if dedupe:
            # The self-join costs seconds at a million rows: only when a record is staged twice.
            if await self.raw.fetchval(
                "SELECT EXISTS (SELECT 1 FROM stage_records GROUP BY kind, record_id, context HAVING count(*) > 1)"
            ):
                await self.raw.execute(
                    "DELETE FROM stage_records s USING stage_records l WHERE s.kind = l.kind"
                    " AND s.record_id = l.record_id AND s.context = l.context AND s.seq < l.seq"
                )
            if not await self._any_existing():
                return await self._insert_new()
            return await self._upsert(counts)
        try:
            # A savepoint, so the duplicate can still be looked up after the upsert fails.
            async with self.raw.transaction():
                return await self._upsert(counts)
        except asyncpg.CardinalityViolationError:
            await self.check_unique()
            raise

    async def _upsert(self, counts: dict[str, Any]) -> dict[str, Any]:
        rows = await self.raw.fetch(
            f"""WITH up AS (
                INSERT INTO records AS r (version_id, kind, record_id, context, name, suggested_score,
                                          parent_id, parent_ids, data, op_ts, updated_at, sync_gen)
                SELECT $1, s.kind, s.record_id, s.context, s.name, s.suggested_score, s.parent_id, s.parent_ids,
                       s.data, s.op_ts, now(), {CREATED_GEN}
                FROM stage_records s {GEN_JOIN.format(version="$1", s="s")}
                ON CONFLICT (version_id, kind, record_id, context) DO UPDATE SET
                    name = excluded.name, suggested_score = excluded.suggested_score,
                    parent_id = excluded.parent_id, parent_ids = excluded.parent_ids,
                    data = excluded.data, op_ts = excluded.op_ts, updated_at = excluded.updated_at,
                    version = r.version + 1
                WHERE {not_after("r", "excluded.op_ts")} AND ({_CHANGED.replace("s.", "excluded.")})
                RETURNING r.kind, (r.xmax = 0) AS inserted)
               SELECT kind, count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted)
               FROM up GROUP BY kind""",
            self.version_id,
        )
        written = {row[0]: (row[1], row[2]) for row in rows}
        await self._refresh_statistics()
        unchanged = 0
        for kind, staged in (await self._staged_per_kind()).items():
            created, updated = written.get(kind, (0, 0))
            add_counts(counts, kind, created=created, updated=updated, unchanged=staged - created - updated)
            unchanged += staged - created - updated
        if unchanged:
            await self._touch()
        return counts

    async def _touch(self, round_: int | None = None) -> None:
        """A newer write that changed nothing still moves the record's timestamp (it is the last write):
        otherwise a late, older write would overwrite it and out-of-order deliveries would not converge."""
        await self.raw.execute(
            f"UPDATE records r SET op_ts = s.op_ts FROM stage_records s WHERE {_KEY} AND {before('r', 's.op_ts')}"
            + ("" if round_ is None else " AND s.round = $2"),
            self.version_id,
            *(() if round_ is None else (round_,)),
        )

    async def merge(self, on_missing: str) -> dict[str, Any]:
        """Merge the given fields into existing records; `on_missing` is FAIL, IGNORE or CREATE."""
        counts = empty_counts()
        rounds = await self._rounds()
        if on_missing == "FAIL":
            missing = await self.raw.fetchrow(
                f"SELECT s.kind, s.record_id FROM stage_records s WHERE s.round = 1 AND NOT EXISTS ("
                f" SELECT 1 FROM records r WHERE {_KEY}) ORDER BY s.seq LIMIT 1",
                self.version_id,
            )
            if missing is not None:
                raise TaskFailed(
                    f"record '{missing[1]}' does not exist (on_missing=FAIL)",
                    reason=ErrorReason.RECORD_NOT_FOUND,
                    record_id=missing[1],
                )
        skipped = await self._missing() if on_missing == "IGNORE" else {}
        for round_ in range(1, rounds + 1):
            rows = await self.raw.fetch(
                f"""WITH up AS (
                    UPDATE records r SET
                        name = CASE WHEN s.has_name THEN s.name ELSE r.name END,
                        suggested_score = CASE WHEN s.has_score THEN s.suggested_score ELSE r.suggested_score END,
                        parent_id = CASE WHEN s.has_parent THEN s.parent_id ELSE r.parent_id END,
                        parent_ids = CASE WHEN s.has_parent_ids THEN s.parent_ids ELSE r.parent_ids END,
                        data = {_MERGED_DATA}, op_ts = s.op_ts, updated_at = now(), version = r.version + 1
                    FROM stage_records s
                    WHERE s.round = $2 AND {_KEY} AND {not_after("r", "s.op_ts")} AND (
                        (s.has_name AND r.name IS DISTINCT FROM s.name)
                        OR (s.has_score AND r.suggested_score IS DISTINCT FROM s.suggested_score)
                        OR (s.has_parent AND r.parent_id IS DISTINCT FROM s.parent_id)
                        OR (s.has_parent_ids AND r.parent_ids IS DISTINCT FROM s.parent_ids)
                        OR {_MERGED_DATA} IS DISTINCT FROM r.data)
                    RETURNING r.kind)
                   SELECT kind, count(*) FROM up GROUP BY kind""",
                self.version_id,
                round_,
            )
            updated = {row[0]: row[1] for row in rows}
            created: dict[int, int] = {}
            if on_missing == "CREATE":
                rows = await self.raw.fetch(
                    f"""WITH ins AS (
                        INSERT INTO records (version_id, kind, record_id, context, name, suggested_score,
                                             parent_id, parent_ids, data, op_ts, updated_at, sync_gen)
                        SELECT $1, s.kind, s.record_id, s.context, s.name, s.suggested_score, s.parent_id,
                               s.parent_ids, s.data - {_NULL_KEYS.format("s.data")}, s.op_ts, now(), {CREATED_GEN}
                        FROM stage_records s {GEN_JOIN.format(version="$1", s="s")} WHERE s.round = $2
                        ON CONFLICT DO NOTHING RETURNING kind)
                       SELECT kind, count(*) FROM ins GROUP BY kind""",
                    self.version_id,
                    round_,
                )
                created = {row[0]: row[1] for row in rows}
            unchanged = 0
            for kind, staged in (await self._staged_per_kind(f"s.round = {round_}")).items():
                u, c = updated.get(kind, 0), created.get(kind, 0)
                add_counts(counts, kind, created=c, updated=u, unchanged=staged - u - c)
                unchanged += staged - u - c
            if unchanged:
                await self._touch(round_)
        for kind, (count, ids) in skipped.items():
            # Counted as unchanged above: they were not applied at all.
            add_counts(counts, kind, unchanged=-count)
            add_skipped(counts, kind, count, ids)
        return counts

    async def _missing(self) -> dict[int, tuple[int, list[str]]]:
        """Per kind: the staged operations whose record does not exist, and the first such records' ids."""
        missing = f"NOT EXISTS (SELECT 1 FROM records r WHERE {_KEY})"
        counts = await self.raw.fetch(
            f"SELECT s.kind, count(*) FROM stage_records s WHERE {missing} GROUP BY s.kind", self.version_id
        )
        if not counts:
            return {}
        rows = await self.raw.fetch(
            f"SELECT s.kind, s.record_id FROM stage_records s WHERE {missing} AND s.round = 1 ORDER BY s.seq LIMIT $2",
            self.version_id,
            MAX_SKIPPED_SHOWN,
        )
        return {kind: (count, [r[1] for r in rows if r[0] == kind]) for kind, count in counts}

    async def delete(self) -> dict[str, Any]:
        await self.analyze()
        counts = empty_counts()
        rows = await self.raw.fetch(
            f"""WITH gone AS (
                DELETE FROM records r USING stage_records s
                WHERE {_KEY} AND {not_after("r", "s.op_ts")} RETURNING r.kind)
               SELECT kind, count(*) FROM gone GROUP BY kind""",
            self.version_id,
        )
        deleted = {row[0]: row[1] for row in rows}
        distinct = await self.raw.fetch(
            "SELECT kind, count(DISTINCT (record_id, context)) FROM stage_records GROUP BY kind"
        )
        for kind, staged in distinct:
            d = deleted.get(kind, 0)
            add_counts(counts, kind, deleted=d, unchanged=staged - d)
        return counts

    async def analyze(self) -> None:
        """Statistics for the staged rows, once they are all staged: without them the planner takes the
        (fresh, unanalyzed) staging table for tiny and picks nested loops that take minutes at 1M rows.
        A task that large also gets LARGE_TASK_WORK_MEM for the rest of its transaction."""
        if not self._analyzed and self._rows > ANALYZE_ABOVE:
            await self.raw.execute("ANALYZE stage_records")
            await self.raw.execute(_RAISE_WORK_MEM, LARGE_TASK_WORK_MEM)
            self._analyzed = True

    async def _refresh_statistics(self) -> None:
        if self._rows > ANALYZE_RECORDS_ABOVE:
            await self.raw.execute("ANALYZE records")

    async def check_parents(self, report: ErrorSink | None = None) -> None:
        """Every variation written by this task must name an item that exists once it is applied (with a
        `report`, each variation that does not is reported in it)."""
        await self.analyze()
        # First the fast check: a staged item_id is checked as staged (one anti-join); only a merge that left
        # item_id alone needs the stored record's parent. When it finds nothing, the variations this task wrote
        # name existing items (one whose write was ignored keeps the item it had, which only a sync that deletes
        # that item in the same task could remove: SQLite, which reads the records alone, refuses that case).
        orphan = await self.raw.fetchrow(
            """SELECT record_id, parent_id, seq FROM (
                 SELECT s.record_id, s.parent_id, s.context, s.seq FROM stage_records s
                 WHERE s.kind = 2 AND s.has_parent
                 UNION ALL
                 SELECT r.record_id, r.parent_id, r.context, s.seq FROM stage_records s
                 JOIN records r ON r.version_id = $1 AND r.kind = 2 AND r.record_id = s.record_id
                                AND r.context = s.context
                 WHERE s.kind = 2 AND NOT s.has_parent) v
               WHERE NOT EXISTS (SELECT 1 FROM records p WHERE p.version_id = $1 AND p.kind = 1
                                 AND p.record_id = v.parent_id AND p.context = v.context)
               ORDER BY seq LIMIT 1""",
            self.version_id,
        )
        if orphan is None:
            return
        # A staged row is not always what was written (a merge that skipped a missing record, a write older
        # than the record): the records this task's variations are now decide, as on SQLite.
        orphans = await self.raw.fetch(
            """SELECT record_id, parent_id, seq, count(*) OVER () FROM (
                 SELECT r.record_id, r.parent_id, min(s.seq) AS seq FROM records r
                 JOIN stage_records s ON r.version_id = $1 AND r.kind = 2 AND s.kind = 2
                      AND r.record_id = s.record_id AND r.context = s.context
                 WHERE NOT EXISTS (SELECT 1 FROM records p WHERE p.version_id = $1 AND p.kind = 1
                                   AND p.record_id = r.parent_id AND p.context = r.context)
                 GROUP BY r.record_id, r.context, r.parent_id) o
               ORDER BY seq LIMIT $2""",
            self.version_id,
            report.cap if report is not None else 1,
        )
        if orphans:
            raise orphans_failure(orphans, report)

    async def check_unique(self) -> None:
        """Raise DuplicateRecord for the first record staged twice."""
        duplicate = await self.raw.fetchrow(
            "SELECT kind, record_id, min(seq), max(seq) FROM stage_records"
            " GROUP BY kind, record_id, context HAVING count(*) > 1 ORDER BY max(seq) LIMIT 1"
        )
        if duplicate is not None:
            raise DuplicateRecord(*duplicate)

    async def sync(self, kinds: Iterable[int], force: bool, as_of: dt.datetime | None = None) -> dict[str, Any]:
        """Make each kind's records exactly the staged ones: delete the missing, write the new and the changed.
        Deleting more than half of a kind's records fails unless `force`. With `as_of` (the sync's operation
        time, every staged row's op_ts) a missing record last written after it is kept: no write older than
        the record (R3); and the records left unchanged are not written: the kinds' sync mark moves instead
        (service.store.sync_marks)."""
        kinds = list(kinds)
        existing = await self._existing(kinds)
        if not any(existing.values()):
            counts = await self._insert_new()
        elif as_of is None:
            await self.analyze()
            deleted = await self._delete_missing(kinds, existing, force)
            counts = await self.replace(dedupe=False)
            for kind, count in deleted.items():
                add_counts(counts, kind, deleted=count)
        else:
            await self.analyze()
            await self.check_unique()
            history = await postgres_history.writing(self.raw)
            diff = await self._diff(kinds, as_of, history)
            check_safety_thresholds(kinds, diff, existing, force)
            counts = await self._apply_diff(diff, history)
        if as_of is not None:
            await self._mark_synced(kinds, as_of)
        return counts

    async def _existing(self, kinds: list[int]) -> dict[int, int]:
        """Each kind's records in the version (one index-only scan)."""
        rows = await self.raw.fetch(
            "SELECT kind, count(*) FROM records WHERE version_id = $1 AND kind = ANY($2::smallint[]) GROUP BY kind",
            self.version_id,
            kinds,
        )
        return {kind: 0 for kind in kinds} | {row[0]: row[1] for row in rows}

    async def _delete_missing(self, kinds: list[int], existing: dict[int, int], force: bool) -> dict[int, int]:
        """A sync without `as_of`: delete each kind's records the sync does not hold; the 50% guard."""
        rows = await self.raw.fetch(
            """WITH gone AS (
                DELETE FROM records r WHERE r.version_id = $1 AND r.kind = ANY($2::smallint[]) AND NOT EXISTS (
                    SELECT 1 FROM stage_records s
                    WHERE s.kind = r.kind AND s.record_id = r.record_id AND s.context = r.context)
                RETURNING r.kind)
               SELECT kind, count(*) FROM gone GROUP BY kind""",
            self.version_id,
            kinds,
        )
        deleted = {kind: 0 for kind in kinds} | {row[0]: row[1] for row in rows}
        check_safety_thresholds(kinds, {kind: {"d": n} for kind, n in deleted.items()}, existing, force)
        return deleted

    async def _diff(self, kinds: list[int], as_of: dt.datetime, history: bool) -> dict[int, dict[str, int]]:
        """One full join of the staged rows with the kinds' records finds what the sync writes, into the
        temporary table sync_diff (kind, record_id, context, seq, what, new_*: the staged values): 'd' a missing
        record last written before `as_of` (effective op_ts, R3), 'c' a new record, 'u' a changed one not
        written after its staged op_ts. The rest (in a nightly sync, nearly all) is left alone. With `history`,
        each row also keeps the stored record (`old_*`: an update's `before`, service.store.postgres_history).
        Returns the counts per kind and `what`."""
        marks = await self.raw.fetch(
            "SELECT kind, gen, synced_at FROM record_sync_marks WHERE version_id = $1", self.version_id
        )
        gens, times = [0, 0, 0], [dt.datetime.min.replace(tzinfo=dt.UTC)] * 3
        for kind, gen, synced_at in marks:
            gens[kind - 1], times[kind - 1] = gen, synced_at
        # The effective op_ts (service.store.sync_marks), the marks bound as arrays indexed by kind: the join is
        # over every record of the kinds, where a subquery per row would cost seconds.
        effective = (
            "(CASE WHEN coalesce(r.sync_gen, 0) < ($4::int[])[r.kind] AND r.op_ts < ($5::timestamptz[])[r.kind]"
            " THEN ($5::timestamptz[])[r.kind] ELSE r.op_ts END)"
        )
        await self.raw.execute(
            f"""CREATE TEMP TABLE sync_diff ON COMMIT DROP AS
                SELECT coalesce(s.kind, r.kind) AS kind, coalesce(s.record_id, r.record_id) AS record_id,
                       coalesce(s.context, r.context) AS context, s.seq,
                       CASE WHEN s.seq IS NULL THEN 'd' WHEN r.record_id IS NULL THEN 'c' ELSE 'u' END AS what
                       {_STAGED_VALUES}{", " + postgres_history.OLD_COLUMNS if history else ""}
                FROM stage_records s
                FULL JOIN (SELECT * FROM records WHERE version_id = $1 AND kind = ANY($2::smallint[])) r
                     ON s.kind = r.kind AND s.record_id = r.record_id AND s.context = r.context
                WHERE (s.seq IS NULL AND {effective} < $3) OR r.record_id IS NULL
                   OR (({_CHANGED}) AND {effective} <= s.op_ts)""",
            self.version_id,
            kinds,
            as_of,
            gens,
            times,
        )
        # The join columns only: statistics of the values carried (new_*, old_*) cost more than they tell.
        await self.raw.execute("ANALYZE sync_diff (kind, record_id, context, seq, what)")
        diff: dict[int, dict[str, int]] = {kind: {"d": 0, "c": 0, "u": 0} for kind in kinds}
        for kind, what, count in await self.raw.fetch("SELECT kind, what, count(*) FROM sync_diff GROUP BY 1, 2"):
            diff[kind][what] = count
        return diff

    async def _apply_diff(self, diff: dict[int, dict[str, int]], history: bool) -> dict[str, Any]:
        """Delete, update and insert the records sync_diff names (each a join of the few rows it holds). With
        `history`, each statement writes its changes itself (service.store.postgres_history)."""
        delete = """DELETE FROM records r USING sync_diff d WHERE d.what = 'd' AND r.version_id = $1
                    AND r.kind = d.kind AND r.record_id = d.record_id AND r.context = d.context"""
        update = f"""UPDATE records r SET name = d.new_name, suggested_score = d.new_suggested_score,
                        parent_id = d.new_parent_id, parent_ids = d.new_parent_ids, data = d.new_data,
                        op_ts = d.new_op_ts, updated_at = now(), version = r.version + 1
                    FROM sync_diff d
                    WHERE d.what = 'u' AND {_KEY.replace("s.", "d.")}"""
        insert = f"""INSERT INTO records (version_id, kind, record_id, context, name, suggested_score,
                                         parent_id, parent_ids, data, op_ts, updated_at, sync_gen)
                    SELECT $1, s.kind, s.record_id, s.context, s.name, s.suggested_score, s.parent_id, s.parent_ids,
                           s.data, s.op_ts, now(), {CREATED_GEN}
                    FROM sync_diff d JOIN stage_records s ON s.seq = d.seq {GEN_JOIN.format(version="$1", s="s")}
                    WHERE d.what = 'c'"""
        if history:
            delete = postgres_history.deleting(delete)
            insert = postgres_history.inserting(insert)
            await postgres_history.stand_aside(self.raw, True)
        if any(d["d"] for d in diff.values()):
            await self.raw.execute(delete, self.version_id)
        if any(d["u"] for d in diff.values()):
            await self.raw.execute(update, self.version_id)
            if history:
                # From the diff, which holds both sides, in batches (service.store.postgres_change_batches).
                await postgres_change_batches.write_updates(self.raw, self.version_id)
        if any(d["c"] for d in diff.values()):
            await self.raw.execute(insert, self.version_id)
        if history:
            await postgres_history.stand_aside(self.raw, False)
        if sum(d["c"] + d["d"] for d in diff.values()) > ANALYZE_RECORDS_ABOVE:
            await self.raw.execute("ANALYZE records")
        counts = empty_counts()
        for kind, staged in (await self._staged_per_kind()).items():
            c, u = diff[kind]["c"], diff[kind]["u"]
            add_counts(counts, kind, created=c, updated=u, unchanged=staged - c - u)
        for kind, d in diff.items():
            add_counts(counts, kind, deleted=d["d"])
        return counts

    async def _mark_synced(self, kinds: list[int], as_of: dt.datetime) -> None:
        """Every record of the kinds is now last written no earlier than `as_of` (service.store.sync_marks)."""
        await self.raw.execute(
            """INSERT INTO record_sync_marks AS m (version_id, kind, gen, synced_at)
               SELECT $1, k, 1, $3 FROM unnest($2::smallint[]) k
               ON CONFLICT (version_id, kind) DO UPDATE SET
                   gen = m.gen + 1, synced_at = greatest(m.synced_at, excluded.synced_at)""",
            self.version_id,
            kinds,
            as_of,
        )

    async def _any_existing(self) -> bool:
        """Whether any staged kind already has records in this version (else a write is a first load)."""
        # One index probe per staged kind (a plain IN may scan the whole table).
        return await self.raw.fetchval(
            "SELECT coalesce(bool_or(EXISTS (SELECT 1 FROM records r WHERE r.version_id = $1 AND r.kind = k.kind)),"
            " false) FROM (SELECT DISTINCT kind FROM stage_records) k",
            self.version_id,
        )

    async def _insert_new(self) -> dict[str, Any]:
        """A first load (no records of the staged kinds yet): a plain INSERT, without the cost of ON CONFLICT.
        A record staged twice still fails, on the primary key."""
        try:
            async with self.raw.transaction():
                await self.raw.execute(
                    f"""INSERT INTO records (version_id, kind, record_id, context, name, suggested_score,
                                            parent_id, parent_ids, data, op_ts, updated_at, sync_gen)
                       SELECT $1, s.kind, s.record_id, s.context, s.name, s.suggested_score, s.parent_id,
                              s.parent_ids, s.data, s.op_ts, now(), {CREATED_GEN}
                       FROM stage_records s {GEN_JOIN.format(version="$1", s="s")}""",
                    self.version_id,
                )
        except asyncpg.UniqueViolationError:
            await self.check_unique()
            raise
        await self._refresh_statistics()
        counts = empty_counts()
        for kind, staged in (await self._staged_per_kind()).items():
            add_counts(counts, kind, created=staged)
        return counts
