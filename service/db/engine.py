"""The one AsyncEngine of a process, and the URL rules that pick PostgreSQL or SQLite."""

from __future__ import annotations

import json
from typing import Any

import orjson
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from service.db.postgres_url import connect_args, is_postgres_url
from service.domain import values

# The names the layers above the store give sessions, so that they need not import SQLAlchemy.
Session = AsyncSession
Sessions = async_sessionmaker[AsyncSession]


def _json_serializer(value: Any) -> str:
    # orjson writes the canonical numbers of service.domain.values (orjson.Fragment) that json.dumps cannot.
    return orjson.dumps(value).decode()


def normalize_url(url: str) -> str:
    """Accept URLs as PostgreSQL tools write them (postgresql://, postgres://) and pick async drivers."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1) if url.startswith("postgres://") else url)
    if parsed.drivername in ("postgresql", "postgresql+psycopg2", "postgresql+psycopg"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif parsed.drivername == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    return parsed.render_as_string(hide_password=False)


def check_url(url: str) -> None:
    """Raise ValueError naming a parameter of `url` this service does not support (PostgreSQL URLs are read as
    libpq reads them)."""
    if is_postgres_url(url):
        connect_args(url)


def create_engine(url: str, *, pooler: str = "", **kwargs: Any) -> AsyncEngine:
    """The engine of `url`. A PostgreSQL URL is read as libpq reads it (service.db.postgres_url); an unsupported
    parameter raises ValueError naming it. Stored JSON is read with values.loads: no stored value fails a read.
    `pooler` "pgbouncer" (CATALOG_INGEST_DATABASE_POOLER): the URL leads through a pooler in transaction mode."""
    kwargs.setdefault("json_serializer", _json_serializer)
    kwargs.setdefault("json_deserializer", values.loads)
    if is_postgres_url(url):
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 10)
        kwargs.setdefault("pool_pre_ping", True)
        # The whole URL goes to asyncpg as its DSN: SQLAlchemy's URL parser knows no host lists.
        return create_async_engine(
            "postgresql+asyncpg://", connect_args=connect_args(url) | _pooled_args(pooler), **kwargs
        )
    engine = create_async_engine(normalize_url(url), connect_args={"timeout": 30}, **kwargs)

    @event.listens_for(engine.sync_engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        # WAL lets readers run beside the one writer; foreign keys are off by default in SQLite.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()
        dbapi_connection.create_function("json_update", 2, json_update, deterministic=True)
        dbapi_connection.create_function("json_merge_removing_nulls", 2, json_merge_removing_nulls, deterministic=True)

    return engine


def _pooled_args(pooler: str) -> dict[str, Any]:
    """Behind a pooler in transaction mode each transaction may run on another server connection, and
    PgBouncer before 1.21 does not carry prepared statements over. So no statement is kept: asyncpg's cache and
    SQLAlchemy's are off, and every statement is the unnamed one, which asyncpg then parses again in the same
    round trip as its execution (asyncpg's own PgBouncer mode). Unique names (SQLAlchemy's recipe) would avoid
    clashes too, but leave each transaction's last statement prepared on a server connection for its life."""
    if not pooler:
        return {}
    return {"statement_cache_size": 0, "prepared_statement_cache_size": 0, "prepared_statement_name_func": _unnamed}


def _unnamed() -> str:
    return ""


def json_update(left: str | None, right: str | None) -> str:
    """PostgreSQL's jsonb `||` for SQLite: the right object's keys replace the left's, each as a whole (a batch
    item's modification, and its merge into a record at ingestion)."""
    merged = json.loads(left) if left else {}
    if not isinstance(merged, dict):
        merged = {}
    merged.update(json.loads(right) if right else {})
    return json.dumps(merged, separators=(",", ":"), ensure_ascii=False)


def json_merge(left: str | None, right: str | None) -> str:
    """The record merge of service.store.postgres for SQLite: the right object's keys replace the left's,
    except that facets merge per facet."""
    merged = json.loads(left) if left else {}
    if not isinstance(merged, dict):
        merged = {}
    patch = json.loads(right) if right else {}
    facets = merged.get("facets")
    if isinstance(facets, dict) and isinstance(patch.get("facets"), dict):
        patch["facets"] = {**facets, **patch["facets"]}
    merged.update(patch)
    return json.dumps(merged, separators=(",", ":"), ensure_ascii=False)


def json_merge_removing_nulls(left: str | None, right: str | None) -> str:
    """A record merge (json_merge) in which a null removes the property, or the facet (R8)."""
    patch = json.loads(right) if right else {}
    merged = json.loads(json_merge(left, right))
    for key in [k for k, v in patch.items() if v is None]:
        merged.pop(key, None)
    facets = merged.get("facets")
    if isinstance(facets, dict) and isinstance(patch.get("facets"), dict):
        for key in [k for k, v in patch["facets"].items() if v is None]:
            facets.pop(key, None)
    return json.dumps(merged, separators=(",", ":"), ensure_ascii=False)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
