"""A task's error is stored whatever its message quotes: a NUL or a lone surrogate in a message (a value quoted
from a refused input) must not make "mark as failed" fail, which would leave the task IN_PROGRESS."""

from __future__ import annotations

from sqlalchemy import select

from service.db.models import Task
from service.tasks import queue
from tests.test_queue_clock import engine, one_task  # noqa: F401 (the engine fixture)


async def test_an_error_message_with_nul_is_stored_escaped(engine) -> None:  # noqa: F811
    task_id = await one_task(engine)
    async with engine.connect() as conn:
        await queue.register_worker(conn, "w", "host", 1)
        assert (await queue.claim(conn, "w", 30.0)) is not None
        error = {"reason": "INVALID_VALUE", "message": "value 'a\x00b\ud800' refused", "record_id": "x\x00"}
        assert await queue.finish(conn, task_id, "w", "FAILED", error=error)
        await conn.commit()
        stored = (await conn.execute(select(Task.status, Task.error).where(Task.id == task_id))).one()
    assert stored.status == "FAILED"
    assert stored.error == {
        "reason": "INVALID_VALUE",
        "message": "value 'a\\u0000b\\ud800' refused",
        "record_id": "x\\u0000",
    }
