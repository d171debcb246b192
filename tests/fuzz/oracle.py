"""The clear-error oracle: every fuzzed request is either refused clearly with nothing changed, or stored as sent.

For each request: snapshot every catalog table, send, classify the answer.
- 5xx, or gRPC INTERNAL / UNKNOWN: a failure (`fivexx`, `internal`).
- a 4xx or another gRPC code, or a task that ends FAILED: its message must name the problem (one of the
  names the case lists: a field, parameter, row or the body), else `unclear_error`; the catalog must read
  back byte for byte as before, else `changed_after_error`.
- success: the case's `verify` reads back what was written (after its task is DONE) and compares it with
  what was sent, else `stored_wrong`; a read must change nothing.
Failures are collected, deduplicated by (path, outcome, what the input was) and reported at the end, so a
run counts everything it tried rather than stopping at the first finding.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
import httpx
from grpc_status import rpc_status

from catalogingest.v1 import task_pb2
from tests.fuzz.snapshot import Snapshot, snapshot
from tests.fuzz.tally import SHOWN, Tally


def names_problem(message: str, names: tuple[str, ...], fields: tuple[str, ...] | list[str] = ()) -> bool:
    """Whether an error message (or its field violations) names one of the things the input got wrong."""
    said = (message + " " + " ".join(fields)).lower()
    return bool(message.strip()) and any(name.lower() in said for name in names)


# A verify step: given the answer (parsed JSON or a gRPC response) and the snapshots, the problems found
# with what was stored (empty: stored as sent), or None when every item was refused with a clear error.
Verify = Callable[[Any, Any, Snapshot, Snapshot], Awaitable[list[str] | None]]


@dataclass
class HttpCase:
    label: str  # the documented path, e.g. "PUT /v2/{collection}"
    what: str  # what is hostile about it, for deduplication
    method: str
    path: str
    query: str = ""  # already percent-encoded: hostile bytes go through as they are
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    names: tuple[str, ...] = ("body",)
    verify: Verify | None = None
    auth: bool = True
    # Why the rules require a refusal (an upload that did not end properly, R10; an unknown query parameter,
    # R9; an id breaking R1; a NUL, R5): then an accepted request is a failure, whatever its task does.
    must_refuse: str = ""
    # Sent as these bytes on a socket instead (a Content-Length or chunked framing no client library writes).
    raw: bytes | None = None

    def __post_init__(self) -> None:
        from tests.fuzz.http_common import UNKNOWN_PARAMS, encode_query

        for param in UNKNOWN_PARAMS:
            if not self.must_refuse and ("&" + self.query).find("&" + encode_query([(param, "")])) >= 0:
                self.must_refuse = f"unknown query parameter {param!r} (R9)"

    def url(self) -> str:
        return self.path + ("?" + self.query if self.query else "")

    def describe(self) -> str:
        body = (
            ""
            if self.body is None
            else " " + repr(self.body[:160]) + (f"... ({len(self.body)} bytes)" if len(self.body) > 160 else "")
        )
        extra = {k: (v[:40] + f"...({len(v)})" if len(v) > 40 else v) for k, v in self.headers.items()}
        return f"{self.method} {self.url()[:160]}{' ' + str(extra) if extra else ''}{body}"


@dataclass
class GrpcCase:
    label: str  # the RPC, e.g. "CatalogService/ReplaceRecords"
    what: str
    call: Callable[[Any], Awaitable[Any]]  # sends the request on the stack's channel
    shown: str  # the request, for the report
    names: tuple[str, ...] = ()
    verify: Verify | None = None
    writes: bool = False


async def _task_outcome(stack: Any, task_id: int, timeout: float = 30.0) -> task_pb2.Task:
    """The task once finished, as GetTask shows it (polled often: examples wait on hundreds of tasks)."""
    from tests.helpers import FINISHED

    deadline = time.monotonic() + timeout
    while True:
        response = await stack.tasks.GetTask(task_pb2.GetTaskRequest(id=task_id), metadata=stack.metadata())
        if response.task.status in FINISHED:
            return response.task
        if time.monotonic() > deadline:
            raise AssertionError(f"task {task_id} not finished within {timeout}s: {response.task}")
        await asyncio.sleep(0.01)


def _task_id(answer: Any, headers: Any = None) -> int | None:
    if headers is not None and headers.get("x-task-id"):
        return int(headers["x-task-id"])
    value = answer.get("task_id") if isinstance(answer, dict) else getattr(answer, "task_id", None)
    return int(value) if value else None


async def _after_success(
    stack: Any, label: str, case: Any, answer: Any, task_id: int | None, before: Snapshot
) -> tuple[list[str], str]:
    """Outcomes of an accepted request: wait for its task, then verify what was stored."""
    if task_id is not None:
        task = await _task_outcome(stack, task_id)
        if task.status == task_pb2.TASK_STATUS_FAILED:
            after = await snapshot(stack)
            outcomes = []
            error = task.error
            said = f"task {task_id} FAILED {error.reason}: {error.message} ({error.file} {error.row} {error.column})"
            clear = error.reason not in ("INTERNAL", "UNKNOWN", "") and names_problem(
                error.message, (*case.names, "row", "record", "item", "column"), [error.column, error.record_id]
            )
            outcomes.append("clear_error" if clear else "unclear_error")
            if (changed := before.diff(after, new_catalogs=True)) and error.reason != "INTERNAL":
                outcomes.append("changed_after_error")
                said += f"; changed: {changed}"
            if error.reason in ("INTERNAL", "UNKNOWN"):
                outcomes.append("internal")
            return outcomes, said
    after = await snapshot(stack)
    if case.verify is None:
        changed = before.diff(after)
        problems: list[str] | None = [f"a read changed the catalog: {changed}"] if changed and not writes(case) else []
    else:
        problems = await case.verify(stack, answer, before, after)
    if problems is None:
        return ["clear_error"], ""
    if problems:
        return ["stored_wrong"], "; ".join(problems)
    return ["ok_stored"], ""


def writes(case: Any) -> bool:
    return case.writes if isinstance(case, GrpcCase) else case.method != "GET"


async def check_http(stack: Any, tally: Tally, case: HttpCase) -> None:
    began = time.monotonic()
    try:
        await _check_http(stack, tally, case)
    finally:
        tally.seconds[case.label] += time.monotonic() - began


async def _check_http(stack: Any, tally: Tally, case: HttpCase) -> None:
    before = await snapshot(stack)
    headers = {**(stack.auth() if case.auth else {}), **case.headers}
    started = time.monotonic()
    if case.raw is not None:
        await _check_raw(stack, tally, case, before)
        return
    try:
        response = await stack.http.request(case.method, case.url(), content=case.body, headers=headers)
    except httpx.HTTPError as exc:
        outcomes = ["no_answer"]
        if changed := before.diff(await snapshot(stack)):
            outcomes.append("changed_after_error")
        tally.add(case.label, case.what, outcomes, case.describe(), f"{type(exc).__name__}: {exc} {changed}")
        return
    answer_text = f"{response.status_code} {response.text[:200]!r} ({time.monotonic() - started:.2f}s)"
    try:
        answer: Any = response.json()
    except ValueError:
        answer = None
    outcomes: list[str] = []
    if response.status_code >= 500:
        outcomes.append("fivexx")
        after = await snapshot(stack)
        if before.diff(after):
            outcomes.append("changed_after_error")
    elif response.status_code >= 300:  # a redirect answers nothing about the request either
        message = answer.get("message", "") if isinstance(answer, dict) else ""
        fields = [v.get("field", "") for v in answer.get("field_violations", [])] if isinstance(answer, dict) else []
        names = (*case.names, "json") if case.body is not None else case.names
        outcomes.append("clear_error" if names_problem(str(message), names, fields) else "unclear_error")
        after = await snapshot(stack)
        if changed := before.diff(after) or (
            ["tasks: a task was created"] if after.last_task_id != before.last_task_id else []
        ):
            outcomes.append("changed_after_error")
            answer_text += f"; changed: {changed}"
    else:
        if case.must_refuse:
            outcomes.append("accepted_invalid")
            answer_text += f"; accepted although {case.must_refuse}"
        found, said = await _after_success(stack, case.label, case, answer, _task_id(answer, response.headers), before)
        outcomes += found
        answer_text += ("; " + said) if said else ""
    tally.add(case.label, case.what, outcomes, case.describe(), answer_text)


async def _check_raw(stack: Any, tally: Tally, case: HttpCase, before: Snapshot) -> None:
    """A request with framing no client library writes, on a socket; the client ends its side after sending.
    An answer must be a 4xx; no answer is right only for a body that never arrived whole."""
    assert case.raw is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", stack.settings.http_port)
    head = f"{case.method} {case.url()} HTTP/1.1\r\nHost: fuzz\r\nAuthorization: {stack.auth()['Authorization']}\r\n"
    writer.write(head.encode() + case.raw)
    await writer.drain()
    writer.write_eof()
    try:
        answer = await asyncio.wait_for(reader.read(4096), 10)
    except (TimeoutError, ConnectionError):
        answer = b""
    writer.close()
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0
    outcomes = []
    if status >= 500:
        outcomes.append("fivexx")
    elif 200 <= status < 300:
        outcomes.append("accepted_invalid")
    else:
        message = answer.split(b"\r\n\r\n", 1)[-1].decode("utf-8", "replace")
        clear = status == 0 or names_problem(message, (*case.names, "invalid http request"))
        outcomes.append("clear_error" if clear else "unclear_error")
    after = await snapshot(stack)
    changed = before.diff(after) or (["a task was created"] if after.last_task_id != before.last_task_id else [])
    if changed:
        outcomes.append("changed_after_error")
    tally.add(case.label, case.what, outcomes, case.describe(), f"{answer[:200]!r} {changed}")


async def check_grpc(stack: Any, tally: Tally, case: GrpcCase) -> None:
    began = time.monotonic()
    try:
        await _check_grpc(stack, tally, case)
    finally:
        tally.seconds[case.label] += time.monotonic() - began


async def _check_grpc(stack: Any, tally: Tally, case: GrpcCase) -> None:
    before = await snapshot(stack)
    outcomes: list[str] = []
    answer_text = ""
    try:
        answer = await case.call(stack)
    except grpc.aio.AioRpcError as error:
        code = error.code()
        answer_text = f"{code.name}: {error.details()!r}"[:SHOWN]
        fields: list[str] = []
        try:
            status = rpc_status.from_call(error)
        except ValueError:
            status = None
        if status is not None:
            from tests.helpers import error_details

            try:
                fields = error_details(error)[0]
            except AssertionError:
                fields = []
        if code in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN):
            outcomes.append("internal")
        else:
            names = case.names or ()
            outcomes.append("clear_error" if names_problem(error.details() or "", names, fields) else "unclear_error")
        after = await snapshot(stack)
        if changed := before.diff(after) or (
            ["tasks: a task was created"] if after.last_task_id != before.last_task_id else []
        ):
            outcomes.append("changed_after_error")
            answer_text += f"; changed: {changed}"
    else:
        found, said = await _after_success(stack, case.label, case, answer, _task_id(answer), before)
        outcomes += found
        answer_text = said or "OK"
    tally.add(case.label, case.what, outcomes, case.shown, answer_text)
