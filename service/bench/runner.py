"""Runs both measurements on scratch databases of the configured PostgreSQL and prints the figures."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from dataclasses import dataclass, replace

import asyncpg
import psutil
from sqlalchemy.engine import make_url

from service.auth import ensure_tenant
from service.bench.batch import batch_import
from service.bench.dry_runs import dry_run_cost
from service.bench.e2e import CpuMeter, csv_upload, grpc_stream, rest_writes, running_service
from service.bench.history import print_history, run_history
from service.bench.history_service import print_service_history, run_service_history
from service.bench.queue import DEPTHS, claim_latency, percentile, pickup
from service.bench.raw import run_raw
from service.bench.synthetic import CatalogShape
from service.db.engine import create_engine, normalize_url, session_factory
from service.db.migrate import upgrade
from service.domain.catalogs import ensure_catalog


def _dsn(url: str, database: str) -> str:
    parsed = make_url(normalize_url(url)).set(database=database, drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


async def _scratch(admin_dsn: str) -> str:
    # Named after the configured database (unless it is the default one), so that benches on one server stay apart.
    configured = make_url(admin_dsn).database or "postgres"
    prefix = "catalog_ingest" if configured == "postgres" else configured
    name = f"{prefix}_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return name


async def _drop(admin_dsn: str, name: str) -> None:
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def empty_version(dsn: str) -> int:
    engine = create_engine(dsn)
    try:
        await upgrade(engine)
        async with session_factory(engine)() as session:
            tenant = await ensure_tenant(session, "bench")
            catalog = await ensure_catalog(session, tenant.id, "Products")
            return catalog.active_version_id or 0
    finally:
        await engine.dispose()


def _seconds(task: dict, later: str, earlier: str) -> float:
    return (dt.datetime.fromisoformat(task[later]) - dt.datetime.fromisoformat(task[earlier])).total_seconds()


def _report(figures: dict[str, float], key: str, label: str, seconds: float, items: int, detail: str = "") -> None:
    figures[key] = items / seconds
    suffix = f"  ({detail})" if detail else ""
    print(f"{label + ':':18} {seconds:8.2f} s  {figures[key]:10,.0f} items/s{suffix}", flush=True)


def _report_cpu(figures: dict[str, float], key: str, spent: tuple[float, float], items: int) -> None:
    """CPU per 1,000 items of the service and of PostgreSQL: comparable across runs of a loaded machine."""
    service, database = spent
    figures[f"{key}_service_cpu_ms_per_1k"] = service / items * 1e6
    figures[f"{key}_pg_cpu_ms_per_1k"] = database / items * 1e6
    print(
        f"  CPU: service {service:.2f} s ({service / items * 1e6:.1f} ms per 1,000 items),"
        f" PostgreSQL {database:.2f} s ({database / items * 1e6:.1f} ms per 1,000 items)",
        flush=True,
    )


async def bench(database_url: str, shape: CatalogShape, options: BenchOptions) -> dict[str, float]:
    admin_dsn = _dsn(database_url, make_url(normalize_url(database_url)).database or "postgres")
    figures: dict[str, float] = {"items": shape.items}
    names = []
    try:
        resync = replace(shape, revision=1)
        if not options.skip_raw:
            raw_db = await _scratch(admin_dsn)
            names.append(raw_db)
            version = await empty_version(_dsn(database_url, raw_db))
            seconds = await run_raw(_dsn(database_url, raw_db), shape, version)
            _report(figures, "raw_empty_items_per_s", "raw, empty", seconds, shape.items)
            seconds = await run_raw(_dsn(database_url, raw_db), resync, version)
            _report(figures, "raw_items_per_s", "raw, full sync", seconds, shape.items, "10% of items changed")
            await _drop(admin_dsn, raw_db)
            names.remove(raw_db)
        if options.history:
            history_db = await _scratch(admin_dsn)
            names.append(history_db)
            version = await empty_version(_dsn(database_url, history_db))
            run = await run_history(_dsn(database_url, history_db), shape, version)
            print_history(run)
            figures["history_off_s"] = run.off_seconds
            figures["history_on_s"] = run.on_seconds
            figures["history_ratio"] = run.ratio
            figures["history_round_ratio"] = run.round_ratio
            figures["history_unchanged_changes"] = run.unchanged_changes
            await _drop(admin_dsn, history_db)
            names.remove(history_db)
            on_db, off_db = await _scratch(admin_dsn), await _scratch(admin_dsn)
            names += [on_db, off_db]
            served = await run_service_history(_dsn(database_url, on_db), _dsn(database_url, off_db), shape)
            print_service_history(served)
            figures["history_service_off_s"] = served.off_seconds
            figures["history_service_on_s"] = served.on_seconds
            figures["history_service_ratio"] = served.ratio
            figures["history_service_round_ratio"] = served.round_ratio
            for name in (on_db, off_db):
                await _drop(admin_dsn, name)
                names.remove(name)
        for depth in () if options.skip_queue else DEPTHS:
            claim_db = await _scratch(admin_dsn)
            names.append(claim_db)
            key = f"claim_p50_ms_{depth // 1000}k"
            figures[key] = 1000 * await claim_latency(_dsn(database_url, claim_db), depth)
            print(f"{f'claim, {depth:,} queued behind one busy catalog:':47} p50 {figures[key]:6.2f} ms", flush=True)
            await _drop(admin_dsn, claim_db)
            names.remove(claim_db)
        e2e_db = await _scratch(admin_dsn)
        names.append(e2e_db)
        async with running_service(_dsn(database_url, e2e_db), options.split, dict(options.service_env)) as service:
            meter = CpuMeter([psutil.Process(p.pid) for p in service.processes], admin_dsn, e2e_db)
            if options.pickup_tasks:
                picked = await pickup(service, _dsn(database_url, e2e_db), options.pickup_tasks)
                figures["pickup_p50_ms"], figures["pickup_p99_ms"] = (1000 * percentile(picked, f) for f in (0.5, 0.99))
                p50, p99 = figures["pickup_p50_ms"], figures["pickup_p99_ms"]
                label = f"pickup, commit to claim on an idle queue ({len(picked)} writes):"
                print(f"{label} p50 {p50:.1f} ms, p99 {p99:.1f} ms", flush=True)
            if not options.skip_csv:
                for key, label, catalog, detail in (
                    ("e2e_empty_items_per_s", "CSV, empty", shape, "into an empty catalog"),
                    ("e2e_items_per_s", "CSV, full sync", resync, "10% of items changed"),
                ):
                    seconds, task = await csv_upload(service, catalog)
                    stored = _seconds(task, "start_time", "submission_time")
                    applied = _seconds(task, "finish_time", "start_time")
                    _report(figures, key, label, seconds, shape.items, detail)
                    print(f"  of which stored and queued {stored:.2f} s, applied {applied:.2f} s", flush=True)
                if options.dry_run:
                    cost = await dry_run_cost(service, shape)
                    figures["dry_run_ratio"] = cost.ratio
                    print(
                        f"{'dry-run sync:':18} {cost.dry_seconds:8.2f} s  vs {cost.real_seconds:.2f} s real"
                        f"  (dry-run cost ratio {cost.ratio:.2f}, a changed sync of every record)",
                        flush=True,
                    )
            if options.rest_items:
                before = await meter.reading()
                seconds = await rest_writes(service, options.rest_items)
                detail = f"{options.rest_items:,} items, 1,000 a call, 8 clients"
                _report(figures, "rest_items_per_s", "REST /v2/items", seconds, options.rest_items, detail)
                _report_cpu(figures, "rest", meter.spent(before, await meter.reading()), options.rest_items)
            if options.stream_items:
                before = await meter.reading()
                seconds = await grpc_stream(service, options.stream_items)
                detail = f"{options.stream_items:,} items, 1,000 a message"
                _report(figures, "stream_items_per_s", "gRPC stream", seconds, options.stream_items, detail)
                _report_cpu(figures, "stream", meter.spent(before, await meter.reading()), options.stream_items)
            if options.batch_items:
                before = await meter.reading()
                run = await batch_import(service, replace(shape, items=options.batch_items), meter)
                detail = f"{run.items:,} items + {run.variants:,} variants, 1,000 a message"
                _report(figures, "batch_stream_items_per_s", "batch stream", run.stream_seconds, run.items, detail)
                detail = f"duration {run.ingestion_duration:.2f} s, {run.upserted:,} records, promoted"
                _report(
                    figures, "batch_ingest_items_per_s", "batch ingestion", run.ingestion_seconds, run.items, detail
                )
                _report_cpu(figures, "batch_stream", meter.spent(before, run.streamed_cpu), run.items)
                _report_cpu(figures, "batch_ingest", meter.spent(run.streamed_cpu, await meter.reading()), run.items)
                figures["batch_duration_s"] = run.ingestion_duration
                figures["batch_peak_rss_mb"] = run.peak_rss / 2**20
                print(f"  peak RSS of the service meanwhile {figures['batch_peak_rss_mb']:.0f} MB", flush=True)
            figures["peak_rss_mb"] = service.rss.peak / 2**20
    finally:
        for name in names:
            await _drop(admin_dsn, name)
    return figures


@dataclass(frozen=True)
class BenchOptions:
    skip_raw: bool = False
    skip_csv: bool = False
    rest_items: int = 0
    stream_items: int = 0
    split: bool = False
    batch_items: int = 0
    history: bool = False
    skip_queue: bool = False
    pickup_tasks: int = 0
    # After the CSV load: a changed sync run dry, then for real (service.bench.dry_runs).
    dry_run: bool = True
    # CATALOG_INGEST_ variables of the service measured (--service-env), e.g. history off.
    service_env: tuple[tuple[str, str], ...] = ()


def main(database_url: str, items: int, variations_per_item: float, seed: int, options: BenchOptions) -> None:
    if not database_url or not make_url(normalize_url(database_url)).get_backend_name() == "postgresql":
        raise SystemExit("the benchmark needs PostgreSQL: set CATALOG_INGEST_DATABASE_URL or pass --database-url")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    shape = CatalogShape(items=items, variations_per_item=variations_per_item, seed=seed)
    print(
        f"catalog: {shape.items:,} items, {shape.variation_count:,} variations, {shape.group_count:,} item groups"
        f" (seed {seed})",
        flush=True,
    )
    f = asyncio.run(bench(database_url, shape, options))
    print(f"service peak RSS: {f['peak_rss_mb']:.0f} MB")
    # One machine-readable line with what was measured; a skipped measurement is left out, not zero.
    if "raw_items_per_s" in f and "e2e_items_per_s" in f:
        f["ratio"] = f["e2e_items_per_s"] / f["raw_items_per_s"]
        f["ratio_empty"] = f["e2e_empty_items_per_s"] / f["raw_empty_items_per_s"]
    print(" ".join(f"{key}={value:.2f}" if key in _PRECISE else f"{key}={value:.0f}" for key, value in f.items()))


_PRECISE = frozenset(
    {
        "ratio",
        "ratio_empty",
        "batch_duration_s",
        "history_off_s",
        "history_on_s",
        "history_ratio",
        "history_round_ratio",
        "history_service_off_s",
        "history_service_on_s",
        "history_service_ratio",
        "history_service_round_ratio",
        "dry_run_ratio",
        "pickup_p50_ms",
        "pickup_p99_ms",
        *(f"claim_p50_ms_{d // 1000}k" for d in DEPTHS),
    }
)
