# i18n-domain: appraisal
"""The appraisal's results: each member's parts, the combined annual score and the
proposed grade (``domain.appraisal_rules``); the group's decision on 不合格, the
secretary's finalisation (results stored, the ballot salt wiped), publication (公示),
members' own results and the self-assessment reminders."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from domain import appraisal_rules as rules
from domain.appraisal_base import (
    FINAL,
    NOT_APPRAISED,
    OPEN,
    PUBLISHED,
    AppraisalInfo,
    AppraisedMember,
)
from domain.appraisal_rules import Grade
from domain.appraisal_votes import AppraisalVotes
from domain.errors import Conflict, DomainError, NotAllowed, NotFound
from domain.periods import Quarter, local_today
from domain.points import PointsService
from domain.review import ensure_not_author
from domain.viewer import Viewer
from locales.i18n import N_
from store.models import (
    Appraisal,
    AppraisalConfirmation,
    AppraisalReminder,
    AppraisalResult,
    AppraisalSelf,
    QuarterScore,
)

REVIEWERS_ONLY = N_("Only the secretary or a committee member with review rights can do this.")
REMINDER_DAYS = {"d7": timedelta(days=7), "d2": timedelta(days=2)}


@dataclass(frozen=True)
class MemberResult:
    person_id: int
    name: str
    telegram_user_id: int | None
    self_grade: Grade | None
    self_score: Decimal | None
    votes: dict[str, int]
    peer_score: Decimal | None
    group_score: Decimal | None
    appraisal: Decimal | None
    daily_mean: Decimal | None
    combined: Decimal | None
    admonished: bool
    proposed: Grade
    notes: tuple[str, ...] = ()
    #: None while a proposed 不合格 waits for the group's decision
    final: Grade | None = None
    reason: str | None = None
    self_text: str | None = None
    self_document: str | None = None


@dataclass(frozen=True)
class ResultsView:
    info: AppraisalInfo
    results: list[MemberResult]
    cap: int
    recipients: list[int] = field(default_factory=list)

    @property
    def pending(self) -> list[MemberResult]:
        return [r for r in self.results if r.final is None]


class AppraisalResults(AppraisalVotes):
    async def _daily(
        self, info: AppraisalInfo, members: list[AppraisedMember]
    ) -> tuple[dict[int, Decimal | None], set[int]]:
        """Each member's daily points: the year's mean over the quarters begun so far,
        and who is admonished (诫勉) this year."""
        today = local_today(self.clock.now(), info.timezone)
        points = PointsService(self.session, self.clock)
        totals: dict[int, list[Decimal | None]] = {m.person_id: [] for m in members}
        for q in range(1, 5):
            quarter = Quarter(info.year, q)
            if quarter.start > today:
                break
            scores = {
                s.person_id: s.figures.total
                for s in await points.member_scores(info.branch_id, quarter)
            }
            for person_id, values in totals.items():
                values.append(scores.get(person_id))
        warned = set(
            (
                await self.session.scalars(
                    select(QuarterScore.person_id).where(
                        QuarterScore.branch_id == info.branch_id,
                        QuarterScore.quarter.like(f"{info.year}Q%"),
                        QuarterScore.warned.is_(True),
                    )
                )
            ).all()
        )
        means = {
            pid: rules.mean(v for v in values if v is not None) for pid, values in totals.items()
        }
        admonished = {pid for pid, values in totals.items() if rules.admonished(values)} | warned
        return means, admonished

    async def _compute(self, row: Appraisal, info: AppraisalInfo) -> list[MemberResult]:
        settings = info.settings
        members = await self.appraised(info.branch_id)
        selfs = {
            s.person_id: s
            for s in await self.session.scalars(
                select(AppraisalSelf).where(AppraisalSelf.appraisal_id == row.id)
            )
        }
        counts = await self.counted_ballots(row)
        group = await self.group_scores(row, settings.group_mode)
        daily, admonished = await self._daily(info, members)
        decisions = {
            c.person_id: c
            for c in await self.session.scalars(
                select(AppraisalConfirmation).where(AppraisalConfirmation.appraisal_id == row.id)
            )
        }
        drafts: list[MemberResult] = []
        for m in members:
            own = selfs.get(m.person_id)
            self_grade = rules.parse_grade(own.grade if own else None)
            self_score = self_grade.points if self_grade else None
            votes = counts.get(m.person_id, rules.vote_counts([]))
            peer = rules.peer_score(votes)
            group_score = rules.mean(group.get(m.person_id, []))
            appraisal = rules.appraisal_score(self_score, peer, group_score, settings)
            drafts.append(
                MemberResult(
                    person_id=m.person_id,
                    name=m.name,
                    telegram_user_id=m.telegram_user_id,
                    self_grade=self_grade,
                    self_score=self_score,
                    votes=dict(votes),
                    peer_score=peer,
                    group_score=group_score,
                    appraisal=appraisal,
                    daily_mean=daily.get(m.person_id),
                    combined=rules.combined_score(daily.get(m.person_id), appraisal, settings),
                    admonished=m.person_id in admonished,
                    proposed=Grade.QUALIFIED,  # replaced below
                    self_text=own.text if own else None,
                    self_document=own.document_name if own else None,
                )
            )
        proposals = rules.propose(
            [
                rules.Candidate(d.person_id, d.name, d.combined, d.admonished, d.appraisal)
                for d in drafts
            ],
            settings.excellent,
        )
        results = []
        for draft in drafts:
            proposal = proposals[draft.person_id]
            final: Grade | None = proposal.grade
            reason = None
            if proposal.grade is Grade.UNQUALIFIED:
                decision = decisions.get(draft.person_id)
                if decision is None:
                    final = None  # the scoring group has to decide
                elif decision.confirmed:
                    reason = decision.reason
                else:
                    final = Grade.BASIC
            results.append(
                replace(
                    draft, proposed=proposal.grade, notes=proposal.notes, final=final, reason=reason
                )
            )
        results.sort(key=lambda r: (-(r.combined or Decimal(-1)), r.name, r.person_id))
        return results

    async def _stored(self, row: Appraisal) -> list[MemberResult]:
        rows = await self.session.scalars(
            select(AppraisalResult).where(AppraisalResult.appraisal_id == row.id)
        )
        selfs = {
            s.person_id: s
            for s in await self.session.scalars(
                select(AppraisalSelf).where(AppraisalSelf.appraisal_id == row.id)
            )
        }
        results = []
        for r in rows:
            own = selfs.get(r.person_id)
            results.append(
                MemberResult(
                    person_id=r.person_id,
                    name=r.name,
                    telegram_user_id=None,
                    self_grade=rules.parse_grade(r.self_grade),
                    self_score=r.self_score,
                    votes=dict(r.votes),
                    peer_score=r.peer_score,
                    group_score=r.group_score,
                    appraisal=r.appraisal_score,
                    daily_mean=r.daily_mean,
                    combined=r.combined,
                    admonished=r.admonished,
                    proposed=Grade(r.proposed_grade),
                    notes=tuple(r.notes),
                    final=Grade(r.final_grade),
                    reason=r.reason,
                    self_text=own.text if own else None,
                    self_document=own.document_name if own else None,
                )
            )
        results.sort(key=lambda r: (-(r.combined or Decimal(-1)), r.name, r.person_id))
        return results

    async def results(self, viewer: Viewer, year: int | None = None) -> ResultsView:
        """The secretary's (or a reviewer's, for the export) view of the results:
        computed live while open, as stored once final. Only counts, never ballots."""
        if not viewer.is_reviewer or viewer.branch_id is None:
            raise NotAllowed(
                N_("Only the secretary or a committee member with review rights can do this.")
            )
        row = await self._year_row(viewer.branch_id, year)
        info = self._info(row, await self._branch(viewer.branch_id))
        results = await (self._compute(row, info) if row.status == OPEN else self._stored(row))
        return ResultsView(
            info, results, rules.excellent_cap(len(results), info.settings.excellent)
        )

    async def _year_row(self, branch_id: int, year: int | None) -> Appraisal:
        if year is None:
            row, _info = await self._row(branch_id)
            return row
        found = (
            await self.session.scalars(
                select(Appraisal).where(Appraisal.branch_id == branch_id, Appraisal.year == year)
            )
        ).first()
        if found is None:
            raise NotFound(N_("There is no appraisal of {year} in your branch."), year=year)
        return found

    async def decide_unqualified(
        self, viewer: Viewer, person_id: int, *, confirmed: bool, reason: str | None
    ) -> str:
        """The scoring group's decision on a proposed 不合格, recorded by the secretary
        (its chair) or a committee member with review rights — never by the member
        concerned: confirmed with a reason, or not (then 基本合格). Returns the name."""
        if not viewer.is_reviewer or viewer.branch_id is None:
            raise NotAllowed(REVIEWERS_ONLY)
        branch_id = viewer.branch_id
        row, info = await self._row(branch_id)
        self._editable(row)
        await ensure_not_author(
            self,
            viewer,
            person_id,
            branch_id=branch_id,
            subject_type="person",
            subject_id=person_id,
            msgid=N_("Nobody decides on their own grade: another reviewer records it."),
        )
        results = {r.person_id: r for r in await self._compute(row, info)}
        result = results.get(person_id)
        if result is None:
            raise NotFound(NOT_APPRAISED)
        if result.proposed is not Grade.UNQUALIFIED:
            raise Conflict(N_("{name} is not proposed as 不合格."), name=result.name)
        reason = (reason or "").strip() or None
        if confirmed and reason is None:
            raise DomainError(N_("A reason is needed to confirm 不合格."))
        if reason is not None and len(reason) > 500:
            raise DomainError(N_("Please keep the reason under 500 characters."))
        decision = AppraisalConfirmation(
            appraisal_id=row.id,
            person_id=person_id,
            confirmed=confirmed,
            reason=reason,
            decided_by_person_id=viewer.person_id,
            decided_at=self.clock.now(),
        )
        self.session.add(decision)
        try:
            async with self.session.begin_nested():
                await self.session.flush()
        except IntegrityError:
            raise Conflict(N_("This has already been decided.")) from None
        await self.audit(
            "appraisal.unqualified",
            actor=viewer,
            subject_type="person",
            subject_id=person_id,
            confirmed=confirmed,
            reason=reason,
        )
        return result.name

    async def finalise(self, viewer: Viewer) -> ResultsView:
        """Store every member's result, wipe the ballot salt (from now on nobody, an
        operator included, can recompute a voter's token) and close the appraisal."""
        branch_id = self._secretary(viewer)
        row, info = await self._row(branch_id)
        self._editable(row)
        problem = info.settings.problem()
        if problem:
            raise DomainError(problem)
        results = await self._compute(row, info)
        pending = [r.name for r in results if r.final is None]
        if pending:
            raise Conflict(
                N_("The scoring group has not decided on 不合格 for: {names}."),
                names="、".join(pending),
            )
        now = self.clock.now()
        for r in results:
            assert r.final is not None
            self.session.add(
                AppraisalResult(
                    appraisal_id=row.id,
                    person_id=r.person_id,
                    name=r.name,
                    self_grade=r.self_grade.value if r.self_grade else None,
                    self_score=r.self_score,
                    peer_score=r.peer_score,
                    group_score=r.group_score,
                    appraisal_score=r.appraisal,
                    daily_mean=r.daily_mean,
                    combined=r.combined,
                    proposed_grade=r.proposed.value,
                    final_grade=r.final.value,
                    admonished=r.admonished,
                    votes=r.votes,
                    notes=list(r.notes),
                    reason=r.reason,
                    created_at=now,
                )
            )
        row.status = FINAL
        row.salt = None
        row.finalised_at = now
        await self.session.flush()
        await self.audit(
            "appraisal.finalise",
            actor=viewer,
            subject_type="appraisal",
            subject_id=row.id,
            members=len(results),
        )
        recipients = [r.telegram_user_id for r in results if r.telegram_user_id is not None]
        return ResultsView(
            info,
            results,
            rules.excellent_cap(len(results), info.settings.excellent),
            recipients,
        )

    async def publish(self, viewer: Viewer) -> ResultsView:
        """公示: the final results go to every appraised member who started the bot."""
        branch_id = self._secretary(viewer)
        row, info = await self._row(branch_id)
        if row.status == OPEN:
            raise Conflict(N_("The results are not final yet. Finalise them first."))
        if row.status == PUBLISHED:
            raise Conflict(N_("The results have already been published."))
        members = await self.appraised(branch_id)
        accounts = {m.person_id: m.telegram_user_id for m in members}
        results = [
            replace(r, telegram_user_id=accounts.get(r.person_id)) for r in await self._stored(row)
        ]
        recipients = [m.telegram_user_id for m in members if m.telegram_user_id and m.started]
        row.status = PUBLISHED
        row.published_at = self.clock.now()
        await self.session.flush()
        await self.audit(
            "appraisal.publish",
            actor=viewer,
            subject_type="appraisal",
            subject_id=row.id,
            recipients=len(recipients),
        )
        info = self._info(row, await self._branch(branch_id))
        return ResultsView(
            info, results, rules.excellent_cap(len(results), info.settings.excellent), recipients
        )

    async def my_result(self, viewer: Viewer) -> MemberResult | None:
        """The viewer's own final result (after finalisation), else None."""
        if viewer.branch_id is None or viewer.person_id is None:
            return None
        row = await self._latest_row(viewer.branch_id)
        if row is None or row.status == OPEN:
            return None
        for r in await self._stored(row):
            if r.person_id == viewer.person_id:
                return r
        return None

    # -- reminders ----------------------------------------------------------------------
    async def open_appraisal_ids(self) -> list[int]:
        return list(
            (
                await self.session.scalars(
                    select(Appraisal.id).where(Appraisal.status == OPEN).order_by(Appraisal.id)
                )
            ).all()
        )

    async def due_reminders(self, appraisal_id: int) -> tuple[AppraisalInfo | None, list[int]]:
        """Record and return who gets a self-assessment reminder now (7 and 2 days before
        the deadline, once each): members who started the bot and have not finished."""
        row = await self.session.get(Appraisal, appraisal_id)
        if row is None or row.status != OPEN:
            return None, []
        info = self._info(row, await self._branch(row.branch_id))
        now = self.clock.now()
        if now > row.deadline or local_today(now, info.timezone) < row.opens_on:
            return info, []
        kinds = [k for k, before in REMINDER_DAYS.items() if row.deadline - now <= before]
        if not kinds:
            return info, []
        kind = kinds[-1]  # the nearest: "d2" once within two days
        done = set(
            (
                await self.session.scalars(
                    select(AppraisalSelf.person_id).where(
                        AppraisalSelf.appraisal_id == row.id, AppraisalSelf.grade.is_not(None)
                    )
                )
            ).all()
        )
        sent = set(
            (
                await self.session.scalars(
                    select(AppraisalReminder.person_id).where(
                        AppraisalReminder.appraisal_id == row.id, AppraisalReminder.kind == kind
                    )
                )
            ).all()
        )
        due = []
        for m in await self.appraised(row.branch_id):
            if m.person_id in done or m.person_id in sent or not m.started:
                continue
            assert m.telegram_user_id is not None
            self.session.add(
                AppraisalReminder(
                    appraisal_id=row.id, person_id=m.person_id, kind=kind, sent_at=now
                )
            )
            due.append(m.telegram_user_id)
        await self.session.flush()
        return info, due
