"""Slow HTTP clients against `catalog-ingest serve` in its own process: a header trickle and a body trickle
are cut off with a 408 after the documented timeouts, the connection is closed, and no database connection
is held for them meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator

import asyncpg
import orjson
import pytest

from tests.conftest import BACKENDS
from tests.faults.http_service import Service, serving
from tests.figures import record

HEADER_TIMEOUT = 1.0
BODY_IDLE_TIMEOUT = 1.0
MIN_RATE = 200  # bytes per second
TRICKLE_PAUSE = 0.25  # seconds between bytes: well under the idle timeout, far under the minimum rate


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """CI runs this on PostgreSQL (the budget and the timeouts are the servers', not the database's); --long on
    both backends."""
    if metafunc.function.__name__ == "test_slow_clients_are_cut_off_with_408_and_hold_nothing":
        metafunc.parametrize("backend", BACKENDS if metafunc.config.getoption("--long") else ["postgresql"])


async def test_slow_clients_are_cut_off_with_408_and_hold_nothing(database_url, processes) -> None:
    """One service, four slow clients in turn (each phase checks its own answer and what stayed held)."""
    async with serving(
        database_url,
        processes,
        header_timeout_seconds=HEADER_TIMEOUT,
        body_idle_timeout_seconds=BODY_IDLE_TIMEOUT,
        body_min_bytes_per_second=MIN_RATE,
    ) as service:
        await silent_connection(service)
        await header_trickle(service)
        await json_body_trickle(service)
        await upload_body_trickle(service)


async def open_connection(service: Service) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", service.http.base_url.port)


async def trickle(writer: asyncio.StreamWriter, data: bytes, reader: asyncio.StreamReader) -> float:
    """Sends `data` a byte at a time until the server answers or closes (or for 8 s); the seconds that took."""
    started = time.monotonic()
    for byte in data:
        if reader.at_eof() or len(reader._buffer) > 0 or time.monotonic() - started > 8:  # type: ignore[attr-defined]
            break
        try:
            writer.write(bytes([byte]))
            await writer.drain()
        except ConnectionError:
            break
        await asyncio.sleep(TRICKLE_PAUSE)
    return time.monotonic() - started


async def answer(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes] | None:
    """The status, headers and body of the response; then the server must close the connection.

    None when the connection was reset: the server closed it with bytes of ours it had not read (we were
    still trickling as it answered), and the kernel's RST may then discard its 408 before we read it. The
    connection was cut all the same, which is what protects the server."""
    try:
        raw = await asyncio.wait_for(reader.read(-1), timeout=5)  # to EOF: the server closed the connection
    except TimeoutError:
        raise AssertionError("the server neither answered nor closed the connection") from None
    except ConnectionResetError:
        return None
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode().split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in header_lines)
    return int(status_line.split()[1]), headers, body


async def transactions_open(database_url: str) -> int:
    """Sessions of the service's database in a transaction for more than half a second (a worker's claims
    and heartbeats take milliseconds; a request waiting on its client would stay)."""
    if not database_url.startswith("postgresql"):
        return 0
    name = database_url.rsplit("/", 1)[1]
    admin = await asyncpg.connect(database_url)
    try:
        return await admin.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()"
            " AND now() - xact_start > interval '0.5 seconds'",
            name,
        )
    finally:
        await admin.close()


@contextlib.asynccontextmanager
async def watching_transactions(database_url: str) -> AsyncIterator[list[int]]:
    """The most sessions seen in a transaction while the block runs (sampled every 50 ms)."""
    seen = [0]

    async def watch() -> None:
        while True:
            seen[0] = max(seen[0], await transactions_open(database_url))
            await asyncio.sleep(0.05)

    task = asyncio.create_task(watch())
    try:
        yield seen
    finally:
        task.cancel()


def assert_cut_off(answered: tuple[int, dict[str, str], bytes] | None, reason: str | None = None) -> None:
    """A 408 with `Connection: close` (and the reason, when given); or a reset, which may come first when the
    server closes with the trickled bytes unread."""
    if answered is None:
        return
    status, headers, content = answered
    assert status == 408, content
    assert headers["connection"] == "close"
    if reason is not None:
        assert orjson.loads(content)["reason"] == reason


def record_cut(service: Service, what: str, took: float, answered: tuple[int, dict[str, str], bytes] | None) -> None:
    record(
        f"slow http {service.backend} {what}",
        tried=1,
        fivexx=0,
        cut_after_s=round(took, 1),
        answer="reset" if answered is None else answered[0],
    )


async def header_trickle(service: Service) -> None:
    reader, writer = await open_connection(service)
    request = f"PUT /v2/items?section=slow HTTP/1.1\r\nHost: x\r\nAuthorization: {service.auth['Authorization']}\r\n"
    async with watching_transactions(service.database_url) as held:
        took = await trickle(writer, request.encode() + b"X-Padding: " + b"a" * 200, reader)
        answered = await answer(reader)
    writer.close()
    assert_cut_off(answered, "HEADER_TIMEOUT")
    assert HEADER_TIMEOUT <= took < HEADER_TIMEOUT + 2
    assert held[0] == 0
    record_cut(service, "header trickle", took, answered)


async def silent_connection(service: Service) -> None:
    reader, writer = await open_connection(service)
    started = time.monotonic()
    assert await asyncio.wait_for(reader.read(-1), timeout=HEADER_TIMEOUT + 5) == b""
    assert time.monotonic() - started >= HEADER_TIMEOUT
    writer.close()


async def json_body_trickle(service: Service) -> None:
    body = orjson.dumps({"items": [{"id": "slow", "data": {"text": "x" * 2000}}]})
    reader, writer = await open_connection(service)
    head = (
        f"PUT /v2/items?section=slow HTTP/1.1\r\nHost: x\r\nAuthorization: {service.auth['Authorization']}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    writer.write(head.encode())
    async with watching_transactions(service.database_url) as held:
        took = await trickle(writer, body, reader)
        answered = await answer(reader)
    writer.close()
    assert_cut_off(answered, "BODY_TIMEOUT")
    assert BODY_IDLE_TIMEOUT <= took < BODY_IDLE_TIMEOUT + 2
    assert held[0] == 0
    assert await service.count("slow") == 0
    record_cut(service, "json body trickle", took, answered)


async def upload_body_trickle(service: Service) -> None:
    boundary = uuid.uuid4().hex
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="items"; filename="items.csv"\r\n'
        "Content-Type: text/csv\r\n\r\nid,item_name\n" + "".join(f"slow-{n},Item {n}\n" for n in range(200))
    ).encode()
    reader, writer = await open_connection(service)
    head = (
        f"PATCH /v1/catalog?section=slow-upload HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: {service.auth['Authorization']}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {len(body) + 40}\r\n\r\n"
    )
    writer.write(head.encode())
    took = await trickle(writer, body, reader)
    answered = await answer(reader)
    writer.close()
    assert_cut_off(answered)
    assert BODY_IDLE_TIMEOUT <= took < BODY_IDLE_TIMEOUT + 2
    # The upload's stream was broken off: its transaction is gone, and no task exists.
    deadline = time.monotonic() + 10
    while await transactions_open(service.database_url):
        assert time.monotonic() < deadline, "a transaction stayed open after the upload was cut off"
        await asyncio.sleep(0.05)
    listed = await service.http.get("/v1/tasks", params={"section": "slow-upload"}, headers=service.auth)
    if listed.status_code != 404:
        assert listed.status_code == 200, listed.text
        assert [t for t in listed.json()["tasks"] if t["status"] in ("QUEUED", "IN_PROGRESS", "DONE")] == []
    record_cut(service, "upload body trickle", took, answered)
