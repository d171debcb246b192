"""SQLite (the embedded default): the same staging and set-based statements as PostgreSQL.

SQLite has no COPY and no DML in CTEs, so rows are staged with executemany and counted from
RETURNING. `json_merge_removing_nulls` is registered on every connection (service.db.engine): the
merge of service.store.postgres.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from service.error_reasons import ErrorReason
from service.errors import TaskFailed
from service.store.staged import (
    MAX_SKIPPED_SHOWN,
    DuplicateRecord,
    ErrorSink,
    StagedRecord,
    add_counts,
    add_skipped,
    check_safety_threshold,
    empty_counts,
    orphans_failure,
)
from service.store.sync_marks import CREATED_GEN, GEN_JOIN, before, not_after

_KEY = "r.version_id = :v AND r.kind = s.kind AND r.record_id = s.record_id AND r.context = s.context"
_INSERT_COLUMNS = (
    "version_id, kind, record_id, context, name, suggested_score, parent_id, parent_ids, data, op_ts, updated_at,"
    " sync_gen"
)
_GEN_JOIN = GEN_JOIN.format(version=":v", s="s")
_CHANGED = (
    "r.name IS NOT s.name OR r.suggested_score IS NOT s.suggested_score OR r.parent_id IS NOT s.parent_id"
    " OR json(r.parent_ids) IS NOT json(s.parent_ids) OR json(r.data) IS NOT json(s.data)"
)
_STAGE = ", ".join(StagedRecord._fields)


class SqliteRecordStore:
    def __init__(self, conn: AsyncConnection, version_id: int) -> None:
        self.conn = conn
        self.version_id = version_id
        self._staged = False

    async def _all(self, sql: str, **params: Any) -> list[Any]:
        result = await self.conn.execute(text(sql), {"v": self.version_id, **params})
        return list(result.all()) if result.returns_rows else []

    async def stage(self, records: Iterable[StagedRecord]) -> None:
        if not self._staged:
            # The worker's task transaction already holds the write lock (service.tasks.worker).
            await self.conn.execute(text("DROP TABLE IF EXISTS temp.stage_records"))
            await self.conn.execute(
                text(
                    "CREATE TEMP TABLE stage_records (seq INTEGER, kind INTEGER, record_id TEXT, context TEXT,"
                    " name TEXT, has_name BOOLEAN, suggested_score REAL, has_score BOOLEAN, parent_id TEXT,"
                    " has_parent BOOLEAN, parent_ids TEXT, has_parent_ids BOOLEAN, data TEXT, op_ts TEXT,"
                    " round INTEGER)"
                )
            )
            await self.conn.execute(text("CREATE INDEX temp.stage_key ON stage_records (kind, record_id, context)"))
            self._staged = True
        rows = [{**r._asdict(), "op_ts": _sqlite_ts(r.op_ts)} for r in records]
        if rows:
            placeholders = ", ".join(f":{f}" for f in StagedRecord._fields)
            await self.conn.execute(text(f"INSERT INTO stage_records ({_STAGE}) VALUES ({placeholders})"), rows)

    async def _per_kind(self, where: str = "1") -> dict[int, int]:
        rows = await self._all(f"SELECT kind, count(*) FROM stage_records s WHERE {where} GROUP BY kind")
        return {row[0]: row[1] for row in rows}

    async def replace(self, dedupe: bool = True) -> dict[str, Any]:
        counts = empty_counts()
        if dedupe:
            await self._all(
                "DELETE FROM stage_records AS s WHERE EXISTS (SELECT 1 FROM stage_records l WHERE l.kind = s.kind"
                " AND l.record_id = s.record_id AND l.context = s.context AND l.seq > s.seq)"
            )
        else:
            await self.check_unique()
        existing = await self._per_kind(f"EXISTS (SELECT 1 FROM records r WHERE {_KEY})")
        written = await self._all(
            f"""INSERT INTO records AS r ({_INSERT_COLUMNS})
                SELECT :v, s.kind, s.record_id, s.context, s.name, s.suggested_score, s.parent_id, s.parent_ids,
                       s.data, s.op_ts, CURRENT_TIMESTAMP, {CREATED_GEN}
                FROM stage_records s {_GEN_JOIN} WHERE true
                ON CONFLICT (version_id, kind, record_id, context) DO UPDATE SET
                    name = excluded.name, suggested_score = excluded.suggested_score,
                    parent_id = excluded.parent_id, parent_ids = excluded.parent_ids, data = excluded.data,
                    op_ts = excluded.op_ts, updated_at = excluded.updated_at, version = r.version + 1
                WHERE {not_after("r", "excluded.op_ts")} AND ({_CHANGED.replace("s.", "excluded.")})
                RETURNING kind"""
        )
        touched: dict[int, int] = {}
        for (kind,) in written:
            touched[kind] = touched.get(kind, 0) + 1
        for kind, staged in (await self._per_kind()).items():
            created = staged - existing.get(kind, 0)
            updated = touched.get(kind, 0) - created
            add_counts(counts, kind, created=created, updated=updated, unchanged=staged - created - updated)
        await self._touch()
        return counts

    async def _touch(self, round_: int | None = None) -> None:
        """A newer write that changed nothing still moves the record's timestamp (see PostgresRecordStore)."""
        await self._all(
            f"UPDATE records AS r SET op_ts = s.op_ts FROM stage_records s WHERE {_KEY} AND {before('r', 's.op_ts')}"
            + ("" if round_ is None else " AND s.round = :round"),
            round=round_,
        )

    async def merge(self, on_missing: str) -> dict[str, Any]:
        counts = empty_counts()
        await self._all(
            "UPDATE stage_records AS s SET round = (SELECT count(*) FROM stage_records p WHERE p.kind = s.kind"
            " AND p.record_id = s.record_id AND p.context = s.context AND p.seq <= s.seq)"
        )
        if on_missing == "FAIL":
            missing = await self._all(
                f"SELECT s.record_id FROM stage_records s WHERE s.round = 1 AND NOT EXISTS ("
                f" SELECT 1 FROM records r WHERE {_KEY}) ORDER BY s.seq LIMIT 1"
            )
            if missing:
                raise TaskFailed(
                    f"record '{missing[0][0]}' does not exist (on_missing=FAIL)",
                    reason=ErrorReason.RECORD_NOT_FOUND,
                    record_id=missing[0][0],
                )
        rounds = (await self._all("SELECT coalesce(max(round), 0) FROM stage_records"))[0][0]
        skipped = await self._missing() if on_missing == "IGNORE" else {}
        for round_ in range(1, rounds + 1):
            updated: dict[int, int] = {}
            for (kind,) in await self._all(
                f"""UPDATE records AS r SET
                        name = CASE WHEN s.has_name THEN s.name ELSE r.name END,
                        suggested_score = CASE WHEN s.has_score THEN s.suggested_score ELSE r.suggested_score END,
                        parent_id = CASE WHEN s.has_parent THEN s.parent_id ELSE r.parent_id END,
                        parent_ids = CASE WHEN s.has_parent_ids THEN s.parent_ids ELSE r.parent_ids END,
                        data = json_merge_removing_nulls(r.data, s.data), op_ts = s.op_ts,
                        updated_at = CURRENT_TIMESTAMP, version = r.version + 1
                    FROM stage_records s
                    WHERE s.round = :round AND {_KEY} AND {not_after("r", "s.op_ts")} AND (
                        (s.has_name AND r.name IS NOT s.name)
                        OR (s.has_score AND r.suggested_score IS NOT s.suggested_score)
                        OR (s.has_parent AND r.parent_id IS NOT s.parent_id)
                        OR (s.has_parent_ids AND json(r.parent_ids) IS NOT json(s.parent_ids))
                        OR json_merge_removing_nulls(r.data, s.data) IS NOT json(r.data))
                    RETURNING kind""",
                round=round_,
            ):
                updated[kind] = updated.get(kind, 0) + 1
            created: dict[int, int] = {}
            if on_missing == "CREATE":
                for (kind,) in await self._all(
                    f"""INSERT INTO records ({_INSERT_COLUMNS})
                        SELECT :v, s.kind, s.record_id, s.context, s.name, s.suggested_score, s.parent_id,
                               s.parent_ids, json_merge_removing_nulls('{{}}', s.data), s.op_ts, CURRENT_TIMESTAMP,
                               {CREATED_GEN}
                        FROM stage_records s {_GEN_JOIN} WHERE s.round = :round
                        ON CONFLICT DO NOTHING RETURNING kind""",
                    round=round_,
                ):
                    created[kind] = created.get(kind, 0) + 1
            await self._touch(round_)
            for kind, staged in (await self._per_kind(f"s.round = {round_}")).items():
                u, c = updated.get(kind, 0), created.get(kind, 0)
                add_counts(counts, kind, created=c, updated=u, unchanged=staged - u - c)
        for kind, (count, ids) in skipped.items():
            # Counted as unchanged above: they were not applied at all.
            add_counts(counts, kind, unchanged=-count)
            add_skipped(counts, kind, count, ids)
        return counts

    async def _missing(self) -> dict[int, tuple[int, list[str]]]:
        """Per kind: the staged operations whose record does not exist, and the first such records' ids."""
        missing = f"NOT EXISTS (SELECT 1 FROM records r WHERE {_KEY})"
        counts = await self._all(f"SELECT s.kind, count(*) FROM stage_records s WHERE {missing} GROUP BY s.kind")
        if not counts:
            return {}
        rows = await self._all(
            f"SELECT s.kind, s.record_id FROM stage_records s WHERE {missing} AND s.round = 1 ORDER BY s.seq LIMIT :n",
            n=MAX_SKIPPED_SHOWN,
        )
        return {kind: (count, [r[1] for r in rows if r[0] == kind]) for kind, count in counts}

    async def delete(self) -> dict[str, Any]:
        counts = empty_counts()
        deleted: dict[int, int] = {}
        for (kind,) in await self._all(
            f"DELETE FROM records AS r WHERE EXISTS (SELECT 1 FROM stage_records s WHERE {_KEY}"
            f" AND {not_after('r', 's.op_ts')}) AND r.version_id = :v RETURNING kind"
        ):
            deleted[kind] = deleted.get(kind, 0) + 1
        for kind, staged in await self._all(
            "SELECT kind, count(*) FROM (SELECT DISTINCT kind, record_id, context FROM stage_records) GROUP BY kind"
        ):
            d = deleted.get(kind, 0)
            add_counts(counts, kind, deleted=d, unchanged=staged - d)
        return counts

    async def check_parents(self, report: ErrorSink | None = None) -> None:
        orphans = await self._all(
            """SELECT record_id, parent_id, seq, count(*) OVER () FROM (
                 SELECT r.record_id, r.parent_id, min(s.seq) AS seq FROM records r
                 JOIN stage_records s ON r.version_id = :v AND r.kind = 2 AND s.kind = 2
                      AND r.record_id = s.record_id AND r.context = s.context
                 WHERE NOT EXISTS (SELECT 1 FROM records p WHERE p.version_id = :v AND p.kind = 1
                                   AND p.record_id = r.parent_id AND p.context = r.context)
                 GROUP BY r.record_id, r.context, r.parent_id) o
               ORDER BY seq LIMIT :n""",
            n=report.cap if report is not None else 1,
        )
        if orphans:
            raise orphans_failure(list(orphans), report)

    async def check_unique(self) -> None:
        duplicate = await self._all(
            "SELECT kind, record_id, min(seq), max(seq) FROM stage_records"
            " GROUP BY kind, record_id, context HAVING count(*) > 1 ORDER BY max(seq) LIMIT 1"
        )
        if duplicate:
            raise DuplicateRecord(*duplicate[0])

    async def sync(self, kinds: Iterable[int], force: bool, as_of: dt.datetime | None = None) -> dict[str, Any]:
        """See PostgresRecordStore.sync: the same steps."""
        kinds = list(kinds)
        existing = {
            kind: (await self._all("SELECT count(*) FROM records WHERE version_id = :v AND kind = :k", k=kind))[0][0]
            for kind in kinds
        }
        deleted = await self._delete_missing(kinds, existing, force, as_of)
        if as_of is None:
            counts = await self.replace(dedupe=False)
        else:
            await self.check_unique()
            counts = await self._write_changed()
            await self._mark_synced(kinds, as_of)
        for kind, count in deleted.items():
            add_counts(counts, kind, deleted=count)
        return counts

    async def _delete_missing(
        self, kinds: list[int], existing: dict[int, int], force: bool, as_of: dt.datetime | None
    ) -> dict[int, int]:
        deleted: dict[int, int] = {}
        newer = "" if as_of is None else f" AND {before('r', ':as_of')}"
        for kind in kinds:
            gone = await self._all(
                "DELETE FROM records AS r WHERE r.version_id = :v AND r.kind = :k AND NOT EXISTS ("
                " SELECT 1 FROM stage_records s WHERE s.kind = r.kind AND s.record_id = r.record_id"
                f" AND s.context = r.context){newer} RETURNING kind",
                k=kind,
                as_of=_sqlite_ts(as_of) if as_of is not None else None,
            )
            deleted[kind] = len(gone)
            check_safety_threshold(kind, deleted[kind], existing[kind], force)
        return deleted

    async def _write_changed(self) -> dict[str, Any]:
        """See PostgresRecordStore._write_changed."""
        updated: dict[int, int] = {}
        for (kind,) in await self._all(
            f"""UPDATE records AS r SET name = s.name, suggested_score = s.suggested_score, parent_id = s.parent_id,
                    parent_ids = s.parent_ids, data = s.data, op_ts = s.op_ts, updated_at = CURRENT_TIMESTAMP,
                    version = r.version + 1
                FROM stage_records s
                WHERE {_KEY} AND ({_CHANGED}) AND {not_after("r", "s.op_ts")}
                RETURNING kind"""
        ):
            updated[kind] = updated.get(kind, 0) + 1
        created: dict[int, int] = {}
        for (kind,) in await self._all(
            f"""INSERT INTO records ({_INSERT_COLUMNS})
                SELECT :v, s.kind, s.record_id, s.context, s.name, s.suggested_score, s.parent_id, s.parent_ids,
                       s.data, s.op_ts, CURRENT_TIMESTAMP, {CREATED_GEN}
                FROM stage_records s {_GEN_JOIN}
                WHERE NOT EXISTS (SELECT 1 FROM records r WHERE {_KEY})
                RETURNING kind"""
        ):
            created[kind] = created.get(kind, 0) + 1
        counts = empty_counts()
        for kind, staged in (await self._per_kind()).items():
            c, u = created.get(kind, 0), updated.get(kind, 0)
            add_counts(counts, kind, created=c, updated=u, unchanged=staged - c - u)
        return counts

    async def _mark_synced(self, kinds: list[int], as_of: dt.datetime) -> None:
        """See PostgresRecordStore._mark_synced."""
        for kind in kinds:
            await self._all(
                """INSERT INTO record_sync_marks AS m (version_id, kind, gen, synced_at) VALUES (:v, :k, 1, :at)
                   ON CONFLICT (version_id, kind) DO UPDATE SET
                       gen = m.gen + 1, synced_at = max(m.synced_at, excluded.synced_at)""",
                k=kind,
                at=_sqlite_ts(as_of),
            )


def _sqlite_ts(value: Any) -> str:
    """The format SQLAlchemy's SQLite DateTime writes, so stored and staged times compare as text."""
    # isoformat pads the year to 4 digits (strftime's %Y does not on Linux), so years < 1000 compare right.
    return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
