"""A client stream the server refuses is read to its end (and discarded) before the refusal is sent.

When a server ends a client-streaming call while the client is still writing, grpc.aio's client replaces the
server's status with INTERNAL "Internal error from Core" as soon as one of its writes meets the ended call
(https://github.com/grpc/grpc/issues/36066): RESOURCE_EXHAUSTED and its Retry-After, INVALID_ARGUMENT and its
field, UNAUTHENTICATED are all lost. A client whose every write is read never meets an ended call, so the
server drains a refused stream up to its half-close, then answers.

Calls forwarded by the gateway of this process (they carry a lease of its memory budget) are not drained:
the refusal's status goes to the gateway on the lease, and the gateway answers it when grpc.aio loses it and
stops reading the HTTP body, which is cheaper than reading the rest of a large file only to refuse it. A
gateway in another process is drained like any client.

A client that sends nothing for `IDLE_GAP_SECONDS` is not writing (a client of StreamBatchItems waiting for
the header's acknowledgement, or one that wrote its header and awaits the answer): the refusal goes out
then, rather than after the whole `max_seconds`.

The drain is bounded: at most `max_bytes` and `max_seconds` a stream, `max_streams` streams at a time (each
holds one received message, so the bound of the process's memory grows by `max_streams` messages, not by
what refused clients send). Past any of these the refusal goes out at once, and a grpc.aio client may
still see INTERNAL; catalog_ingest_client reports that as UNAVAILABLE, which nothing was stored for.
"""

from __future__ import annotations

import asyncio
import logging

import grpc

from service.errors import DeadlineExceeded
from service.inflight import InflightBytes, Lease, lease_token

log = logging.getLogger(__name__)

# Longer than any pause between the writes of a client that is sending (milliseconds), short enough that a
# client waiting for an answer before it sends more gets it at once.
IDLE_GAP_SECONDS = 0.5


class RefusedStreamDrain:
    def __init__(
        self, max_bytes: int, max_seconds: float, max_streams: int, budget: InflightBytes | None = None
    ) -> None:
        self.max_bytes = max_bytes
        self.max_seconds = max_seconds
        self.max_streams = max_streams
        # The process's memory budget, whose leases name the calls of the gateway in this process.
        self.budget = budget
        self.draining = 0

    async def drain(self, context: grpc.aio.ServicerContext, refusal: Exception, status: grpc.Status) -> int:
        """Read and discard the rest of a refused stream, within the bounds; the bytes read. A call of the
        gateway in this process is not read: its lease takes the `status` the server refuses it with."""
        lease = self._gateway_lease(context)
        if lease is not None:
            lease.refusal = status
            return 0
        if isinstance(refusal, DeadlineExceeded):
            # An idle timeout: the client sends nothing, and the read it timed out was cancelled mid-way.
            return 0
        if self.draining >= self.max_streams or self.max_bytes <= 0:
            return 0
        self.draining += 1
        read = 0
        try:
            async with asyncio.timeout(self.max_seconds):
                while read < self.max_bytes:
                    try:
                        message = await asyncio.wait_for(context.read(), IDLE_GAP_SECONDS)
                    except TimeoutError:
                        break  # not writing: nothing to race the refusal
                    if message is grpc.aio.EOF:
                        break
                    # Bytes here (this interceptor's handlers have no deserializer); a message would do too.
                    read += len(message) if isinstance(message, bytes) else getattr(message, "ByteSize", lambda: 1)()
        except TimeoutError:
            log.info("refused stream still sending after %gs (%d bytes read): refused now", self.max_seconds, read)
        except Exception as exc:  # the call ended (cancelled, reset): nobody is left to answer
            log.debug("refused stream ended while drained: %r", exc)
        finally:
            self.draining -= 1
        return read

    def _gateway_lease(self, context: grpc.aio.ServicerContext) -> Lease | None:
        return self.budget.lease(lease_token(context)) if self.budget is not None else None
