"""`catalog-ingest upload|tasks|records` as a user runs them, against the real service (both backends)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

from tests.conftest import Stack, free_port

# The commands are clients of the API: one backend is enough here (test_client_server.py runs the client
# library on both); each run starts Python processes, the slowest part of the suite.
pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


async def cli(stack: Stack | None, *args: str, token: str | None = None) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CATALOG_INGEST_")}
    if stack is not None:
        env["CATALOG_INGEST_SERVER"] = f"127.0.0.1:{stack.settings.grpc_port}"
        env["CATALOG_INGEST_TOKEN"] = token or stack.tokens["acme"]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "service.cli_entry",
        *args,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_upload_follow_of_the_examples_ends_done_then_reads_back(http_stack: Stack) -> None:
    files = ["--items", "examples/items.csv", "--variations", "examples/variations.csv"]
    code, out, err = await cli(http_stack, "upload", *files, "--item-groups", "examples/item_groups.csv", "--follow")
    assert code == 0, (out, err)
    assert "DONE" in out and "items: created 4" in out
    assert "upload" in err and "records" in err  # the two progress bars (stderr)
    code, out, _ = await cli(http_stack, "records", "get", "items", "shirt-1", "--json")
    assert code == 0 and json.loads(out)["items"][0]["name"] == "Oxford Shirt"
    url = f"http://127.0.0.1:{http_stack.settings.http_port}"
    code, out, err = await cli(
        http_stack, "upload", "--http", url, "--delta", "--items", "examples/items.csv", "--follow"
    )
    assert code == 0, (out, err)
    assert "unchanged 4" in out
    code, out, _ = await cli(http_stack, "tasks", "list", "--json", "--http", url)
    assert code == 0 and [t["status"] for t in json.loads(out)["tasks"]] == ["DONE", "DONE"]


async def test_a_failing_file_exits_1_naming_the_row(http_stack: Stack) -> None:
    code, out, _ = await cli(http_stack, "upload", "--delta", "--items", "examples/items_bad.csv", "--follow")
    assert code == 1
    assert "FAILED" in out and "row 3" in out and "column suggested_score" in out
    code, out, _ = await cli(http_stack, "tasks", "watch", "1", "--json")
    assert code == 1 and json.loads(out.splitlines()[-1])["error"]["row"] == 3


async def test_exit_codes_for_usage_and_connection_problems(http_stack: Stack) -> None:
    no_files, no_token, unreachable, bad_token = await asyncio.gather(
        cli(http_stack, "upload", "--section", "x"),
        cli(None, "tasks", "get", "1"),
        cli(http_stack, "tasks", "get", "1", "--server", f"127.0.0.1:{free_port()}"),
        cli(http_stack, "tasks", "get", "1", token="not-a-token"),
    )
    assert no_files[0] == 2 and "--items" in no_files[2]
    assert no_token[0] == 2 and "CATALOG_INGEST_TOKEN" in no_token[2]
    assert unreachable[0] == 3 and "cannot reach" in unreachable[2]
    assert bad_token[0] == 1 and "UNAUTHENTICATED" in bad_token[2]
