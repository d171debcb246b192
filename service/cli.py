"""The `catalog-ingest` command: serve, tokens create, migrate."""

from __future__ import annotations

import argparse
import asyncio
import sys

from service import cli_client
from service.auth import create_token
from service.db.engine import check_url, create_engine, session_factory
from service.db.migrate import upgrade
from service.logs import configure_logging
from service.malloc import limit_arenas
from service.runner import ROLES, run
from service.settings import Settings


def _settings(args: argparse.Namespace) -> Settings:
    settings = Settings.from_env(
        database_url=getattr(args, "database_url", None),
        grpc_port=getattr(args, "grpc_port", None),
        http_port=getattr(args, "http_port", None),
    )
    check_url(settings.database_url)  # an unsupported parameter is a startup error naming it
    return settings


async def _create_token(settings: Settings, tenant: str) -> str:
    engine = create_engine(settings.effective_database_url)
    try:
        await upgrade(engine)
        async with session_factory(engine)() as session:
            token = await create_token(session, tenant)
            await session.commit()
        return token
    finally:
        await engine.dispose()


async def _migrate(settings: Settings) -> None:
    engine = create_engine(settings.effective_database_url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="catalog-ingest", description="Catalog ingestion service.")
    parser.add_argument("--database-url", help="PostgreSQL URL (default: env, else the embedded SQLite file)")
    parser.add_argument("--log-level", default="INFO")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the gRPC server, the REST gateway and a worker")
    serve.add_argument("--grpc-port", type=int)
    serve.add_argument("--http-port", type=int)
    serve.add_argument(
        "--role", action="append", choices=ROLES, help="run only this role (repeatable; default: all three)"
    )

    tokens = commands.add_parser("tokens", help="manage API tokens")
    token_commands = tokens.add_subparsers(dest="tokens_command", required=True)
    create = token_commands.add_parser("create", help="print a new token for a tenant (created if new)")
    create.add_argument("--tenant", required=True)

    commands.add_parser("migrate", help="bring the database to the latest schema")

    bench = commands.add_parser("bench", help="measure the raw pipeline and the service end to end (PostgreSQL)")
    bench.add_argument("--items", type=int, default=100_000)
    bench.add_argument("--variations-per-item", type=float, default=0.5)
    bench.add_argument("--seed", type=int, default=7)
    bench.add_argument("--skip-raw", action="store_true", help="only the end-to-end measurements")
    bench.add_argument("--skip-csv", action="store_true", help="no CSV upload (PUT /v1/catalog) measurement")
    bench.add_argument("--rest-items", type=int, default=200_000, help="items for the REST JSON path (0: skip)")
    bench.add_argument("--stream-items", type=int, default=1_000_000, help="items for the gRPC stream (0: skip)")
    bench.add_argument(
        "--batch-items",
        type=int,
        help="items for the batch imports path, plus their variants (default: --items; 0: skip)",
    )
    bench.add_argument(
        "--split", action="store_true", help="run the service as two processes: gateway and gRPC, and a worker"
    )

    cli_client.register(commands)

    args = parser.parse_args(argv)
    if args.command in cli_client.COMMANDS:
        return cli_client.run(args, parser)
    configure_logging(args.log_level)
    try:
        settings = _settings(args)
    except ValueError as exc:
        parser.error(str(exc))
    if args.command == "serve":
        limit_arenas()
        asyncio.run(run(settings, args.role or ROLES))
    elif args.command == "tokens":
        print(asyncio.run(_create_token(settings, args.tenant)))
    elif args.command == "migrate":
        asyncio.run(_migrate(settings))
    elif args.command == "bench":
        from service.bench.runner import BenchOptions
        from service.bench.runner import main as bench_main

        options = BenchOptions(
            skip_raw=args.skip_raw,
            skip_csv=args.skip_csv,
            rest_items=args.rest_items,
            stream_items=args.stream_items,
            split=args.split,
            batch_items=args.items if args.batch_items is None else args.batch_items,
        )
        bench_main(settings.database_url, args.items, args.variations_per_item, args.seed, options)
    return 0


if __name__ == "__main__":
    sys.exit(main())
