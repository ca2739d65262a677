# i18n-domain: appraisal
"""The rules of the democratic appraisal (民主评议党员), pure and testable.

Seed 001's scheme has two parts, daily conduct points (日常行为积分) and democratic
appraisal points (民主评议积分); the appraisal combines self-scoring (个人评分), peer
appraisal (党员互评) and the scoring group's appraisal (支部考评). This module turns
grades into points, weighs the parts, combines them with the year's daily points and
proposes each member's grade under the limits Party practice sets:

* at most ``excellent_share`` percent of the appraised members are 优秀 (default 30 %);
* a member admonished (诫勉: below 60 in two consecutive quarters) cannot be 优秀;
* 不合格 is only proposed here: the scoring group must confirm it with a reason.

The proposed grade comes from the appraisal score (self, peers, group: the grades'
points on the 90/75/60 cut-offs), not from the combined score: the daily points sit on
their own scale (a base of 80 that deductions lower and bonuses raise), so with 70 %
weight on them a member with the base score capped the combined score at 84.5 and
nobody could reach 优秀. The combined score (daily mean and appraisal, weighted) ranks
the 优秀 candidates for the share cap: the daily points decide who is kept when more
members were graded 优秀 than the cap allows. A member nobody appraised is proposed
合格 at most.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from locales.i18n import N_

HUNDRED = Decimal(100)
CENT = Decimal("0.01")


class Grade(enum.StrEnum):
    EXCELLENT = "excellent"  # 优秀
    QUALIFIED = "qualified"  # 合格
    BASIC = "basic"  # 基本合格
    UNQUALIFIED = "unqualified"  # 不合格

    @property
    def label(self) -> str:
        return GRADE_LABELS[self]

    @property
    def points(self) -> Decimal:
        return GRADE_POINTS[self]


GRADE_LABELS = {
    Grade.EXCELLENT: N_("excellent (优秀)"),
    Grade.QUALIFIED: N_("qualified (合格)"),
    Grade.BASIC: N_("basically qualified (基本合格)"),
    Grade.UNQUALIFIED: N_("unqualified (不合格)"),
}

#: The points a grade is worth when grades are combined into a score.
GRADE_POINTS = {
    Grade.EXCELLENT: Decimal(95),
    Grade.QUALIFIED: Decimal(85),
    Grade.BASIC: Decimal(70),
    Grade.UNQUALIFIED: Decimal(50),
}

#: The lowest combined score of each grade (before the limits).
THRESHOLDS = (
    (Decimal(90), Grade.EXCELLENT),
    (Decimal(75), Grade.QUALIFIED),
    (Decimal(60), Grade.BASIC),
)


def parse_grade(text: str | None) -> Grade | None:
    try:
        return Grade(text) if text else None
    except ValueError:
        return None


def grade_for(score: Decimal) -> Grade:
    for lowest, grade in THRESHOLDS:
        if score >= lowest:
            return grade
    return Grade.UNQUALIFIED


#: Settings a secretary may change (``/appraisal set NAME VALUE``): name → (low, high).
SETTING_RANGES: dict[str, tuple[int, int]] = {
    "daily": (0, 100),
    "self": (0, 100),
    "peer": (0, 100),
    "group": (0, 100),
    "excellent": (0, 100),
    "chars": (50, 3000),
}


@dataclass(frozen=True)
class AppraisalSettings:
    """Weights in percent. ``daily`` + appraisal = 100 (appraisal = 100 − daily);
    within the appraisal, self + peer + group = 100."""

    daily: int = 70
    self_: int = 20
    peer: int = 40
    group: int = 40
    excellent: int = 30
    group_mode: str = "grades"  # grades | scores
    chars: int = 500

    @property
    def appraisal(self) -> int:
        return 100 - self.daily

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> AppraisalSettings:
        data = dict(data or {})
        base = cls()
        return cls(
            daily=int(data.get("daily", base.daily)),
            self_=int(data.get("self", base.self_)),
            peer=int(data.get("peer", base.peer)),
            group=int(data.get("group", base.group)),
            excellent=int(data.get("excellent", base.excellent)),
            group_mode=str(data.get("group_mode", base.group_mode)),
            chars=int(data.get("chars", base.chars)),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "daily": self.daily,
            "self": self.self_,
            "peer": self.peer,
            "group": self.group,
            "excellent": self.excellent,
            "group_mode": self.group_mode,
            "chars": self.chars,
        }

    def with_value(self, name: str, value: int) -> AppraisalSettings:
        data = self.to_json()
        data[name] = value
        return AppraisalSettings.from_json(data)

    def problem(self) -> str | None:
        """Why these settings cannot be used (a msgid), or None."""
        if self.self_ + self.peer + self.group != 100:
            return N_("The weights of self, peer and group must add up to 100.")
        if self.group_mode not in ("grades", "scores"):
            return N_("The group grades with 'grades' or 'scores'.")
        return None


def mean(values: Iterable[Decimal]) -> Decimal | None:
    items = list(values)
    if not items:
        return None
    return (sum(items, Decimal(0)) / len(items)).quantize(CENT, ROUND_HALF_UP)


def weighted(parts: Sequence[tuple[Decimal | None, int]]) -> Decimal | None:
    """The weighted mean of the parts present (a missing part's weight is shared by the
    others, so a member nobody graded is not punished for it); None if none is."""
    present = [(value, weight) for value, weight in parts if value is not None and weight > 0]
    total_weight = sum(weight for _, weight in present)
    if not present or total_weight == 0:
        return None
    total = sum((value * weight for value, weight in present), Decimal(0))
    return (total / total_weight).quantize(CENT, ROUND_HALF_UP)


def appraisal_score(
    self_score: Decimal | None,
    peer_score: Decimal | None,
    group_score: Decimal | None,
    settings: AppraisalSettings,
) -> Decimal | None:
    """民主评议积分: self, peers and the group, weighted."""
    return weighted(
        [(self_score, settings.self_), (peer_score, settings.peer), (group_score, settings.group)]
    )


def combined_score(
    daily_mean: Decimal | None, appraisal: Decimal | None, settings: AppraisalSettings
) -> Decimal | None:
    """The annual score: the daily points' year mean and the appraisal, weighted."""
    return weighted([(daily_mean, settings.daily), (appraisal, settings.appraisal)])


