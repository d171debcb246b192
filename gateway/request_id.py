"""Every request has an id: the caller's `X-Request-Id` if it sent a usable one, else a new one.

The id is stored in the request state, forwarded to the server as metadata and echoed in the response.
"""

from __future__ import annotations

import re
import uuid

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "x-request-id"
_USABLE = re.compile(r"[A-Za-z0-9._:/+=-]{1,128}")


def request_id(request: Request) -> str:
    """The id the middleware gave this request (a new one if the middleware did not run)."""
    state = request.scope.setdefault("state", {})
    return state.setdefault("request_id", uuid.uuid4().hex)


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v.decode("latin-1") for k, v in scope["headers"] if k.lower() == HEADER.encode()), "")
        rid = given if _USABLE.fullmatch(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[HEADER] = rid
            await send(message)

        await self.app(scope, receive, send_with_id)
