"""Idempotent writes: a retry with the same `idempotency-key` and body returns the first task.

A write that carries gRPC metadata `idempotency-key` (the gateway forwards the HTTP `Idempotency-Key`
header to it) stores the key and a hash of the request on its task. Within the window
(`settings.idempotency_window_seconds`, 24 hours by default) the same tenant, key and hash answer with
the first task and create nothing; the same key with another hash is ALREADY_EXISTS. After the window
the key is taken from the old task in the transaction that gives it to the new one.

The unique index (tenant_id, idempotency_key) decides between concurrent requests with one key: the
loser's insert fails (after waiting for the winner's transaction) and it answers from the winner's task.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc
from google.protobuf.message import Message
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from service.db import clock
from service.db.models import IdempotentResponse
from service.error_reasons import ErrorReason
from service.errors import AlreadyExists, InvalidArgument
from service.interceptors import metadata_value
from service.tasks.queue_backends import queue_store

METADATA_KEY = "idempotency-key"
MAX_KEY_LENGTH = 255  # tasks.idempotency_key is VARCHAR(255)
T = TypeVar("T")
M = TypeVar("M", bound=Message)


def key_from(context: grpc.aio.ServicerContext) -> str | None:
    """The request's idempotency key, or None when it sends none."""
    key = metadata_value(context, METADATA_KEY)
    if key is None:
        return None
    if not key.strip() or len(key) > MAX_KEY_LENGTH:
        raise InvalidArgument(
            f"{METADATA_KEY} must be 1 to {MAX_KEY_LENGTH} characters and not blank",
            reason=ErrorReason.INVALID_IDEMPOTENCY_KEY,
            field_violations=[(METADATA_KEY, f"must be 1 to {MAX_KEY_LENGTH} characters and not blank")],
        )
    return key


def of_request(context: grpc.aio.ServicerContext, tenant_id: int, window_seconds: float) -> Idempotency | None:
    """The request's key within its tenant, or None when it sends none."""
    key = key_from(context)
    return None if key is None else Idempotency(tenant_id, key, window_seconds)


def method_name(service: Any, name: str) -> str:
    """The full name of a method of a service descriptor (what a request's hash starts with)."""
    return service.methods_by_name[name].full_name


class RequestHash:
    """sha256 over the method name and the deterministic serialization of the request, fed incrementally.

    A stream feeds its header with `message` and each RecordBatch with `records`: a RecordBatch's
    serialization is the concatenation of its records' fields, so the hash depends on the records
    and their order, not on how the client cut them into batches.
    """

    def __init__(self, method: str) -> None:
        self._sha = hashlib.sha256()
        self._framed(method.encode())

    def _framed(self, data: bytes) -> None:
        self._sha.update(len(data).to_bytes(8, "big"))
        self._sha.update(data)

    def message(self, message: Message) -> RequestHash:
        self._framed(message.SerializeToString(deterministic=True))
        return self

    def records(self, serialized_batch: bytes) -> None:
        self._sha.update(serialized_batch)

    def hexdigest(self) -> str:
        return self._sha.hexdigest()


def request_hash(method: str, request: Message) -> str:
    return RequestHash(method).message(request).hexdigest()


@dataclass(frozen=True)
class Earlier:
    """The task that holds a key within the window."""

    task_id: int
    request_hash: str | None


@dataclass
class Idempotency:
    """One request's key within one tenant; every method takes the caller's session."""

    tenant_id: int
    key: str
    window_seconds: float

    async def earlier(self, session: AsyncSession) -> Earlier | None:
        """The task holding the key within the window (by the database clock); None when the key is free or its
        holder expired."""
        holder = await queue_store(session).key_holder(session, self.tenant_id, self.key, self.window_seconds)
        if holder is None or not holder.within_window:
            answered = await self.stored(session)
            # A write that made no task holds the key: task 0.
            return None if answered is None else Earlier(0, answered.request_hash)
        return Earlier(holder.task_id, holder.request_hash)

    async def stored(self, session: AsyncSession) -> IdempotentResponse | None:
        """The answer stored under the key by a write that made no task, within the window."""
        return (
            await session.scalars(
                select(IdempotentResponse)
                .where(
                    IdempotentResponse.tenant_id == self.tenant_id,
                    IdempotentResponse.idempotency_key == self.key,
                    IdempotentResponse.created_at >= clock.of(session).ago(self.window_seconds),
                )
                .execution_options(populate_existing=True)
            )
        ).first()

    async def take(self, session: AsyncSession) -> None:
        """Free the key from a holder outside the window, in the transaction that inserts the new task."""
        await queue_store(session).free_expired_key(session, self.tenant_id, self.key, self.window_seconds)

    def answer(self, earlier: Earlier, digest: str) -> int:
        """The earlier task's id for the same request; ALREADY_EXISTS for another one."""
        if earlier.request_hash != digest or earlier.task_id == 0:
            by = f"task {earlier.task_id}" if earlier.task_id > 0 else "a write without a task"
            raise AlreadyExists(
                f"{METADATA_KEY} '{self.key}' was already used by {by} for a different request;"
                f" send a new key for a new request",
                reason=ErrorReason.IDEMPOTENCY_KEY_REUSED,
                metadata={"idempotency_key": self.key, "task_id": str(earlier.task_id)},
            )
        return earlier.task_id

    async def after_conflict(self, session: AsyncSession, error: IntegrityError) -> Earlier:
        """A concurrent request took the key first: roll back and read its task."""
        await session.rollback()
        earlier = await self.earlier(session)
        if earlier is None:
            raise error
        return earlier

    async def seal(self, session: AsyncSession, task_id: int, digest: str) -> None:
        """Store the hash of a request known only at its end, in the transaction that commits its task."""
        await queue_store(session).seal_request_hash(session, task_id, digest)


