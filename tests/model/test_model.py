"""A model-based test of the whole write surface (issue 10): Hypothesis drives random interleavings of every
write path against one catalog per example and compares what the service reads back, over REST and gRPC, with
the reference model of the integrity rules. Both backends; `pytest tests/model --long` runs 10x the examples.
"""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, Phase, settings

from tests.conftest import start_stack
from tests.figures import record
from tests.model.client import WorkerControl
from tests.model.machine import EXCLUDE, Harness, run_machine

# The CI budget: both backends together stay within about 40 s (unloaded machine). Examples are drawn afresh
# each run (a failure prints its shrunk steps and a @reproduce_failure blob), so CI covers new interleavings.
EXAMPLES = 4
STEPS = 10


async def test_the_write_surface_matches_the_model(database_url: str, backend: str, budget: int) -> None:
    if backend == "postgresql" and "sslmode" not in EXCLUDE:
        database_url += "?sslmode=disable&application_name=catalog-ingest-model"  # as libpq tools write it
    async with start_stack(database_url, worker=False, bulk_rate_limit_requests=1_000_000, versions_kept=1000) as stack:
        worker = WorkerControl(stack)
        await worker.start()
        harness = Harness(asyncio.get_running_loop(), stack, worker)
        run_settings = settings(
            max_examples=EXAMPLES * budget,
            stateful_step_count=STEPS,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.explicit, Phase.reuse, Phase.generate] + ([] if "shrink" in EXCLUDE else [Phase.shrink]),
            print_blob=True,
        )
        try:
            await asyncio.to_thread(run_machine, harness, run_settings)
        finally:
            await worker.stop()
            stats = harness.stats
            record(
                f"model {backend}",
                examples=stats.examples,
                steps=stats.steps,
                discrepancies=stats.discrepancies,
                undecided_skipped=stats.ambiguous,
                rules=dict(sorted((stats.rules or {}).items())),
            )
