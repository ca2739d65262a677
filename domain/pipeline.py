# i18n-domain: pipeline
"""The admission pipeline service (发展党员): candidates' files, recording procedures in
order (with the rule a refused step breaks), status changes (with the status history),
public notices, and the digest of what is due. Polls are in ``domain.pipeline_polls``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select

from domain import pipeline_rules as rules
from domain.base import Service
from domain.errors import Conflict, NotAllowed, NotFound
from domain.periods import local_today
from domain.pipeline_history import change_status
from domain.pipeline_rules import STEP_BY_CODE, CaseFacts, Input, StepDef
from domain.roles import PersonStatus
from domain.viewer import Viewer
from locales.i18n import N_
from store import repositories as repo
from store.models import (
    Branch,
    Person,
    PipelineCase,
    PipelineNotice,
    PipelinePoll,
    PipelineStep,
    ThoughtReport,
)

MAX_NOTE_CHARS = 2_000
REVIEWERS_ONLY = N_("Only the secretary or a committee member with review rights can do this.")
#: Statuses shown in /pipeline (besides anyone with an open file).
CANDIDATE_STATUSES = (
    PersonStatus.APPLICANT,
    PersonStatus.ACTIVIST,
    PersonStatus.TARGET,
    PersonStatus.PROBATIONARY,
)
#: A file started for someone already on the way: the procedures done before the bot.
ADOPT_THROUGH = {
    PersonStatus.ACTIVIST: "activist",
    PersonStatus.TARGET: "target",
    PersonStatus.PROBATIONARY: "oath",
}
#: Reminders go out this many days before a procedure's latest date.
REMIND_DAYS = 7


class StepRefused(Conflict):
    """A procedure out of order or too early; params ending in ``_label`` are msgids."""


@dataclass(frozen=True)
class StepView:
    code: str
    label: str  # msgid
    stage: rules.Stage
    done_on: date | None
    by: str | None = None
    note: str | None = None
    file_name: str | None = None
    value: dict[str, Any] = field(default_factory=dict)
    file_id: str | None = None


@dataclass(frozen=True)
class Dossier:
    person_id: int
    name: str
    status: PersonStatus
    stage: rules.Stage
    steps: list[StepView]
    next: StepDef | None
    window: rules.Window
    refusal: rules.Refusal | None  # why the next step cannot be recorded today
    probation_end: date | None
    extension_months: int
    open_poll_id: int | None
    today: date
    closed: bool
    adoptable: bool = False
    adopt_on: date | None = None  # the date the earlier procedures would get


@dataclass(frozen=True)
class NoticeInfo:
    """A public notice (公示) to post to the branch's members."""

    name: str
    step_label: str
    start: date
    end: date
    members: list[int]  # Telegram ids


@dataclass(frozen=True)
class RecordResult:
    dossier: Dossier
    step: StepDef
    status: PersonStatus | None
    notice: NoticeInfo | None


@dataclass(frozen=True)
class DueItem:
    branch_id: int
    person_id: int
    name: str
    step: StepDef
    latest: date
    overdue: bool
    #: Telegram ids of the candidate's two training contacts (培养联系人), if assigned.
    contacts: tuple[int, ...] = ()


