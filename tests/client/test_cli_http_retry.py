"""The client commands' REST path sends a read again after a 429 or 503, waiting its Retry-After; a write
is never sent twice."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from service.cli_backends import ConnectionProblem, HttpBackend


class Busy(BaseHTTPRequestHandler):
    """Answers 503 (Retry-After: 0) to the first two requests of each method, then 200."""

    seen: list[str] = []

    def _answer(self) -> None:
        Busy.seen.append(self.command)
        busy = Busy.seen.count(self.command) <= 2
        body = json.dumps({"message": "busy", "code": "UNAVAILABLE"} if busy else {"id": 1}).encode()
        self.send_response(503 if busy else 200)
        if busy:
            self.send_header("Retry-After", "0")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def busy_url() -> Iterator[str]:
    Busy.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Busy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    thread.join(5)


def test_a_read_is_sent_again_after_retry_after(busy_url: str) -> None:
    backend = HttpBackend(busy_url, "token", cacert=None)
    assert backend.get_task(1) == {"id": 1}
    assert Busy.seen == ["GET", "GET", "GET"]


def test_a_write_is_not_sent_again(busy_url: str) -> None:
    backend = HttpBackend(busy_url, "token", cacert=None)
    with pytest.raises(ConnectionProblem):  # 503: exit code 3
        backend.cancel_task(1)
    assert Busy.seen == ["POST"]
