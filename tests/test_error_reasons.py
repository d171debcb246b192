"""Every error reason is declared in protos/catalogingest/v1/error_reason.proto, used as ErrorReason.<NAME>, sent
as the same UPPER_SNAKE string, and listed in docs/errors.md."""

from __future__ import annotations

import ast
import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2

from catalog_ingest_client.retry import RetryPolicy, delay_before_retry
from catalogingest.v1 import error_reason_pb2
from service.error_reasons import PREFIX, ErrorReason, is_retryable
from service.errors import CatalogIngestError, NotFound, TaskFailed, invalid_field
from service.interceptors import to_rpc_status
from tests.gateway.fakes import rich_status

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("service", "gateway", "catalog_ingest_client")
C = grpc.StatusCode
# Where a reason is raised with a code known from the call alone: the callee's code, or "task" for a failed task.
CALLEE_CODES: dict[str, grpc.StatusCode | str] = {
    "InvalidArgument": C.INVALID_ARGUMENT,
    "invalid_field": C.INVALID_ARGUMENT,
    "_bad_request": C.INVALID_ARGUMENT,
    "Unauthenticated": C.UNAUTHENTICATED,
    "PermissionDenied": C.PERMISSION_DENIED,
    "NotFound": C.NOT_FOUND,
    "AlreadyExists": C.ALREADY_EXISTS,
    "FailedPrecondition": C.FAILED_PRECONDITION,
    "Aborted": C.ABORTED,
    "DeadlineExceeded": C.DEADLINE_EXCEEDED,
    "ResourceExhausted": C.RESOURCE_EXHAUSTED,
    "RateLimited": C.RESOURCE_EXHAUSTED,
    "Unavailable": C.UNAVAILABLE,
    "TaskFailed": "task",
    "CsvError": "task",
    "IngestionFailed": "task",
    "_link_failure": "task",
}


def _modules() -> Iterator[tuple[Path, ast.Module]]:
    for package in SOURCES:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield path, ast.parse(path.read_text(), str(path))


def _reason_attribute(node: ast.AST) -> str | None:
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "ErrorReason":
        return node.attr
    return None


