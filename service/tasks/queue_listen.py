"""PostgreSQL's wake-up for workers: LISTEN on a connection of its own, made again whenever it is lost.

The poll interval covers any gap; on every (re)connection the worker is woken once, for whatever was
enqueued while nobody listened.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import asyncpg

from service.db.outage import is_database_outage
from service.db.postgres_url import connect_args

log = logging.getLogger(__name__)


async def listen(database_url: str, channel: str, wake: Callable[[], None], stop: asyncio.Event, check: float) -> None:
    """Call `wake` on each NOTIFY on `channel` until `stop`; ask the connection every `check` seconds whether it
    still answers (a half-open connection tells nothing)."""
    # The engine's own URL is empty: a PostgreSQL URL reaches asyncpg as connect arguments (db.postgres_url).
    connect = connect_args(database_url)
    retry = 0.2
    while not stop.is_set():
        listener: asyncpg.Connection | None = None
        try:
            listener = await asyncpg.connect(**{"timeout": 10, **connect})
            lost = asyncio.Event()
            listener.add_termination_listener(lambda _conn, lost=lost: lost.set())
            await listener.add_listener(channel, lambda *_: wake())
            # Whatever was enqueued while nobody listened: look now.
            wake()
            retry = 0.2
            while not stop.is_set() and not lost.is_set() and not listener.is_closed():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(_first(stop, lost), check)
                if not stop.is_set() and not lost.is_set():
                    await listener.execute("SELECT 1", timeout=check)
            if not stop.is_set():
                log.warning("LISTEN connection lost; connecting again (polling meanwhile)")
        except Exception as exc:
            if is_database_outage(exc):
                log.warning(
                    "LISTEN connection failed; polling meanwhile: database unavailable (%s)", type(exc).__name__
                )
            else:
                log.error("LISTEN connection failed; polling meanwhile", exc_info=exc)
        finally:
            if listener is not None:
                listener.terminate()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), retry)
        retry = min(retry * 2, 5.0)


async def _first(*events: asyncio.Event) -> None:
    waiters = [asyncio.create_task(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
