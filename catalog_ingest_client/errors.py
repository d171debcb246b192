"""What the client raises besides grpc.RpcError."""

from __future__ import annotations


class WaitTimeout(TimeoutError):
    """The task did not end within the time `wait` was given; it may still end later."""

    def __init__(self, task_id: int, timeout: float, last: object = None) -> None:
        super().__init__(f"task {task_id} did not end within {timeout:g} s")
        self.task_id = task_id
        self.last = last
