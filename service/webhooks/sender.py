"""The workers' webhook loop: claim due deliveries, POST them, record each outcome, retry with backoff.

It runs beside the task loop and shares nothing with it but the engine: no database connection is held
while a request is in flight, and a slow or dead receiver only occupies one of this loop's own slots
(webhook_concurrency), so it never delays a task, nor the next task of a catalog.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from service.db.outage import is_database_outage
from service.settings import Settings
from service.webhooks import signing, store

log = logging.getLogger(__name__)
USER_AGENT = "catalog-ingest-webhooks/1"


def backoff(settings: Settings, attempt: int) -> float:
    """Seconds before the attempt after `attempt` (1-based): doubled each time, capped."""
    return min(settings.webhook_backoff_seconds * 2 ** (attempt - 1), settings.webhook_backoff_max_seconds)


class WebhookSender:
    def __init__(self, engine: AsyncEngine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self.slots = max(settings.webhook_concurrency, 1)
        # Longer than one attempt can take: only a worker that died mid-attempt lets it run out.
        self.lease = settings.webhook_timeout_seconds * 2 + 5
        self._running: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        async with httpx.AsyncClient(
            timeout=self.settings.webhook_timeout_seconds, follow_redirects=False, headers={"User-Agent": USER_AGENT}
        ) as client:
            try:
                while not stop.is_set():
                    self._wake.clear()
                    free = self.slots - len(self._running)
                    claimed = await self._claim(free) if free > 0 else []
                    for delivery in claimed:
                        runner = asyncio.create_task(self._deliver(client, delivery))
                        self._running.add(runner)
                        runner.add_done_callback(self._finished)
                    if claimed and len(claimed) == free:
                        continue  # more may be due: claim again as soon as a slot frees up
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(_first(stop, self._wake), self.settings.webhook_poll_interval)
            finally:
                # An attempt cut short here is due again when its lease ends (at least once).
                if self._running:
                    _done, left = await asyncio.wait(set(self._running), timeout=1.0)
                    for runner in left:
                        runner.cancel()
                    if left:
                        await asyncio.wait(left)

    def _finished(self, runner: asyncio.Task[None]) -> None:
        self._running.discard(runner)
        self._wake.set()

    async def _claim(self, limit: int) -> list[store.Claimed]:
        try:
            async with self.engine.connect() as conn:
                return await store.claim_due(conn, limit, self.lease)
        except Exception as exc:
            _log_failure("claiming webhook deliveries failed; retrying after the poll interval", exc)
            return []

    async def _deliver(self, client: httpx.AsyncClient, delivery: store.Claimed) -> None:
        status_code: int | None = None
        try:
            async with self.engine.connect() as conn:
                secret = await store.secret_for(conn, delivery.tenant_id)
            headers = {
                "Content-Type": "application/json",
                signing.SIGNATURE_HEADER: signing.sign(secret, delivery.body),
                signing.DELIVERY_HEADER: delivery.id,
            }
            response = await client.post(delivery.url, content=delivery.body, headers=headers)
            status_code = response.status_code
            if 200 <= status_code < 300:
                async with self.engine.connect() as conn:
                    await store.record_delivered(conn, delivery.id, delivery.attempt, status_code)
                log.info(
                    "webhook %s of task %d delivered (attempt %d)", delivery.id, delivery.task_id, delivery.attempt
                )
                return
            error = f"HTTP {status_code}: {response.text[:200]}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        except Exception as exc:
            # The database is away or the delivery cannot be sent: its lease runs out and it is due again.
            _log_failure(f"webhook {delivery.id} of task {delivery.task_id}: attempt {delivery.attempt} failed", exc)
            return
        await self._record_failure(delivery, status_code, error)

    async def _record_failure(self, delivery: store.Claimed, status_code: int | None, error: str) -> None:
        retry_in = backoff(self.settings, delivery.attempt)
        try:
            async with self.engine.connect() as conn:
                status = await store.record_failed(
                    conn,
                    delivery.id,
                    delivery.attempt,
                    status_code=status_code,
                    error=error,
                    retry_in=retry_in,
                    max_attempts=self.settings.webhook_max_attempts,
                    max_age_seconds=self.settings.webhook_max_age_seconds,
                )
        except Exception as exc:
            _log_failure(f"recording webhook {delivery.id}'s failed attempt failed (it is due again later)", exc)
            return
        if status == "GAVE_UP":
            log.warning(
                "webhook %s of task %d given up after %d attempt(s): %s",
                delivery.id,
                delivery.task_id,
                delivery.attempt,
                error,
            )
        else:
            log.info(
                "webhook %s of task %d: attempt %d failed (%s); retrying in %.1fs",
                delivery.id,
                delivery.task_id,
                delivery.attempt,
                error,
                retry_in,
            )


async def _first(*events: asyncio.Event) -> None:
    waiters = [asyncio.create_task(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


def _log_failure(what: str, exc: BaseException) -> None:
    if is_database_outage(exc):
        log.warning("%s: database unavailable (%s)", what, type(exc).__name__)
    else:
        log.error("%s", what, exc_info=exc)
