"""record history: which task changed which record, how, and when (issue 15)

`record_history` holds one row per applied record change (CREATE, UPDATE, DELETE). Triggers on `records`
write it, set-based, in the transaction of the write, but only while that transaction has declared its writer
in `record_history_writers` (service.store.record_history.begin_history, called by the worker for every task;
nothing else declares one, so activation, version deletes and purges write no history):

- PostgreSQL: statement-level triggers over the transition tables (one INSERT ... SELECT per statement,
  whatever its size); an UPDATE row counts only when a user-visible column changed (a timestamp touch does
  not).
- SQLite: row-level triggers with the same rules and the same JSON.

`before` / `after` (JSON): the whole record on each side of an UPDATE, {"fields": {name, suggested_score,
parent_id, parent_ids}, "data": {...}, "op_ts": time}; `before` of a DELETE. A CREATE stores neither (the
record is the next state). Which attributes changed is worked out when the history is read
(service.domain.record_history): comparing whole values in the trigger is a plain copy, where diffing them
there (jsonb_each per row) cost the sync 2.5 times as much.

Revision ID: 0011
Revises: 0008
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(JSONB(), "postgresql")
Timestamp = sa.DateTime(timezone=True)

_PG_COLUMNS = "version_id, kind, record_id, context, operation, task_id, task_type, request_id, changed_at"
# The record's user-visible columns: an update that changes none of them (a timestamp touch) is no change.
_PG_CHANGED = (
    "(o.name, o.suggested_score, o.parent_id, o.parent_ids, o.data)"
    " IS DISTINCT FROM (n.name, n.suggested_score, n.parent_id, n.parent_ids, n.data)"
)


def _pg_whole(a: str) -> str:
    """The whole record `a` as the history stores one side of a change."""
    return (
        f"jsonb_build_object('fields', jsonb_build_object('name', {a}.name, 'suggested_score', {a}.suggested_score,"
        f" 'parent_id', {a}.parent_id, 'parent_ids', {a}.parent_ids), 'data', {a}.data, 'op_ts', {a}.op_ts,"
        f" 'version', {a}.version, 'updated_at', {a}.updated_at)"
    )


_PG_FUNCTIONS = {
    "record_history_on_insert": f"""
        INSERT INTO record_history ({_PG_COLUMNS})
        SELECT n.version_id, n.kind, n.record_id, n.context, 'CREATE', w.task_id, w.task_type, w.request_id,
               statement_timestamp()
        FROM record_history_writers w CROSS JOIN new_rows n""",
    "record_history_on_update": f"""
        INSERT INTO record_history ({_PG_COLUMNS}, before, after)
        SELECT n.version_id, n.kind, n.record_id, n.context, 'UPDATE', w.task_id, w.task_type, w.request_id,
               statement_timestamp(), {_pg_whole("o")}, {_pg_whole("n")}
        FROM record_history_writers w CROSS JOIN new_rows n
        JOIN old_rows o ON o.version_id = n.version_id AND o.kind = n.kind AND o.record_id = n.record_id
                       AND o.context = n.context
        WHERE {_PG_CHANGED}""",
    "record_history_on_delete": f"""
        INSERT INTO record_history ({_PG_COLUMNS}, before)
        SELECT o.version_id, o.kind, o.record_id, o.context, 'DELETE', w.task_id, w.task_type, w.request_id,
               statement_timestamp(),
               jsonb_build_object('fields', jsonb_build_object('name', o.name, 'suggested_score', o.suggested_score,
                                                               'parent_id', o.parent_id, 'parent_ids', o.parent_ids),
                                  'data', o.data, 'op_ts', o.op_ts, 'version', o.version,
                                  'updated_at', o.updated_at)
        FROM record_history_writers w CROSS JOIN old_rows o""",
}
_PG_TRIGGERS = {
    "record_history_on_insert": ("INSERT", "NEW TABLE AS new_rows"),
    "record_history_on_update": ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
    "record_history_on_delete": ("DELETE", "OLD TABLE AS old_rows"),
}

_SQLITE_COLUMNS = _PG_COLUMNS
_SQLITE_NOW = "(strftime('%Y-%m-%d %H:%M:%f', 'now') || '000')"
_SQLITE_CHANGED = (
    "(OLD.name IS NOT NEW.name OR OLD.suggested_score IS NOT NEW.suggested_score OR OLD.parent_id IS NOT NEW.parent_id"
    " OR json(OLD.parent_ids) IS NOT json(NEW.parent_ids) OR json(OLD.data) IS NOT json(NEW.data))"
)


def _sqlite_whole(a: str) -> str:
    return (
        f"json_object('fields', json_object('name', {a}.name, 'suggested_score', {a}.suggested_score,"
        f" 'parent_id', {a}.parent_id, 'parent_ids', json({a}.parent_ids)), 'data', json({a}.data), 'op_ts', {a}.op_ts,"
        f" 'version', {a}.version, 'updated_at', {a}.updated_at)"
    )


_SQLITE_TRIGGERS = {
    "record_history_on_insert": f"""
        CREATE TRIGGER record_history_on_insert AFTER INSERT ON records
        WHEN EXISTS (SELECT 1 FROM record_history_writers)
        BEGIN
            INSERT INTO record_history ({_SQLITE_COLUMNS})
            SELECT NEW.version_id, NEW.kind, NEW.record_id, NEW.context, 'CREATE', w.task_id, w.task_type,
                   w.request_id, {_SQLITE_NOW}
            FROM record_history_writers w;
        END""",
    "record_history_on_update": f"""
        CREATE TRIGGER record_history_on_update AFTER UPDATE ON records
        WHEN {_SQLITE_CHANGED} AND EXISTS (SELECT 1 FROM record_history_writers)
        BEGIN
            INSERT INTO record_history ({_SQLITE_COLUMNS}, before, after)
            SELECT NEW.version_id, NEW.kind, NEW.record_id, NEW.context, 'UPDATE', w.task_id, w.task_type,
                   w.request_id, {_SQLITE_NOW}, {_sqlite_whole("OLD")}, {_sqlite_whole("NEW")}
            FROM record_history_writers w;
        END""",
    "record_history_on_delete": f"""
        CREATE TRIGGER record_history_on_delete AFTER DELETE ON records
        WHEN EXISTS (SELECT 1 FROM record_history_writers)
        BEGIN
            INSERT INTO record_history ({_SQLITE_COLUMNS}, before)
            SELECT OLD.version_id, OLD.kind, OLD.record_id, OLD.context, 'DELETE', w.task_id, w.task_type,
                   w.request_id, {_SQLITE_NOW}, {_sqlite_whole("OLD")}
            FROM record_history_writers w;
        END""",
}


def upgrade() -> None:
    op.create_table(
        "record_history",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        # No foreign keys: a key check per change row would cost a large sync more than the row itself; the
        # changes of a deleted version go with the retention purge.
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.SmallInteger(), nullable=False),
        sa.Column("record_id", sa.Text(), nullable=False),
        sa.Column("context", sa.Text(), nullable=False),
        sa.Column("operation", sa.String(length=8), nullable=False),
        # A change outlives its task (task retention and history retention are separate).
        sa.Column("task_id", sa.BigInteger(), nullable=False),
        sa.Column("task_type", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=True),
        sa.Column("changed_at", Timestamp, nullable=False),
        sa.Column("before", Json, nullable=True),
        sa.Column("after", Json, nullable=True),
    )
    op.create_index("ix_record_history_record", "record_history", ["version_id", "kind", "record_id", "context", "id"])
    op.create_index("ix_record_history_task", "record_history", ["task_id", "id"])
    op.create_table(
        "record_history_writers",
        # The task whose transaction writes records now; inserted and deleted in that transaction, so no other
        # transaction ever sees it.
        sa.Column("task_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("task_type", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=True),
    )
    if op.get_context().dialect.name == "postgresql":
        for name, body in _PG_FUNCTIONS.items():
            op.execute(
                f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $fn$\n"
                # EXECUTE: planned for each statement's row counts. A cached plan (made for the first, often tiny,
                # statement of a session) joined a large statement's transition tables in nested loops.
                f"BEGIN\n  IF EXISTS (SELECT 1 FROM record_history_writers) THEN\n"
                f"    EXECUTE $q${body}$q$;\n  END IF;\n  RETURN NULL;\nEND\n$fn$"
            )
            event, referencing = _PG_TRIGGERS[name]
            op.execute(
                f"CREATE TRIGGER {name} AFTER {event} ON records REFERENCING {referencing}"
                f" FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
            )
    else:
        for body in _SQLITE_TRIGGERS.values():
            op.execute(body)


def downgrade() -> None:
    postgres = op.get_context().dialect.name == "postgresql"
    for name in _PG_TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + (" ON records" if postgres else ""))
        if postgres:
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    op.drop_table("record_history_writers")
    op.drop_index("ix_record_history_task", table_name="record_history")
    op.drop_index("ix_record_history_record", table_name="record_history")
    op.drop_table("record_history")
