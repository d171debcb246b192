"""CATALOG_INGEST_TEST_FAULT: named fault points, read in one place; a typo stops the worker at start-up."""

from __future__ import annotations

import pytest

from service.settings import Settings
from service.tasks import faults


def test_no_fault_by_default() -> None:
    assert faults.from_settings(Settings.from_env({})) == faults.Faults()


def test_a_named_point_is_read_from_the_environment() -> None:
    settings = Settings.from_env({"CATALOG_INGEST_TEST_FAULT": "apply_delay:1.5"})
    assert faults.from_settings(settings).apply_delay == 1.5


@pytest.mark.parametrize(
    ("spec", "named"), [("aply_delay:1", "unknown fault point 'aply_delay'"), ("apply_delay:soon", "needs seconds")]
)
def test_a_wrong_spec_is_refused_naming_it(spec: str, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        faults.parse(spec)
