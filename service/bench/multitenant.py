"""`catalog-ingest bench multitenant`: many tenants' small writes beside one big sync, on two worker processes.

The service runs as three processes on a scratch PostgreSQL database: gateway and gRPC in one, a worker in each
of two more. One tenant's catalog gets a full sync of `sync_items` items (PUT /v1/catalog, the synthetic CSV
files); meanwhile `clients` concurrent clients write to `catalogs` catalogs spread over `tenants` tenants. Each
client owns the catalogs c, c + clients, ... and loops over them: a burst of `burst` consecutive writes
(PUT /v2/items, `items_per_write` items each) to one catalog, then it waits until the burst's last task is DONE.
The small writes go on until the sync is DONE.

Reported: items/s overall (the sync's items and the small writes', from the first request to the last DONE),
p50/p99 of submission-to-DONE of the small writes that ran while the sync did (by the database clock, the tasks'
own times), and FIFO per catalog, checked: in each catalog, the tasks ran one at a time in submission order (each
started after the one submitted before it finished), and every item holds the value of the last write to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import logging
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import orjson
from sqlalchemy.engine import make_url

from service.bench.e2e import RssSampler, Service, _free_port, csv_upload
from service.bench.queue import percentile
from service.bench.runner import _drop, _dsn, _scratch
from service.bench.synthetic import CatalogShape
from service.db.engine import normalize_url


@dataclass
class Write:
    catalog: int
    task_id: int
    burst: int
    order: int  # its place among its catalog's writes, in the order its (one) client sent them
    task: dict = field(default_factory=dict)


@dataclass
class Cluster:
    processes: list[subprocess.Popen[bytes]]
    tokens: list[str]  # one per tenant
    http: httpx.AsyncClient


def _token(env: dict[str, str], tenant: str) -> str:
    command = [sys.executable, "-m", "service.cli", "--log-level", "WARNING", "tokens", "create", "--tenant", tenant]
    return subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout.strip()


@contextlib.asynccontextmanager
async def running_cluster(database_url: str, tenants: int, workers: int) -> AsyncIterator[Cluster]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CATALOG_INGEST_")}
    env["CATALOG_INGEST_DATABASE_URL"] = database_url
    # Tenant 0 is `bench`: the big sync is a PUT /v1/catalog?key=bench (csv_upload), whose key is the tenant's.
    names = ["bench", *(f"tenant-{t}" for t in range(1, tenants))]
    tokens = list(await asyncio.gather(*(asyncio.to_thread(_token, env, name) for name in names)))
    http_port, grpc_port = _free_port(), _free_port()
    env.update(CATALOG_INGEST_HTTP_PORT=str(http_port), CATALOG_INGEST_GRPC_PORT=str(grpc_port))
    serve = [sys.executable, "-m", "service.cli", "--log-level", "WARNING", "serve"]
    roles = [["--role=grpc", "--role=gateway"], *(["--role=worker"] for _ in range(workers))]
    processes = [subprocess.Popen([*serve, *r], env=env, stderr=subprocess.PIPE) for r in roles]  # noqa: ASYNC220
    try:
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{http_port}", timeout=None, limits=limits) as http:
            while True:
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get("/status/ingestion")).status_code == 200:
                        break
                for process in processes:
                    if process.poll() is not None:
                        detail = process.stderr.read().decode() if process.stderr else ""
                        raise RuntimeError(f"the service exited: {detail}")
                await asyncio.sleep(0.1)
            yield Cluster(processes, tokens, http)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            await asyncio.to_thread(process.wait, 30)


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _task(cluster: Cluster, token: str, task_id: int, attempts: int = 5) -> dict:
    while True:
        try:
            response = await cluster.http.get(f"/v1/task/{task_id}", headers=_auth(token))
        except httpx.TransportError:
            # A kept-alive connection the server closed as it was reused: a GET is safe to send again.
            attempts -= 1
            if attempts == 0:
                raise
            await asyncio.sleep(0.1)
            continue
        if response.status_code not in (429, 503):  # overloaded: ask again
            response.raise_for_status()
            return response.json()
        await asyncio.sleep(0.5)


async def _until_finished(cluster: Cluster, token: str, task_id: int, poll: float = 0.1) -> dict:
    while True:
        task = await _task(cluster, token, task_id)
        if task["status"] in ("DONE", "FAILED", "CANCELED"):
            return task
        await asyncio.sleep(poll)


def _time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


def _items(catalog: int, burst: int, order: int, count: int) -> list[dict]:
    # The same item ids in every write of a catalog: the last write's value must be what the catalog holds.
    return [
        {"id": f"mt-{n}", "name": f"catalog {catalog} write {order}", "data": {"order": order, "burst": burst}}
        for n in range(count)
    ]


@dataclass
class Figures:
    items_per_s: float
    small_items: int
    small_writes: int
    during_sync: int
    p50_s: float
    p99_s: float
    queued_p50_s: float  # of which waiting in the queue (submission to start)
    sync_seconds: float
    fifo_checked: int
    seconds: float
    refused: dict[int, int]


async def multitenant(
    database_url: str,
    *,
    sync_items: int,
    catalogs: int = 100,
    tenants: int = 10,
    clients: int = 50,
    workers: int = 2,
    burst: int = 3,
    items_per_write: int = 20,
) -> Figures:
    async with running_cluster(database_url, tenants, workers) as cluster:
        sync_done = asyncio.Event()
        writes: list[Write] = []
        refused: dict[int, int] = {}
        # Catalog k belongs to tenant k % tenants; the big sync to tenant 0's catalog "bench".
        tenant_of = [k % tenants for k in range(catalogs)]

        async def client(c: int) -> None:
            owned = list(range(c, catalogs, clients))
            counts = dict.fromkeys(owned, 0)
            turn = 0
            while not sync_done.is_set():
                k = owned[turn % len(owned)]
                token = cluster.tokens[tenant_of[k]]
                last = None
                for _ in range(burst):
                    order = counts[k]
                    counts[k] += 1
                    body = orjson.dumps({"items": _items(k, turn, order, items_per_write)})
                    # The key makes a resend safe: the same write is answered with its first task, never twice.
                    key = f"mt-{c}-{k}-{order}"
                    transport_errors = 0
                    while True:
                        try:
                            response = await cluster.http.put(
                                "/v2/items",
                                params={"section": f"mt-{k}"},
                                content=body,
                                headers={**_auth(token), "Content-Type": "application/json", "Idempotency-Key": key},
                            )
                        except httpx.TransportError:
                            # A kept-alive connection the server closed as it was reused.
                            transport_errors += 1
                            if transport_errors == 5:
                                raise
                            await asyncio.sleep(0.1)
                            continue
                        # Overloaded (429, or 503 when the database pool is exhausted): again later, as a client does.
                        if response.status_code not in (429, 503):
                            break
                        refused[response.status_code] = refused.get(response.status_code, 0) + 1
                        await asyncio.sleep(float(response.headers.get("Retry-After", "0.5")))
                    response.raise_for_status()
                    last = Write(k, response.json()["task_id"], turn, order)
                    writes.append(last)
                assert last is not None
                await _until_finished(cluster, token, last.task_id)
                turn += 1

        sync_service = Service(cluster.processes, cluster.tokens[0], cluster.http, None, RssSampler())  # type: ignore[arg-type]
        started = time.perf_counter()

        async def sync() -> dict:
            try:
                for attempt in range(5):
                    try:
                        _seconds, task = await csv_upload(sync_service, CatalogShape(items=sync_items))
                        return task
                    except httpx.HTTPStatusError as refusal:  # overloaded (a full database): again, as a client does
                        if refusal.response.status_code not in (429, 503) or attempt == 4:
                            raise
                        refused[refusal.response.status_code] = refused.get(refusal.response.status_code, 0) + 1
                        await asyncio.sleep(1.0)
                raise AssertionError("unreachable")
            finally:
                sync_done.set()

        sync_task, *_ = await asyncio.gather(sync(), *(client(c) for c in range(clients)))
        for write in writes:
            write.task = await _until_finished(cluster, cluster.tokens[tenant_of[write.catalog]], write.task_id)
        seconds = time.perf_counter() - started
        failed = [w.task for w in writes if w.task["status"] != "DONE"]
        if failed:
            raise RuntimeError(f"{len(failed)} small write(s) did not succeed, e.g. {failed[0]}")
        fifo_checked = await _check_fifo(cluster, writes, tenant_of, items_per_write)

    sync_start, sync_finish = _time(sync_task["start_time"]), _time(sync_task["finish_time"])
    ran_during = [
        w.task
        for w in writes
        if _time(w.task["submission_time"]) >= sync_start and _time(w.task["finish_time"]) <= sync_finish
    ]
    during = [(_time(t["finish_time"]) - _time(t["submission_time"])).total_seconds() for t in ran_during]
    queued = [(_time(t["start_time"]) - _time(t["submission_time"])).total_seconds() for t in ran_during]
    small_items = len(writes) * items_per_write
    return Figures(
        items_per_s=(sync_items + small_items) / seconds,
        small_items=small_items,
        small_writes=len(writes),
        during_sync=len(during),
        p50_s=percentile(during, 0.5) if during else float("nan"),
        p99_s=percentile(during, 0.99) if during else float("nan"),
        queued_p50_s=percentile(queued, 0.5) if queued else float("nan"),
        sync_seconds=(sync_finish - sync_start).total_seconds(),
        fifo_checked=fifo_checked,
        seconds=seconds,
        refused=refused,
    )


async def _check_fifo(cluster: Cluster, writes: list[Write], tenant_of: list[int], items_per_write: int) -> int:
    """Each catalog's writes ran one at a time in the order they were sent, and its items hold the last one's
    value. Returns the number of catalogs checked; raises on the first violation."""
    by_catalog: dict[int, list[Write]] = {}
    for write in writes:
        by_catalog.setdefault(write.catalog, []).append(write)
    for k, sent in by_catalog.items():
        sent.sort(key=lambda w: w.order)
        for before, after in itertools.pairwise(sent):
            if _time(after.task["start_time"]) < _time(before.task["finish_time"]):
                broken = f"task {after.task_id} started before {before.task_id} finished"
                raise RuntimeError(f"FIFO broken in catalog mt-{k}: {broken}")
        token = cluster.tokens[tenant_of[k]]
        response = await cluster.http.get(
            "/v2/items", params={"section": f"mt-{k}", "num_results_per_page": items_per_write}, headers=_auth(token)
        )
        response.raise_for_status()
        last = sent[-1].order
        held = {item["id"]: item.get("data", {}).get("order") for item in response.json().get("items", [])}
        if len(held) != items_per_write or set(held.values()) != {last}:
            raise RuntimeError(f"catalog mt-{k}: items hold {sorted(set(held.values()))}, the last write was {last}")
    return len(by_catalog)


def main(database_url: str, sync_items: int, catalogs: int, tenants: int, clients: int, workers: int) -> int:
    if not database_url or make_url(normalize_url(database_url)).get_backend_name() != "postgresql":
        raise SystemExit("the benchmark needs PostgreSQL: set CATALOG_INGEST_DATABASE_URL or pass --database-url")
    admin_dsn = _dsn(database_url, make_url(normalize_url(database_url)).database or "postgres")

    async def run() -> Figures:
        name = await _scratch(admin_dsn)
        try:
            return await multitenant(
                _dsn(database_url, name),
                sync_items=sync_items,
                catalogs=catalogs,
                tenants=tenants,
                clients=clients,
                workers=workers,
            )
        finally:
            await _drop(admin_dsn, name)

    print(
        f"multitenant: {catalogs} catalogs in {tenants} tenants, {clients} clients of small writes,"
        f" one {sync_items:,}-item sync, {workers} worker processes",
        flush=True,
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    f = asyncio.run(run())
    print(f"sync: {f.sync_seconds:.1f} s ({sync_items / f.sync_seconds:,.0f} items/s)")
    print(
        f"small writes: {f.small_writes:,} ({f.small_items:,} items); {f.during_sync:,} ran while the sync did;"
        f" refused and sent again: {f.refused or 'none'}"
    )
    print(
        f"submission to DONE while the sync ran: p50 {f.p50_s * 1000:.0f} ms, p99 {f.p99_s * 1000:.0f} ms"
        f" (submission to start p50 {f.queued_p50_s * 1000:.0f} ms)"
    )
    print(f"overall: {f.items_per_s:,.0f} items/s over {f.seconds:.1f} s; FIFO held in all {f.fifo_checked} catalogs")
    print(
        f"mt_items_per_s={f.items_per_s:.0f} mt_p50_ms={f.p50_s * 1000:.0f} mt_p99_ms={f.p99_s * 1000:.0f}"
        f" mt_during_sync={f.during_sync} mt_fifo_catalogs={f.fifo_checked}"
    )
    return 0
