"""What the client raises besides grpc.RpcError."""

from __future__ import annotations

import grpc


class WaitTimeout(TimeoutError):
    """The task did not end within the time `wait` was given; it may still end later."""

    def __init__(self, task_id: int, timeout: float, last: object = None) -> None:
        super().__init__(f"task {task_id} did not end within {timeout:g} s")
        self.task_id = task_id
        self.last = last


# grpc.aio's client puts this status in place of the server's when the server ended a client stream while a
# write was in flight (https://github.com/grpc/grpc/issues/36066). Our server ends a stream early only to
# refuse it, after reading what the client sends within a bound; a body past that bound can still meet it.
_CORE_WRITE_FAILED = "Internal error from Core"
STREAM_ENDED_EARLY = (
    "the server ended the stream before reading all of it (it refused it: busy, past a cap or a bad header; "
    "grpc.aio lost its status, grpc/grpc#36066); nothing was stored: retry"
)


def stream_refusal(error: grpc.aio.AioRpcError) -> grpc.aio.AioRpcError:
    """A client stream's error as the caller should see it: INTERNAL "Internal error from Core" is UNAVAILABLE."""
    if error.code() != grpc.StatusCode.INTERNAL or error.details() != _CORE_WRITE_FAILED:
        return error
    return grpc.aio.AioRpcError(
        grpc.StatusCode.UNAVAILABLE,
        error.initial_metadata(),
        error.trailing_metadata(),
        details=STREAM_ENDED_EARLY,
        debug_error_string=error.debug_error_string(),
    )
