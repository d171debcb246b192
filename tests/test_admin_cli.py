"""The operator's commands (issue 12), run as a user runs them: `python -m service.cli ...` in a subprocess,
against the running service's database (both backends). Tokens list/revoke/expire, migrate --sql/current,
migrate-on-start off."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from service.db.schema_version import head
from tests.conftest import _pg_url, create_pg_database, drop_pg_database, start_stack
from tests.helpers import eventually
from tests.processes import ROOT

HEAD = head()  # the latest migration


def cli(database_url: str | None, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {"PATH": "/usr/bin:/bin"}
    if database_url:
        environment["CATALOG_INGEST_DATABASE_URL"] = database_url
    environment |= {f"CATALOG_INGEST_{k.upper()}": v for k, v in env.items()}
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def acli(database_url: str | None, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(cli, database_url, "--log-level", "WARNING", *args, **env)


async def tasks_status(stack: Any, token: str) -> int:
    response = await stack.http.get("/v1/tasks", headers={"Authorization": f"Bearer {token}"})
    return response.status_code


async def listed(database_url: str, *args: str) -> list[dict[str, Any]]:
    done = await acli(database_url, "tokens", "list", "--json", *args)
    assert done.returncode == 0, done.stderr
    return [orjson.loads(line) for line in done.stdout.splitlines()]


async def test_tokens_create_list_and_revoke(database_url) -> None:
    async with start_stack(database_url, auth_cache_seconds=1.0) as stack:
        made = await acli(database_url, "tokens", "create", "--tenant", "initech")
        assert made.returncode == 0, made.stderr
        token = made.stdout.strip()
        assert token.startswith("cit_")
        assert await tasks_status(stack, token) == 200

        rows = await listed(database_url, "--tenant", "initech")
        assert len(rows) == 1
        row = rows[0]
        assert row["tenant"] == "initech" and row["created"] and row["expires"] is None and row["revoked"] is None
        # The secret is shown once, at creation; never listed.
        table = await acli(database_url, "tokens", "list")
        assert token not in table.stdout and token not in orjson.dumps(rows).decode()
        assert table.stdout.split()[:6] == ["ID", "TENANT", "CREATED", "LAST", "USED", "EXPIRES"]
        assert {r["tenant"] for r in await listed(database_url)} == {"acme", "globex", "initech"}
        # The use is recorded in the background of the call.
        await eventually(lambda: listed(database_url, "--tenant", "initech"), lambda r: r[0]["last_used"] is not None)

        revoked = await acli(database_url, "tokens", "revoke", str(row["id"]))
        assert revoked.returncode == 0, revoked.stderr
        assert revoked.stdout.strip() == f"token {row['id']} revoked"
        started = time.monotonic()
        # Within the auth cache's lifetime (1 s here), the revoked token answers 401.
        await eventually(lambda: tasks_status(stack, token), lambda code: code == 401, timeout=5)
        assert time.monotonic() - started < 1.0 + 2.0
        assert (await listed(database_url, "--tenant", "initech"))[0]["revoked"] is not None
        # The other tenants' tokens still work.
        assert await tasks_status(stack, stack.tokens["acme"]) == 200

        unknown = await acli(database_url, "tokens", "revoke", "999999")
        assert unknown.returncode == 1 and unknown.stderr.strip() == "catalog-ingest: token 999999 not found"


async def test_an_expired_token_answers_401(database_url) -> None:
    async with start_stack(database_url) as stack:
        made = await acli(database_url, "tokens", "create", "--tenant", "acme", "--expires-in", "3s")
        assert made.returncode == 0, made.stderr
        token = made.stdout.strip()
        assert await tasks_status(stack, token) == 200
        (row,) = [r for r in await listed(database_url, "--tenant", "acme") if r["expires"]]
        assert row["expires"] > row["created"]
        # Cached before: the cache never outlives the expiry.
        await eventually(lambda: tasks_status(stack, token), lambda code: code == 401, timeout=10)
        days = await acli(database_url, "tokens", "create", "--tenant", "acme", "--expires-in", "90d")
        assert days.returncode == 0 and await tasks_status(stack, days.stdout.strip()) == 200


def test_bad_durations_are_usage_errors(tmp_path: Path) -> None:
    done = cli(f"sqlite:///{tmp_path}/x.db", "tokens", "create", "--tenant", "a", "--expires-in", "90 days")
    assert done.returncode == 2
    assert (
        done.stderr
        == "catalog-ingest: error: argument --expires-in: '90 days' is not a duration (like 90d, 12h, 30m, 45s)\n"
    )


@pytest.fixture
async def empty_pg() -> Any:
    """A PostgreSQL database nothing was migrated into."""
    name = await create_pg_database("ci_empty")
    yield _pg_url(name)
    await drop_pg_database(name)


@pytest.fixture(params=["postgresql", "sqlite"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql":
        return request.getfixturevalue("empty_pg")
    return f"sqlite:///{tmp_path}/empty.db"


async def test_migrate_sql_prints_and_runs_nothing_then_migrate_and_current(empty_database) -> None:
    printed = await acli(empty_database, "migrate", "--sql")
    assert printed.returncode == 0, printed.stderr
    assert "CREATE TABLE api_tokens" in printed.stdout and "ADD COLUMN revoked_at" in printed.stdout
    assert "CREATE TABLE alembic_version" in printed.stdout
    before = await acli(empty_database, "migrate", "current")
    assert before.returncode == 0 and before.stdout.startswith(f"none (latest {HEAD}; behind")

    pending = await acli(empty_database, "migrate", "--sql", "--from-revision", "0005")
    assert "CREATE TABLE api_tokens" not in pending.stdout and "ADD COLUMN expires_at" in pending.stdout

    migrated = await acli(empty_database, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    after = await acli(empty_database, "migrate", "current")
    assert after.stdout.strip() == f"{HEAD} (latest {HEAD}; up to date)"


async def test_serve_without_migrate_on_start_refuses_a_schema_behind(empty_database) -> None:
    # --database-url after the subcommand: the global option works there too.
    refused = await asyncio.to_thread(cli, None, "serve", "--database-url", empty_database, migrate_on_start="false")
    assert refused.returncode == 1, refused.stderr
    assert refused.stderr.strip().splitlines()[-1] == (
        f"catalog-ingest: the database schema is at revision none (empty database), this version needs {HEAD};"
        " run `catalog-ingest migrate` first (CATALOG_INGEST_MIGRATE_ON_START is false)"
    )
    # Nothing was created.
    assert (await acli(empty_database, "migrate", "current")).stdout.startswith("none")
    # Tokens cannot be made on it either, until it is migrated.
    token = await acli(empty_database, "tokens", "create", "--tenant", "a", migrate_on_start="no")
    assert token.returncode == 1 and "run `catalog-ingest migrate` first" in token.stderr
