"""Settings that parse but cannot work together, found before anything starts: one message lists them all."""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Iterable, Mapping
from typing import Any

from service.db.postgres_url import pooler_problems
from service.settings import PREFIX, Settings, SettingsError


def _var(name: str) -> str:
    return PREFIX + name.upper()


def problems(settings: Settings, roles: Iterable[str] = ()) -> list[str]:
    """Every problem with `settings` for a process running `roles` (ports are checked for the roles that
    listen: a port another process holds is reported now, not as a bind error after the migration ran)."""
    found: list[str] = []

    def at_least(name: str, low: float, *, strictly: bool = False) -> None:
        value = getattr(settings, name)
        if value < low or (strictly and value == low):
            bound = f"greater than {low:g}" if strictly else f"at least {low:g}"
            found.append(f"{_var(name)}={value!r} must be {bound}")

    at_least("worker_concurrency", 1)
    at_least("worker_batch_tasks", 0)
    for name in (
        "worker_poll_interval",
        "worker_heartbeat_interval",
        "worker_lease_timeout",
        "batch_purge_interval_seconds",
        "task_purge_interval_seconds",
        "health_check_interval_seconds",
    ):
        at_least(name, 0, strictly=True)
    for name in (
        "max_uploads",
        "max_uploads_per_tenant",
        "max_records_per_call",
        "max_body_bytes",
        "max_reported_errors",
    ):
        at_least(name, 1)
    retentions = ("task_retention_seconds", "failed_payload_retention_seconds", "history_retention_seconds")
    for name in (*retentions, "shutdown_grace"):
        at_least(name, 0)
    if settings.worker_lease_timeout <= settings.worker_heartbeat_interval:
        # A lease that ends before the next heartbeat renews it hands every running task to another worker.
        found.append(
            f"{_var('worker_lease_timeout')}={settings.worker_lease_timeout:g} must be longer than"
            f" {_var('worker_heartbeat_interval')}={settings.worker_heartbeat_interval:g}"
        )
    if settings.task_retention_seconds < settings.idempotency_window_seconds:
        # Idempotency keys live on their tasks: purging a task sooner would let a retried request run twice.
        found.append(
            f"{_var('task_retention_seconds')}={settings.task_retention_seconds:g} must not be shorter than"
            f" {_var('idempotency_window_seconds')}={settings.idempotency_window_seconds:g}"
        )
    found += pooler_problems(settings.database_url, settings.database_pooler, settings.listen_database_url)
    roles = set(roles)
    listening = [
        (name, host, port)
        for name, role, host, port in (
            ("grpc_port", "grpc", settings.grpc_host, settings.grpc_port),
            ("http_port", "gateway", settings.http_host, settings.http_port),
        )
        if role in roles
    ]
    for name, host, port in listening:
        if not 0 <= port <= 65535:
            found.append(f"{_var(name)}={port} is not a port (0 to 65535)")
        elif port and (why := _port_taken(host, port)):
            found.append(f"{_var(name)}={port} cannot be used on {host}: {why}")
    if len(listening) == 2 and listening[0][2] and listening[0][2] == listening[1][2]:
        found.append(f"{_var('grpc_port')} and {_var('http_port')} are both {listening[0][2]}")
    return found


def load(env: Mapping[str, str], roles: Iterable[str] = (), **overrides: Any) -> Settings:
    """Settings.from_env, validated: one SettingsError lists the variables that do not parse and the problems
    of the others together (a variable that does not parse is left at its default for the checks)."""
    usable = dict(env)
    found: list[str] = []
    for f in dataclasses.fields(Settings):
        name = PREFIX + f.name.upper()
        if usable.get(name):
            try:
                Settings.from_env({name: usable[name]})
            except SettingsError as error:
                found += error.problems
                del usable[name]
    settings = Settings.from_env(usable, **overrides)
    found += problems(settings, roles)
    if found:
        raise SettingsError(found)
    return settings


def _port_taken(host: str, port: int) -> str | None:
    """Why the port cannot be bound on `host` now (None: it can). SO_REUSEADDR as the servers set it, so a
    port in TIME_WAIT after a restart is not reported."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            return exc.strerror or str(exc)
    return None
