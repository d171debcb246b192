"""What keeps the queue declared: the enums cover every task type and every status the SQL names, no queue module
asks which database it runs on, and the TaskService builds no queries."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

from catalogingest.v1 import task_pb2
from service.tasks.handlers import FAILURE_HOOKS, HANDLERS
from service.tasks.queue_postgres import PostgresQueueStore
from service.tasks.queue_sqlite import SqliteQueueStore
from service.tasks.queue_store import QueueStore
from service.tasks.status import VISIBLE, TaskStatus, TaskType

ROOT = Path(__file__).resolve().parents[2]
SERVICE = ROOT / "service"
# The modules whose backend differences live in the queue stores (service/tasks/queue_{postgres,sqlite}.py).
QUEUE_USERS = [
    "service/tasks/queue.py",
    "service/tasks/queue_common.py",
    "service/tasks/worker.py",
    "service/tasks/context.py",
    "service/tasks/ingestion.py",
    "service/tasks/pending.py",
    "service/domain/rate_limit.py",
    "service/domain/idempotency.py",
    "service/servicers/tasks.py",
]
DIALECT_CHECK = re.compile(r"dialect|is_postgres|\.postgres\b|[\"']postgresql[\"']|[\"']sqlite[\"']")
# A status compared in SQL: status = 'X', status <> 'X', status IN ('X', 'Y').
STATUS_IN_SQL = re.compile(r"status\s*(?:=|<>|!=|IN\s*\()\s*((?:'[A-Z_]+'\s*,?\s*)+)", re.IGNORECASE)


def test_every_task_type_has_a_handler_and_every_handler_a_type() -> None:
    assert set(HANDLERS) == set(TaskType)
    assert set(FAILURE_HOOKS) <= set(TaskType)


def test_the_api_shows_every_status_but_pending() -> None:
    api = {name.removeprefix("TASK_STATUS_") for name in task_pb2.TaskStatus.keys()[1:]}
    assert api == set(VISIBLE) == set(TaskStatus) - {TaskStatus.PENDING}
    # The numbering is the proto's: a reordered enum is a changed contract.
    assert [task_pb2.TaskStatus.Value(f"TASK_STATUS_{s}") for s in VISIBLE] == [1, 2, 3, 4, 5]


def test_every_status_the_sql_names_is_a_task_status() -> None:
    named: dict[str, set[str]] = {}
    for path in SERVICE.rglob("*.py"):
        if "migrations" in path.parts:
            continue  # history: a migration keeps the literals of its day
        for found in STATUS_IN_SQL.finditer(path.read_text()):
            for literal in re.findall(r"'([A-Z_]+)'", found.group(1)):
                named.setdefault(literal, set()).add(str(path.relative_to(ROOT)))
    # Ingestions have statuses of their own (RUNNING, SUCCESS, FAILURE, ERROR) in service.domain.ingestions, in Python.
    unknown = {literal: files for literal, files in named.items() if literal not in set(TaskStatus)}
    assert named and not unknown


@pytest.mark.parametrize("module", QUEUE_USERS)
def test_no_queue_module_asks_which_database_it_runs_on(module: str) -> None:
    code = _code(ROOT / module)
    assert not [line for line in code if DIALECT_CHECK.search(line)]


def test_the_task_service_imports_no_sqlalchemy() -> None:
    tree = ast.parse((SERVICE / "servicers" / "tasks.py").read_text())
    imported = [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    imported += [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    assert not [name for name in imported if name.split(".")[0] == "sqlalchemy"]


def _code(path: Path) -> list[str]:
    """The module's lines without comments and docstrings (they may name the backends freely)."""
    tree = ast.parse(path.read_text())
    docstrings = {
        node.body[0].lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
        and isinstance(node.body[0].value.value, str)
    }
    lines = path.read_text().splitlines()
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and node.lineno in docstrings:
            skipped.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    return [line.split("#")[0] for n, line in enumerate(lines, 1) if n not in skipped]


@pytest.mark.parametrize("store", [PostgresQueueStore, SqliteQueueStore], ids=["postgresql", "sqlite"])
def test_each_store_has_the_protocols_members_with_its_signatures(store: type) -> None:
    declared = {name for name in vars(QueueStore) if not name.startswith("_")} | set(QueueStore.__annotations__)
    for name in sorted(declared):
        assert hasattr(store, name), name
        wanted = getattr(QueueStore, name, None)
        if callable(wanted):
            assert list(inspect.signature(getattr(store, name)).parameters) == list(
                inspect.signature(wanted).parameters
            ), name
