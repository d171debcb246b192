"""What a fuzz suite tried, per path or RPC and per outcome, and its failures deduplicated."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

FAILURES = (
    "fivexx",
    "no_answer",
    "internal",
    "accepted_invalid",
    "unclear_error",
    "changed_after_error",
    "stored_wrong",
)
FIGURES = ("ok_stored", "clear_error", *FAILURES)
SHOWN = 300


@dataclass
class Finding:
    count: int
    example: str
    answer: str


@dataclass
class Tally:
    """What a suite tried, per path or RPC and per outcome, and its failures deduplicated."""

    suite: str
    tried: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[tuple[str, str]] = field(default_factory=Counter)
    findings: dict[tuple[str, str, str], Finding] = field(default_factory=dict)
    seconds: Counter[str] = field(default_factory=Counter)

    def add(self, label: str, what: str, outcomes: list[str], example: str, answer: str) -> None:
        self.tried[label] += 1
        for outcome in outcomes:
            self.outcomes[(label, outcome)] += 1
            if outcome in FAILURES:
                key = (label, outcome, what)
                if key in self.findings:
                    self.findings[key].count += 1
                else:
                    self.findings[key] = Finding(1, example[:SHOWN], answer[:SHOWN])

    def figures(self) -> dict[str, int]:
        totals = {"tried": sum(self.tried.values())}
        for name in FIGURES:
            totals[name] = sum(n for (_, outcome), n in self.outcomes.items() if outcome == name)
        return totals

    def per_label(self) -> list[str]:
        return [
            f"  {label}: tried {n} in {self.seconds[label]:.1f}s, "
            + ", ".join(f"{o} {self.outcomes[(label, o)]}" for o in FIGURES if self.outcomes[(label, o)])
            for label, n in sorted(self.tried.items())
        ]

    def report(self) -> str:
        lines = [f"{self.suite}: {len(self.findings)} distinct failures", *self.per_label()]
        for (label, outcome, what), finding in sorted(self.findings.items()):
            lines.append(f"- {outcome} x{finding.count} on {label} [{what}]")
            lines.append(f"    sent: {finding.example}")
            lines.append(f"    got:  {finding.answer}")
        return "\n".join(lines)
