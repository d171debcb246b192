"""What a log line knows about the work it is part of: request id, tenant, task, catalog.

Fields are bound in a contextvar, so each RPC, HTTP request and task (its own asyncio task) carries its
own; a coroutine awaited directly shares its caller's, which lets an access line written after a call
show what the call learned (the task it enqueued, the catalog it touched).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Any

# Printed in this order, before any other field of a line.
CONTEXT_FIELDS = ("request_id", "tenant", "task_id", "catalog")

_bound: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("log_fields")


def bind(**fields: Any) -> None:
    """Add fields to every later line of the current context (None values are left out)."""
    _bound.set({**_bound.get({}), **{k: v for k, v in fields.items() if v is not None}})


@contextlib.contextmanager
def scoped(**fields: Any) -> Iterator[None]:
    """Only these fields, until the block ends (then what was bound before)."""
    token = _bound.set({k: v for k, v in fields.items() if v is not None})
    try:
        yield
    finally:
        _bound.reset(token)


def reset() -> None:
    """Forget every bound field (a long-lived context reused for unrelated work)."""
    _bound.set({})


def current() -> dict[str, Any]:
    """The context's fields: the request id and caller of the RPC being served, then what was bound."""
    from service.interceptors import current_principal, request_id

    fields: dict[str, Any] = {}
    if rid := request_id.get():
        fields["request_id"] = rid
    try:
        fields["tenant"] = current_principal().tenant_name
    except Exception:  # no authenticated caller in this context
        pass
    fields.update(_bound.get({}))
    return {k: fields[k] for k in CONTEXT_FIELDS if k in fields} | fields
