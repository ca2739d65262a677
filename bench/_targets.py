"""The figures every benchmark reports to ``python -m bench all``: one row per target
(what is measured, the goal, the measured figure, met or not)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    #: which benchmark measured it (``updates``, ``growth``, ``province`` …)
    bench: str
    #: what is measured, e.g. "/points vs bare PTB (SQLite)"
    name: str
    #: the goal as a reader would say it, e.g. "<= 1.3x"
    goal: str
    #: the measured figure, e.g. "1.21x (min 1.18, max 1.30)"
    measured: str
    #: True met, False not met, None informative (no goal)
    met: bool | None


def summary(targets: Sequence[Target]) -> str:
    """The closing table of ``python -m bench all``."""
    rows = [
        (
            t.bench,
            t.name,
            t.goal,
            t.measured,
            "-" if t.met is None else ("met" if t.met else "NOT MET"),
        )
        for t in targets
    ]
    head = ("bench", "target", "goal", "measured", "")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(5)]
    lines = ["Summary", "======="]
    lines.append("  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)).rstrip())
    lines.append("  ".join("-" * w for w in widths))
    for r in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    met = sum(1 for t in targets if t.met)
    goals = sum(1 for t in targets if t.met is not None)
    lines.append(f"{met} of {goals} targets met")
    return "\n".join(lines)
