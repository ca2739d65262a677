# i18n-domain: org
"""Organisational life in the oversight: a branch's meetings compliance and talk
coverage as its secretary sees them, read through the branch lens from the meetings'
own domain (``ComplianceService.compliance``, ``TalkService.coverage``): the rules of
what must be held when live there only.

The figures are those of one quarter: every required period that *ends* in it (the
months of the monthly kinds, the quarter's general meeting, the lecture plan months,
the yearly organisational life meeting in the fourth quarter) and has begun; a period
over with its meeting not held is *missed* (a 🔴 in the oversight). Talks are counted
for the quarter's year."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from domain import meetings_rules as rules
from domain.periods import Quarter
from domain.viewer import Viewer
from store import repositories as repo

if TYPE_CHECKING:
    from domain.services import Services


@dataclass(frozen=True)
class KindFigure:
    """One meeting kind in a quarter: periods held of those due (over or running)."""

    kind: str
    held: int
    due: int
    missed: tuple[str, ...]  # period keys over with the meeting not held


@dataclass(frozen=True)
class LifeFigures:
    year: int
    kinds: tuple[KindFigure, ...]
    lectured: bool  # the secretary gave a Party lecture in the year
    talk_people: int
    talk_uncovered: int  # no talk with a committee member in the year

    @property
    def held(self) -> int:
        return sum(k.held for k in self.kinds)

    @property
    def due(self) -> int:
        return sum(k.due for k in self.kinds)

    @property
    def missed(self) -> list[tuple[str, str]]:
        """(kind, period key) of every period missed in the quarter."""
        return [(k.kind, key) for k in self.kinds for key in k.missed]

    @property
    def rate(self) -> int | None:
        return round(100 * self.held / self.due) if self.due else None


async def life_figures(svc: Services, lens: Viewer, quarter: Quarter) -> LifeFigures:
    """The branch's figures for ``quarter`` through ``lens`` (a secretary's viewer)."""
    assert lens.branch_id is not None
    statuses, lectured = await svc.meeting_compliance.compliance(lens, quarter.year)
    kinds = []
    for kind in rules.KINDS:
        mine = [
            s for s in statuses if s.kind == kind and quarter.start <= s.period.end <= quarter.end
        ]
        if not mine:
            continue
        kinds.append(
            KindFigure(
                kind,
                sum(1 for s in mine if s.state == rules.HELD),
                len(mine),
                tuple(s.period.key for s in mine if s.state == rules.NOT_HELD),
            )
        )
    uncovered = await svc.talks.coverage(lens, quarter.year)
    people = await repo.branch_member_count(svc.session, lens.branch_id)
    return LifeFigures(quarter.year, tuple(kinds), lectured, people, len(uncovered))
