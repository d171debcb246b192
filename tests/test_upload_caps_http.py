"""CSV uploads the server refuses over REST while their body is still being sent: each answer is the
server's refusal (past the upload caps: 429 with Retry-After; a bad header: 400 or 403 naming the field),
even when grpc.aio loses the server's status to a write in flight (grpc/grpc#36066); never a 500, never a
503 for a refusal the gateway could not see, and a refused upload creates no task."""

from __future__ import annotations

import asyncio
import collections

from tests.conftest import start_stack

CSV = b"id,item_name\n" + "".join(f"id-{n},Item {n}\n" for n in range(200_000)).encode()  # ~4 MB


async def test_uploads_past_the_cap_are_refused_with_retry_after_never_500(database_url: str) -> None:
    async with start_stack(database_url, max_uploads_per_tenant=2, worker=False) as stack:
        answers: collections.Counter[tuple[int, bool]] = collections.Counter()
        accepted = 0
        for _ in range(3):

            async def put() -> tuple[int, bool]:
                response = await stack.http.put(
                    "/v1/catalog", files={"items": ("items.csv", CSV, "text/csv")}, headers=stack.auth(), timeout=120
                )
                assert response.json().get("reason") != "UPLOAD_ENDED_EARLY", response.text
                return response.status_code, "retry-after" in response.headers

            got = await asyncio.gather(*(put() for _ in range(12)))
            answers.update(got)
            accepted += sum(1 for status, _ in got if status == 200)
        assert set(answers) <= {(200, False), (429, True), (503, True)}, answers
        assert answers[(429, True)] + answers[(503, True)] > 0, answers
        listed = await stack.http.get("/v1/tasks", headers=stack.auth())
        assert listed.status_code == 200 and listed.json()["total_count"] == accepted


async def test_a_refusal_at_the_header_is_answered_while_the_body_is_still_sent(http_stack) -> None:
    """The server refuses a bad header while the gateway is still forwarding a large body: grpc.aio loses the
    server's status to the write in flight, and the gateway answers the server's refusal (400 or 403 naming
    the field), not 503 "retry", which would have the client send the same bad request again."""
    auth = http_stack.auth()
    cases = [({"notification_url": "not a url"}, 400, "notification_url"), ({"key": "globex"}, 403, "key")]
    for params, status, field in cases * 4:
        response = await http_stack.http.patch(
            "/v1/catalog", params=params, files={"items": ("items.csv", CSV, "text/csv")}, headers=auth, timeout=120
        )
        assert response.status_code == status, (params, response.text)
        assert field in response.json()["message"], response.text
    listed = await http_stack.http.get("/v1/tasks", headers=auth)
    assert listed.json()["total_count"] == 0


async def test_a_gateway_apart_from_its_server_gets_the_refusal_after_the_body_is_read(database_url: str) -> None:
    """A gateway in another process than its gRPC server (here: a memory budget of its own) cannot take the
    refusal from the server's side, so the server reads the refused body to its end first (within
    CATALOG_INGEST_REFUSED_STREAM_DRAIN_BYTES, 32 MiB) and its status arrives whole: 400 naming the field."""
    async with start_stack(database_url, worker=False, shared_budget=False) as stack:
        auth = stack.auth()
        for _ in range(4):
            response = await stack.http.patch(
                "/v1/catalog",
                params={"notification_url": "not a url"},
                files={"items": ("items.csv", CSV, "text/csv")},
                headers=auth,
                timeout=120,
            )
            assert response.status_code == 400, response.text
            assert "notification_url" in response.json()["message"], response.text
        listed = await stack.http.get("/v1/tasks", headers=auth)
        assert listed.json()["total_count"] == 0
