"""Each adapter has every member its port declares, with the same parameters (no type checker runs in CI:
this is the structural check of service.store.ports)."""

from __future__ import annotations

import inspect

import pytest

from service.store import ports
from service.store.batch_ingest import BatchIngest
from service.store.postgres import PostgresRecordStore
from service.store.postgres_backend import PostgresBackend, PostgresSql
from service.store.sqlite import SqliteRecordStore
from service.store.sqlite_backend import SqliteBackend, SqliteSql

ADAPTERS = [
    (ports.BatchIngestion, BatchIngest),
    (ports.RecordStore, PostgresRecordStore),
    (ports.RecordStore, SqliteRecordStore),
    (ports.SqlDialect, PostgresSql),
    (ports.SqlDialect, SqliteSql),
    (ports.Backend, PostgresBackend),
    (ports.Backend, SqliteBackend),
]


def _members(port: type) -> dict[str, object]:
    declared = {name: getattr(port, name) for name in vars(port) if not name.startswith("_")}
    for name in getattr(port, "__annotations__", {}):
        declared.setdefault(name, None)
    return declared


@pytest.mark.parametrize(("port", "adapter"), ADAPTERS, ids=lambda c: c.__name__)
def test_adapter_implements_its_port(port: type, adapter: type) -> None:
    members = _members(port)
    assert members, f"{port.__name__} declares nothing"
    for name, declared in members.items():
        if declared is None:  # an attribute: set by the class or by __init__
            instance_attributes = inspect.getsource(adapter.__init__) if "__init__" in vars(adapter) else ""
            assert hasattr(adapter, name) or f"self.{name} =" in instance_attributes, f"{adapter.__name__}.{name}"
            continue
        implemented = getattr(adapter, name, None)
        assert callable(implemented), f"{adapter.__name__} lacks {name}"
        assert inspect.iscoroutinefunction(implemented) == inspect.iscoroutinefunction(declared), name
        expected = list(inspect.signature(declared).parameters.values())
        actual = list(inspect.signature(implemented).parameters.values())
        assert [(p.name, p.kind, p.default) for p in actual] == [(p.name, p.kind, p.default) for p in expected], (
            f"{adapter.__name__}.{name}{inspect.signature(implemented)} is not {port.__name__}.{name}"
            f"{inspect.signature(declared)}"
        )
