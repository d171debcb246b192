"""Figures the model, fuzz and fault suites measure, printed together at the end of the run.

A test calls `record("fuzz http", tried=2860, fivexx=0)`; pytest's terminal summary prints one line per call,
so CI's log and a long run both show what was tried and what it found, without `-s`.
"""

from __future__ import annotations

FIGURES: list[tuple[str, dict[str, object]]] = []


def record(name: str, **figures: object) -> None:
    FIGURES.append((name, figures))


def lines() -> list[str]:
    return [f"{name}: " + ", ".join(f"{key}={value}" for key, value in figures.items()) for name, figures in FIGURES]
