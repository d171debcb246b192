"""The `catalog-ingest` command: serve, the operator's commands (service.cli_admin), bench, and the client
commands (service.cli_client)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from importlib import metadata

from service import cli_admin, cli_client, cli_webhooks, settings_check, tls
from service.cli_args import Parser, fail, global_options, log_level
from service.db import schema_version
from service.db.engine import check_url
from service.logs import configure_logging
from service.malloc import limit_arenas
from service.runner import ROLES, run
from service.settings import Settings


def _settings(args: argparse.Namespace) -> Settings:
    """The settings, validated: every problem in one SettingsError (ports too, for the roles `serve` runs)."""
    overrides = {
        "database_url": getattr(args, "database_url", None),
        "grpc_port": getattr(args, "grpc_port", None),
        "http_port": getattr(args, "http_port", None),
    }
    roles = (args.role or ROLES) if args.command == "serve" else ()
    settings = settings_check.load(os.environ, roles, **overrides)
    check_url(settings.database_url)  # an unsupported parameter is a startup error naming it
    check_url(settings.listen_database_url)
    tls.check(settings)
    return settings


def _log_level(args: argparse.Namespace, parser: argparse.ArgumentParser) -> str:
    if getattr(args, "log_level", None):
        return args.log_level
    raw = os.environ.get("CATALOG_INGEST_LOG_LEVEL", "") or "INFO"
    try:
        return log_level(raw)
    except argparse.ArgumentTypeError as exc:
        parser.error(f"CATALOG_INGEST_LOG_LEVEL: {exc}")


def _service_env(value: str) -> tuple[str, str]:
    """`bench --service-env`: one CATALOG_INGEST_ variable of the service measured."""
    name, equals, setting = value.partition("=")
    if not equals or not name.startswith("CATALOG_INGEST_") or name == "CATALOG_INGEST_DATABASE_URL":
        raise argparse.ArgumentTypeError(f"expected CATALOG_INGEST_NAME=VALUE (not the database URL), got {value!r}")
    return name, setting


def _parser() -> argparse.ArgumentParser:
    parser = Parser(prog="catalog-ingest", description="Catalog ingestion service.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    global_options(parser, top=True)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the gRPC server, the REST gateway and a worker")
    global_options(serve, top=False)
    serve.add_argument("--grpc-port", type=int, help="the gRPC port (env CATALOG_INGEST_GRPC_PORT; default 50051)")
    serve.add_argument("--http-port", type=int, help="the REST port (env CATALOG_INGEST_HTTP_PORT; default 8080)")
    serve.add_argument(
        "--role", action="append", choices=ROLES, help="run only this role (repeatable; default: all three)"
    )

    task_commands = cli_client.register(commands)
    cli_admin.register(commands, task_commands)
    cli_webhooks.register(commands)

    bench = commands.add_parser("bench", help="measure the raw pipeline and the service end to end (PostgreSQL)")
    global_options(bench, top=False)
    bench.add_argument("--items", type=int, default=100_000, help="items in the catalog (default 100000)")
    bench.add_argument(
        "--variations-per-item", type=float, default=0.5, help="variations per item, on average (default 0.5)"
    )
    bench.add_argument("--seed", type=int, default=7, help="seed of the synthetic catalog (default 7)")
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
        "--skip-dry-run", action="store_true", help="no dry-run cost ratio (a changed sync, dry then real)"
    )
    bench.add_argument(
        "--split", action="store_true", help="run the service as two processes: gateway and gRPC, and a worker"
    )
    bench.add_argument(
        "--history",
        action="store_true",
        help="also measure what record history costs a full sync that changes every record (on --items):"
        " the database's part, and the service's CSV sync with history on and off",
    )
    bench.add_argument("--skip-queue", action="store_true", help="no claim latency under depth")
    bench.add_argument(
        "--service-env",
        action="append",
        default=[],
        type=_service_env,
        metavar="CATALOG_INGEST_NAME=VALUE",
        help="a setting of the service measured, e.g. CATALOG_INGEST_HISTORY_RETENTION_SECONDS=0 (repeatable; the"
        " service gets none of this shell's CATALOG_INGEST_ variables)",
    )
    bench.add_argument(
        "--pickup-tasks", type=int, default=200, help="one-item writes timed from submission to start (0: skip)"
    )
    bench_commands = bench.add_subparsers(dest="bench_command", metavar="MEASUREMENT")
    retention = bench_commands.add_parser(
        "retention", help="disk use after many full syncs of one catalog, against one sync's (PostgreSQL)"
    )
    global_options(retention, top=False)
    retention.add_argument("--items", type=int, default=100_000, help="items in the catalog (default 100000)")
    retention.add_argument("--syncs", type=int, default=20, help="full syncs of the same catalog (default 20)")
    multitenant = bench_commands.add_parser(
        "multitenant", help="small writes of many tenants beside one big sync, two worker processes (PostgreSQL)"
    )
    global_options(multitenant, top=False)
    multitenant.add_argument("--sync-items", type=int, default=1_000_000, help="items of the big sync (default 1M)")
    multitenant.add_argument("--catalogs", type=int, default=100, help="catalogs of small writes (default 100)")
    multitenant.add_argument("--tenants", type=int, default=10, help="tenants they belong to (default 10)")
    multitenant.add_argument("--clients", type=int, default=50, help="concurrent clients of small writes (default 50)")
    multitenant.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    return parser


def _version() -> str:
    try:
        return metadata.version("catalog-ingest")
    except metadata.PackageNotFoundError:
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command in cli_client.COMMANDS and not cli_admin.is_admin(args):
        return cli_client.run(args, parser)
    log_format = getattr(args, "log_format", None) or os.environ.get("CATALOG_INGEST_LOG_FORMAT", "") or "auto"
    try:
        configure_logging(_log_level(args, parser), log_format)
    except ValueError as exc:  # CATALOG_INGEST_LOG_FORMAT=banana: a usage error, not a traceback
        parser.error(f"CATALOG_INGEST_LOG_FORMAT: {exc}")
    try:
        settings = _settings(args)
    except ValueError as exc:
        parser.error(str(exc))
    if args.command in cli_webhooks.COMMANDS:
        return cli_webhooks.run(args, settings, parser)
    if args.command == "serve":
        limit_arenas()
        try:
            asyncio.run(run(settings, args.role or ROLES))
        except schema_version.SchemaBehind as exc:
            return fail(str(exc))
        return 0
    if cli_admin.is_admin(args):
        try:
            return cli_admin.run(args, settings)
        except schema_version.SchemaBehind as exc:
            return fail(str(exc))
    if args.command == "bench" and args.bench_command == "retention":
        from service.bench.retention import main as retention_main

        return retention_main(settings.database_url, args.items, args.syncs)
    if args.command == "bench" and args.bench_command == "multitenant":
        from service.bench.multitenant import main as multitenant_main

        return multitenant_main(
            settings.database_url, args.sync_items, args.catalogs, args.tenants, args.clients, args.workers
        )
    if args.command == "bench":
        from service.bench.runner import BenchOptions
        from service.bench.runner import main as bench_main

        options = BenchOptions(
            skip_raw=args.skip_raw,
            skip_csv=args.skip_csv,
            rest_items=args.rest_items,
            stream_items=args.stream_items,
            split=args.split,
            batch_items=args.items if args.batch_items is None else args.batch_items,
            history=args.history,
            skip_queue=args.skip_queue,
            pickup_tasks=args.pickup_tasks,
            dry_run=not args.skip_dry_run,
            service_env=tuple(args.service_env),
        )
        bench_main(settings.database_url, args.items, args.variations_per_item, args.seed, options)
    return 0


if __name__ == "__main__":
    sys.exit(main())
