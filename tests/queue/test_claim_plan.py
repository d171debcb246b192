"""The claim's plan on a queue with history: ~20k finished tasks and some queued ones. The claim reads the
partial indexes of unfinished tasks; a lost index (a migration, a changed WHERE) turns it into a scan of
every task ever run, which this catches before production does."""

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
            assert not [d for d in details if d.startswith("SCAN") and "INDEX" not in d], details
            assert any("ix_tasks_queued" in d or "ix_tasks_unfinished" in d for d in details), details
    # And it is quick: the first queued task, not the history, is what a claim reads.
    started = time.monotonic()
    assert await queue.claim("w1") is not None
    assert time.monotonic() - started < 2.0
