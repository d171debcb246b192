"""Schemathesis against the running service (`catalog-ingest serve` in its own process, both backends):
requests generated from /openapi.json, with a valid token and the token's tenant in the tenant parameters,
must never answer 5xx and must conform to the document (status, content type, headers, body)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from service.auth import create_token
from service.db.engine import create_engine, session_factory
from service.db.migrate import upgrade
from tests.conftest import free_port
from tests.figures import record
from tests.processes import spawn

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Examples per operation in CI (times the budget fixture).
EXAMPLES = 3
TENANT_PARAMETERS = ("key", "tenant", "project_id")
SKIPPED_TAGS = {"docs"}  # static pages


@dataclass
class Service:
    url: str
    token: str
    backend: str


@pytest.fixture
async def service(database_url: str, backend: str, processes: list[Any]) -> AsyncIterator[Service]:
    engine = create_engine(database_url)
    await upgrade(engine)
    async with session_factory(engine)() as session:
        token = await create_token(session, "acme")
        await session.commit()
    await engine.dispose()
    http_port = free_port()
    spawn(processes, database_url, grpc_port=free_port(), http_port=http_port)
    url = f"http://127.0.0.1:{http_port}"
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient() as http:
        while True:
            try:
                if (await http.get(url + "/status/ingestion")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the service did not start"
            await asyncio.sleep(0.1)
    yield Service(url, token, backend)


def _with_tenant(case: Any) -> None:
    """The token's tenant where a parameter names it, so requests get past the tenant check."""
    for name in TENANT_PARAMETERS:
        if case.path_parameters and name in case.path_parameters:
            case.path_parameters[name] = "acme"
        if case.query and name in case.query:
            case.query[name] = "acme"


def fuzz(service: Service, examples: int, statuses: Counter[int]) -> list[str]:
    schema = schemathesis.openapi.from_url(service.url + "/openapi.json")
    failures: list[str] = []
    headers = {"Authorization": f"Bearer {service.token}"}
    for result in schema.get_all_operations():
        operation = result.ok()
        if SKIPPED_TAGS & set(operation.definition.raw.get("tags", ())):
            continue

        @given(case=operation.as_strategy(), own_tenant=st.booleans())
        @settings(
            max_examples=examples,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any, own_tenant: bool) -> None:
            if own_tenant:
                _with_tenant(case)
            response = case.call(base_url=service.url, headers=headers, timeout=10)
            statuses[response.status_code] += 1
            case.validate_response(response, checks=CHECKS)

        try:
            run()
        except Exception as error:  # every operation is fuzzed; all failures are reported
            failures.append(f"{operation.label}: {str(error)[:2000]}")
    return failures


async def test_generated_requests_get_documented_answers(service: Service, budget: int) -> None:
    statuses: Counter[int] = Counter()
    started = time.monotonic()
    failures = await asyncio.to_thread(fuzz, service, EXAMPLES * budget, statuses)
    record(
        f"schemathesis {service.backend}",
        requests=sum(statuses.values()),
        seconds=round(time.monotonic() - started, 1),
        statuses=dict(sorted(statuses.items())),
        failing_operations=len(failures),
    )
    assert not failures, "\n\n".join(failures)
