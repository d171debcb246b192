"""The batch item upsert both backends run as multi-row VALUES (PostgreSQL's large writes use COPY instead:
service.store.batch_items_pg, with exactly this SET and WHERE)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import func
from sqlalchemy.sql.elements import ColumnElement

from service.db.models import BatchItem

KEY = ("batch_id", "item_type", "item_id", "context")


def batch_item_upsert(insert: Callable[[Any], Any], merge: Callable[[Any, Any], ColumnElement], modify: bool) -> Any:
    """INSERT ... ON CONFLICT DO UPDATE with the dialect's `insert` and its object merge `merge(stored, given)`,
    executed with a list of rows: SQLAlchemy sends them as multi-row VALUES statements ("insertmanyvalues"),
    compiled once and cached."""
    table = BatchItem.__table__
    stmt = insert(table)
    new = stmt.excluded
    if modify:
        changes = {
            "attributes": merge(table.c.attributes, new.attributes),
            "parent_id": func.coalesce(new.parent_id, table.c.parent_id),
            "op_ts": new.op_ts,
        }
        # A modification needs an item: one that arrives after the item's deletion changes nothing.
        where = (new.op_ts >= table.c.op_ts) & table.c.deleted.is_(False)
    else:
        changes = {c: getattr(new, c) for c in ("parent_id", "attributes", "deleted", "partial", "op_ts")}
        where = new.op_ts >= table.c.op_ts
    return stmt.on_conflict_do_update(index_elements=list(KEY), set_=changes, where=where)
