"""The state machine as declared (service.tasks.status.TRANSITIONS) is the one the statements enforce: from
every status, each transition's statement changes the task exactly when the declaration allows it."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import text

from service.db.engine import session_factory
from service.errors import Aborted, FailedPrecondition, NotFound
from service.tasks.status import TRANSITIONS, TaskStatus, Transition, allowed, sources, target
from tests.queue.conftest import Queue

HOLDER = "holder"


async def _submit(queue: Queue, task_id: int) -> None:
    async with session_factory(queue.engine)() as session:
        await queue.store.submit_pending(session, task_id)
        await session.commit()


async def _claim(queue: Queue, task_id: int) -> None:
    # Another worker, while the holder's lease ran out: an IN_PROGRESS task is claimable only then.
    await queue.age_heartbeat(HOLDER, 60)
    claimer = f"claimer-{uuid.uuid4().hex[:8]}"
    await queue.worker(claimer)
    await queue.claim(claimer)


async def _release(queue: Queue, task_id: int) -> None:
    async with queue.engine.connect() as conn:
        await queue.store.release(conn, task_id, HOLDER)


async def _finish(queue: Queue, task_id: int) -> None:
    async with queue.engine.connect() as conn:
        await queue.store.finish(conn, task_id, HOLDER, TaskStatus.DONE, result={})
        await conn.commit()


async def _fail(queue: Queue, task_id: int) -> None:
    async with queue.engine.connect() as conn:
        await queue.store.finish(conn, task_id, HOLDER, TaskStatus.FAILED, error={"reason": "X", "message": "x"})
        await conn.commit()


async def _cancel(queue: Queue, task_id: int) -> None:
    async with session_factory(queue.engine)() as session:
        await queue.store.cancel(session, 1, task_id)


STATEMENTS: dict[Transition, Callable[[Queue, int], Awaitable[None]]] = {
    Transition.SUBMIT: _submit,
    Transition.CLAIM: _claim,
    Transition.RELEASE: _release,
    Transition.FINISH: _finish,
    Transition.FAIL: _fail,
    Transition.CANCEL: _cancel,
}


def test_every_transition_has_its_statement_and_every_status_is_reachable() -> None:
    assert set(STATEMENTS) == set(TRANSITIONS) == set(Transition)
    reached = {TaskStatus.PENDING, TaskStatus.QUEUED} | {target(t) for t in Transition}
    assert reached == set(TaskStatus)
    # Finished is final: no transition leaves DONE, FAILED or CANCELED.
    for final in (TaskStatus.DONE, TaskStatus.FAILED, TaskStatus.CANCELED):
        assert not any(allowed(final, after) for after in TaskStatus)


@pytest.mark.parametrize("transition", list(Transition))
async def test_a_statement_moves_a_task_only_from_its_declared_sources(queue: Queue, transition: Transition) -> None:
    ids = await queue.catalogs("Products")
    await queue.worker(HOLDER)
    for before in TaskStatus:
        task_id = await queue.enqueue(ids["Products"])
        async with queue.engine.connect() as conn:
            await conn.execute(
                text("UPDATE tasks SET status = :s, worker_id = :w, queue_seq = :seq WHERE id = :id"),
                {
                    "s": before.value,
                    "w": HOLDER if before == TaskStatus.IN_PROGRESS else None,
                    # A PENDING task has no place in the queue yet.
                    "seq": None if before == TaskStatus.PENDING else task_id,
                    "id": task_id,
                },
            )
            await conn.commit()
        try:
            await STATEMENTS[transition](queue, task_id)
        except (FailedPrecondition, Aborted, NotFound):
            # What the API answers for a refused cancel or submit (a PENDING task is not found); checked below.
            pass
        after = await queue.status(task_id)
        expected = target(transition) if before in sources(transition) else before
        assert after == expected, f"{transition} from {before}"
        async with queue.engine.connect() as conn:
            # Out of the way of the next status's task (FIFO per catalog).
            await conn.execute(text("DELETE FROM tasks WHERE id = :id"), {"id": task_id})
            await conn.commit()
