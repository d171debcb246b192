"""`catalog-ingest bench --history`, through the service: what record history costs the CSV full sync a user
runs (issue 15), beside service.bench.history's measurement of the database's part alone.

Two services run side by side, each on its own scratch database: one with history on (the default), one with
it off (CATALOG_INGEST_HISTORY_RETENTION_SECONDS=0). Each is loaded with the synthetic catalog; then each round
times, on each service in turn (the order alternating), `PUT /v1/catalog` of the same catalog with every record
changed (its name and, for items and variations, its url), from the first byte sent to the task DONE, and puts
the catalog back with an untimed sync (which, history on, is recorded too: the history grows as it would) and
`VACUUM records`. The figures are the best of the rounds (the machine is shared and noisy).
"""

from __future__ import annotations

import contextlib
from dataclasses import replace

from service.bench.e2e import csv_upload, running_service
from service.bench.history import OnOffRun, history_rows, vacuum_records
from service.bench.synthetic import CatalogShape

_OFF = {"CATALOG_INGEST_HISTORY_RETENTION_SECONDS": "0"}


async def run_service_history(on_dsn: str, off_dsn: str, shape: CatalogShape, rounds: int = 3) -> OnOffRun:
    """The measurement above, on two empty scratch databases (history on, history off)."""
    changed = replace(shape, revision=1, everything=True)
    times: dict[str, list[float]] = {"on": [], "off": []}
    changes = 0
    async with contextlib.AsyncExitStack() as stack:
        services = {
            "on": await stack.enter_async_context(running_service(on_dsn)),
            "off": await stack.enter_async_context(running_service(off_dsn, settings=_OFF)),
        }
        dsns = {"on": on_dsn, "off": off_dsn}
        for service in services.values():
            await csv_upload(service, shape)
        for round_ in range(rounds):
            for kind in ("on", "off") if round_ % 2 == 0 else ("off", "on"):
                before = await history_rows(dsns[kind])
                seconds, _ = await csv_upload(services[kind], changed)
                times[kind].append(seconds)
                print(f"  round {round_ + 1}, CSV full sync, history {kind:3} {seconds:8.2f} s", flush=True)
                if kind == "on":
                    changes = await history_rows(dsns[kind]) - before
                await csv_upload(services[kind], shape)
                await vacuum_records(dsns[kind])
    return OnOffRun(
        records=shape.items + shape.variation_count + shape.group_count,
        off_rounds=tuple(times["off"]),
        on_rounds=tuple(times["on"]),
        changes_per_sync=changes,
    )


def print_service_history(run: OnOffRun) -> None:
    print(f"history, the service's CSV full sync changing all {run.records:,} records", flush=True)
    run.print_on_off()
