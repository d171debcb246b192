"""The states of a task, its types, and the transitions between states: the queue's state machine, declared.

PENDING is internal: an upload still streaming, never claimed, never shown. The lifecycle diagram is in
docs/task-lifecycle.md. The queue stores (service.tasks.queue_postgres, queue_sqlite) enforce the
transitions in their statements' WHERE clauses; tests/queue/test_transitions.py checks the two agree.
"""

from __future__ import annotations

import enum


class TaskStatus(enum.StrEnum):
    """The values of tasks.status (a CHECK on PostgreSQL, triggers on SQLite, migration 0004); every one but
    PENDING is a value of the protos' TaskStatus (TASK_STATUS_<name>)."""

    PENDING = "PENDING"
    QUEUED = "QUEUED"
    IN_PROGRESS = "IN_PROGRESS"
    DONE = "DONE"
    FAILED = "FAILED"
    CANCELED = "CANCELED"


class TaskType(enum.StrEnum):
    """The values of tasks.type: what a task does (the protos' Task.type). Each has a handler
    (service.tasks.handlers.HANDLERS)."""

    RECORDS_REPLACE = "records_replace"
    RECORDS_UPDATE = "records_update"
    RECORDS_DELETE = "records_delete"
    CATALOG_SYNC = "catalog_sync"
    CATALOG_DELTA = "catalog_delta"
    BATCH_INGESTION = "batch_ingestion"
    BULK_ITEMS_REPLACE = "bulk_items_replace"
    BULK_ITEMS_UPDATE = "bulk_items_update"


UNFINISHED = (TaskStatus.QUEUED, TaskStatus.IN_PROGRESS)
FINISHED = (TaskStatus.DONE, TaskStatus.FAILED, TaskStatus.CANCELED)
# What the Tasks API shows: every status but PENDING.
VISIBLE = (*UNFINISHED, *FINISHED)


class Transition(enum.StrEnum):
    """Every way a task's status changes; each is one statement of the queue store."""

    SUBMIT = "submit"  # the final commit of a streamed upload
    CLAIM = "claim"  # a worker takes the task (or a dead worker's task: IN_PROGRESS again)
    RELEASE = "release"  # shutdown, lost lease, database outage: back to the queue, attempt rolled back
    FINISH = "finish"  # the worker that holds the task commits it
    FAIL = "fail"  # the worker that holds the task records its failure
    CANCEL = "cancel"  # a client cancels a task no worker has started


# The one declaration of the state machine: transition -> (the statuses it starts from, the status it ends in).
# A task created QUEUED (enqueue) or PENDING (open_pending) enters here; a PENDING task may also be deleted
# (a broken or expired upload), which is no transition: the task never existed for a client.
TRANSITIONS: dict[Transition, tuple[frozenset[TaskStatus], TaskStatus]] = {
    Transition.SUBMIT: (frozenset({TaskStatus.PENDING}), TaskStatus.QUEUED),
    Transition.CLAIM: (frozenset(UNFINISHED), TaskStatus.IN_PROGRESS),
    Transition.RELEASE: (frozenset({TaskStatus.IN_PROGRESS}), TaskStatus.QUEUED),
    Transition.FINISH: (frozenset({TaskStatus.IN_PROGRESS}), TaskStatus.DONE),
    Transition.FAIL: (frozenset({TaskStatus.IN_PROGRESS}), TaskStatus.FAILED),
    Transition.CANCEL: (frozenset({TaskStatus.QUEUED}), TaskStatus.CANCELED),
}


def sources(transition: Transition) -> frozenset[TaskStatus]:
    """The statuses a task may have for `transition` to apply to it."""
    return TRANSITIONS[transition][0]


def target(transition: Transition) -> TaskStatus:
    return TRANSITIONS[transition][1]


def allowed(before: TaskStatus, after: TaskStatus) -> bool:
    """Whether any declared transition takes a task from `before` to `after`."""
    return any(before in starts and after == ends for starts, ends in TRANSITIONS.values())