def _callee(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def _text(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value != ""


def _upper_snake(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.isupper() and "_" in node.value


def test_every_reason_the_code_names_is_declared() -> None:
    named = {
        (path.relative_to(ROOT), node.lineno, name)
        for path, tree in _modules()
        for node in ast.walk(tree)
        if (name := _reason_attribute(node)) is not None
    }
    assert len(named) > 60, "the scan finds the raise sites"
    undeclared = sorted((str(p), line, n) for p, line, n in named if n not in ErrorReason.__members__)
    assert undeclared == []
    # And the other way: a declared reason nothing raises is a stale line in the contract and the docs.
    assert set(ErrorReason.__members__) - {n for _, _, n in named} == set()


def test_no_reason_is_a_bare_string() -> None:
    """`reason="X"`, `{"reason": "X"}`, `reason = "X"` or an UPPER_SNAKE argument of a raise: declare it instead."""
    bare = []
    for path, tree in _modules():
        for node in ast.walk(tree):
            where = (str(path.relative_to(ROOT)), getattr(node, "lineno", 0))
            if isinstance(node, ast.keyword) and node.arg == "reason" and _text(node.value):
                bare.append(where)
            elif isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values, strict=True):
                    if isinstance(key, ast.Constant) and key.value == "reason" and _text(value):
                        bare.append(where)
            elif isinstance(node, ast.Assign) and _text(node.value):
                names = [t.id if isinstance(t, ast.Name) else getattr(t, "attr", "") for t in node.targets]
                if "reason" in names:
                    bare.append(where)
            elif isinstance(node, ast.Call) and _callee(node) in CALLEE_CODES:
                if any(_upper_snake(arg) for arg in node.args):
                    bare.append(where)
    assert bare == []


def _call_codes(call: ast.Call) -> tuple[set[grpc.StatusCode], set[int]] | str | None:
    """What a call raising with a reason answers: codes and HTTP statuses, "task", or None when unknown here."""
    callee = _callee(call)
    if callee == "GatewayError" and len(call.args) >= 2:
        status, code = call.args[0], call.args[1]
        if isinstance(code, ast.Attribute) and code.attr == "name" and isinstance(code.value, ast.Attribute):
            code_name = code.value.attr  # grpc.StatusCode.X.name
        else:
            code_name = code.value if isinstance(code, ast.Constant) else ""
        if isinstance(status, ast.Constant) and code_name:
            return {C[code_name]}, {status.value}
        return None
    known = CALLEE_CODES.get(callee)
    if known is None or isinstance(known, str):
        return known
    return {known}, set()


def test_each_raise_sends_a_code_its_reason_declares() -> None:
    checked = 0
    wrong = []
    for path, tree in _modules():
        for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
            reasons = [r for r in map(_reason_attribute, [*call.args, *(k.value for k in call.keywords)]) if r]
            answer = _call_codes(call)
            for name in reasons:
                if answer is None or name not in ErrorReason.__members__:
                    continue
                reason = ErrorReason[name]
                checked += 1
                if answer == "task":
                    ok = reason.task
                else:
                    codes, statuses = answer
                    ok = codes <= reason.codes and statuses <= reason.http_statuses
                if not ok:
                    wrong.append((str(path.relative_to(ROOT)), call.lineno, name, answer))
    assert checked > 40
    assert wrong == []


def _error_classes() -> Iterator[type[CatalogIngestError]]:
    importlib.import_module("service.inflight")  # MemoryBusy
    todo = [CatalogIngestError]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        yield cls


def test_each_error_class_reason_declares_its_code() -> None:
    classes = list(_error_classes())
    assert len(classes) > 10
    assert [c.__name__ for c in classes if c.code not in c.reason.codes] == []


def test_the_wire_carries_the_upper_snake_string() -> None:
    error = NotFound("task 7 not found", reason=ErrorReason.TASK_NOT_FOUND)
    sent = to_rpc_status(error)
    info = error_details_pb2.ErrorInfo()
    details = status_pb2.Status.FromString(dict(sent.trailing_metadata)["grpc-status-details-bin"])
    assert details.details[0].Unpack(info)
    assert info.reason == "TASK_NOT_FOUND"
    assert type(info.reason) is str
    stored = TaskFailed("x", reason=ErrorReason.GROUP_CYCLE).as_dict()["reason"]
    assert stored == "GROUP_CYCLE" and type(stored) is str
    assert invalid_field("header", "required", ErrorReason.STREAM_HEADER_REQUIRED).reason == "STREAM_HEADER_REQUIRED"


def test_the_enum_is_the_proto_enum() -> None:
    declared = [n for n in error_reason_pb2.ErrorReason.keys() if n != PREFIX + "UNSPECIFIED"]
    assert [PREFIX + r.value for r in ErrorReason] == declared
    assert all(r.name == r.value for r in ErrorReason)
    assert error_reason_pb2.ErrorReason.Value(PREFIX + "UNSPECIFIED") == 0


@pytest.mark.parametrize(
    ("reason", "retryable"),
    [("DATABASE_UNAVAILABLE", True), ("RATE_LIMITED", True), ("INVALID_RECORD", False), ("NO_SUCH_REASON", None)],
)
def test_retryable_is_read_from_the_proto(reason: str, retryable: bool | None) -> None:
    assert is_retryable(reason) is retryable


def test_retry_hints_only_on_retryable_reasons() -> None:
    """Server-side classes that send RetryInfo (RateLimited, DatabaseUnavailable) declare retryable reasons."""
    hinted = [c for c in _error_classes() if "retry_after" in c.__init__.__code__.co_varnames]
    assert hinted and all(c.reason.retryable for c in hinted)


def test_docs_table_lists_every_reason_as_generated() -> None:
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        generate_error_docs = importlib.import_module("generate_error_docs")
    finally:
        sys.path.remove(str(ROOT / "tools"))
    checked_in = (ROOT / "docs" / "errors.md").read_text()
    assert checked_in == generate_error_docs.render(), "run python tools/generate_protos.py"
    for reason in ErrorReason:
        row = next(line for line in checked_in.splitlines() if line.startswith(f"| `{reason.value}` |"))
        assert row.count("|") >= 7 and not row.endswith("|  |"), f"{reason.value} has no meaning in the proto"
    assert "docs/errors.md" in (ROOT / "README.md").read_text()


@pytest.mark.parametrize(
    ("code", "reason", "retried"),
    [
        (C.RESOURCE_EXHAUSTED, "RATE_LIMITED", True),
        (C.UNAVAILABLE, "DATABASE_UNAVAILABLE", True),
        (C.RESOURCE_EXHAUSTED, "PAYLOAD_TOO_LARGE", False),
        (C.UNAVAILABLE, "SOMETHING_NEWER", True),
        (C.UNAVAILABLE, "", True),
        (C.INVALID_ARGUMENT, "INVALID_RECORD", False),
    ],
)
def test_the_client_retries_by_code_unless_the_reason_is_declared_unretryable(
    code: grpc.StatusCode, reason: str, retried: bool
) -> None:
    status = rich_status(code, "no", reason=reason)
    error = grpc.aio.AioRpcError(
        status.code, grpc.aio.Metadata(), grpc.aio.Metadata(*status.trailing_metadata), details=status.details
    )
    delay = delay_before_retry(error, "/catalogingest.v1.TaskService/GetTask", 1, RetryPolicy(), idempotency_key=False)
    assert (delay is not None) is retried