class PipelineService(Service):
    # -- rights and lookups ---------------------------------------------------------------
    async def need_reviewer(self, viewer: Viewer, what: str) -> int:
        if not viewer.is_reviewer or viewer.branch_id is None:
            await self.audit("pipeline.denied", actor=viewer, subject_type="pipeline", what=what)
            raise NotAllowed(REVIEWERS_ONLY)
        return viewer.branch_id

    async def candidate(self, branch_id: int, person_id: int) -> Person:
        membership = await repo.current_membership(self.session, person_id)
        person = await self.session.get(Person, person_id)
        if person is None or membership is None or membership.branch_id != branch_id:
            raise NotFound(N_("This person is not in your branch."))
        return person

    async def case_of(self, branch_id: int, person_id: int, *, create: bool) -> PipelineCase | None:
        case = await self.session.scalar(
            select(PipelineCase).where(
                PipelineCase.branch_id == branch_id, PipelineCase.person_id == person_id
            )
        )
        if case is None and create:
            case = PipelineCase(
                branch_id=branch_id, person_id=person_id, opened_at=self.clock.now()
            )
            self.session.add(case)
            await self.session.flush()
        return case

    async def today(self, branch_id: int) -> date:
        branch = await self.session.get(Branch, branch_id)
        return local_today(self.clock.now(), branch.timezone if branch else "Asia/Shanghai")

    async def steps_of(self, case: PipelineCase | None) -> list[PipelineStep]:
        """The file's procedures in the order recorded (without superseded ones)."""
        return [] if case is None else (await self.steps_by_case([case]))[case.id]

    async def steps_by_case(self, cases: list[PipelineCase]) -> dict[int, list[PipelineStep]]:
        """The procedures of many files in one query (a list of candidates, the digest)."""
        result: dict[int, list[PipelineStep]] = {c.id: [] for c in cases}
        if not result:
            return result
        rows = await self.session.scalars(
            select(PipelineStep)
            .where(PipelineStep.case_id.in_(sorted(result)), PipelineStep.superseded.is_(False))
            .order_by(PipelineStep.id)
        )
        for step in rows:
            result[step.case_id].append(step)
        return result

    @staticmethod
    def facts(case: PipelineCase | None, steps: list[PipelineStep]) -> CaseFacts:
        done = {s.code: s.done_on for s in steps if s.code in STEP_BY_CODE}
        notice_end = {
            s.code: date.fromisoformat(s.value["notice_end"])
            for s in steps
            if s.value and s.value.get("notice_end")
        }
        return CaseFacts(done, notice_end, case.extension_months if case else 0)

    # -- reading -----------------------------------------------------------------------
    async def candidates(self, viewer: Viewer) -> list[tuple[int, str, rules.Stage, str | None]]:
        """(person id, name, stage, next step's msgid) of everyone in the pipeline."""
        branch_id = await self.need_reviewer(viewer, "list")
        members = await repo.branch_members(self.session, branch_id)
        cases = {
            c.person_id: c
            for c in (
                await self.session.scalars(
                    select(PipelineCase).where(PipelineCase.branch_id == branch_id)
                )
            ).all()
        }
        listed = [
            (m, cases.get(m.person.id))
            for m in members
            if m.person.status in CANDIDATE_STATUSES
            or (m.person.id in cases and cases[m.person.id].closed_at is None)
        ]
        steps = await self.steps_by_case([case for _m, case in listed if case is not None])
        result = []
        for m, case in listed:
            facts = self.facts(case, steps[case.id] if case else [])
            step = rules.next_step(facts)
            result.append(
                (
                    m.person.id,
                    m.person.full_name,
                    rules.stage_of(facts),
                    step.label if step else None,
                )
            )
        return result

    async def dossier(self, viewer: Viewer, person_id: int) -> Dossier:
        branch_id = await self.need_reviewer(viewer, "dossier")
        person = await self.candidate(branch_id, person_id)
        return await self._dossier(branch_id, person)

    async def _dossier(self, branch_id: int, person: Person) -> Dossier:
        case = await self.case_of(branch_id, person.id, create=False)
        steps = await self.steps_of(case)
        facts = self.facts(case, steps)
        today = await self.today(branch_id)
        names = await self.names({s.by_person_id for s in steps if s.by_person_id})
        views = [
            StepView(
                s.code,
                STEP_BY_CODE[s.code].label if s.code in STEP_BY_CODE else rules.EXTEND_LABEL,
                STEP_BY_CODE[s.code].stage if s.code in STEP_BY_CODE else rules.Stage.FULL,
                s.done_on,
                names.get(s.by_person_id or 0),
                s.note,
                s.file_name,
                dict(s.value or {}),
                s.file_id,
            )
            for s in steps
        ]
        nxt = rules.next_step(facts)
        poll_id = None
        if case is not None:
            poll_id = await self.session.scalar(
                select(PipelinePoll.id).where(
                    PipelinePoll.case_id == case.id, PipelinePoll.closed_at.is_(None)
                )
            )
        return Dossier(
            person_id=person.id,
            name=person.full_name,
            status=person.status,
            stage=rules.stage_of(facts),
            steps=views,
            next=nxt,
            window=rules.window(nxt.code, facts) if nxt else rules.Window(None, None),
            refusal=rules.check_order(nxt.code, facts, today) if nxt else None,
            probation_end=rules.probation_end(facts),
            extension_months=facts.extension_months,
            open_poll_id=poll_id,
            today=today,
            closed=case is not None and case.closed_at is not None,
            adoptable=not steps and person.status in ADOPT_THROUGH,
            adopt_on=person.admitted_on or today,
        )

    async def names(self, ids: set[int]) -> dict[int, str]:
        return await repo.person_names(self.session, ids)

    # -- a file for someone already on the way (imported from the roster) -------------
    async def adopt(self, viewer: Viewer, person_id: int) -> Dossier:
        """Start the file of someone who came with the roster already an activist, a
        development target or a probationary member: the procedures up to that status
        are marked done before the bot (on the roster's date — for a probationary member
        the admission, from which the probation runs — else today)."""
        branch_id = await self.need_reviewer(viewer, "adopt")
        person = await self.candidate(branch_id, person_id)
        last = ADOPT_THROUGH.get(person.status)
        case = await self.case_of(branch_id, person_id, create=False)
        if last is None or (case is not None and await self.steps_of(case)):
            raise Conflict(N_("This file has procedures already: record the next one."))
        case = await self.case_of(branch_id, person_id, create=True)
        assert case is not None
        day = person.admitted_on or await self.today(branch_id)
        now = self.clock.now()
        for step in rules.STEPS[: rules.ORDER[last] + 1]:
            self.session.add(
                PipelineStep(
                    case_id=case.id,
                    code=step.code,
                    done_on=day,
                    recorded_at=now,
                    by_person_id=viewer.person_id,
                    value={"before_bot": True},
                )
            )
        await self.session.flush()
        await self.audit(
            "pipeline.adopt",
            actor=viewer,
            subject_type="person",
            subject_id=person_id,
            status=person.status.value,
            through=last,
            on=day.isoformat(),
        )
        return await self._dossier(branch_id, person)

    # -- recording a procedure ------------------------------------------------------------
    async def check(self, viewer: Viewer, person_id: int, code: str) -> StepDef:
        """The procedure ``code`` may be recorded today (else StepRefused, audited)."""
        branch_id = await self.need_reviewer(viewer, f"step {code}")
        await self.candidate(branch_id, person_id)
        case = await self.case_of(branch_id, person_id, create=False)
        facts = self.facts(case, await self.steps_of(case))
        refusal = rules.check_order(code, facts, await self.today(branch_id))
        if refusal is not None:
            await self.audit(
                "pipeline.step.refused",
                actor=viewer,
                subject_type="person",
                subject_id=person_id,
                step=code,
                rule=refusal.msgid,
            )
            raise StepRefused(refusal.msgid, **refusal.params)
        return STEP_BY_CODE[code]

    async def record(
        self,
        viewer: Viewer,
        person_id: int,
        code: str,
        *,
        note: str | None = None,
        file_id: str | None = None,
        file_name: str | None = None,
        people: list[int] | None = None,
        number: int | None = None,
        poll: PipelinePoll | None = None,
    ) -> RecordResult:
        step = await self.check(viewer, person_id, code)
        branch_id = viewer.branch_id
        assert branch_id is not None
        if step.input is Input.POLL and poll is None:
            raise Conflict(
                N_("This procedure is a vote: open it with “Open the vote” in the file.")
            )
        if note is not None and len(note) > MAX_NOTE_CHARS:
            raise Conflict(N_("A note can be at most {n} characters."), n=MAX_NOTE_CHARS)
        person = await self.candidate(branch_id, person_id)
        case = await self.case_of(branch_id, person_id, create=True)
        assert case is not None
        steps = await self.steps_of(case)
        facts = self.facts(case, steps)
        today = await self.today(branch_id)
        value: dict[str, Any] = {}
        await self._check_input(step, branch_id, person, facts, people, number, value)
        notice: NoticeInfo | None = None
        if step.input is Input.NOTICE:
            end = rules.working_days_end(today)
            value["notice_end"] = end.isoformat()
            members = await repo.branch_members(self.session, branch_id)
            notice = NoticeInfo(
                person.full_name,
                step.label,
                today,
                end,
                [
                    m.account.telegram_user_id
                    for m in members
                    if m.account is not None
                    and m.account.started_at is not None
                    and m.person.status.is_party_member
                ],
            )
        if poll is not None:
            value["poll_id"] = poll.id
            value["counts"] = dict(poll.result.get("counts", {}))
        self.session.add(
            PipelineStep(
                case_id=case.id,
                code=code,
                done_on=today,
                recorded_at=self.clock.now(),
                by_person_id=viewer.person_id,
                note=note,
                file_id=file_id,
                file_name=file_name,
                value=value,
            )
        )
        await self.session.flush()
        new_status = step.sets_status
        if new_status is not None:
            since = today
            if code == "approval":
                since = facts.done["meeting"]  # the probation runs from the meeting
                person.admitted_on = since  # fees are owed from that month
            await change_status(
                self.session,
                person,
                new_status,
                on=since,
                now=self.clock.now(),
                by_person_id=viewer.person_id,
                source=code,
            )
        if code == rules.STEPS[-1].code:
            case.closed_at = self.clock.now()
        await self.audit(
            "pipeline.step",
            actor=viewer,
            subject_type="person",
            subject_id=person_id,
            step=code,
            done_on=today.isoformat(),
            status=new_status.value if new_status else None,
            **{k: v for k, v in value.items() if k != "counts"},
        )
        return RecordResult(await self._dossier(branch_id, person), step, new_status, notice)

    async def _check_input(
        self,
        step: StepDef,
        branch_id: int,
        person: Person,
        facts: CaseFacts,
        people: list[int] | None,
        number: int | None,
        value: dict[str, Any],
    ) -> None:
        if step.input is Input.PEOPLE:
            chosen = sorted(set(people or []))
            if len(chosen) != 2 or person.id in chosen:
                raise Conflict(N_("Name exactly two people of the branch, not the candidate."))
            for pid in chosen:
                other = await self.candidate(branch_id, pid)
                if step.full_members_only and other.status is not PersonStatus.MEMBER:
                    raise Conflict(
                        N_("{name} is not a full member: introducers must be full members."),
                        name=other.full_name,
                    )
                if not other.status.is_party_member:
                    raise Conflict(N_("{name} is not a Party member."), name=other.full_name)
            value["people"] = chosen
        if step.input is Input.SCORE:
            if number is None or not 0 <= number <= 100:
                raise Conflict(N_("Send a score from 0 to 100."))
            if number < rules.SCORE_PASS:
                raise Conflict(
                    N_("A score of {score} is below the pass mark of {mark}."),
                    score=number,
                    mark=rules.SCORE_PASS,
                )
            value["score"] = number
        if step.input is Input.HOURS:
            if number is None or number < rules.SHORT_COURSE_HOURS:
                raise Conflict(
                    N_("The short training needs at least 3 days or {hours} hours of study."),
                    hours=rules.SHORT_COURSE_HOURS,
                )
            value["hours"] = number
        if step.code == "opinions":
            since = facts.done["activist"]
            reports = await self.session.scalar(
                select(func.count(ThoughtReport.id)).where(
                    ThoughtReport.person_id == person.id, ThoughtReport.submitted_on >= since
                )
            )
            if (reports or 0) < rules.MIN_THOUGHT_REPORTS:
                raise Conflict(
                    N_(
                        "{name} handed in {n} thought report(s) as an activist; at least "
                        "{min} are needed (one every half year)."
                    ),
                    name=person.full_name,
                    n=reports or 0,
                    min=rules.MIN_THOUGHT_REPORTS,
                )
        if step.code == "target":
            activists = await repo.branch_members(
                self.session, branch_id, statuses=[PersonStatus.ACTIVIST, PersonStatus.TARGET]
            )
            if len(activists) < rules.MIN_ACTIVISTS:
                raise Conflict(
                    N_(
                        "At least {min} activists must be considered for one admission; the "
                        "branch has {n}."
                    ),
                    min=rules.MIN_ACTIVISTS,
                    n=len(activists),
                )

    async def people_by_names(self, viewer: Viewer, text: str) -> list[int]:
        """Person ids of the branch named in ``text`` (separated by 、 , ， or spaces)."""
        branch_id = await self.need_reviewer(viewer, "people")
        names = [n for n in text.replace("，", " ").replace(",", " ").replace("、", " ").split()]
        members = {
            m.person.full_name: m.person.id
            for m in await repo.branch_members(self.session, branch_id)
        }
        missing = [n for n in names if n not in members]
        if missing:
            raise Conflict(N_("Not in your branch: {names}."), names="、".join(missing))
        return [members[n] for n in names]

    # -- reminders and the digest -----------------------------------------------------
    async def telegram_of(self, person_id: int) -> int | None:
        account = await repo.account_of_person(self.session, person_id)
        if account is None or account.started_at is None:
            return None
        return account.telegram_user_id

    async def branch_ids(self) -> list[int]:
        rows = await self.session.scalars(
            select(PipelineCase.branch_id).where(PipelineCase.closed_at.is_(None)).distinct()
        )
        return sorted(rows.all())

    async def reviewer_telegram_ids(self, branch_id: int) -> list[int]:
        rows = await repo.branch_reviewers(self.session, branch_id)
        return [
            r.account.telegram_user_id
            for r in rows
            if r.account is not None and r.account.started_at is not None
        ]

    async def mark_sent(self, branch_id: int, key: str) -> bool:
        """Record that the reminder ``key`` goes out now; False if it already did."""
        exists = await self.session.scalar(
            select(PipelineNotice.id).where(
                PipelineNotice.branch_id == branch_id, PipelineNotice.key == key
            )
        )
        if exists is not None:
            return False
        self.session.add(PipelineNotice(branch_id=branch_id, key=key, sent_at=self.clock.now()))
        await self.session.flush()
        return True

    async def due(self, branch_id: int) -> list[DueItem]:
        """Open files whose next procedure has a latest date within ``REMIND_DAYS``."""
        today = await self.today(branch_id)
        items = []
        cases = await self.session.scalars(
            select(PipelineCase).where(
                PipelineCase.branch_id == branch_id, PipelineCase.closed_at.is_(None)
            )
        )
        open_cases = list(cases.all())
        steps_by_case = await self.steps_by_case(open_cases)
        for case in open_cases:
            steps = steps_by_case[case.id]
            facts = self.facts(case, steps)
            step = rules.next_step(facts)
            if step is None:
                continue
            latest = rules.window(step.code, facts).latest
            if latest is None or latest - today > timedelta(days=REMIND_DAYS):
                continue
            person = await self.session.get(Person, case.person_id)
            assert person is not None
            contacts = [
                tid
                for s in steps
                if s.code == "contacts"
                for pid in s.value.get("people", [])
                if (tid := await self.telegram_of(pid)) is not None
            ]
            items.append(
                DueItem(
                    branch_id,
                    person.id,
                    person.full_name,
                    step,
                    latest,
                    latest < today,
                    tuple(contacts),
                )
            )
        return items

    async def digest(
        self, branch_id: int
    ) -> list[tuple[str, rules.Stage, StepDef | None, rules.Window]]:
        """Everyone with an open file: name, stage, next procedure and its dates."""
        result = []
        cases = await self.session.scalars(
            select(PipelineCase)
            .where(PipelineCase.branch_id == branch_id, PipelineCase.closed_at.is_(None))
            .order_by(PipelineCase.id)
        )
        open_cases = list(cases.all())
        steps = await self.steps_by_case(open_cases)
        for case in open_cases:
            facts = self.facts(case, steps[case.id])
            step = rules.next_step(facts)
            person = await self.session.get(Person, case.person_id)
            assert person is not None
            result.append(
                (
                    person.full_name,
                    rules.stage_of(facts),
                    step,
                    rules.window(step.code, facts) if step else rules.Window(None, None),
                )
            )
        return result

    # -- export ------------------------------------------------------------------------
    async def export_rows(self, viewer: Viewer) -> list[Dossier]:
        branch_id = await self.need_reviewer(viewer, "export")
        cases = await self.session.scalars(
            select(PipelineCase)
            .where(PipelineCase.branch_id == branch_id)
            .order_by(PipelineCase.id)
        )
        result = []
        for case in cases.all():
            person = await self.session.get(Person, case.person_id)
            assert person is not None
            result.append(await self._dossier(branch_id, person))
        return result
