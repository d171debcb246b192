"""INSERT ... ON CONFLICT DO NOTHING for either dialect."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql.dml import Insert


def insert_ignore(
    bind: AsyncSession | AsyncConnection, model: Any, rows: Sequence[dict[str, Any]], keys: Sequence[str]
) -> Insert:
    dialect = bind.bind.dialect.name if isinstance(bind, AsyncSession) else bind.dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(model).values(list(rows)).on_conflict_do_nothing(index_elements=list(keys))
