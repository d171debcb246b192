"""Tracing, an optional extra: HTTP request -> gRPC call -> task apply in one trace, with the real
OpenTelemetry SDK and its in-memory exporter; without OpenTelemetry (or without an endpoint) nothing of it
is imported."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from service import tracing
from tests.conftest import start_stack
from tests.helpers import eventually
from tests.processes import ROOT

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"


@pytest.fixture(scope="module")
def exported() -> object:
    sdk = pytest.importorskip("opentelemetry.sdk.trace", reason="the tracing extra is not installed")
    from opentelemetry import trace
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = sdk.TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    # Once per process (OpenTelemetry allows no second global provider); tracing.configure() then keeps it.
    trace.set_tracer_provider(provider)
    return exporter


@pytest.mark.parametrize("caller_sends_traceparent", [True, False])
async def test_request_rpc_and_task_share_one_trace(
    database_url, exported, monkeypatch, caller_sends_traceparent
) -> None:
    monkeypatch.setenv(tracing.ENDPOINT_VARIABLE, "http://127.0.0.1:1")  # never reached: the test's provider
    tracing.configure()
    exported.clear()  # type: ignore[attr-defined]
    headers = {"traceparent": f"00-{TRACE_ID}-{CALLER_SPAN}-01"} if caller_sends_traceparent else {}
    async with start_stack(database_url) as s:
        response = await s.http.put(
            "/v2/items?key=acme", json={"items": [{"id": "t", "name": "T"}]}, headers={**s.auth(), **headers}
        )
        assert response.status_code == 200, response.text
        task_id = response.json()["task_id"]

        def finished_spans() -> list:
            return list(exported.get_finished_spans())  # type: ignore[attr-defined]

        async def task_span() -> list:
            return [x for x in finished_spans() if x.name == "task records_replace"]

        [task] = await eventually(task_span, bool)

    spans = finished_spans()
    [http] = [x for x in spans if x.name == "HTTP PUT" and x.attributes.get("http.route") == "/v2/{collection}"]
    [rpc] = [x for x in spans if x.name == "catalogingest.v1.CatalogService/ReplaceRecords"]
    trace_id = http.context.trace_id
    assert rpc.context.trace_id == trace_id and task.context.trace_id == trace_id
    if caller_sends_traceparent:
        assert f"{trace_id:032x}" == TRACE_ID and f"{http.parent.span_id:016x}" == CALLER_SPAN
    else:
        assert http.parent is None
    # A chain, not siblings: the RPC is the request's child, the task the RPC's.
    assert rpc.parent.span_id == http.context.span_id
    assert task.parent.span_id == rpc.context.span_id
    assert task.attributes["catalog_ingest.task.id"] == task_id
    assert rpc.attributes["rpc.grpc.status_code"] == 0 and http.attributes["http.response.status_code"] == 200


SERVE_ONE_REQUEST = textwrap.dedent(
    """
    import asyncio, importlib.abc, os, sys, tempfile

    class NoOpenTelemetry(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] == "opentelemetry":
                raise ModuleNotFoundError(name)

    if sys.argv[1] == "uninstalled":
        os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:4318"
        sys.meta_path.insert(0, NoOpenTelemetry())
    else:
        os.environ.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
    from tests.conftest import start_stack
    from tests.helpers import eventually

    async def main():
        url = "sqlite:///" + os.path.join(tempfile.mkdtemp(), "t.db")
        async with start_stack(url) as s:
            response = await s.http.put("/v2/items?key=acme", json={"items": [{"id": "a"}]}, headers=s.auth())
            assert response.status_code == 200, response.text
            path = response.json()["task_status_path"]

            async def status():
                return (await s.http.get(path, headers=s.auth())).json()["status"]

            assert await eventually(status, lambda st: st in ("DONE", "FAILED")) == "DONE"
        print(sorted(m for m in sys.modules if m.split(".")[0] == "opentelemetry"))

    asyncio.run(main())
    """
)


@pytest.mark.parametrize("why", ["no endpoint", "uninstalled"])
def test_without_opentelemetry_nothing_of_it_is_imported(why: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SERVE_ONE_REQUEST, why], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
