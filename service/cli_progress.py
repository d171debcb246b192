"""Progress bars of the client commands (rich), drawn on stderr so stdout stays clean for scripts."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

_console = Console(stderr=True)


class UploadBar:
    """Bytes of the CSV files handed to the server."""

    def __init__(self, total: int, *, disabled: bool = False) -> None:
        self.progress = Progress(
            TextColumn("upload"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=_console,
            disable=disabled,
        )
        self.bar = self.progress.add_task("upload", total=total)

    def update(self, sent: int) -> None:
        self.progress.update(self.bar, completed=sent)

    def __enter__(self) -> UploadBar:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()


class TaskBar:
    """Records applied, out of the task's total where it is known (else records seen, no total)."""

    def __init__(self, task_id: int, *, disabled: bool = False) -> None:
        self.progress = Progress(
            TextColumn("task {task.fields[task_id]} {task.fields[status]:<11}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("records"),
            TimeElapsedColumn(),
            console=_console,
            disable=disabled,
        )
        self.bar = self.progress.add_task("task", total=None, task_id=task_id, status="")

    def update(self, task: dict[str, Any]) -> None:
        progress = task.get("progress") or {}
        total = int(progress.get("records_total") or 0) or None
        seen = int(progress.get("records_seen") or 0)
        applied = int(progress.get("records_applied") or 0)
        status = task.get("status", "")
        if status == "DONE":
            total = total or applied or seen
            applied = total or applied
        self.progress.update(self.bar, total=total, completed=applied if total else max(applied, seen), status=status)

    def __enter__(self) -> TaskBar:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()
