"""The operator's commands of `catalog-ingest`: tokens create/list/revoke, migrate (--sql, current), tasks purge.

They work on the database directly (CATALOG_INGEST_DATABASE_URL or --database-url), not through the server.
Exit codes: 0 done, 1 refused (an unknown token id, a schema behind), 2 a usage error.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from service.auth import create_token, hash_token
from service.cli_args import duration, fail, global_options
from service.db import schema_version
from service.db.engine import create_engine, session_factory
from service.db.migrate import upgrade
from service.db.models import ApiToken
from service.errors import NotFound
from service.retention import Policy, purge
from service.settings import Settings
from service.token_admin import TokenInfo, list_tokens, revoke_token


def register(commands: Any, task_commands: Any) -> None:
    """Add tokens, migrate and `tasks purge` to the subcommands."""

    def command(parent: Any, name: str, text: str) -> argparse.ArgumentParser:
        parser = parent.add_parser(name, help=text, description=text)
        global_options(parser, top=False)
        return parser

    tokens = commands.add_parser("tokens", help="create, list and revoke API tokens")
    token_commands = tokens.add_subparsers(dest="tokens_command", required=True)
    create = command(token_commands, "create", "print a new token for a tenant (created if new)")
    create.add_argument("--tenant", required=True, help="the tenant the token acts for")
    create.add_argument(
        "--expires-in", type=duration, metavar="DURATION", help="the token expires after this (like 90d); default never"
    )
    listing = command(token_commands, "list", "the tokens: id, tenant, created, last used, expires, revoked")
    listing.add_argument("--tenant", help="only this tenant's tokens")
    listing.add_argument("--json", action="store_true", help="one JSON object a line, for scripts")
    revoke = command(token_commands, "revoke", "revoke a token (see `tokens list` for ids)")
    revoke.add_argument("token_id", type=int, metavar="ID", help="the token's id")

    migrate = command(commands, "migrate", "bring the database to the latest schema (or print its SQL or revision)")
    migrate.add_argument(
        "action", nargs="?", choices=["current"], help="current: print the database's revision and the latest"
    )
    migrate.add_argument("--sql", action="store_true", help="print the SQL of the migration instead of running it")
    migrate.add_argument(
        "--from-revision", metavar="REV", help="with --sql: the revision the database is at (default: empty)"
    )

    purge_cmd = command(task_commands, "purge", "delete finished tasks older than a duration, and what they kept")
    purge_cmd.add_argument(
        "--older-than",
        type=duration,
        metavar="DURATION",
        help="finished tasks older than this, like 7d (default CATALOG_INGEST_TASK_RETENTION_SECONDS); not"
        " shorter than CATALOG_INGEST_IDEMPOTENCY_WINDOW_SECONDS",
    )
    purge_cmd.add_argument("--json", action="store_true", help="print the counts as JSON")


def is_admin(args: argparse.Namespace) -> bool:
    return args.command in ("tokens", "migrate") or getattr(args, "tasks_command", None) == "purge"


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "tokens":
        return asyncio.run(_tokens(args, settings))
    if args.command == "migrate":
        return _migrate(args, settings)
    return asyncio.run(_purge(args, settings))


@asynccontextmanager
async def _engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings.effective_database_url, pooler=settings.database_pooler)
    try:
        yield engine
    finally:
        await engine.dispose()


async def _tokens(args: argparse.Namespace, settings: Settings) -> int:
    async with _engine(settings) as engine:
        await schema_version.prepare(engine, settings)
        sessions = session_factory(engine)
        async with sessions() as session:
            if args.tokens_command == "create":
                token = await create_token(session, args.tenant, args.expires_in)
                await session.commit()
                token_id = (
                    await session.execute(select(ApiToken.id).where(ApiToken.token_hash == hash_token(token)))
                ).scalar_one()
                print(token)
                note = f"token {token_id} for tenant {args.tenant} (shown once; only its hash is stored)"
                print(note, file=sys.stderr)
                return 0
            if args.tokens_command == "list":
                _print_tokens(await list_tokens(session, args.tenant), as_json=args.json)
                return 0
            try:
                revoked = await revoke_token(session, args.token_id)
            except NotFound as error:
                return fail(error.message)
            print(f"token {args.token_id} {'revoked' if revoked else 'was already revoked'}")
            return 0


def _print_tokens(tokens: list[TokenInfo], *, as_json: bool) -> None:
    def when(value: Any) -> str:
        return value.isoformat(timespec="seconds") if value is not None else "-"

    header = ("ID", "TENANT", "CREATED", "LAST USED", "EXPIRES", "REVOKED")
    rows = [(str(t.id), t.tenant, when(t.created), when(t.last_used), when(t.expires), when(t.revoked)) for t in tokens]
    if as_json:
        for t in tokens:
            keys = ("id", "tenant", "created", "last_used", "expires", "revoked")
            values = (t.id, t.tenant, t.created, t.last_used, t.expires, t.revoked)
            print(orjson.dumps(dict(zip(keys, values, strict=True)), option=orjson.OPT_UTC_Z).decode())
        return
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    for row in (header, *rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    if args.sql:
        sys.stdout.write(schema_version.upgrade_sql_for(settings.database_url, args.from_revision))
        return 0
    return asyncio.run(_migrate_online(args, settings))


async def _migrate_online(args: argparse.Namespace, settings: Settings) -> int:
    async with _engine(settings) as engine:
        if args.action == "current":
            at, latest = await schema_version.current(engine), schema_version.head()
            state = "up to date" if at == latest else f"behind: run `catalog-ingest migrate` to reach {latest}"
            print(f"{at or 'none'} (latest {latest}; {state})")
            return 0
        await upgrade(engine)
        print(f"database at revision {await schema_version.current(engine)}")
        return 0


async def _purge(args: argparse.Namespace, settings: Settings) -> int:
    older_than = args.older_than
    if older_than is not None and older_than < settings.idempotency_window_seconds:
        return fail(
            f"--older-than {older_than:g}s is shorter than the idempotency window"
            f" (CATALOG_INGEST_IDEMPOTENCY_WINDOW_SECONDS={settings.idempotency_window_seconds:g}): a retried"
            " request could run twice",
            2,
        )
    async with _engine(settings) as engine:
        await schema_version.prepare(engine, settings)
        async with engine.connect() as conn:
            purged = await purge(conn, Policy.of(settings, older_than))
    counts = purged.as_dict()
    if args.json:
        print(orjson.dumps(counts).decode())
    else:
        print("removed " + ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in counts.items()))
    return 0
