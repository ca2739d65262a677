"""The appraisal's combination rules (domain.appraisal_rules): grade points, weighted
parts, the combined annual score, the 优秀 cap, the 诫勉 rule and voter tokens."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from domain.appraisal_rules import (
    AppraisalSettings,
    Candidate,
    Grade,
    admonished,
    appraisal_score,
    combined_score,
    excellent_cap,
    grade_for,
    peer_score,
    propose,
    vote_counts,
    voter_token,
    weighted,
)

scores = st.decimals(min_value=0, max_value=100, places=2)
maybe_scores = st.none() | scores


def test_default_weights_and_a_hand_computation() -> None:
    s = AppraisalSettings()
    assert (s.daily, s.appraisal, s.self_, s.peer, s.group, s.excellent) == (70, 30, 20, 40, 40, 30)
    # self 优秀 (95), peers 2×优秀 + 1×合格 → (95+95+85)/3 = 91.67, group 合格 (85)
    peers = peer_score(vote_counts(["excellent", "excellent", "qualified"]))
    assert peers == Decimal("91.67")
    appraisal = appraisal_score(Decimal(95), peers, Decimal(85), s)
    assert appraisal == Decimal("89.67")  # (95×20 + 91.67×40 + 85×40) / 100 = 89.668
    assert combined_score(Decimal(80), appraisal, s) == Decimal("82.90")  # 56 + 26.90


def test_a_missing_part_shares_its_weight() -> None:
    s = AppraisalSettings()
    assert appraisal_score(None, Decimal(80), Decimal(90), s) == Decimal(85)
    assert appraisal_score(None, None, None, s) is None
    assert combined_score(None, Decimal(77), s) == Decimal(77)


@given(st.lists(st.tuples(maybe_scores, st.integers(0, 100)), max_size=5))
def test_weighted_mean_stays_within_its_parts(parts: list[tuple[Decimal | None, int]]) -> None:
    result = weighted(parts)
    present = [v for v, w in parts if v is not None and w > 0]
    if not present:
        assert result is None
    else:
        assert result is not None
        assert min(present) - Decimal("0.01") <= result <= max(present) + Decimal("0.01")


candidates = st.lists(
    st.builds(
        Candidate,
        person_id=st.integers(1, 10_000),
        name=st.sampled_from(["甲", "乙", "丙", "丁", "李明", "王芳"]),
        combined=maybe_scores,
        admonished=st.booleans(),
        appraisal=maybe_scores,
    ),
    max_size=40,
    unique_by=lambda c: c.person_id,
)


@given(candidates, st.integers(0, 100))
def test_proposals_respect_the_cap_and_the_admonition(members: list[Candidate], share: int) -> None:
    proposals = propose(members, share)
    assert set(proposals) == {c.person_id for c in members}
    excellent = [p for p in proposals.values() if p.grade is Grade.EXCELLENT]
    assert len(excellent) <= excellent_cap(len(members), share)
    by_id = {c.person_id: c for c in members}
    for p in proposals.values():
        c = by_id[p.person_id]
        if p.grade is Grade.EXCELLENT:
            assert not c.admonished
            assert c.appraisal is not None and c.appraisal >= 90
        if c.appraisal is not None and c.appraisal < 60:
            assert p.grade is Grade.UNQUALIFIED  # proposed only: the group confirms
        if c.appraisal is None:
            assert p.grade is Grade.QUALIFIED and p.notes == ("no_score",)
        elif p.grade is not grade_for(c.appraisal):
            assert p.notes  # every downgrade says why
    # the order of the members does not matter
    assert propose(list(reversed(members)), share) == proposals


@given(candidates, st.integers(0, 100))
def test_the_best_are_the_excellent_ones(members: list[Candidate], share: int) -> None:
    proposals = propose(members, share)
    chosen = [c for c in members if proposals[c.person_id].grade is Grade.EXCELLENT]
    capped = [c for c in members if "cap" in proposals[c.person_id].notes]
    low = Decimal(-1)
    for c in chosen:
        for other in capped:
            mine = (c.combined if c.combined is not None else low, c.appraisal or low)
            theirs = (
                other.combined if other.combined is not None else low,
                other.appraisal or low,
            )
            assert mine >= theirs


def test_the_cap_of_twelve_members() -> None:
    members = [Candidate(i, f"m{i:02}", Decimal(99 - i), appraisal=Decimal(95)) for i in range(12)]
    proposals = propose(members, 30)
    assert excellent_cap(12, 30) == 3
    assert [p.person_id for p in proposals.values() if p.grade is Grade.EXCELLENT] == [0, 1, 2]
    assert proposals[3].grade is Grade.QUALIFIED and proposals[3].notes == ("cap",)


def test_admonished_member_is_not_excellent() -> None:
    proposals = propose([Candidate(1, "甲", Decimal(98), True, Decimal(95))], 100)
    assert proposals[1].grade is Grade.QUALIFIED
    assert proposals[1].notes == ("admonished",)


@given(st.lists(st.none() | st.decimals(min_value=0, max_value=110, places=2), max_size=4))
def test_admonition_means_two_consecutive_quarters_below_60(
    totals: list[Decimal | None],
) -> None:
    expected = any(
        totals[i] is not None and totals[i + 1] is not None and totals[i] < 60 > totals[i + 1]  # type: ignore[operator]
        for i in range(len(totals) - 1)
    )
    assert admonished(totals) is expected


def test_voter_tokens_are_one_way_and_per_appraisal() -> None:
    a, b = b"a" * 32, b"b" * 32
    assert voter_token(a, 7) == voter_token(a, 7)
    assert voter_token(a, 7) != voter_token(a, 8)
    assert voter_token(a, 7) != voter_token(b, 7)
    assert len(voter_token(a, 7)) == 64


def test_grade_thresholds() -> None:
    assert grade_for(Decimal(90)) is Grade.EXCELLENT
    assert grade_for(Decimal("89.99")) is Grade.QUALIFIED
    assert grade_for(Decimal(75)) is Grade.QUALIFIED
    assert grade_for(Decimal(60)) is Grade.BASIC
    assert grade_for(Decimal("59.99")) is Grade.UNQUALIFIED


def test_settings_validation() -> None:
    assert AppraisalSettings().problem() is None
    assert AppraisalSettings().with_value("self", 30).problem() is not None
    assert AppraisalSettings.from_json(AppraisalSettings().to_json()) == AppraisalSettings()


def _proposed(daily: Decimal, self_: str, peers: list[str], group: str) -> tuple[Grade, Decimal]:
    """One member of a branch of many with the default settings: their proposed grade
    and combined score (the cap does not bind: the share is 100 here)."""
    s = AppraisalSettings()
    appraisal = appraisal_score(
        Grade(self_).points, peer_score(vote_counts(peers)), Grade(group).points, s
    )
    combined = combined_score(daily, appraisal, s)
    assert combined is not None
    proposal = propose([Candidate(1, "甲", combined, False, appraisal)], 100)[1]
    return proposal.grade, combined


def test_the_default_weights_let_a_member_with_the_base_score_be_excellent() -> None:
    """The reported defect: 70 % on daily points capped a base-score member at 84.5."""
    base = Decimal(80)  # the scheme's base, no deduction, no bonus
    mostly_excellent = ["excellent"] * 8 + ["qualified"] * 3
    grade, combined = _proposed(base, "excellent", mostly_excellent, "excellent")
    assert grade is Grade.EXCELLENT
    assert combined < 90  # the combined score alone would never have made it
    mostly_qualified = ["qualified"] * 8 + ["excellent", "basic", "qualified"]
    assert _proposed(base, "qualified", mostly_qualified, "qualified")[0] is Grade.QUALIFIED
    mostly_basic = ["basic"] * 8 + ["qualified"] * 3
    assert _proposed(base, "basic", mostly_basic, "basic")[0] is Grade.BASIC
    mostly_unqualified = ["unqualified"] * 8 + ["basic"] * 3
    assert _proposed(base, "basic", mostly_unqualified, "unqualified")[0] is Grade.UNQUALIFIED
    # top daily points do not lift a 合格 appraisal to 优秀
    assert _proposed(Decimal(110), "qualified", mostly_qualified, "qualified")[0] is (
        Grade.QUALIFIED
    )


def test_the_daily_points_rank_the_excellent_ones_under_the_cap() -> None:
    """Same 优秀 appraisal, the cap keeps the better daily points (combined score)."""
    s = AppraisalSettings()
    appraisal = Decimal(95)
    members = [
        Candidate(i, f"m{i}", combined_score(Decimal(daily), appraisal, s), False, appraisal)
        for i, daily in enumerate([80, 90, 70, 85])
    ]
    proposals = propose(members + [Candidate(9, "x", None, False, None)] * 1, 50)
    # 5 appraised, 50 % → 2 优秀: daily 90 (id 1) and 85 (id 3)
    chosen = sorted(p.person_id for p in proposals.values() if p.grade is Grade.EXCELLENT)
    assert chosen == [1, 3]
    assert proposals[0].notes == ("cap",) and proposals[2].notes == ("cap",)
    assert proposals[9].notes == ("no_score",)
