"""The states of a task. PENDING is internal: an upload still streaming, never claimed, never shown.

PENDING --final commit--> QUEUED --claim--> IN_PROGRESS --> DONE | FAILED
   |                        |  ^               |
   +--> (deleted: broken,   |  +---------------+ released: shutdown, lost lease, database outage
        cancelled, stale)   +--> CANCELED
"""

from __future__ import annotations

import enum


class TaskStatus(enum.StrEnum):
    PENDING = "PENDING"
    QUEUED = "QUEUED"
    IN_PROGRESS = "IN_PROGRESS"
    DONE = "DONE"
    FAILED = "FAILED"
    CANCELED = "CANCELED"


UNFINISHED = (TaskStatus.QUEUED, TaskStatus.IN_PROGRESS)
FINISHED = (TaskStatus.DONE, TaskStatus.FAILED, TaskStatus.CANCELED)
# What the Tasks API shows: every status but PENDING.
VISIBLE = (*UNFINISHED, *FINISHED)