async def answer_once(
    sessions: Callable[[], Any],
    idempotency: Idempotency | None,
    digest: str,
    response_type: type[M],
    write: Callable[[], Awaitable[M]],
) -> M:
    """A write that makes no task (batch item calls, version activation): `write`'s answer, stored under the key,
    or the answer stored by an earlier same request (which `write` is then not run for)."""
    if idempotency is None:
        return await write()
    answered = await earlier_answer(sessions, idempotency, digest, response_type)
    if answered is not None:
        return answered
    return await keep_answer(sessions, idempotency, digest, await write())


async def earlier_answer(
    sessions: Callable[[], Any], idempotency: Idempotency, digest: str, response_type: type[M]
) -> M | None:
    """The answer an earlier same request stored under the key; ALREADY_EXISTS for another request."""
    async with sessions() as session:
        return await _answered(session, idempotency, digest, response_type)


async def keep_answer(sessions: Callable[[], Any], idempotency: Idempotency, digest: str, response: M) -> M:
    """Store a write's answer under the key; the answer to return (the first stored, if two ran at once)."""
    async with sessions() as session:
        try:
            await session.execute(
                delete(IdempotentResponse).where(
                    IdempotentResponse.tenant_id == idempotency.tenant_id,
                    IdempotentResponse.idempotency_key == idempotency.key,
                    IdempotentResponse.created_at < clock.of(session).ago(idempotency.window_seconds),
                )
            )
            session.add(
                IdempotentResponse(
                    tenant_id=idempotency.tenant_id,
                    idempotency_key=idempotency.key,
                    request_hash=digest,
                    response=response.SerializeToString(deterministic=True),
                )
            )
            await session.commit()
        except IntegrityError:
            # The same request sent twice at once: both ran (a batch item write is an upsert, an activation
            # activates), the first answer stored is the answer.
            await session.rollback()
            answered = await _answered(session, idempotency, digest, type(response))
            if answered is not None:
                return answered
    return response


async def _answered(session: AsyncSession, idempotency: Idempotency, digest: str, response_type: type[M]) -> M | None:
    earlier = await idempotency.earlier(session)
    if earlier is None:
        return None
    if earlier.task_id:  # a task holds the key: never the same request as this one
        idempotency.answer(Earlier(earlier.task_id, None), digest)
    stored = await idempotency.stored(session)
    if stored is None:
        return None
    idempotency.answer(Earlier(-1, stored.request_hash), digest)
    return response_type.FromString(stored.response)


async def open_once(
    session: AsyncSession, idempotency: Idempotency | None, create: Callable[[], Awaitable[T]]
) -> T | Earlier:
    """The task `create` inserts with the key (committed or not), or the earlier task that holds the key.

    A request whose hash is known only at its end (a stream) opens its task first and compares
    the hash with the earlier task's at the end (Idempotency.answer).
    """
    if idempotency is None:
        return await create()
    earlier = await idempotency.earlier(session)
    if earlier is not None:
        return earlier
    try:
        await idempotency.take(session)
        return await create()
    except IntegrityError as error:
        return await idempotency.after_conflict(session, error)


async def submit_once(
    session: AsyncSession, idempotency: Idempotency | None, digest: str, create: Callable[[], Awaitable[int]]
) -> int:
    """Run `create` (which inserts the task with the key and hash, and commits) unless the key names a task.

    Returns the id of the new task, or of the earlier task the same request created.
    """
    opened = await open_once(session, idempotency, create)
    if isinstance(opened, Earlier):
        assert idempotency is not None
        return idempotency.answer(opened, digest)
    return opened
