"""record history in plain columns: what a change costs a sync (issue 15's 1.25x bound)

Each side of a change was one JSON document built per row (`jsonb_build_object` of the record's columns, its
`data` re-serialized inside): on a full sync changing 150k records that alone took half the history's cost
(the INSERT of the change rows 2.6 s, against 1.4 s storing the same values as columns). The sides are now
the record's own columns, copied as they are:

- `before_*` (name, suggested_score, parent_id, parent_ids, data, op_ts, version, updated_at): the record
  before an UPDATE or a DELETE (what `as_of` restores);
- `after_*` (name, suggested_score, parent_id, parent_ids, data): the record after an UPDATE (what the
  changed-fields view compares with). A CREATE stores neither side, as before.

Existing changes are converted. `record_history_writers.store_writes`: while true, the store writes the
transaction's history itself, from its own statements (service.store.postgres_history: the full sync's
changes from its diff and its statements' RETURNING), and the triggers stand aside; every other statement is
still recorded by the triggers.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-29
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

Json = sa.JSON().with_variant(JSONB(), "postgresql")
Timestamp = sa.DateTime(timezone=True)

_TRIGGERS = ("record_history_on_insert", "record_history_on_update", "record_history_on_delete")
_COLUMNS = "version_id, kind, record_id, context, operation, task_id, task_type, request_id, changed_at"
_BEFORE = (
    "before_name, before_suggested_score, before_parent_id, before_parent_ids, before_data, before_op_ts,"
    " before_version, before_updated_at"
)
_AFTER = "after_name, after_suggested_score, after_parent_id, after_parent_ids, after_data"
# The record's user-visible columns: an update that changes none of them (a timestamp touch) is no change.
_PG_CHANGED = (
    "(o.name, o.suggested_score, o.parent_id, o.parent_ids, o.data)"
    " IS DISTINCT FROM (n.name, n.suggested_score, n.parent_id, n.parent_ids, n.data)"
)
_WRITER = "record_history_writers w WHERE NOT w.store_writes"


def _before(a: str) -> str:
    return (
        f"{a}.name, {a}.suggested_score, {a}.parent_id, {a}.parent_ids, {a}.data, {a}.op_ts, {a}.version,"
        f" {a}.updated_at"
    )


def _after(a: str) -> str:
    return f"{a}.name, {a}.suggested_score, {a}.parent_id, {a}.parent_ids, {a}.data"


_PG_FUNCTIONS = {
    "record_history_on_insert": f"""
        INSERT INTO record_history ({_COLUMNS})
        SELECT n.version_id, n.kind, n.record_id, n.context, 'CREATE', w.task_id, w.task_type, w.request_id,
               statement_timestamp()
        FROM new_rows n CROSS JOIN {_WRITER}""",
    "record_history_on_update": f"""
        INSERT INTO record_history ({_COLUMNS}, {_BEFORE}, {_AFTER})
        SELECT n.version_id, n.kind, n.record_id, n.context, 'UPDATE', w.task_id, w.task_type, w.request_id,
               statement_timestamp(), {_before("o")}, {_after("n")}
        FROM new_rows n
        JOIN old_rows o ON o.version_id = n.version_id AND o.kind = n.kind AND o.record_id = n.record_id
                       AND o.context = n.context
        CROSS JOIN {_WRITER} AND {_PG_CHANGED}""",
    "record_history_on_delete": f"""
        INSERT INTO record_history ({_COLUMNS}, {_BEFORE})
        SELECT o.version_id, o.kind, o.record_id, o.context, 'DELETE', w.task_id, w.task_type, w.request_id,
               statement_timestamp(), {_before("o")}
        FROM old_rows o CROSS JOIN {_WRITER}""",
}
_PG_EVENTS = {
    "record_history_on_insert": ("INSERT", "NEW TABLE AS new_rows"),
    "record_history_on_update": ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
    "record_history_on_delete": ("DELETE", "OLD TABLE AS old_rows"),
}

_SQLITE_NOW = "(strftime('%Y-%m-%d %H:%M:%f', 'now') || '000')"
_SQLITE_CHANGED = (
    "(OLD.name IS NOT NEW.name OR OLD.suggested_score IS NOT NEW.suggested_score OR OLD.parent_id IS NOT NEW.parent_id"
    " OR json(OLD.parent_ids) IS NOT json(NEW.parent_ids) OR json(OLD.data) IS NOT json(NEW.data))"
)
_SQLITE_WRITER = "EXISTS (SELECT 1 FROM record_history_writers WHERE NOT store_writes)"
_SQLITE_TRIGGERS = {
    "record_history_on_insert": f"""
        CREATE TRIGGER record_history_on_insert AFTER INSERT ON records
        WHEN {_SQLITE_WRITER}
        BEGIN
            INSERT INTO record_history ({_COLUMNS})
            SELECT NEW.version_id, NEW.kind, NEW.record_id, NEW.context, 'CREATE', w.task_id, w.task_type,
                   w.request_id, {_SQLITE_NOW}
            FROM {_WRITER};
        END""",
    "record_history_on_update": f"""
        CREATE TRIGGER record_history_on_update AFTER UPDATE ON records
        WHEN {_SQLITE_CHANGED} AND {_SQLITE_WRITER}
        BEGIN
            INSERT INTO record_history ({_COLUMNS}, {_BEFORE}, {_AFTER})
            SELECT NEW.version_id, NEW.kind, NEW.record_id, NEW.context, 'UPDATE', w.task_id, w.task_type,
                   w.request_id, {_SQLITE_NOW}, {_before("OLD")}, {_after("NEW")}
            FROM {_WRITER};
        END""",
    "record_history_on_delete": f"""
        CREATE TRIGGER record_history_on_delete AFTER DELETE ON records
        WHEN {_SQLITE_WRITER}
        BEGIN
            INSERT INTO record_history ({_COLUMNS}, {_BEFORE})
            SELECT OLD.version_id, OLD.kind, OLD.record_id, OLD.context, 'DELETE', w.task_id, w.task_type,
                   w.request_id, {_SQLITE_NOW}, {_before("OLD")}
            FROM {_WRITER};
        END""",
}

# The stored JSON of 0011 (`{"fields": {...}, "data", "op_ts", "version", "updated_at"}`) as the columns.
_PG_FROM_JSON = """
    UPDATE record_history SET
        before_name = before->'fields'->>'name',
        before_suggested_score = (before->'fields'->>'suggested_score')::float8,
        before_parent_id = before->'fields'->>'parent_id',
        before_parent_ids = nullif(before->'fields'->'parent_ids', 'null'::jsonb),
        before_data = before->'data', before_op_ts = (before->>'op_ts')::timestamptz,
        before_version = (before->>'version')::bigint, before_updated_at = (before->>'updated_at')::timestamptz,
        after_name = after->'fields'->>'name',
        after_suggested_score = (after->'fields'->>'suggested_score')::float8,
        after_parent_id = after->'fields'->>'parent_id',
        after_parent_ids = nullif(after->'fields'->'parent_ids', 'null'::jsonb),
        after_data = after->'data'
    WHERE before IS NOT NULL OR after IS NOT NULL"""
_SQLITE_FROM_JSON = """
    UPDATE record_history SET
        before_name = json_extract("before", '$.fields.name'),
        before_suggested_score = json_extract("before", '$.fields.suggested_score'),
        before_parent_id = json_extract("before", '$.fields.parent_id'),
        before_parent_ids = json_extract("before", '$.fields.parent_ids'),
        before_data = json_extract("before", '$.data'), before_op_ts = json_extract("before", '$.op_ts'),
        before_version = json_extract("before", '$.version'),
        before_updated_at = json_extract("before", '$.updated_at'),
        after_name = json_extract("after", '$.fields.name'),
        after_suggested_score = json_extract("after", '$.fields.suggested_score'),
        after_parent_id = json_extract("after", '$.fields.parent_id'),
        after_parent_ids = json_extract("after", '$.fields.parent_ids'),
        after_data = json_extract("after", '$.data')
    WHERE "before" IS NOT NULL OR "after" IS NOT NULL"""


def _drop_triggers(postgres: bool) -> None:
    for name in _TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + (" ON records" if postgres else ""))
        if postgres:
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")


def _create_pg_triggers(functions: dict[str, str]) -> None:
    for name, body in functions.items():
        op.execute(
            f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $fn$\n"
            # EXECUTE: planned for each statement's row counts. A cached plan (made for the first, often tiny,
            # statement of a session) joined a large statement's transition tables in nested loops.
            f"BEGIN\n  IF EXISTS (SELECT 1 FROM {_WRITER}) THEN\n"
            f"    EXECUTE $q${body}$q$;\n  END IF;\n  RETURN NULL;\nEND\n$fn$"
        )
        event, referencing = _PG_EVENTS[name]
        op.execute(
            f"CREATE TRIGGER {name} AFTER {event} ON records REFERENCING {referencing}"
            f" FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
        )


def upgrade() -> None:
    postgres = op.get_context().dialect.name == "postgresql"
    _drop_triggers(postgres)
    for side, columns in (
        ("before", ("name", "suggested_score", "parent_id", "parent_ids", "data", "op_ts", "version", "updated_at")),
        ("after", ("name", "suggested_score", "parent_id", "parent_ids", "data")),
    ):
        for column in columns:
            kind = {
                "suggested_score": sa.Float(),
                "parent_ids": Json,
                "data": Json,
                "op_ts": Timestamp,
                "updated_at": Timestamp,
                "version": sa.BigInteger(),
            }.get(column, sa.Text())
            op.add_column("record_history", sa.Column(f"{side}_{column}", kind, nullable=True))
    op.execute(_PG_FROM_JSON if postgres else _SQLITE_FROM_JSON)
    op.execute('ALTER TABLE record_history DROP COLUMN "before"')
    op.execute('ALTER TABLE record_history DROP COLUMN "after"')
    op.add_column(
        "record_history_writers",
        sa.Column("store_writes", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    if postgres:
        _create_pg_triggers(_PG_FUNCTIONS)
    else:
        for body in _SQLITE_TRIGGERS.values():
            op.execute(body)


def _revision_0011() -> ModuleType:
    path = Path(__file__).with_name("0011_record_history.py")
    spec = importlib.util.spec_from_file_location("revision_0011", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def downgrade() -> None:
    postgres = op.get_context().dialect.name == "postgresql"
    _drop_triggers(postgres)
    op.drop_column("record_history_writers", "store_writes")
    op.add_column("record_history", sa.Column("before", Json, nullable=True))
    op.add_column("record_history", sa.Column("after", Json, nullable=True))
    rev = _revision_0011()
    build, inner = ("jsonb_build_object", "{}") if postgres else ("json_object", "json({})")

    def whole(side: str, stamps: bool) -> str:
        fields = (
            f"{build}('name', {side}_name, 'suggested_score', {side}_suggested_score, 'parent_id', {side}_parent_id,"
            f" 'parent_ids', {inner.format(side + '_parent_ids')})"
        )
        extra = f", 'op_ts', {side}_op_ts, 'version', {side}_version, 'updated_at', {side}_updated_at" if stamps else ""
        return f"{build}('fields', {fields}, 'data', {inner.format(side + '_data')}{extra})"

    op.execute(
        f"UPDATE record_history SET \"before\" = CASE WHEN operation <> 'CREATE' THEN {whole('before', True)} END,"
        f" \"after\" = CASE WHEN operation = 'UPDATE' THEN {whole('after', False)} END"
    )
    for side, columns in (
        ("before", ("name", "suggested_score", "parent_id", "parent_ids", "data", "op_ts", "version", "updated_at")),
        ("after", ("name", "suggested_score", "parent_id", "parent_ids", "data")),
    ):
        for column in columns:
            op.execute(f"ALTER TABLE record_history DROP COLUMN {side}_{column}")
    if postgres:
        for name, body in rev._PG_FUNCTIONS.items():
            op.execute(
                f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $fn$\n"
                f"BEGIN\n  IF EXISTS (SELECT 1 FROM record_history_writers) THEN\n"
                f"    EXECUTE $q${body}$q$;\n  END IF;\n  RETURN NULL;\nEND\n$fn$"
            )
            event, referencing = rev._PG_TRIGGERS[name]
            op.execute(
                f"CREATE TRIGGER {name} AFTER {event} ON records REFERENCING {referencing}"
                f" FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
            )
    else:
        for body in rev._SQLITE_TRIGGERS.values():
            op.execute(body)
