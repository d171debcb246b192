"""Links between records (R2), the one place every write path enforces them, on both backends.

- A variation's item must exist (checked by the stores' check_parents). Deleting an item deletes its
  variations, on every path: `cascade_variations`.
- An item's `group_ids` (in its data) and a group's `parent_ids` must name groups of the catalog
  version when the task commits; a group may not be its own ancestor. `check_group_links` fails the
  task naming the record, the column and the missing id; the per-item APIs drop the item instead
  (`reject_dangling_items`, `MISSING_GROUP_SQL` for batch ingestions).

Set-based: one join over the links (jsonb array elements / json_each) of the records the task wrote,
an anti-join against the version's groups. Only a task that deletes groups checks every link of the
version (a deleted group may be linked from anywhere).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from service.db.backend import backend_of
from service.error_reasons import ErrorReason
from service.errors import TaskFailed
from service.store.ports import SqlDialect
from service.store.staged import KIND_NAMES, ROW_BITS, row_of

ITEM, VARIATION, GROUP = 1, 2, 3
LINK_COLUMNS = {ITEM: "group_ids", GROUP: "parent_ids"}


def _links(sql: SqlDialect, records: str) -> str:
    """(kind, record_id, context, seq, link_column, target) of the records `records` selects as `r` with
    a `seq` column."""
    return f"""
        SELECT r.kind, r.record_id, r.context, r.seq, 'group_ids' AS link_column, g.value AS target
        FROM ({records}) r, {sql.json_array_values(sql.json_member("r.data", "group_ids"))} WHERE r.kind = 1
        UNION ALL
        SELECT r.kind, r.record_id, r.context, r.seq, 'parent_ids', g.value
        FROM ({records}) r, {sql.json_array_values("r.parent_ids")} WHERE r.kind = 3"""


_NO_GROUP = (
    "NOT EXISTS (SELECT 1 FROM records p WHERE p.version_id = :v AND p.kind = 3"
    " AND p.record_id = l.target AND p.context = l.context)"
)
# The stored form of the records this task staged (as written: after a merge, the merged record).
_WRITTEN = (
    "SELECT r.kind, r.record_id, r.context, r.data, r.parent_ids, s.seq FROM stage_records s"
    " JOIN records r ON r.version_id = :v AND r.kind = s.kind AND r.record_id = s.record_id"
    " AND r.context = s.context WHERE s.kind IN (1, 3)"
)
_STAGED = (
    "SELECT s.kind, s.record_id, s.context, s.data, s.parent_ids, s.seq FROM stage_records s WHERE s.kind IN (1, 3)"
)
_ALL = "SELECT r.kind, r.record_id, r.context, r.data, r.parent_ids, 0 AS seq FROM records r WHERE r.version_id = :v"


class LinkRules:
    """The link rules of one catalog version, within the task's transaction. A record task's methods read its
    staged records (stage_records)."""

    def __init__(self, conn: AsyncConnection, version_id: int) -> None:
        self.conn = conn
        self.sql = backend_of(conn).sql
        self.version_id = version_id

    async def _all(self, sql: str, **params: Any) -> list[Any]:
        result = await self.conn.execute(text(sql), {"v": self.version_id, **params})
        return list(result.all()) if result.returns_rows else []

    async def cascade_variations(self, deleted_items: str | None, *, staged: bool, **params: Any) -> int:
        """Delete the variations whose item no longer exists, among those of `deleted_items` (a query of
        (record_id, context) the task deleted; None: any). With `staged`, a variation this task staged is
        left to check_parents, which refuses it."""
        among = "" if deleted_items is None else f" AND (v.parent_id, v.context) IN ({deleted_items})"
        not_staged = (
            " AND NOT EXISTS (SELECT 1 FROM stage_records s WHERE s.kind = 2 AND s.record_id = v.record_id"
            " AND s.context = v.context)"
            if staged
            else ""
        )
        gone = await self.conn.execute(
            text(
                f"""DELETE FROM records AS v WHERE v.version_id = :v AND v.kind = 2 AND v.parent_id IS NOT NULL{among}
                    AND NOT EXISTS (SELECT 1 FROM records p WHERE p.version_id = :v AND p.kind = 1
                                    AND p.record_id = v.parent_id AND p.context = v.context){not_staged}"""
            ),
            {"v": self.version_id, **params},
        )
        return gone.rowcount or 0

    async def reject_dangling_items(self) -> tuple[int, list[str]]:
        """Per-item APIs: drop the staged items whose given group_ids name a missing group; (count, ids)."""
        dangling = f"SELECT l.seq, l.record_id FROM ({_links(self.sql, _STAGED)}) l WHERE {_NO_GROUP}"
        rows = await self._all(f"SELECT DISTINCT seq, record_id FROM ({dangling}) d ORDER BY seq")
        if rows:
            await self._all(f"DELETE FROM stage_records WHERE seq IN (SELECT seq FROM ({dangling}) d)")
        return len(rows), [row[1] for row in rows]

    async def check_group_links(self, groups_deleted: bool) -> None:
        """Fail the task on the first link to a missing group, or a group cycle, it would commit."""
        for statement in self.sql.before_link_check():
            await self._all(statement)
        first = (
            f"SELECT l.kind, l.record_id, l.seq, l.link_column, l.target FROM ({{links}}) l WHERE {_NO_GROUP}"
            " ORDER BY l.seq, l.kind, l.record_id LIMIT 1"
        )
        if groups_deleted:
            dangling = await self._all(first.format(links=_links(self.sql, _ALL)))
        else:
            # The links the task gave (no join: its staged rows) are the only ones that can be new; only when
            # one names a missing group is the stored form read, which is what the task actually wrote.
            given = await self._all(first.format(links=_links(self.sql, _STAGED)))
            dangling = await self._all(first.format(links=_links(self.sql, _WRITTEN))) if given else []
        if dangling:
            kind, record_id, seq, column, target = dangling[0]
            what = "an item" if kind == ITEM else "an item group"
            problem = f"{what} '{record_id}' names {column} '{target}', which is not an item group of the catalog"
            if groups_deleted:
                problem += " (a group that records still link to cannot be deleted)"
            raise _link_failure(kind, record_id, seq, column, problem, ErrorReason.MISSING_GROUP)
        if not await self._all("SELECT 1 FROM stage_records WHERE kind = 3 LIMIT 1"):
            return
        parents = self.sql.json_array_values("g.parent_ids", "p")
        cycle = await self._all(
            f"""WITH RECURSIVE walk(start, context, seq, node) AS (
                    SELECT g.record_id, g.context, s.seq, p.value FROM stage_records s
                    JOIN records g ON g.version_id = :v AND g.kind = 3 AND g.record_id = s.record_id
                                   AND g.context = s.context, {parents}
                    WHERE s.kind = 3
                    UNION
                    SELECT w.start, w.context, w.seq, p.value FROM walk w
                    JOIN records g ON g.version_id = :v AND g.kind = 3 AND g.record_id = w.node
                                   AND g.context = w.context, {parents}
                    WHERE w.node <> w.start)
                SELECT start, seq FROM walk WHERE node = start ORDER BY seq LIMIT 1"""
        )
        if cycle:
            record_id, seq = cycle[0]
            problem = f"item group '{record_id}' would be its own ancestor through parent_ids (a group cycle)"
            raise _link_failure(GROUP, record_id, seq, "parent_ids", problem, ErrorReason.GROUP_CYCLE)


def _link_failure(kind: int, record_id: str, seq: int, column: str, problem: str, reason: ErrorReason) -> TaskFailed:
    """Named by file, row and column for a CSV upload, by record and field otherwise."""
    if seq >> ROW_BITS:
        file = f"{KIND_NAMES[kind]}.csv"
        return TaskFailed(
            f"{file}, row {row_of(seq)}, column '{column}': {problem}",
            reason=reason,
            file=file,
            row=row_of(seq),
            column=column,
            record_id=record_id,
        )
    return TaskFailed(problem, reason=reason, column=column, record_id=record_id)


async def enforce_links(
    conn: AsyncConnection, version_id: int, counts: dict[str, Any], deleted_items: str | None = None
) -> None:
    """After a record task's writes: cascade the deleted items to their variations (counted as deleted
    variations), then refuse dangling group links and cycles. `deleted_items` as for cascade_variations."""
    links = LinkRules(conn, version_id)
    if counts["items"]["deleted"]:
        counts["variations"]["deleted"] += await links.cascade_variations(deleted_items, staged=True)
    await links.check_group_links(groups_deleted=counts["item_groups"]["deleted"] > 0)
