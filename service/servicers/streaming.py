"""What client-streaming RPCs share: the header-first protocol, caps on concurrent streams, an idle timeout."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any, TypeVar

import grpc
from google.protobuf.message import Message

from service.error_reasons import ErrorReason
from service.errors import DeadlineExceeded, RateLimited, invalid_field

T = TypeVar("T")


# The initial metadata a client stream gets once its header is accepted (see accept_header).
HEADER_ACCEPTED = (("catalog-ingest-stream", "header-accepted"),)


async def accept_header(context: grpc.aio.ServicerContext) -> None:
    """Acknowledge a client stream's header: it is authenticated, valid, and its upload slot taken.

    A client that waits for this initial metadata before writing the body never races a refusal at the
    header: grpc.aio's client turns a status that arrives while it is still writing into INTERNAL
    "Internal error from Core" (https://github.com/grpc/grpc/issues/36066), hiding RESOURCE_EXHAUSTED
    and its Retry-After. Only for streams that commit chunk by chunk (StreamBatchItems): the others
    still need their initial metadata for ensure_not_cancelled.
    """
    await context.send_initial_metadata(HEADER_ACCEPTED)


async def ensure_not_cancelled(context: grpc.aio.ServicerContext) -> None:
    """Tell a stream the client ended from one the client cancelled, before committing its task.

    grpc.aio ends the request iterator the same way in both cases and cancels the handler only
    later. Sending the initial metadata is a round trip through the call that fails once the
    client has cancelled; in a clean half-close it succeeds. So a stream that needs this check must
    not have sent its initial metadata before (grpc 1.85 offers no other test: `cancelled()` and
    `done()` stay False and `read()` answers EOF after a cancel, as after a half-close).
    """
    try:
        await context.send_initial_metadata(())
    except Exception as error:
        raise asyncio.CancelledError("the client cancelled the stream") from error


def _part(message: Message) -> str | None:
    """Which member of the message's one oneof (a header or a body part) is set."""
    return message.WhichOneof(message.DESCRIPTOR.oneofs[0].name)


async def read_header(requests: AsyncIterator[Any]) -> Any:
    """The header of a client stream: its first message, and only that one."""
    first = await anext(requests, None)
    if first is None or _part(first) != "header":
        raise invalid_field("header", "the first message must be the header", ErrorReason.STREAM_HEADER_REQUIRED)
    return first.header


def stream_body(message: Message, body: str) -> Any:
    """The `body` part of a message after the header; a second header or an empty message is refused."""
    part = _part(message)
    if part == "header":
        raise invalid_field("header", "only the first message may be the header", ErrorReason.STREAM_HEADER_REPEATED)
    if part != body:
        raise invalid_field("part", f"each message after the header must be a {body}")
    return getattr(message, body)


class UploadSlots:
    """Concurrent client streams of one process, per tenant and in all; past a cap a stream is refused at
    once (RESOURCE_EXHAUSTED with a RetryInfo, 429 + Retry-After at the gateway) instead of queueing."""

    def __init__(self, per_tenant: int, total: int, retry_after: float = 1.0) -> None:
        self.per_tenant = per_tenant
        self.total = total
        self.retry_after = retry_after
        self._by_tenant: dict[int, int] = {}
        self._in_use = 0

    @contextlib.asynccontextmanager
    async def slot(self, tenant_id: int) -> AsyncIterator[None]:
        held = self._by_tenant.get(tenant_id, 0)
        if held >= self.per_tenant:
            raise self._refused(f"{held} uploads of this tenant are in progress", self.per_tenant, "tenant")
        if self._in_use >= self.total:
            raise self._refused(f"{self._in_use} uploads are in progress on this server", self.total, "server")
        self._by_tenant[tenant_id] = held + 1
        self._in_use += 1
        try:
            yield
        finally:
            self._in_use -= 1
            left = self._by_tenant[tenant_id] - 1
            if left:
                self._by_tenant[tenant_id] = left
            else:
                del self._by_tenant[tenant_id]

    def _refused(self, what: str, limit: int, scope: str) -> RateLimited:
        return RateLimited(
            f"{what} (at most {limit} at a time); retry in {self.retry_after:g}s",
            retry_after=self.retry_after,
            reason=ErrorReason.TOO_MANY_UPLOADS,
            metadata={"limit": str(limit), "scope": scope},
        )


async def idle_timeout(requests: AsyncIterator[T], seconds: float) -> AsyncIterator[T]:
    """The messages of a client stream; a stream silent for `seconds` ends with DEADLINE_EXCEEDED."""
    while True:
        try:
            message = await asyncio.wait_for(anext(requests), seconds)
        except StopAsyncIteration:
            return
        except TimeoutError:
            raise DeadlineExceeded(
                f"the stream sent nothing for {seconds:g}s; nothing of it was kept",
                reason=ErrorReason.UPLOAD_IDLE_TIMEOUT,
                metadata={"idle_timeout_seconds": f"{seconds:g}"},
            ) from None
        yield message
