"""The claim's plan on a queue with history: ~20k finished tasks and some queued ones. The claim reads the
partial indexes of unfinished tasks; a lost index (a migration, a changed WHERE) turns it into a scan of
every task ever run, which this catches before production does. And on a deep queue: 20k tasks waiting behind
one busy catalog are not read at all (the claim walks the catalogs' heads)."""

from __future__ import annotations

import json
import time

from sqlalchemy import text

from tests.queue.conftest import LEASE, Queue

FINISHED = 20_000
QUEUED = 200
CATALOGS = 50

SEED = """
INSERT INTO tasks (tenant_id, catalog_id, type, status, queue_seq, params, worker_id)
SELECT 1, 1 + (n % {catalogs}), 'records_replace', CASE WHEN n <= {finished} THEN 'DONE' ELSE 'QUEUED' END, n, '{{}}',
       CASE WHEN n <= {finished} THEN 'gone' END
FROM {series}
"""
SERIES = {
    "postgresql": "generate_series(1, {total}) AS s(n)",
    "sqlite": "(WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {total}) SELECT n FROM s)",
}


async def seed(queue: Queue) -> None:
    await queue.catalogs(*(f"c{n}" for n in range(CATALOGS)))
    total = FINISHED + QUEUED
    async with queue.engine.connect() as conn:
        series = SERIES[conn.dialect.name].format(total=total)
        await conn.execute(text(SEED.format(catalogs=CATALOGS, finished=FINISHED, series=series)))
        if conn.dialect.name == "postgresql":
            await conn.execute(text("SELECT setval('tasks_queue_seq', :n)"), {"n": total})
        await conn.commit()
        await conn.execute(text("ANALYZE tasks"))
        await conn.commit()
    await queue.worker("w1")


def _nodes(plan: dict) -> list[dict]:
    return [plan, *(node for child in plan.get("Plans", ()) for node in _nodes(child))]


async def test_the_claim_reads_indexes_not_every_task(queue: Queue) -> None:
    await seed(queue)
    claim = queue.store.claim_statement
    params = {"worker": "w1", "lease": LEASE}
    async with queue.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            explained = (await conn.execute(text(f"EXPLAIN (FORMAT JSON) {claim.text}"), params)).scalar_one()
            plan = (json.loads(explained) if isinstance(explained, str) else explained)[0]["Plan"]
            scans = [(n["Node Type"], n.get("Relation Name"), n.get("Index Name")) for n in _nodes(plan)]
            assert not [s for s in scans if s[0] == "Seq Scan" and s[1] == "tasks"], scans
            # Either partial index of unfinished tasks serves; the planner picks by the statistics.
            assert {"ix_tasks_queued", "ix_tasks_unfinished"} & {s[2] for s in scans}, "\n".join(map(str, scans))
        else:
            rows = (await conn.execute(text(f"EXPLAIN QUERY PLAN {claim.text}"), params)).all()
            details = [row[-1] for row in rows]
            # The claim's own CTE of catalogs is scanned (a few rows); a table never is.
            assert not [d for d in details if d.startswith("SCAN") and "INDEX" not in d and d != "SCAN cats"], details
            assert any("ix_tasks_queued" in d or "ix_tasks_unfinished" in d for d in details), details
    # And it is quick: the first queued task, not the history, is what a claim reads.
    started = time.monotonic()
    assert await queue.claim("w1") is not None
    assert time.monotonic() - started < 2.0


BLOCKED = 20_000

# One catalog busy (its first task running under a live worker) with BLOCKED tasks queued behind it, a few
# other catalogs with a queued task each, and history.
SEED_BLOCKED = """
INSERT INTO tasks (tenant_id, catalog_id, type, status, queue_seq, params, worker_id)
SELECT 1, CASE WHEN n <= {blocked} THEN 1 ELSE 1 + n - {blocked} END, 'records_replace',
       CASE WHEN n = 0 THEN 'IN_PROGRESS' ELSE 'QUEUED' END, n, '{{}}', CASE WHEN n = 0 THEN 'busy' END
FROM {series}
"""


async def seed_blocked(queue: Queue, others: int) -> None:
    await queue.catalogs(*(f"c{n}" for n in range(others + 1)))
    await queue.worker("busy")
    async with queue.engine.connect() as conn:
        series = SERIES[conn.dialect.name].format(total=BLOCKED + others)
        series = series.replace("SELECT 1 UNION", "SELECT 0 UNION").replace("generate_series(1,", "generate_series(0,")
        await conn.execute(text(SEED_BLOCKED.format(blocked=BLOCKED, series=series)))
        if conn.dialect.name == "postgresql":
            await conn.execute(text("SELECT setval('tasks_queue_seq', :n)"), {"n": BLOCKED + others + 1})
        await conn.commit()
        await conn.execute(text("ANALYZE tasks"))
        await conn.commit()
    await queue.worker("w1")


def _rows_read(node: dict) -> float:
    """Rows a plan node produced or filtered out, over all its loops."""
    loops = node.get("Actual Loops", 1)
    return (node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)) * loops


async def test_the_claim_does_not_read_the_tasks_waiting_behind_a_busy_catalog(queue: Queue) -> None:
    await seed_blocked(queue, others=3)
    claim = queue.store.claim_statement
    # A lease longer than the seeding takes on a loaded machine: the busy catalog's worker stays alive.
    lease = 600.0
    params = {"worker": "w1", "lease": lease}
    async with queue.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            # Run for real (EXPLAIN ANALYZE), rolled back: what each node read, not what the planner guessed.
            explained = (await conn.execute(text(f"EXPLAIN (ANALYZE, FORMAT JSON) {claim.text}"), params)).scalar_one()
            await conn.rollback()
            plan = (json.loads(explained) if isinstance(explained, str) else explained)[0]["Plan"]
            reads = [
                (n["Node Type"], n.get("Index Name"), _rows_read(n))
                for n in _nodes(plan)
                if n.get("Relation Name") == "tasks"
            ]
            assert reads and max(rows for *_, rows in reads) < 100, "\n".join(map(str, reads))
        else:
            rows = (await conn.execute(text(f"EXPLAIN QUERY PLAN {claim.text}"), params)).all()
            details = [row[-1] for row in rows]
            # A walk of an index in order (SCAN ... USING INDEX) would read the blocked tasks; lookups only.
            scans = [d for d in details if d.startswith("SCAN") and d not in ("SCAN cats", "SCAN w")]
            assert not scans, details
    # The other catalogs' tasks run in queue order; then nothing, while the busy catalog's task runs.
    claimed = [await queue.claim("w1", lease) for _ in range(4)]
    assert [await queue.status(task_id) for task_id in claimed[:3]] == ["IN_PROGRESS"] * 3
    assert claimed[3] is None
