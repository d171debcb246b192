"""Sync marks: how a full sync keeps R3 without rewriting the records it leaves unchanged.

A full sync of a kind makes every record of it "last written" no earlier than the sync (R3: a late, older
write must not overwrite what the sync said). Writing that time into every record rewrote the whole table at
each sync (a dead copy of every row on PostgreSQL). Instead the sync records one mark per (catalog version,
kind) in `record_sync_marks`: its time and a generation number, bumped by each sync. A record created under a
lower generation was there when the sync ran, so its effective op_ts is the later of its own and the mark's;
one created since (even with an older timestamp) keeps its own. A write that applies sets op_ts no earlier
than the effective one, so nothing else needs to change.

Every comparison of a stored record's op_ts goes through these fragments (plain SQL both backends run): the
mark is looked up by an anti-join, which the planner runs as one hash anti-join over the few marks.
"""

from __future__ import annotations

_COVERING = (
    "SELECT 1 FROM record_sync_marks m WHERE m.version_id = {r}.version_id AND m.kind = {r}.kind"
    " AND m.gen > coalesce({r}.sync_gen, 0) AND m.synced_at {op} {bound}"
)


def not_after(r: str, bound: str) -> str:
    """The record `r`'s effective op_ts is at most `bound` (a write at `bound` applies)."""
    return f"({r}.op_ts <= {bound} AND NOT EXISTS ({_COVERING.format(r=r, op='>', bound=bound)}))"


def before(r: str, bound: str) -> str:
    """The record `r`'s effective op_ts is earlier than `bound`."""
    return f"({r}.op_ts < {bound} AND NOT EXISTS ({_COVERING.format(r=r, op='>=', bound=bound)}))"


def effective(r: str) -> str:
    """The record `r`'s effective op_ts (what a read shows as its timestamp)."""
    return (
        f"coalesce((SELECT max(m.synced_at) FROM record_sync_marks m WHERE m.version_id = {r}.version_id"
        f" AND m.kind = {r}.kind AND m.gen > coalesce({r}.sync_gen, 0) AND m.synced_at > {r}.op_ts), {r}.op_ts)"
    )


# Joined to the staged rows of an INSERT (`FROM stage_records s` + GEN_JOIN): CREATED_GEN is then the
# generation a record created now is created under (0 before the kind's first sync).
GEN_JOIN = "LEFT JOIN record_sync_marks g ON g.version_id = {version} AND g.kind = {s}.kind"
CREATED_GEN = "coalesce(g.gen, 0)"


def current_gen(version: str, kind: str) -> str:
    """The generation a record created now is created under (0 before the kind's first sync)."""
    return f"coalesce((SELECT m.gen FROM record_sync_marks m WHERE m.version_id = {version} AND m.kind = {kind}), 0)"
