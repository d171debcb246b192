"""Per-record preconditions (issue 15): a write applies to a record only if it is at the version the writer
saw (`expected_version`; 0: must not exist; -1: must exist, HTTP `If-Match: *`).

Checked when the task applies, in its transaction, after the catalog's earlier tasks (FIFO per catalog), so
of two writers that saw the same version exactly one wins. Each precondition compares with the version the
record has when the task starts. A failed precondition follows the task's mode: all or nothing (the task
fails with VERSION_MISMATCH naming every such record with both versions), or, where the write skips invalid
records (the bulk per-item API; `on_invalid=SKIP`), the record's operations are dropped and reported.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from catalogingest.v1 import record_pb2
from service.error_reasons import ErrorReason
from service.errors import TaskFailed
from service.store.record_versions import current_versions, unstage
from service.store.staged import add_skipped

MUST_NOT_EXIST = 0
MUST_EXIST = -1
# A task's error or result lists at most this many conflicts (the message names the first few).
MAX_CONFLICTS_SHOWN = 1000
NAMED_IN_MESSAGE = 5


@dataclass(frozen=True)
class Precondition:
    seq: int
    record_id: str
    context: str
    expected: int


@dataclass(frozen=True)
class Conflict:
    record_id: str
    context: str
    expected: int
    # 0: the record does not exist.
    current: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "record_id": self.record_id,
            "context": self.context,
            "expected_version": self.expected,
            "current_version": self.current,
        }

    def describe(self) -> str:
        if self.expected == MUST_NOT_EXIST:
            wanted = "expected it not to exist"
        elif self.expected == MUST_EXIST:
            wanted = "expected it to exist"
        else:
            wanted = f"expected version {self.expected}"
        now = f"is at version {self.current}" if self.current else "does not exist"
        return f"'{self.record_id}' {now} ({wanted})"


def preconditions_of(records: Iterable[record_pb2.Record], start_seq: int = 0) -> list[Precondition]:
    """The preconditions of records staged from `start_seq` on (service.domain.records.to_staged numbers them)."""
    return [
        Precondition(seq, r.id, r.context, r.expected_version)
        for seq, r in enumerate(records, start=start_seq)
        if r.HasField("expected_version")
    ]


def holds(expected: int, current: int) -> bool:
    """Whether a record at `current` (0: missing) satisfies `expected`."""
    if expected == MUST_EXIST:
        return current > 0
    return current == expected


def version_mismatch(conflicts: Sequence[Conflict]) -> TaskFailed:
    named = "; ".join(c.describe() for c in conflicts[:NAMED_IN_MESSAGE])
    more = f"; and {len(conflicts) - NAMED_IN_MESSAGE} more" if len(conflicts) > NAMED_IN_MESSAGE else ""
    noun = "record is" if len(conflicts) == 1 else "records are"
    return TaskFailed(
        f"{len(conflicts)} {noun} not at the expected version: {named}{more}; nothing was changed",
        reason=ErrorReason.VERSION_MISMATCH,
        record_id=conflicts[0].record_id,
        version_conflicts=[c.as_dict() for c in conflicts[:MAX_CONFLICTS_SHOWN]],
    )


async def enforce(
    conn: AsyncConnection,
    version_id: int,
    kind: int,
    preconditions: Sequence[Precondition],
    *,
    skip: bool,
) -> list[Conflict]:
    """Check the staged operations' preconditions before they are applied. All or nothing (`skip` false):
    raise VERSION_MISMATCH naming every failed one. With `skip`: drop their operations and return them
    (add_skipped_conflicts reports them in the task's result)."""
    if not preconditions:
        return []
    current = await current_versions(conn, version_id, kind, [(p.record_id, p.context) for p in preconditions])
    failed = [p for p in preconditions if not holds(p.expected, current.get((p.record_id, p.context), 0))]
    conflicts = [Conflict(p.record_id, p.context, p.expected, current.get((p.record_id, p.context), 0)) for p in failed]
    if not conflicts:
        return []
    if not skip:
        raise version_mismatch(conflicts)
    await unstage(conn, [p.seq for p in failed])
    return conflicts


def add_skipped_conflicts(counts: dict[str, Any], kind: int, conflicts: Sequence[Conflict]) -> None:
    """Report records skipped for a failed precondition: rejected, named, and listed with both versions."""
    if not conflicts:
        return
    add_skipped(counts, kind, len(conflicts), [c.record_id for c in conflicts])
    shown = counts.setdefault("version_conflicts", [])
    shown.extend(c.as_dict() for c in conflicts[: max(0, MAX_CONFLICTS_SHOWN - len(shown))])
