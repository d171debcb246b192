"""Every RPC of the three services, fuzzed against the clear-error oracle (tests/fuzz/oracle.py): a status other
than INTERNAL / UNKNOWN naming the problem with nothing changed, or exactly what was sent stored. Client streams
are sent with missing, repeated and hostile parts and cancelled midway; every RPC also gets undecodable bytes
over a real channel.

The known cases of issue 11 #4 are pinned with @example so every run tries them.
"""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from catalogingest.v1 import task_pb2
from tests.figures import record
from tests.fuzz import grpc_cases, grpc_mutate, grpc_raw, grpc_streams
from tests.fuzz.conftest import Fuzz, Seed
from tests.fuzz.oracle import GrpcCase, check_grpc
from tests.fuzz.tally import Tally

# Examples per RPC in CI (times the `budget` fixture); the raw-bytes strategy gets RAW_EXAMPLES over all RPCs.
EXAMPLES = 2
RAW_EXAMPLES = 5 * EXAMPLES


def strategies(seed: Seed) -> dict[str, st.SearchStrategy[GrpcCase]]:
    out: dict[str, st.SearchStrategy[GrpcCase]] = {
        method: grpc_cases.unary_case(seed, method) for method in grpc_cases.unary_rpcs(seed)
    }
    out["WatchTask"] = grpc_streams.watch_case(seed)
    for method in grpc_streams.STREAM_TYPES:
        out[method] = grpc_streams.stream_case(seed, method)
    return out


def known_cases(seed: Seed) -> list[tuple[str, GrpcCase]]:
    """Issue 11 #4: ListTasks with a NUL in `type` answered INTERNAL; undecodable messages answered UNKNOWN."""
    request = task_pb2.ListTasksRequest(type="a\x00b")

    async def list_tasks(stack):
        return await stack.tasks.ListTasks(request, metadata=stack.metadata())

    cases = [
        (
            "ListTasks",
            GrpcCase(
                "TaskService/ListTasks", "hostile type", list_tasks, "ListTasks(type: 'a\\x00b')", names=("type",)
            ),
        )
    ]
    for service, method, kind in grpc_raw.all_methods()[:4]:
        for payload in grpc_raw.GARBAGE[:3]:

            async def call(stack, path=f"/{service}/{method}", payload=payload, kind=kind):
                if kind != "unary_unary":
                    multi = stack.channel.stream_unary(path, request_serializer=None, response_deserializer=None)
                    return await multi(iter([payload]), metadata=stack.metadata(), timeout=10)
                return await stack.channel.unary_unary(path, request_serializer=None, response_deserializer=None)(
                    payload, metadata=stack.metadata(), timeout=10
                )

            cases.append(
                (
                    "raw bytes",
                    GrpcCase(
                        f"{service.split('.')[-1]}/{method} (raw bytes)",
                        "undecodable bytes",
                        call,
                        f"{method} bytes {payload!r}",
                        names=grpc_mutate.REQUEST_WORDS,
                        writes=True,
                    ),
                )
            )
    return cases


def run_suite(fuzz: Fuzz, budget: int) -> Tally:
    tally = Tally(f"fuzz grpc [{fuzz.backend}]")
    every = {**strategies(fuzz.seed), "raw bytes": grpc_raw.raw_case()}
    for label, strategy in every.items():

        def sample(case: GrpcCase) -> None:
            fuzz.run(check_grpc(fuzz.stack, tally, case))

        for key, case in known_cases(fuzz.seed):
            if key == label:
                sample = example(case=case)(sample)
        examples = RAW_EXAMPLES if label == "raw bytes" else EXAMPLES
        settings(max_examples=examples * budget, deadline=None, database=None, suppress_health_check=list(HealthCheck))(
            given(case=strategy)(sample)
        )()
    return tally


def test_every_rpc_answers_clearly_or_stores_what_was_sent(fuzz: Fuzz, budget: int) -> None:
    tally = run_suite(fuzz, budget)
    record(tally.suite, **tally.figures())
    assert not tally.findings, tally.report()
