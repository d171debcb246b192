"""Whether a partial update's items exist, as the bulk API decides it at submission and at apply time (R7).

Writes of a catalog are FIFO: an item an earlier acknowledged task creates exists for a later request,
even while that task is queued. So existence at submission is read from the stored records and the
catalog's unfinished tasks in one statement (one snapshot: a task that finishes between two reads
would otherwise look neither unfinished nor applied). Only with no unfinished task ahead is a missing
item known to be missing; otherwise the answer is deferred to apply time, where a missing item is
skipped (named in the task's `skipped_record_ids`).

An upsert that creates an item must satisfy the catalog's required fields, like a replace:
`creation_problems` is that rule, used at both times.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.db.backend import backend_of
from service.domain.field_types import FieldDef, check_properties

ITEM = 1

_SNAPSHOT = """
    SELECT r.record_id FROM records r JOIN catalogs c ON r.version_id = c.active_version_id
    WHERE c.id = :catalog AND r.kind = 1 AND r.context = '' AND {existing}
    UNION ALL
    SELECT NULL WHERE EXISTS (SELECT 1 FROM tasks t WHERE t.catalog_id = :catalog
                              AND t.status IN ('QUEUED', 'IN_PROGRESS'))
"""


@dataclass(frozen=True)
class Existence:
    existing: frozenset[str]
    # An unfinished task of the catalog is ahead of this request: what it creates is not known yet.
    deferred: bool

    def known_missing(self, item_id: str) -> bool:
        return not self.deferred and item_id not in self.existing


async def existence_at_submission(session: AsyncSession, catalog_id: int, ids: Sequence[str]) -> Existence:
    if not ids:
        return Existence(frozenset(), False)
    backend = backend_of(session)
    unique = list(dict.fromkeys(ids))
    rows = await session.execute(
        text(_SNAPSHOT.format(existing=backend.text_list("r.record_id", "ids"))),
        {"catalog": catalog_id, "ids": backend.bind_text_list(unique)},
    )
    found = [row[0] for row in rows]
    # End the read (SQLite holds its snapshot until the transaction ends).
    await session.commit()
    return Existence(frozenset(i for i in found if i is not None), None in found)


def creation_problems(fields: dict[str, FieldDef], properties: dict[str, Any]) -> list[str]:
    """What an item created from these properties lacks (the catalog's required fields) or has wrong."""
    return check_properties(fields, properties, partial=False)