def excellent_cap(appraised: int, share: int) -> int:
    """How many members may be 优秀: ``share`` percent of those appraised, rounded down."""
    return appraised * share // 100


@dataclass(frozen=True)
class Candidate:
    person_id: int
    name: str
    #: the annual score: ranks the 优秀 candidates for the cap
    combined: Decimal | None
    admonished: bool = False
    #: 民主评议积分: decides the grade (None: nobody appraised the member)
    appraisal: Decimal | None = None


@dataclass(frozen=True)
class Proposal:
    person_id: int
    grade: Grade
    #: why the grade differs from the score's: "admonished", "cap", "no_score"
    notes: tuple[str, ...] = field(default_factory=tuple)


def propose(candidates: Sequence[Candidate], share: int) -> dict[int, Proposal]:
    """Each member's proposed grade. The appraisal score decides (``grade_for``), then:
    an admonished member is at most 合格; beyond the 优秀 cap (best combined score
    first, then best appraisal score; ties by name and id) the rest are 合格. A member
    without an appraisal score is proposed 合格 ("no_score")."""
    proposals: dict[int, Proposal] = {}
    excellent: list[Candidate] = []
    for c in candidates:
        if c.appraisal is None:
            proposals[c.person_id] = Proposal(c.person_id, Grade.QUALIFIED, ("no_score",))
            continue
        grade = grade_for(c.appraisal)
        if grade is Grade.EXCELLENT and c.admonished:
            proposals[c.person_id] = Proposal(c.person_id, Grade.QUALIFIED, ("admonished",))
        elif grade is Grade.EXCELLENT:
            excellent.append(c)
        else:
            proposals[c.person_id] = Proposal(c.person_id, grade)
    cap = excellent_cap(len(candidates), share)
    excellent.sort(key=_rank)
    for index, c in enumerate(excellent):
        if index < cap:
            proposals[c.person_id] = Proposal(c.person_id, Grade.EXCELLENT)
        else:
            proposals[c.person_id] = Proposal(c.person_id, Grade.QUALIFIED, ("cap",))
    return proposals


def _rank(c: Candidate) -> tuple[Decimal, Decimal, str, int]:
    """The order of the 优秀 candidates under the cap: combined, appraisal, name, id."""
    low = Decimal(-1)
    combined = c.combined if c.combined is not None else low
    appraisal = c.appraisal if c.appraisal is not None else low
    return (-combined, -appraisal, c.name, c.person_id)


def admonished(totals: Sequence[Decimal | None], threshold: Decimal = Decimal(60)) -> bool:
    """诫勉: two consecutive quarters (of the year, in order) below ``threshold``."""
    for previous, current in itertools.pairwise(totals):
        if previous is not None and current is not None and previous < threshold > current:
            return True
    return False


def voter_token(salt: bytes, person_id: int) -> str:
    """The one-way token a ballot is stored under: HMAC-SHA256(salt, person id)."""
    return hmac.new(salt, f"voter:{person_id}".encode(), hashlib.sha256).hexdigest()


def vote_counts(grades: Iterable[str]) -> dict[str, int]:
    counts = {g.value: 0 for g in Grade}
    for grade in grades:
        if grade in counts:
            counts[grade] += 1
    return counts


def peer_score(counts: Mapping[str, int]) -> Decimal | None:
    """The peers' score: the mean of the points of the grades cast."""
    cast = sum(counts.values())
    if not cast:
        return None
    total = sum((Grade(g).points * n for g, n in counts.items()), Decimal(0))
    return (total / cast).quantize(CENT, ROUND_HALF_UP)
