"""The cost of a dry run (issue 14): a CSV sync of the whole catalog run dry, then for real, after the
end-to-end load. Both are timed from the task's start to its finish (the worker's part; the upload is the
same for both). The sync changes every item and variation (another seed: new scores and groups), so the
dry run compares as much as a sync can give it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, replace

from service.bench.e2e import Service, multipart_body
from service.bench.synthetic import CatalogShape


@dataclass(frozen=True)
class DryRunCost:
    dry_seconds: float
    real_seconds: float

    @property
    def ratio(self) -> float:
        return self.dry_seconds / self.real_seconds


def _applied(task: dict) -> float:
    start = dt.datetime.fromisoformat(task["start_time"])
    return (dt.datetime.fromisoformat(task["finish_time"]) - start).total_seconds()


async def _sync(service: Service, shape: CatalogShape, dry_run: bool) -> dict:
    boundary = uuid.uuid4().hex
    params = {"key": "bench", "force": "true"} | ({"dry_run": "true"} if dry_run else {})
    response = await service.http.put(
        "/v1/catalog",
        params=params,
        headers={**service.auth, "Content-Type": f"multipart/form-data; boundary={boundary}"},
        content=multipart_body(shape, boundary),
    )
    response.raise_for_status()
    return await service.wait_task(response.json()["task_id"])


async def dry_run_cost(service: Service, shape: CatalogShape) -> DryRunCost:
    """The catalog of `shape` must be loaded: a changed sync of it, dry then real."""
    changed = replace(shape, seed=shape.seed + 1)
    dry = await _sync(service, changed, dry_run=True)
    if "preview" not in (dry.get("result") or {}):
        raise RuntimeError(f"the dry run did not answer a preview: {dry}")
    real = await _sync(service, changed, dry_run=False)
    return DryRunCost(_applied(dry), _applied(real))
