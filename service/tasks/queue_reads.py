"""The queue stores' reads: a task as the Tasks API shows it, a page of a tenant's tasks, and the tasks that
hold idempotency keys. The same SQL on both backends but for the clock (`self.clock`)."""

from __future__ import annotations

from typing import ClassVar

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.db.clock import Clock
from service.db.models import Catalog, Task
from service.error_reasons import ErrorReason
from service.errors import NotFound
from service.tasks.queue_store import KeyHolder, TaskFilter, TaskPage
from service.tasks.status import VISIBLE, TaskStatus


class TaskReads:
    clock: ClassVar[Clock]

    async def get_task(self, session: AsyncSession, tenant_id: int, task_id: int) -> Task:
        """Another tenant's task is NOT_FOUND, exactly like a task that does not exist."""
        task = (
            await session.execute(
                select(Task)
                .where(Task.id == task_id, Task.tenant_id == tenant_id, Task.status != TaskStatus.PENDING)
                .execution_options(populate_existing=True)
            )
        ).scalar_one_or_none()
        if task is None:
            raise NotFound(f"task {task_id} not found", reason=ErrorReason.TASK_NOT_FOUND)
        return task

    async def get_task_in_section(self, session: AsyncSession, tenant_id: int, task_id: int) -> tuple[Task, str]:
        task = await self.get_task(session, tenant_id, task_id)
        section = (await session.execute(select(Catalog.name).where(Catalog.id == task.catalog_id))).scalar_one()
        return task, section

    async def list_tasks(
        self, session: AsyncSession, tenant_id: int, where: TaskFilter, size: int, *, before: int | None, offset: int
    ) -> TaskPage:
        query: Select = (
            select(Task, Catalog.name)
            .join(Catalog, Catalog.id == Task.catalog_id)
            .where(Task.tenant_id == tenant_id, Task.status.in_(VISIBLE))
        )
        if where.section:
            query = query.where(Catalog.name == where.section)
        if where.type:
            query = query.where(Task.type == where.type)
        if where.submitted_after is not None:
            query = query.where(Task.submission_time >= where.submitted_after)
        if where.submitted_before is not None:
            query = query.where(Task.submission_time < where.submitted_before)
        by_status = query.with_only_columns(Task.status, func.count()).group_by(Task.status).order_by(None)
        if where.status is not None:
            query = query.where(Task.status == where.status)
        counts = {status: count for status, count in (await session.execute(by_status)).all()}
        total = (await session.execute(query.with_only_columns(func.count()).order_by(None))).scalar_one()
        page = query.order_by(Task.id.desc()).limit(size + 1)
        page = page.where(Task.id < before) if before is not None else page.offset(offset)
        rows = [(task, section) for task, section in (await session.execute(page)).all()]
        return TaskPage(tasks=rows[:size], total=total, status_counts=counts, more=len(rows) > size)

    # --- idempotency keys ---

    async def key_holder(
        self, session: AsyncSession, tenant_id: int, key: str, window_seconds: float
    ) -> KeyHolder | None:
        row = (
            await session.execute(
                select(Task.id, Task.request_hash, Task.submission_time >= self.clock.ago(window_seconds))
                .where(Task.tenant_id == tenant_id, Task.idempotency_key == key)
                .execution_options(populate_existing=True)
            )
        ).first()
        return None if row is None else KeyHolder(row[0], row[1], bool(row[2]))

    async def free_expired_key(self, session: AsyncSession, tenant_id: int, key: str, window_seconds: float) -> None:
        await session.execute(
            update(Task)
            .where(
                Task.tenant_id == tenant_id,
                Task.idempotency_key == key,
                Task.submission_time < self.clock.ago(window_seconds),
            )
            .values(idempotency_key=None)
            .execution_options(synchronize_session=False)
        )

    async def seal_request_hash(self, session: AsyncSession, task_id: int, digest: str) -> None:
        await session.execute(update(Task).where(Task.id == task_id).values(request_hash=digest))
