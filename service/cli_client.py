"""The client commands of `catalog-ingest`: upload, tasks, records, completion.

Exit codes: 0 the task is DONE (or the command did what it was asked), 1 the task FAILED or was CANCELED
(the error is printed with its file, row and column) or the server refused the request, 2 a usage error,
3 the server could not be reached.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import orjson

from catalog_ingest_client import Progress, WaitTimeout
from service.cli_backends import ConnectionProblem, GrpcBackend, HttpBackend, RequestFailed

COMMANDS = frozenset({"upload", "tasks", "records", "completion"})
EXIT_DONE, EXIT_FAILED, EXIT_USAGE, EXIT_CONNECTION = 0, 1, 2, 3
FINAL = frozenset({"DONE", "FAILED", "CANCELED"})
FILES = ("items", "variations", "item_groups")


class UsageError(Exception):
    """A command line that cannot be run (exit code 2)."""


def _connection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--server",
        default=os.environ.get("CATALOG_INGEST_SERVER", "localhost:50051"),
        help="the gRPC server's host:port (env CATALOG_INGEST_SERVER; default localhost:50051)",
    )
    parser.add_argument("--http", metavar="URL", help="use the REST gateway at URL instead of gRPC")
    parser.add_argument(
        "--token", default=os.environ.get("CATALOG_INGEST_TOKEN"), help="the API token (env CATALOG_INGEST_TOKEN)"
    )
    parser.add_argument("--tls", action="store_true", help="gRPC over TLS with the system's root certificates")
    parser.add_argument("--cacert", metavar="PEM", help="root certificates for TLS (gRPC or https)")
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")


def register(commands: Any) -> Any:
    """Add the client commands to the `catalog-ingest` subcommands; returns the `tasks` subcommands (the
    server's `tasks purge` is added to them)."""
    upload = commands.add_parser(
        "upload", help="upload CSV files (full sync, or --delta) and optionally follow the task"
    )
    _connection_options(upload)
    upload.add_argument("--section", default="", help="the catalog (default: the server's default, Products)")
    for name in FILES:
        upload.add_argument(
            f"--{name.replace('_', '-')}", dest=name, metavar="CSV", type=Path, help=f"the {name} CSV file"
        )
    upload.add_argument("--delta", action="store_true", help="upsert the given records; keep the others")
    upload.add_argument("--patch-delta", action="store_true", help="with --delta: merge only the non-blank cells")
    upload.add_argument("--force", action="store_true", help="sync even if it deletes more than half of a kind")
    upload.add_argument("--follow", action="store_true", help="wait for the task, with a live bar of records")
    upload.add_argument("--timeout", type=float, help="with --follow: seconds to wait for the task")

    tasks = commands.add_parser("tasks", help="get, list, watch or cancel tasks")
    task_commands = tasks.add_subparsers(dest="tasks_command", required=True)
    for name, text in (
        ("get", "one task"),
        ("watch", "follow a task until it ends"),
        ("cancel", "cancel a QUEUED task"),
    ):
        sub = task_commands.add_parser(name, help=text)
        _connection_options(sub)
        sub.add_argument("task_id", type=int, help="the task's id (the write's answer)")
        if name == "watch":
            sub.add_argument("--timeout", type=float, help="seconds to wait for the task")
    listing = task_commands.add_parser("list", help="the tenant's tasks, newest first")
    _connection_options(listing)
    listing.add_argument("--section", default="", help="only this catalog's tasks")
    listing.add_argument(
        "--status",
        default="",
        choices=["", "QUEUED", "IN_PROGRESS", "DONE", "FAILED", "CANCELED"],
        help="only tasks in this status",
    )
    listing.add_argument("--type", default="", help="only tasks of this type")
    listing.add_argument("--page-size", type=int, default=0, help="tasks per page (default: the server's)")
    listing.add_argument("--page-token", default="", help="the next_page_token of the previous page")

    records = commands.add_parser("records", help="read records back")
    record_commands = records.add_subparsers(dest="records_command", required=True)
    for name in ("get", "list"):
        sub = record_commands.add_parser(name, help="records by id" if name == "get" else "records, ordered by id")
        _connection_options(sub)
        sub.add_argument("collection", choices=FILES, help="the kind of records")
        if name == "get":
            sub.add_argument("ids", nargs="+", metavar="ID", help="the records' ids")
        else:
            sub.add_argument("--page-size", type=int, default=0, help="records per page (default: the server's)")
            sub.add_argument("--page-token", default="", help="the next_page_token of the previous page")
        sub.add_argument("--section", default="", help="the catalog (default: the server's default, Products)")

    completion = commands.add_parser("completion", help="print a shell completion script")
    completion.add_argument("shell", choices=["bash", "zsh"], help="the shell to complete in")
    return task_commands


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.command == "completion":
        from service.cli_completion import script

        print(script(parser, args.shell))
        return EXIT_DONE
    try:
        backend = _backend(args)
    except UsageError as error:
        print(f"catalog-ingest: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    try:
        if args.command == "upload":
            return _upload(args, backend)
        if args.command == "tasks":
            return _tasks(args, backend)
        return _records(args, backend)
    except UsageError as error:
        print(f"catalog-ingest: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except ConnectionProblem as error:
        print(f"catalog-ingest: cannot reach the server: {error}", file=sys.stderr)
        return EXIT_CONNECTION
    except RequestFailed as error:
        print(f"catalog-ingest: {error}", file=sys.stderr)
        return EXIT_FAILED
    except WaitTimeout as error:
        print(f"catalog-ingest: {error}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        backend.close()


def _backend(args: argparse.Namespace) -> GrpcBackend | HttpBackend:
    if not args.token:
        raise UsageError("no token: pass --token or set CATALOG_INGEST_TOKEN (catalog-ingest tokens create)")
    if args.http:
        if not args.http.startswith(("http://", "https://")):
            raise UsageError(f"--http takes the gateway's URL, like http://localhost:8080 (got {args.http!r})")
        return HttpBackend(args.http, args.token, cacert=args.cacert)
    if "://" in args.server or ":" not in args.server:
        raise UsageError(f"--server takes host:port, like localhost:50051 (got {args.server!r})")
    return GrpcBackend(args.server, args.token, tls=args.tls, cacert=args.cacert)


def _upload(args: argparse.Namespace, backend: GrpcBackend | HttpBackend) -> int:
    files = {name: getattr(args, name) for name in FILES if getattr(args, name) is not None}
    if not files:
        raise UsageError("give at least one of --items, --variations, --item-groups")
    for name, path in files.items():
        if not path.is_file():
            raise UsageError(f"--{name.replace('_', '-')}: no such file: {path}")
    if args.patch_delta and not args.delta:
        raise UsageError("--patch-delta needs --delta")
    from service.cli_progress import UploadBar

    quiet = args.json
    with UploadBar(sum(p.stat().st_size for p in files.values()), disabled=quiet) as bar:

        def on_progress(progress: Progress) -> None:
            bar.update(progress.bytes_sent)

        reply = backend.upload(
            args.section,
            files,
            delta=args.delta,
            patch_delta=args.patch_delta,
            force=args.force,
            on_progress=on_progress,
        )
    task_id = int(reply["task_id"])
    if not args.follow:
        _print(args, reply, f"task {task_id} queued: {reply.get('task_status_path', '')}")
        return EXIT_DONE
    if not quiet:
        print(f"task {task_id} queued; following it")
    return _follow(args, backend, task_id, args.timeout)


def _follow(args: argparse.Namespace, backend: GrpcBackend | HttpBackend, task_id: int, timeout: float | None) -> int:
    from service.cli_progress import TaskBar

    task: dict[str, Any] = {}
    with TaskBar(task_id, disabled=args.json) as bar:
        for task in backend.watch(task_id, timeout):
            bar.update(task)
    return _finish(args, task)


def _finish(args: argparse.Namespace, task: dict[str, Any]) -> int:
    status = task.get("status", "")
    _print(args, task, describe(task))
    if status == "DONE":
        return EXIT_DONE
    return EXIT_FAILED if status in FINAL else EXIT_DONE


def describe(task: dict[str, Any]) -> str:
    """One line for a person: the status, the counts of a DONE task, the error of a FAILED one."""
    line = f"task {task.get('id')} {task.get('status')} ({task.get('type')}, section {task.get('section')})"
    result = task.get("result") or {}
    counts = [
        f"{kind}: " + ", ".join(f"{k} {v}" for k, v in result[kind].items() if v)
        for kind in FILES
        if isinstance(result.get(kind), dict) and any(result[kind].values())
    ]
    if counts:
        line += "\n  " + "\n  ".join(counts)
    error = task.get("error")
    if error:
        where = [f"{name} {error[name]}" for name in ("file", "row", "column", "record_id") if error.get(name)]
        line += f"\n  error: {error.get('reason', '')}: {error.get('message', '')}"
        if where:
            line += f"\n  at {', '.join(where)}"
    return line


def _tasks(args: argparse.Namespace, backend: GrpcBackend | HttpBackend) -> int:
    command = args.tasks_command
    if command == "get":
        task = backend.get_task(args.task_id)
        _print(args, task, describe(task))
        return EXIT_DONE
    if command == "cancel":
        task = backend.cancel_task(args.task_id)
        _print(args, task, describe(task))
        return EXIT_DONE
    if command == "watch":
        if args.json:
            task: dict[str, Any] = {}
            for task in backend.watch(args.task_id, args.timeout):
                print(orjson.dumps(task).decode(), flush=True)
            return EXIT_DONE if task.get("status") == "DONE" else EXIT_FAILED
        return _follow(args, backend, args.task_id, args.timeout)
    reply = backend.list_tasks(
        section=args.section, status=args.status, type=args.type, page_size=args.page_size, page_token=args.page_token
    )
    lines = [
        f"{t['id']:>8}  {t['status']:<11}  {t['type']:<16}  {t.get('section', '')}  {t.get('submission_time', '')}"
        for t in reply.get("tasks", [])
    ]
    if reply.get("next_page_token"):
        lines.append(f"next page: --page-token {reply['next_page_token']}")
    _print(args, reply, "\n".join(lines) or "no tasks")
    return EXIT_DONE


def _records(args: argparse.Namespace, backend: GrpcBackend | HttpBackend) -> int:
    if args.records_command == "get":
        reply = backend.get_records(args.collection, args.ids, section=args.section)
    else:
        reply = backend.list_records(
            args.collection, section=args.section, ids=[], page_size=args.page_size, page_token=args.page_token
        )
    records = reply.get(args.collection, [])
    lines = [f"{r['id']}  {r.get('name') or ''}  {orjson.dumps(r.get('data') or {}).decode()}" for r in records]
    if reply.get("next_page_token"):
        lines.append(f"next page: --page-token {reply['next_page_token']}")
    _print(args, reply, "\n".join(lines) or "no records")
    return EXIT_DONE


def _print(args: argparse.Namespace, data: Any, text: str) -> None:
    print(orjson.dumps(data).decode() if args.json else text, flush=True)


def main(argv: list[str]) -> int:
    """The client commands alone: `catalog-ingest upload ...` without importing the server's modules."""
    parser = argparse.ArgumentParser(prog="catalog-ingest", description="Catalog ingestion service client.")
    commands = parser.add_subparsers(dest="command", required=True)
    register(commands)
    return run(parser.parse_args(argv), parser)
