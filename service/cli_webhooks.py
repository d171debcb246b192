"""`catalog-ingest tenants set-webhook|get-webhook|clear-webhook` and `catalog-ingest webhooks list`."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from service.db.engine import create_engine, session_factory
from service.db.migrate import upgrade
from service.settings import Settings
from service.webhooks import store
from service.webhooks.urls import url_problem

COMMANDS = ("tenants", "webhooks")
T = TypeVar("T")


def register(commands: Any) -> None:
    tenants = commands.add_parser("tenants", help="tenants' settings: their default webhook")
    tenant_commands = tenants.add_subparsers(dest="tenants_command", required=True)
    set_webhook = tenant_commands.add_parser(
        "set-webhook",
        help="POST every finished task of the tenant to URL (unless the write names its own notification_url)",
    )
    set_webhook.add_argument("--tenant", required=True, help="the tenant's name")
    set_webhook.add_argument("--url", required=True, help="an http:// or https:// URL")
    set_webhook.add_argument(
        "--secret", help="the HMAC-SHA256 signing secret (default: keep the current one, or make one)"
    )
    for name, what in (
        ("get-webhook", "print the default URL and the signing secret"),
        ("clear-webhook", "remove them"),
    ):
        tenant_commands.add_parser(name, help=what).add_argument("--tenant", required=True, help="the tenant's name")

    webhooks = commands.add_parser("webhooks", help="webhook deliveries")
    webhook_commands = webhooks.add_subparsers(dest="webhooks_command", required=True)
    listing = webhook_commands.add_parser("list", help="deliveries, newest first, with their last status and error")
    listing.add_argument("--task", type=int, help="only this task's")
    listing.add_argument("--tenant", help="only this tenant's")
    listing.add_argument(
        "--limit", type=int, default=100, help="at most this many deliveries, newest first (default 100)"
    )
    listing.add_argument("--json", action="store_true", help="one JSON object per line")


def run(args: argparse.Namespace, settings: Settings, parser: argparse.ArgumentParser) -> int:
    if args.command == "tenants":
        if args.tenants_command == "set-webhook":
            if (problem := url_problem(args.url)) is not None:
                parser.error(f"--url {problem}")
            if args.secret is not None and not args.secret.strip():
                parser.error("--secret must not be empty")
        return _tenants(args, settings)
    return _list(args, settings)


def _tenants(args: argparse.Namespace, settings: Settings) -> int:
    command = args.tenants_command
    try:
        if command == "set-webhook":
            shown = _session_call(settings, lambda s: store.set_default(s, args.tenant, args.url, args.secret))
        elif command == "get-webhook":
            shown = _session_call(settings, lambda s: store.get_default(s, args.tenant))
        else:
            removed = _session_call(settings, lambda s: store.clear_default(s, args.tenant))
            print(f"default webhook of '{args.tenant}' {'removed' if removed else 'was not set'}")
            return 0
    except LookupError as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return 1
    print(f"url: {shown.url or '(none)'}")
    print(f"secret: {shown.secret or '(none yet: made on the first delivery)'}")
    return 0


def _list(args: argparse.Namespace, settings: Settings) -> int:
    deliveries = _session_call(
        settings, lambda s: store.list_deliveries(s, task_id=args.task, tenant=args.tenant, limit=args.limit)
    )
    if args.json:
        for delivery in deliveries:
            print(json.dumps(asdict(delivery), default=str))
        return 0
    if not deliveries:
        print("no deliveries")
        return 0
    for d in deliveries:
        last = f"last {d.last_status_code or '-'}"
        when = f"next {d.next_attempt_at:%Y-%m-%d %H:%M:%S}" if d.next_attempt_at else ""
        print(f"{d.id}  task {d.task_id}  {d.status:<9} attempts {d.attempts}  {last}  {when}  {d.url}".rstrip())
        if d.last_error:
            print(f"    {d.last_error}")
    return 0


def _session_call(settings: Settings, call: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def main() -> T:
        engine = create_engine(settings.effective_database_url, pooler=settings.database_pooler)
        try:
            await upgrade(engine)
            async with session_factory(engine)() as session:
                return await call(session)
        finally:
            await engine.dispose()

    return asyncio.run(main())
