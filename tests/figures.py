"""Figures the model, fuzz and fault suites measure, printed together at the end of the run.

A test calls `record("fuzz http", tried=2860, fivexx=0)`; pytest's terminal summary prints one line per call,
so CI's log and a long run both show what was tried and what it found, without `-s`. Under pytest-xdist the
tests run in worker processes: each line goes to a file the controlling process names (FIGURES_FILE) and
reads back at the end.
"""

from __future__ import annotations

import json
import os

FIGURES_FILE = "TESTS_FIGURES_FILE"  # not CATALOG_INGEST_: the tests clear that prefix
FIGURES: list[tuple[str, dict[str, object]]] = []


def record(name: str, **figures: object) -> None:
    if path := os.environ.get(FIGURES_FILE):
        with open(path, "a") as out:  # one short append a line: whole even when workers write at once
            out.write(json.dumps([name, {key: str(value) for key, value in figures.items()}]) + "\n")
    else:
        FIGURES.append((name, figures))


def lines() -> list[str]:
    recorded = list(FIGURES)
    if (path := os.environ.get(FIGURES_FILE)) and os.path.exists(path):
        with open(path) as recorded_file:
            recorded += [tuple(json.loads(line)) for line in recorded_file if line.strip()]
    return [f"{name}: " + ", ".join(f"{key}={value}" for key, value in figures.items()) for name, figures in recorded]
