"""The task states: the Python enum, the API's enum and the database's CHECK agree."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from catalogingest.v1 import task_pb2
from service.db.engine import create_engine
from service.tasks.status import VISIBLE, TaskStatus


def test_every_status_but_pending_is_the_apis() -> None:
    api = {name.removeprefix("TASK_STATUS_") for name in task_pb2.TaskStatus.keys()[1:]}
    assert api == set(VISIBLE) == set(TaskStatus) - {TaskStatus.PENDING}


async def test_the_database_refuses_an_unknown_status(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("INSERT INTO tenants (name) VALUES ('acme')"))
            await conn.execute(text("INSERT INTO catalogs (tenant_id, name) VALUES (1, 'Products')"))
            insert = "INSERT INTO tasks (tenant_id, catalog_id, type, status, params) VALUES (1, 1, 'x', :s, '{}')"
            for status in TaskStatus:
                await conn.execute(text(insert), {"s": status.value})
            with pytest.raises(DBAPIError, match="status"):
                await conn.execute(text(insert), {"s": "RUNNING"})
    finally:
        await engine.dispose()
