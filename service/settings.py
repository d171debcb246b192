"""One settings object, built from CATALOG_INGEST_* environment variables."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PREFIX = "CATALOG_INGEST_"


class SettingsError(ValueError):
    """The configuration cannot be used; the message lists every problem, one a line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        if len(problems) == 1:
            super().__init__(f"invalid configuration: {problems[0]}")
        else:
            listed = "".join(f"\n  - {p}" for p in problems)
            super().__init__(f"invalid configuration ({len(problems)} problems):{listed}")


@dataclass(frozen=True)
class Settings:
    # Empty means the embedded SQLite file below.
    database_url: str = ""
    # What sits between the service and PostgreSQL: empty for a direct connection (or a session-mode pooler),
    # "pgbouncer" for a pooler in transaction mode: then no prepared statement outlives its transaction
    # (asyncpg's statement cache off, unique statement names; docs/scaling.md).
    database_pooler: str = ""
    # Where workers LISTEN for enqueued tasks: a direct (or session-pooled) PostgreSQL URL, since a LISTEN
    # lives on one server connection. Empty: database_url, unless that leads through a transaction pooler
    # (database_pooler), where workers then only poll.
    listen_database_url: str = ""
    sqlite_path: Path = field(default_factory=lambda: Path.cwd() / "catalog-ingest.db")
    grpc_host: str = "0.0.0.0"
    grpc_port: int = 50051
    http_host: str = "0.0.0.0"
    http_port: int = 8080
    # Where the gateway finds the gRPC server; derived from grpc_port when empty.
    grpc_target: str = ""
    # Worker: how often to look for work when no notification arrives, how often
    # to prove liveness, and after how long without a heartbeat a worker's tasks are re-run.
    worker_poll_interval: float = 1.0
    worker_heartbeat_interval: float = 2.0
    worker_lease_timeout: float = 30.0
    worker_concurrency: int = 4
    # Consecutive queued small record writes of one catalog applied in the transaction of the first, at most
    # this many besides it (each keeps its own status, result and error); 0: one task per transaction.
    worker_batch_tasks: int = 16
    # Client streams (UploadCatalog, StreamRecords, StreamBatchItems, PUT /v1/catalog): a stream that sends no
    # message for this long is ended (DEADLINE_EXCEEDED) and leaves nothing; slow clients cannot pin a slot.
    upload_idle_timeout_seconds: float = 60.0
    # Concurrent client streams per process, per tenant and in all: one tenant cannot take every slot, and the
    # process's memory and connections stay bounded. Past either, RESOURCE_EXHAUSTED with a RetryInfo (429).
    max_uploads_per_tenant: int = 4
    max_uploads: int = 32
    # A client stream the server refuses (caps, memory budget, credentials, a bad header) is read to its end,
    # at most this much and this long, before the refusal is sent: grpc.aio clients otherwise see INTERNAL
    # instead of it (grpc/grpc#36066; service/refused_streams.py). At most max_uploads streams are drained at once.
    refused_stream_drain_bytes: int = 32 * 1024 * 1024
    refused_stream_drain_seconds: float = 10.0
    # A stream stores its payload under a PENDING task; one nothing was stored for in this long (its server
    # died, its client vanished) is deleted by the workers.
    pending_upload_expiry_seconds: float = 300.0
    # How often the gRPC server re-checks what its health service reports (database, live workers).
    health_check_interval_seconds: float = 5.0
    # Grace period for in-flight calls and tasks on SIGTERM.
    shutdown_grace: float = 10.0
    # Limits (documented defaults).
    max_body_bytes: int = 10 * 1024 * 1024
    max_records_per_call: int = 1000
    # A task reports at most this many errors (the CSV rows, records or ingestion items it refused); the count
    # beyond it stays exact (GET /v1/tasks/{id}/errors, total_size).
    max_reported_errors: int = 10000
    # Memory bound of each process: request bodies, their parsed forms and messages in flight at once
    # (an estimate per request, see service/inflight.py); requests past it wait briefly, then get 503.
    max_inflight_bytes: int = 512 * 1024 * 1024
    # How long a request waits for its share of that budget before the 503 / RESOURCE_EXHAUSTED.
    inflight_wait_seconds: float = 5.0
    # Slow clients hold connections and buffers: request headers must be complete this long after a
    # connection opens (or its previous response is sent); a request body may pause at most this long, and
    # after that must average this rate. Past either: 408 and the connection is closed.
    header_timeout_seconds: float = 10.0
    body_idle_timeout_seconds: float = 30.0
    body_min_bytes_per_second: int = 1024
    default_section: str = "Products"
    batch_expiry_seconds: float = 7 * 24 * 3600
    # How often a worker deletes expired batches.
    batch_purge_interval_seconds: float = 3600.0
    # Previously active catalog versions kept for rollback.
    versions_kept: int = 3
    # Bulk per-item catalog updates (/data/v2/...): body size, items per call, requests per window per catalog.
    bulk_max_body_bytes: int = 10 * 1024 * 1024
    bulk_max_items: int = 5000
    bulk_rate_limit_requests: int = 5
    bulk_rate_limit_window_seconds: float = 10.0
    idempotency_window_seconds: float = 24 * 3600
    # How long a process trusts a token it looked up: a revoked token answers 401 within this.
    auth_cache_seconds: float = 30.0
    # Retention (service/retention.py): finished tasks are deleted this long after they finish (never sooner
    # than the idempotency window, whose keys live on them); a FAILED or CANCELED task keeps its payload this long
    # so it can be inspected and retried (RetryTask); a worker runs the purge this often.
    task_retention_seconds: float = 30 * 24 * 3600
    failed_payload_retention_seconds: float = 7 * 24 * 3600
    task_purge_interval_seconds: float = 3600.0
    # Record history (service/store/record_history.py): each record change is kept this long (30 days), purged
    # by the workers' retention job; 0 turns history off (nothing is written, as_of reads are refused).
    history_retention_seconds: float = 30 * 24 * 3600
    # Off for operators who migrate in a release step (`catalog-ingest migrate`): `serve` then refuses to
    # start on a schema that is behind instead of changing it.
    migrate_on_start: bool = True
    # Tests only: named fault points, e.g. "apply_delay:1.5" (service.tasks.faults). Empty in production.
    test_fault: str = ""
    # Where a process without the gateway role (a worker alone) serves GET /metrics; 0: nowhere. A process
    # with the gateway serves it on http_port.
    metrics_port: int = 0
    # Log lines: json, text (for a person), or auto (text on a terminal, else JSON).
    log_format: str = "auto"
    # Failure notifications.
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_sender: str = "catalog-ingest@localhost"
    # TLS (service/tls.py): a PEM certificate chain and key serve both ports over TLS; a CA bundle for client
    # certificates makes the gRPC port require one (mutual TLS).
    tls_cert_file: str = ""
    tls_key_file: str = ""
    tls_client_ca_file: str = ""
    # The gateway's channel to the gRPC role: TLS verified against this CA bundle when set (a remote role,
    # or the local one serving TLS); the name its certificate must carry when it is not the target's host;
    # the client certificate it presents to a gRPC role that requires one (default: tls_cert_file/key).
    grpc_tls_ca_file: str = ""
    grpc_tls_server_name: str = ""
    grpc_tls_client_cert_file: str = ""
    grpc_tls_client_key_file: str = ""
    # Comma-separated origins allowed to call the REST gateway from a browser ("*": any); empty: no CORS.
    cors_origins: str = ""
    # Webhooks (service/webhooks/): attempts and age after which a delivery is given up, the first retry's
    # delay (doubled each attempt, capped), one attempt's timeout, and how often workers look for due ones.
    webhook_max_attempts: int = 8
    webhook_max_age_seconds: float = 24 * 3600
    webhook_backoff_seconds: float = 5.0
    webhook_backoff_max_seconds: float = 3600.0
    webhook_timeout_seconds: float = 10.0
    webhook_poll_interval: float = 1.0
    webhook_concurrency: int = 4

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.sqlite_path}"

    @property
    def effective_listen_database_url(self) -> str:
        """The URL workers LISTEN on; empty when they can only poll (behind a transaction pooler, no URL of its
        own given)."""
        if self.listen_database_url:
            return self.listen_database_url
        return "" if self.database_pooler else self.effective_database_url

    @property
    def effective_grpc_target(self) -> str:
        return self.grpc_target or f"127.0.0.1:{self.grpc_port}"

    def section(self, section: str) -> str:
        """The section a request names, or the default one when it names none."""
        return section or self.default_section

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, overridden by CATALOG_INGEST_<FIELD> variables, overridden by keyword arguments."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        problems: list[str] = []
        for f in dataclasses.fields(cls):
            raw = env.get(PREFIX + f.name.upper())
            if raw is not None and raw != "":
                try:
                    values[f.name] = _convert(f.name, f.type, raw)
                except ValueError as exc:
                    problems.append(str(exc))
        if problems:
            # Every bad variable at once: an operator fixes them in one round.
            raise SettingsError(problems)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


def _convert(name: str, type_name: Any, raw: str) -> Any:
    kind = type_name if isinstance(type_name, str) else getattr(type_name, "__name__", str(type_name))
    if kind == "bool":
        if raw.strip().lower() in _TRUE | _FALSE:
            return raw.strip().lower() in _TRUE
        raise ValueError(f"{PREFIX}{name.upper()}={raw!r} is not a boolean (true/false, 1/0, yes/no, on/off)")
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind == "Path":
            return Path(raw)
    except ValueError as exc:
        raise ValueError(f"{PREFIX}{name.upper()}={raw!r} is not a valid {kind}") from exc
    return raw
