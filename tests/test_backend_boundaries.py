"""The layers keep to their places: only the backend modules know which database runs, and servicers build
no queries. Read from the code itself (its syntax tree: comments and docstrings do not count)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The backend modules: the adapters of service.store.ports and of service.tasks.queue_store (with the one
# place each is picked), the engine and what is built with it, and the benchmarks, which drive the
# PostgreSQL store directly.
BACKEND_MODULES = (
    "service/db/*.py",
    "service/db/**/*.py",
    "service/store/postgres*.py",
    "service/store/sqlite*.py",
    "service/store/batch_items_pg.py",
    "service/tasks/queue_postgres.py",
    "service/tasks/queue_sqlite.py",
    "service/tasks/queue_backends.py",
    "service/tasks/queue_listen.py",
    "service/bench/*.py",
)

# What only a backend module may name: the dialect, a PostgreSQL-or-not flag, a dialect's name, a dialect's
# SQLAlchemy constructs, a driver.
_NAMES = {"dialect", "is_postgres", "is_postgres_url", "postgres"}
_DIALECT_NAMES = {"postgresql", "sqlite"}
_MODULES = ("sqlalchemy.dialects", "asyncpg", "aiosqlite", "sqlite3")


def _sources(*patterns: str) -> Iterator[Path]:
    for pattern in patterns:
        yield from sorted(ROOT.glob(pattern))


def _imports(tree: ast.AST) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.lineno, node.module


def _backend_checks(tree: ast.AST) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in _NAMES:
            yield node.lineno, f".{node.attr}"
        elif isinstance(node, ast.Name) and node.id in _NAMES:
            yield node.lineno, node.id
        elif isinstance(node, ast.alias) and node.name in _NAMES:
            yield node.lineno, f"import of {node.name}"
        elif isinstance(node, ast.Constant) and node.value in _DIALECT_NAMES:
            yield node.lineno, repr(node.value)
    for line, module in _imports(tree):
        if module.startswith(_MODULES):
            yield line, f"import of {module}"


def test_only_backend_modules_know_the_backend() -> None:
    backend = {p for pattern in BACKEND_MODULES for p in ROOT.glob(pattern)}
    assert backend, "the backend module patterns match no file"
    found = []
    for path in _sources("service/**/*.py", "gateway/**/*.py"):
        relative = path.relative_to(ROOT).as_posix()
        if path in backend:
            continue
        for line, what in _backend_checks(ast.parse(path.read_text(), str(path))):
            found.append(f"{relative}:{line}: {what}")
    assert not found, (
        "backend checks outside the backend modules (use service.db.backend.backend_of and the ports of"
        " service.store.ports):\n" + "\n".join(found)
    )


def test_the_check_finds_what_it_looks_for() -> None:
    """The test above cannot pass by looking at nothing."""
    source = (
        "import asyncpg\nfrom sqlalchemy.dialects import postgresql\n"
        "if conn.dialect.name == 'postgresql': pass\nif ctx.postgres: pass\nis_postgres(engine)\n"
    )
    kinds = {what for _, what in _backend_checks(ast.parse(source))}
    assert kinds == {
        "import of asyncpg",
        "import of sqlalchemy.dialects",
        ".dialect",
        "'postgresql'",
        ".postgres",
        "is_postgres",
    }


def test_servicers_import_no_sqlalchemy() -> None:
    """Servicers parse the request, call the domain and build the response: queries live in the domain and
    store modules."""
    found = []
    for path in _sources("service/servicers/*.py"):
        for line, module in _imports(ast.parse(path.read_text(), str(path))):
            if module.split(".")[0] == "sqlalchemy":
                found.append(f"{path.relative_to(ROOT).as_posix()}:{line}: {module}")
    assert not found, "servicers import SQLAlchemy:\n" + "\n".join(found)
