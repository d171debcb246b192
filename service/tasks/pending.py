"""A task whose payload streams in from a client: stored part by part, each in a short transaction.

No database connection or transaction is held while the client sends its bytes: the task is PENDING
(never claimed, never listed) until `submit` makes it QUEUED in one short transaction, which is the
acknowledgement and gives the task its place in its catalog's queue. A stream that breaks off is
deleted at once (`discard`), or by the workers' purge when its server died (queue.purge_pending).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from types import TracebackType
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.domain import idempotency
from service.settings import Settings
from service.tasks import queue

log = logging.getLogger(__name__)


class PendingUpload:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: Settings, task_id: int) -> None:
        self.sessions = sessions
        self.task_id = task_id
        self._seq = 0
        self.stored_bytes = 0  # what the client sent, for the task's progress total
        self._stored_at = time.monotonic()
        # Well inside the expiry: a slow but live upload is never purged under its client.
        self._keep_alive_every = settings.pending_upload_expiry_seconds / 3
        self._submitted = False

    @classmethod
    async def open(cls, sessions: async_sessionmaker[AsyncSession], settings: Settings, **task: Any) -> PendingUpload:
        async with sessions() as session:
            opened = await queue.open_pending(session, **task)
        return cls(sessions, settings, opened.id)

    async def add(self, part: str, body: bytes) -> None:
        async with self.sessions() as session:
            await queue.store_part(session, self.task_id, self._seq, part, body)
        self._seq += 1
        self.stored_bytes += len(body)
        self._stored_at = time.monotonic()

    async def keep_alive(self) -> None:
        """Mark the upload alive when nothing was stored for a while (its client sends small messages)."""
        if time.monotonic() - self._stored_at > self._keep_alive_every:
            async with self.sessions() as session:
                await queue.touch_pending(session, self.task_id)
            self._stored_at = time.monotonic()

    async def submit(
        self,
        *,
        params: dict[str, Any] | None = None,
        once: idempotency.Idempotency | None = None,
        digest: str | None = None,
    ) -> int:
        """QUEUED at this commit; returns the task's id, or with an idempotency key another stream committed
        first, that stream's task (this one is deleted)."""
        async with self.sessions() as session:
            try:
                if once is not None:
                    await once.take(session)
                await queue.submit_pending(
                    session,
                    self.task_id,
                    params=params,
                    idempotency_key=once.key if once else None,
                    request_hash=digest,
                )
                await session.commit()
            except IntegrityError as error:
                if once is None:
                    raise
                earlier = await once.after_conflict(session, error)
                await queue.discard_pending(session, self.task_id)
                self._submitted = True
                return once.answer(earlier, digest or "")
        self._submitted = True
        return self.task_id

    async def discard(self) -> None:
        """Delete the task and its parts now; if the database is away, the workers' purge does it later."""
        try:
            async with self.sessions() as session:
                await queue.discard_pending(session, self.task_id)
        except Exception as exc:
            log.warning("upload of task %d not deleted now (%s); the purge will", self.task_id, type(exc).__name__)

    async def __aenter__(self) -> PendingUpload:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._submitted:
            return
        # Also on cancellation: the deletion runs to its end in a task of its own.
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(asyncio.ensure_future(self.discard()))
