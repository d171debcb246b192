"""PostgreSQL: the full sync writes its record history from its own statements (issue 15: "written set-based
from the same staging data").

The triggers of migrations 0011/0015 record any statement on `records` by joining its transition tables (the
old and new rows) afterwards. For the sync's three statements the store has both sides already: the diff's
full join of staged and stored rows reads the stored row (kept in sync_diff as `old_*` while history is on),
the staged row is the new one, a DELETE's RETURNING the old one. So the sync writes its changes from those,
and the triggers stand aside meanwhile (`store_writes`). See README, What record history costs, for figures.

The rows are the ones the triggers would write: the same columns, operation and writer. The UPDATE's changes,
a row for nearly every record in a sync that changes them all, are written in batches instead
(service.store.postgres_change_batches).
"""

from __future__ import annotations

import asyncpg

# The stored record's columns the diff keeps for an update (the change's `before`).
OLD_COLUMNS = (
    "r.name AS old_name, r.suggested_score AS old_suggested_score, r.parent_id AS old_parent_id,"
    " r.parent_ids AS old_parent_ids, r.data AS old_data, r.op_ts AS old_op_ts, r.version AS old_version,"
    " r.updated_at AS old_updated_at"
)
_COLUMNS = "version_id, kind, record_id, context, operation, task_id, task_type, request_id, changed_at"
_BEFORE = (
    "before_name, before_suggested_score, before_parent_id, before_parent_ids, before_data, before_op_ts,"
    " before_version, before_updated_at"
)
_WRITER = "record_history_writers w WHERE NOT w.store_writes"


async def writing(raw: asyncpg.Connection) -> bool:
    """Whether this transaction declared a writer (service.store.record_history.begin_history)."""
    return await raw.fetchval(f"SELECT EXISTS (SELECT 1 FROM {_WRITER})")


async def stand_aside(raw: asyncpg.Connection, store_writes: bool) -> None:
    """With `store_writes`, the triggers record nothing: the following statements write their own history."""
    await raw.execute("UPDATE record_history_writers SET store_writes = $1", store_writes)


def deleting(delete: str) -> str:
    """`delete` (a DELETE on records `r`) and its DELETE changes, in one statement."""
    return f"""WITH gone AS ({delete} RETURNING r.*)
        INSERT INTO record_history ({_COLUMNS}, {_BEFORE})
        SELECT g.version_id, g.kind, g.record_id, g.context, 'DELETE', w.task_id, w.task_type, w.request_id,
               statement_timestamp(), g.name, g.suggested_score, g.parent_id, g.parent_ids, g.data, g.op_ts,
               g.version, g.updated_at
        FROM gone g CROSS JOIN record_history_writers w"""


def inserting(insert: str) -> str:
    """`insert` (an INSERT into records) and its CREATE changes, in one statement."""
    return f"""WITH ins AS ({insert} RETURNING version_id, kind, record_id, context)
        INSERT INTO record_history ({_COLUMNS})
        SELECT i.version_id, i.kind, i.record_id, i.context, 'CREATE', w.task_id, w.task_type, w.request_id,
               statement_timestamp()
        FROM ins i CROSS JOIN record_history_writers w"""
