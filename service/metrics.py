"""The process's Prometheus metrics: one registry per process, scraped per process.

Each process (all roles together, or one role each) counts what it does itself and serves its own
`/metrics`: the gateway on the HTTP port, a process without the gateway on `metrics_port`
(service.metrics_endpoint). Prometheus adds up the instances. This is chosen over prometheus-client's
multiprocess mode (PROMETHEUS_MULTIPROC_DIR): the roles are separate programs that may run on separate hosts,
share no directory, and each is scraped as a target of its own, which also keeps gauges unambiguous.

No label holds a tenant's name, a raw path or any value a caller chooses: cardinality stays bounded.
"""

from __future__ import annotations

import functools

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

# Requests and RPCs take milliseconds to seconds; tasks up to many minutes (a million-record sync).
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
TASK_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
# The classic text format every Prometheus version reads (generate_latest writes it; our names are ASCII).
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4


class Metrics:
    """Every metric of catalog-ingest, on a registry of its own."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        r = self.registry
        self.tasks = Counter(
            "catalog_ingest_tasks",
            "Tasks finished, by type and outcome: DONE and FAILED by the worker, CANCELED by the gRPC server.",
            ["type", "status"],
            registry=r,
        )
        self.task_duration = Histogram(
            "catalog_ingest_task_duration_seconds",
            "Time from a task's claim to its outcome being written, by type.",
            ["type"],
            buckets=TASK_BUCKETS,
            registry=r,
        )
        self.queue_depth = Gauge(
            "catalog_ingest_queue_depth",
            "Tasks waiting (QUEUED) and running (IN_PROGRESS), sampled from the database by each worker.",
            ["status"],
            registry=r,
        )
        self.queue_oldest_age = Gauge(
            "catalog_ingest_queue_oldest_age_seconds",
            "Age of the oldest QUEUED task (0 when none waits), sampled from the database by each worker.",
            registry=r,
        )
        self.workers_live = Gauge(
            "catalog_ingest_workers_live",
            "Workers whose heartbeat is within the lease, sampled from the database by each worker.",
            registry=r,
        )
        self.records_applied = Counter(
            "catalog_ingest_records_applied",
            "Records written by finished tasks (created, updated or deleted), by kind.",
            ["kind"],
            registry=r,
        )
        self.http_requests = Counter(
            "catalog_ingest_http_requests",
            "HTTP requests answered by the gateway, by route template and status code.",
            ["route", "code"],
            registry=r,
        )
        self.http_duration = Histogram(
            "catalog_ingest_http_request_duration_seconds",
            "Time to answer an HTTP request (until its last byte is sent), by route template.",
            ["route"],
            buckets=REQUEST_BUCKETS,
            registry=r,
        )
        self.grpc_requests = Counter(
            "catalog_ingest_grpc_requests",
            "RPCs handled by the gRPC server, by full method name and status code.",
            ["method", "code"],
            registry=r,
        )
        self.grpc_duration = Histogram(
            "catalog_ingest_grpc_request_duration_seconds",
            "Time to handle an RPC, by full method name.",
            ["method"],
            buckets=REQUEST_BUCKETS,
            registry=r,
        )

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)


@functools.cache
def process_metrics() -> Metrics:
    """The metrics of this process. Counters belong to the process, like its engine: every gateway, gRPC
    server and worker running in it adds to the same ones, and one scrape shows them all."""
    return Metrics()
