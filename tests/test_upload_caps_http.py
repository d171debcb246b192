"""Concurrent CSV uploads past the upload caps over REST: each answer is 200, or a refusal a client retries
(429 or 503, with Retry-After); never a 500, even when grpc.aio loses the server's status to a write in
flight (grpc/grpc#36066), and a refused upload creates no task."""

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
                return response.status_code, "retry-after" in response.headers

            got = await asyncio.gather(*(put() for _ in range(12)))
            answers.update(got)
            accepted += sum(1 for status, _ in got if status == 200)
        assert set(answers) <= {(200, False), (429, True), (503, True)}, answers
        assert answers[(429, True)] + answers[(503, True)] > 0, answers
        listed = await stack.http.get("/v1/tasks", headers=stack.auth())
        assert listed.status_code == 200 and listed.json()["total_count"] == accepted
