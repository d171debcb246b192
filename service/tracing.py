"""OpenTelemetry spans, an optional extra: HTTP request -> gRPC call -> task apply, in one trace.

On only when the `tracing` extra is installed and OTEL_EXPORTER_OTLP_ENDPOINT is set (the exporter reads
its other OTEL_* variables itself). Otherwise nothing of opentelemetry is imported and each hook is a
check of one environment variable. A task stores the `traceparent` of the call that submitted it, so
the worker's span joins the caller's trace even in another process, minutes later.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import logging
import os
from collections.abc import Iterator, Mapping
from typing import Any

ENDPOINT_VARIABLE = "OTEL_EXPORTER_OTLP_ENDPOINT"
TRACEPARENT = "traceparent"
log = logging.getLogger(__name__)


@functools.cache
def _installed() -> bool:
    try:
        return importlib.util.find_spec("opentelemetry.sdk") is not None
    except ModuleNotFoundError:
        return False


def enabled() -> bool:
    return bool(os.environ.get(ENDPOINT_VARIABLE)) and _installed()


def configure(service_name: str = "catalog-ingest") -> None:
    """Export spans over OTLP/HTTP, unless tracing is off or a tracer provider is set already (a test's)."""
    if not enabled():
        return
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    if isinstance(trace.get_tracer_provider(), TracerProvider):
        return
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    log.info("tracing: exporting spans to %s", os.environ[ENDPOINT_VARIABLE])


def shutdown() -> None:
    """Flush spans still buffered (at process exit)."""
    if not enabled():
        return
    from opentelemetry import trace

    provider = trace.get_tracer_provider()
    if hasattr(provider, "shutdown"):
        provider.shutdown()


@contextlib.contextmanager
def server_span(name: str, carrier: Mapping[str, str], kind: str = "server") -> Iterator[Any]:
    """A span for work received (an HTTP request, an RPC, a task), child of the `traceparent` in `carrier`
    when there is one; yields None when tracing is off."""
    if not enabled():
        yield None
        return
    from opentelemetry import propagate, trace

    parent = propagate.extract(dict(carrier))
    span_kind = {"server": trace.SpanKind.SERVER, "consumer": trace.SpanKind.CONSUMER}[kind]
    tracer = trace.get_tracer("catalog_ingest")
    with tracer.start_as_current_span(name, context=parent, kind=span_kind) as span:
        yield span


def annotate(span: Any, attributes: Mapping[str, Any]) -> None:
    if span is not None:
        span.set_attributes({k: v for k, v in attributes.items() if v is not None})


def outgoing() -> tuple[tuple[str, str], ...]:
    """Headers (gRPC metadata) that carry the current span to the next hop."""
    if not enabled():
        return ()
    from opentelemetry import propagate

    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return tuple(carrier.items())


def current_traceparent() -> str | None:
    """The current span as a `traceparent` value, to be stored with a task."""
    return dict(outgoing()).get(TRACEPARENT)
