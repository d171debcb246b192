"""Named fault points for tests, read in one place: the setting CATALOG_INGEST_TEST_FAULT.

A comma-separated list of `name:seconds`; empty (the default) in production, where every point is a no-op.

- `apply_delay:S`: a worker waits S seconds after applying a task and before committing it (a long task,
  applied but not committed), its progress written first as a long task's would be.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from service.settings import PREFIX, Settings

if TYPE_CHECKING:
    from service.tasks.context import TaskContext

POINTS = frozenset({"apply_delay"})


@dataclass(frozen=True)
class Faults:
    apply_delay: float = 0.0

    async def applied(self, ctx: TaskContext) -> None:
        """The point between a task's last write and its commit."""
        if not self.apply_delay:
            return
        if ctx.progress_off_transaction:
            await ctx.write_progress()
        await asyncio.sleep(self.apply_delay)


def parse(spec: str) -> Faults:
    """`apply_delay:1.5[,...]`; an unknown point or a value that is not a number is a ValueError naming it."""
    points: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, _, value = item.partition(":")
        if name not in POINTS:
            raise ValueError(f"{PREFIX}TEST_FAULT: unknown fault point '{name}' (known: {', '.join(sorted(POINTS))})")
        try:
            points[name] = float(value)
        except ValueError:
            raise ValueError(f"{PREFIX}TEST_FAULT: '{item}' needs seconds, as in '{name}:1.5'") from None
    return Faults(**points)


def from_settings(settings: Settings) -> Faults:
    return parse(settings.test_fault)
