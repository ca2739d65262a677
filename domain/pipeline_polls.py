# i18n-domain: pipeline
"""Votes of the admission pipeline in chat: the democratic assessment (secret: excellent /
average / poor, seed 003's thresholds) and the branch general meeting's votes (for /
against / abstain by the full members: admission, full membership, extending the
probation). Counts are exact; who may vote is fixed when the poll opens; one ballot each."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from domain import pipeline_rules as rules
from domain.base import Service
from domain.clock import Clock
from domain.errors import Conflict, NotAllowed, NotFound
from domain.pipeline import RecordResult, StepRefused
from domain.pipeline_rules import PollKind
from domain.roles import PersonStatus
from domain.viewer import Viewer
from locales.i18n import N_
from store import repositories as repo
from store.models import Person, PipelineBallot, PipelineCase, PipelinePoll, PipelineStep

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from domain.pipeline import PipelineService

CHOICES: dict[PollKind, tuple[str, ...]] = {
    PollKind.ASSESSMENT: ("excellent", "average", "poor"),
    PollKind.MEETING: ("yes", "no", "abstain"),
    PollKind.EXTEND: ("yes", "no", "abstain"),
}
CHOICE_LABELS = {
    "excellent": N_("excellent"),
    "average": N_("average"),
    "poor": N_("poor"),
    "yes": N_("in favour"),
    "no": N_("against"),
    "abstain": N_("abstain"),
}
EXTENSION_CHOICES = (6, 12)


@dataclass(frozen=True)
class PollView:
    id: int
    kind: PollKind
    person_id: int
    name: str
    step: str
    secret: bool
    entitled: int
    cast: int
    counts: dict[str, int]
    closed: bool
    passed: bool | None
    months: int | None
    outcome: rules.PollOutcome | None
    masses: rules.Masses | None = None


@dataclass(frozen=True)
class OpenedPoll:
    poll: PollView
    voters: list[int]  # Telegram ids of those entitled who can be reached


@dataclass(frozen=True)
class ClosedPoll:
    poll: PollView
    recorded: RecordResult | None


class PollService(Service):
    def __init__(self, session: AsyncSession, clock: Clock, pipeline: PipelineService) -> None:
        super().__init__(session, clock)
        self.pipeline = pipeline

    async def _view(self, poll: PipelinePoll) -> PollView:
        case = await self.session.get(PipelineCase, poll.case_id)
        assert case is not None
        person = await self.session.get(Person, case.person_id)
        assert person is not None
        kind = PollKind(poll.kind)
        ballots = (
            await self.session.scalars(
                select(PipelineBallot.choice).where(PipelineBallot.poll_id == poll.id)
            )
        ).all()
        counts = {c: 0 for c in CHOICES[kind]}
        for choice in ballots:
            counts[choice] = counts.get(choice, 0) + 1
        return PollView(
            poll.id,
            kind,
            person.id,
            person.full_name,
            poll.step,
            poll.secret,
            len(poll.entitled),
            len(ballots),
            counts,
            poll.closed_at is not None,
            poll.passed,
            poll.arg,
            _outcome(kind, len(poll.entitled), counts, _masses(poll.result)),
            _masses(poll.result),
        )

    async def open(
        self, viewer: Viewer, person_id: int, kind: PollKind, months: int | None = None
    ) -> OpenedPoll:
        branch_id = await self.pipeline.need_reviewer(viewer, f"poll {kind.value}")
        person = await self.pipeline.candidate(branch_id, person_id)
        case = await self.pipeline.case_of(branch_id, person_id, create=True)
        assert case is not None
        facts = self.pipeline.facts(case, await self.pipeline.steps_of(case))
        if kind is PollKind.EXTEND:
            step_code = "extend"
            if months not in EXTENSION_CHOICES:
                raise Conflict(N_("The probation can be extended by 6 or 12 months."))
            if "meeting" not in facts.done or "full_meeting" in facts.done:
                raise StepRefused(
                    N_("Only a probationary member's probation can be extended, before the vote.")
                )
            if facts.extension_months:
                raise Conflict(N_("The probation was already extended once (at most one year)."))
        else:
            step = rules.next_step(facts)
            if step is None or step.poll is not kind:
                # Refused with the order rule: the vote of this kind still to come.
                pending = [
                    s.code for s in rules.STEPS if s.poll is kind and s.code not in facts.done
                ]
                await self.pipeline.check(viewer, person_id, pending[0] if pending else "meeting")
                raise Conflict(N_("Unknown procedure."))
            await self.pipeline.check(viewer, person_id, step.code)
            step_code = step.code
        already = await self.session.scalar(
            select(PipelinePoll.id).where(
                PipelinePoll.case_id == case.id, PipelinePoll.closed_at.is_(None)
            )
        )
        if already is not None:
            raise Conflict(N_("A poll on this candidate is still open: close it first."))
        voters_status = (
            (PersonStatus.MEMBER, PersonStatus.PROBATIONARY)
            if kind is PollKind.ASSESSMENT
            else (PersonStatus.MEMBER,)  # full members have the vote
        )
        members = await repo.branch_members(self.session, branch_id, statuses=voters_status)
        entitled = [m for m in members if m.person.id != person.id]
        poll = PipelinePoll(
            case_id=case.id,
            kind=kind.value,
            step=step_code,
            secret=kind is PollKind.ASSESSMENT,
            arg=months,
            entitled=[m.person.id for m in entitled],
            opened_at=self.clock.now(),
            opened_by_person_id=viewer.person_id,
            result={},
        )
        self.session.add(poll)
        await self.session.flush()
        await self.audit(
            "pipeline.poll.open",
            actor=viewer,
            subject_type="pipeline_poll",
            subject_id=poll.id,
            person_id=person_id,
            kind=kind.value,
            entitled=len(entitled),
        )
        voters = [
            m.account.telegram_user_id
            for m in entitled
            if m.account is not None and m.account.started_at is not None
        ]
        return OpenedPoll(await self._view(poll), voters)

    async def get(self, viewer: Viewer, poll_id: int) -> PollView:
        poll = await self._poll_for_voter(viewer, poll_id)
        return await self._view(poll)

    async def _poll_for_voter(self, viewer: Viewer, poll_id: int) -> PipelinePoll:
        poll = await self.session.get(PipelinePoll, poll_id)
        case = await self.session.get(PipelineCase, poll.case_id) if poll else None
        if poll is None or case is None or case.branch_id != viewer.branch_id:
            raise NotFound(N_("This poll does not exist."))
        return poll

    async def vote(self, viewer: Viewer, poll_id: int, choice: str) -> PollView:
        poll = await self._poll_for_voter(viewer, poll_id)
        if viewer.person_id not in poll.entitled:
            await self.audit(
                "pipeline.denied", actor=viewer, subject_type="pipeline_poll", subject_id=poll_id
            )
            raise NotAllowed(N_("You are not entitled to vote in this poll."))
        if poll.closed_at is not None:
            raise Conflict(N_("This poll is closed."))
        if choice not in CHOICES[PollKind(poll.kind)]:
            raise NotFound(N_("This poll does not exist."))
        exists = await self.session.scalar(
            select(PipelineBallot.id).where(
                PipelineBallot.poll_id == poll.id,
                PipelineBallot.voter_person_id == viewer.person_id,
            )
        )
        if exists is not None:
            raise Conflict(N_("You have already voted in this poll."))
        try:
            async with self.session.begin_nested():
                self.session.add(
                    PipelineBallot(
                        poll_id=poll.id,
                        voter_person_id=viewer.person_id,
                        choice=choice,
                        cast_at=self.clock.now(),
                    )
                )
        except IntegrityError as exc:
            raise Conflict(N_("You have already voted in this poll.")) from exc
        # Secret: the audit names the voter (one ballot each) but not the choice.
        shown: dict[str, Any] = {} if poll.secret else {"choice": choice}
        await self.audit(
            "pipeline.vote",
            actor=viewer,
            subject_type="pipeline_poll",
            subject_id=poll.id,
            **shown,
        )
        return await self._view(poll)

    async def needs_masses(self, viewer: Viewer, poll_id: int) -> bool:
        """Closing this poll needs the non-members' paper ballots (the assessment)."""
        await self.pipeline.need_reviewer(viewer, "poll close")
        poll = await self._poll_for_voter(viewer, poll_id)
        if poll.closed_at is not None:
            raise Conflict(N_("This poll is closed."))
        return PollKind(poll.kind) is PollKind.ASSESSMENT

    async def close(
        self, viewer: Viewer, poll_id: int, masses: rules.Masses | None = None
    ) -> ClosedPoll:
        if await self.needs_masses(viewer, poll_id) and masses is None:
            raise Conflict(N_("Send the non-members' ballots first."))
        poll = await self._poll_for_voter(viewer, poll_id)
        result: dict[str, Any] = {}
        if masses is not None and PollKind(poll.kind) is PollKind.ASSESSMENT:
            result["masses"] = [masses.asked, masses.excellent, masses.average, masses.poor]
        poll.result = result
        view = await self._view(poll)
        assert view.outcome is not None
        poll.closed_at = self.clock.now()
        poll.passed = view.outcome.passed
        poll.result = {**result, "counts": view.counts, "entitled": view.entitled}
        await self.session.flush()
        await self.audit(
            "pipeline.poll.close",
            actor=viewer,
            subject_type="pipeline_poll",
            subject_id=poll.id,
            passed=poll.passed,
            counts=view.counts,
            entitled=view.entitled,
            masses=result.get("masses"),
        )
        recorded = None
        if poll.passed:
            if poll.step == "extend":
                await self._extend(viewer, poll)
            else:
                recorded = await self.pipeline.record(viewer, view.person_id, poll.step, poll=poll)
        return ClosedPoll(await self._view(poll), recorded)

    async def _extend(self, viewer: Viewer, poll: PipelinePoll) -> None:
        case = await self.session.get(PipelineCase, poll.case_id)
        assert case is not None and poll.arg is not None
        case.extension_months = poll.arg
        for step in await self.pipeline.steps_of(case):
            if step.code in rules.REOPENED_BY_EXTENSION:
                step.superseded = True
        await self.session.flush()
        today = await self.pipeline.today(case.branch_id)
        self.session.add(
            PipelineStep(
                case_id=case.id,
                code="extend",
                done_on=today,
                recorded_at=self.clock.now(),
                by_person_id=viewer.person_id,
                value={"months": poll.arg, "poll_id": poll.id, "counts": poll.result["counts"]},
            )
        )
        await self.session.flush()
        await self.audit(
            "pipeline.extend",
            actor=viewer,
            subject_type="person",
            subject_id=case.person_id,
            months=poll.arg,
        )

    async def open_for(self, viewer: Viewer) -> list[PollView]:
        """Open polls in the viewer's branch the viewer may still vote in."""
        if viewer.branch_id is None or viewer.person_id is None:
            return []
        polls = await self._open_polls(viewer.branch_id)
        voted = set(
            (
                await self.session.scalars(
                    select(PipelineBallot.poll_id).where(
                        PipelineBallot.voter_person_id == viewer.person_id
                    )
                )
            ).all()
        )
        return [
            await self._view(p)
            for p in polls
            if viewer.person_id in p.entitled and p.id not in voted
        ]

    async def open_in_branch(self, viewer: Viewer) -> list[PollView]:
        branch_id = await self.pipeline.need_reviewer(viewer, "polls")
        polls = await self._open_polls(branch_id)
        return [await self._view(p) for p in polls]

    async def _open_polls(self, branch_id: int) -> list[PipelinePoll]:
        rows = await self.session.scalars(
            select(PipelinePoll)
            .join(PipelineCase, PipelineCase.id == PipelinePoll.case_id)
            .where(PipelineCase.branch_id == branch_id, PipelinePoll.closed_at.is_(None))
            .order_by(PipelinePoll.id)
        )
        return list(rows.all())


def _masses(result: dict[str, Any]) -> rules.Masses | None:
    masses = result.get("masses") if result else None
    return rules.Masses(*masses) if masses else None


def _outcome(
    kind: PollKind, entitled: int, counts: dict[str, int], masses: rules.Masses | None
) -> rules.PollOutcome:
    if kind is PollKind.ASSESSMENT:
        return rules.assessment_outcome(
            entitled,
            counts.get("excellent", 0),
            counts.get("average", 0),
            counts.get("poor", 0),
            masses,
        )
    return rules.meeting_outcome(
        entitled, counts.get("yes", 0), counts.get("no", 0), counts.get("abstain", 0)
    )
