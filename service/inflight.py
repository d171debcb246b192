"""The memory bound of a process: a byte budget that large requests reserve before they are read or parsed.

A request reserves its expected memory (its size times a measured multiple: the body, its parsed form, the
messages made from it) before the gateway reads its body or the gRPC server parses a message. Reservations
wait in arrival order while the budget is spent; one that cannot be granted within `wait` seconds is refused
with `MemoryBusy` (RESOURCE_EXHAUSTED with RetryInfo over gRPC, 503 with Retry-After over HTTP). A request
larger than the whole budget reserves all of it, so it runs alone rather than never.

The gateway and the gRPC server of one process share one budget. The gateway reserves for both sides and
sends its lease's token as call metadata; the server, finding that token among the live leases of its own
budget, does not reserve again (a gateway in another process sends a token this budget does not know, and the
server reserves for itself). The token is random and never leaves the process's own calls.
"""

from __future__ import annotations

import asyncio
import collections
import math
import secrets
from typing import Protocol

import grpc

from service.error_reasons import ErrorReason
from service.errors import RateLimited

# Call metadata naming the gateway lease that already covers a call.
LEASE_METADATA_KEY = "x-catalog-ingest-lease"
# Measured bytes held per byte of request (tests/faults/test_memory_bound.py; README "Reliability").
# Gateway: the body, its parsed JSON and the request message, then the serialized message twice while
# the call is in flight (ours and grpc's copy).
GATEWAY_MULTIPLE = 4.5
# gRPC server: the received message, the parsed message, each record's parsed data and its canonical
# text, and the stored payload.
SERVER_MULTIPLE = 6.5
# A multipart upload streams in chunks of 1 MiB, so what it holds does not grow with the file: in the
# gateway its part buffer, the chunk message and gRPC's copies; in the server the received chunk, the
# parsed message and the part being stored. Reserved for the whole upload, before its first byte is read.
UPLOAD_GATEWAY_BYTES = 4 * 1024 * 1024
UPLOAD_SERVER_BYTES = 4 * 1024 * 1024
# Bodies smaller than this are not worth a reservation.
SMALL_BYTES = 64 * 1024
RETRY_AFTER_SECONDS = 1.0


def lease_token(context: grpc.aio.ServicerContext) -> str | None:
    """The gateway lease token a call carries, if any."""
    for key, value in context.invocation_metadata() or ():
        if key == LEASE_METADATA_KEY:
            return value if isinstance(value, str) else value.decode()
    return None


class InflightSettings(Protocol):
    @property
    def max_inflight_bytes(self) -> int: ...

    @property
    def inflight_wait_seconds(self) -> float: ...


class MemoryBusy(RateLimited):
    """The process is holding as many large requests as its memory bound allows; retry shortly."""

    reason = ErrorReason.MEMORY_BUSY


class Lease:
    """Bytes reserved in a budget; released once (then a no-op). Can grow while its request reads more."""

    def __init__(self, budget: InflightBytes, size: int) -> None:
        self.budget = budget
        self.size = size
        self.token = secrets.token_hex(16)
        self._released = False
        # The status the server in this process refused the leased call with. grpc.aio can replace it with
        # INTERNAL on the client's side (service/refused_streams.py); the gateway answers this one then.
        self.refusal: grpc.Status | None = None

    async def grow(self, nbytes: int) -> None:
        """Reserve `nbytes` more (waiting as `acquire` does); raises MemoryBusy when not granted."""
        added = await self.budget._reserve(nbytes, already=self.size)
        self.size += added

    async def resize(self, nbytes: int) -> None:
        """Hold `nbytes` from now on: more is reserved (or refused, as `grow`), less is given back."""
        if nbytes > self.size:
            await self.grow(nbytes - self.size)
        elif nbytes < self.size:
            self.shrink(self.size - nbytes)

    def shrink(self, nbytes: int) -> None:
        """Give back `nbytes` of this lease (what it held has been freed)."""
        nbytes = min(nbytes, self.size)
        self.size -= nbytes
        self.budget._release(nbytes)

    def release(self) -> None:
        if not self._released:
            self._released = True
            self.budget._leases.pop(self.token, None)
            self.budget._release(self.size)
            self.size = 0

    async def __aenter__(self) -> Lease:
        return self

    async def __aexit__(self, *_: object) -> None:
        self.release()


class InflightBytes:
    """A process's byte budget: `capacity` bytes, reservations granted in arrival order."""

    def __init__(self, capacity: int, wait: float) -> None:
        if capacity <= 0:
            raise ValueError("the in-flight byte budget must be positive")
        self.capacity = capacity
        self.wait = wait
        self.used = 0
        # Set when a gRPC server in this process uses this budget: the gateway then reserves for both sides.
        self.serves_grpc = False
        self._waiters: collections.deque[tuple[int, asyncio.Future[None]]] = collections.deque()
        self._leases: dict[str, Lease] = {}

    @classmethod
    def of(cls, settings: InflightSettings) -> InflightBytes:
        return cls(settings.max_inflight_bytes, settings.inflight_wait_seconds)

    async def acquire(self, nbytes: int) -> Lease:
        """A lease of `nbytes` (at most the whole budget), after waiting at most `wait` seconds."""
        lease = Lease(self, await self._reserve(nbytes))
        self._leases[lease.token] = lease
        return lease

    def covers(self, token: str | None) -> bool:
        """Whether `token` names a live lease of this budget (the call is already paid for)."""
        return token is not None and token in self._leases

    def lease(self, token: str | None) -> Lease | None:
        """The live lease `token` names, if it is one of this budget's."""
        return self._leases.get(token) if token is not None else None

    async def _reserve(self, nbytes: int, already: int = 0) -> int:
        n = max(0, min(int(nbytes), self.capacity - already))
        if n == 0:
            return 0
        if not self._waiters and self.used + n <= self.capacity:
            self.used += n
            return n
        granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (n, granted)
        self._waiters.append(entry)
        try:
            async with asyncio.timeout(self.wait):
                await asyncio.shield(granted)
        except BaseException as exc:
            if granted.done() and not granted.cancelled():
                self._release(n)  # granted just as the wait ended
            else:
                granted.cancel()
                self._waiters.remove(entry)
                self._wake()  # a smaller reservation behind this one may fit now
            if isinstance(exc, TimeoutError):
                raise self.busy() from None
            raise
        return n

    def busy(self) -> MemoryBusy:
        in_use = math.ceil(self.used / 2**20)
        return MemoryBusy(
            f"the server is at its memory bound ({in_use} of {math.ceil(self.capacity / 2**20)} MiB in flight);"
            f" retry after {RETRY_AFTER_SECONDS:g} s",
            retry_after=RETRY_AFTER_SECONDS,
            metadata={"retry_after_seconds": f"{RETRY_AFTER_SECONDS:g}"},
        )

    def _release(self, nbytes: int) -> None:
        self.used -= nbytes
        self._wake()

    def _wake(self) -> None:
        while self._waiters and self.used + self._waiters[0][0] <= self.capacity:
            n, granted = self._waiters.popleft()
            if granted.done():
                continue
            self.used += n
            granted.set_result(None)
