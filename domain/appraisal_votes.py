# i18n-domain: appraisal
"""Self-assessments (自评), peer ballots (互评) and the scoring group's grades.

Secrecy of the peer ballots: a ballot row holds the appraisal, an HMAC token of the
voter (keyed by the appraisal's random salt), the target and the grade — no voter id, no
time. The voter's own screen finds their ballots by recomputing their token; counts
(per target and grade) are all anything else reads. A voter who left the branch loses
their vote: only the tokens of the members appraised now are counted."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select

from domain.appraisal_base import NOT_APPRAISED, AppraisalCore, AppraisalInfo, AppraisedMember
from domain.appraisal_rules import Grade, voter_token
from domain.errors import Conflict, DomainError, NotFound
from domain.viewer import Viewer
from locales.i18n import N_
from store.models import Appraisal, AppraisalBallot, AppraisalGroupGrade, AppraisalSelf

SELF_VOTE = N_("You cannot grade yourself.")


@dataclass(frozen=True)
class SelfInfo:
    text: str | None
    document_name: str | None
    document_file_id: str | None
    grade: Grade | None


@dataclass(frozen=True)
class BallotScreen:
    """One person on a voter's (or grader's) screen: who, where in the list, and the
    viewer's own current grade of them (or score)."""

    info: AppraisalInfo
    target: AppraisedMember
    index: int
    total: int
    mine: Grade | None
    score: Decimal | None = None
    done: int = 0


class AppraisalVotes(AppraisalCore):
    # -- self-assessment -------------------------------------------------------------
    async def my_self(self, viewer: Viewer) -> SelfInfo | None:
        row, _info = await self._appraised_voter(viewer)
        mine = await self._self_row(row.id, viewer.person_id or 0)
        if mine is None:
            return None
        return SelfInfo(mine.text, mine.document_name, mine.document_file_id, _grade(mine.grade))

    async def _self_row(self, appraisal_id: int, person_id: int) -> AppraisalSelf | None:
        return (
            await self.session.scalars(
                select(AppraisalSelf).where(
                    AppraisalSelf.appraisal_id == appraisal_id,
                    AppraisalSelf.person_id == person_id,
                )
            )
        ).first()

    async def check_self_window(self, viewer: Viewer) -> AppraisalInfo:
        row, info = await self._appraised_voter(viewer)
        self._window(row, info)
        return info

    async def save_self(
        self,
        viewer: Viewer,
        *,
        text: str | None = None,
        document: tuple[str, str] | None = None,
    ) -> None:
        """Keep the self-assessment text (at most the branch's length) or document
        (Telegram file id, name); replaces an earlier one."""
        row, info = await self._appraised_voter(viewer)
        self._window(row, info)
        if text is not None:
            text = text.strip()
            if not text:
                raise DomainError(
                    N_("Please write your self-assessment as text or send a document.")
                )
            if len(text) > info.settings.chars:
                raise DomainError(
                    N_("The self-assessment is at most {n} characters; yours has {m}."),
                    n=info.settings.chars,
                    m=len(text),
                )
        assert viewer.person_id is not None
        mine = await self._self_row(row.id, viewer.person_id)
        if mine is None:
            mine = AppraisalSelf(
                appraisal_id=row.id, person_id=viewer.person_id, updated_at=self.clock.now()
            )
            self.session.add(mine)
        mine.text = text
        mine.document_file_id = document[0] if document else None
        mine.document_name = document[1][:128] if document else None
        mine.updated_at = self.clock.now()
        await self.session.flush()
        await self.audit(
            "appraisal.self", actor=viewer, subject_type="appraisal", subject_id=row.id
        )

    async def self_grade(self, viewer: Viewer, grade: Grade) -> None:
        row, info = await self._appraised_voter(viewer)
        self._window(row, info)
        assert viewer.person_id is not None
        mine = await self._self_row(row.id, viewer.person_id)
        if mine is None or not (mine.text or mine.document_file_id):
            raise Conflict(N_("Write your self-assessment first."))
        if mine.grade != grade.value:
            mine.grade = grade.value
            mine.updated_at = self.clock.now()
            await self.session.flush()
            await self.audit(
                "appraisal.self_grade",
                actor=viewer,
                subject_type="appraisal",
                subject_id=row.id,
                grade=grade.value,
            )

    async def self_count(self, appraisal_id: int) -> int:
        return int(
            await self.session.scalar(
                select(func.count(AppraisalSelf.id)).where(
                    AppraisalSelf.appraisal_id == appraisal_id,
                    AppraisalSelf.grade.is_not(None),
                )
            )
            or 0
        )

    # -- peer ballots -----------------------------------------------------------------
    def _token(self, row: Appraisal, person_id: int) -> str:
        if row.salt is None:
            raise Conflict(N_("The appraisal has been finalised; it can no longer change."))
        return voter_token(row.salt, person_id)

    async def _others(self, branch_id: int, person_id: int | None) -> list[AppraisedMember]:
        """Everyone appraised in the branch but ``person_id`` (whom nobody grades)."""
        return [m for m in await self.appraised(branch_id) if m.person_id != person_id]

    async def _my_ballots(self, row: Appraisal, token: str) -> dict[int, Grade]:
        rows = await self.session.execute(
            select(AppraisalBallot.target_person_id, AppraisalBallot.grade).where(
                AppraisalBallot.appraisal_id == row.id, AppraisalBallot.voter_token == token
            )
        )
        return {target: Grade(grade) for target, grade in rows}

    async def peer_screen(self, viewer: Viewer, index: int) -> BallotScreen:
        """The ``index``-th other member on the viewer's peer screen (kept in range)."""
        row, info = await self._appraised_voter(viewer)
        others = await self._others(info.branch_id, viewer.person_id)
        if not others:
            raise Conflict(N_("There is nobody else to grade."))
        index = min(max(index, 0), len(others) - 1)
        mine = await self._my_ballots(row, self._token(row, viewer.person_id or 0))
        target = others[index]
        return BallotScreen(
            info, target, index, len(others), mine.get(target.person_id), done=len(mine)
        )

    async def peer_list(self, viewer: Viewer) -> tuple[list[AppraisedMember], dict[int, Grade]]:
        row, info = await self._appraised_voter(viewer)
        others = await self._others(info.branch_id, viewer.person_id)
        return others, await self._my_ballots(row, self._token(row, viewer.person_id or 0))

    async def vote(self, viewer: Viewer, target_person_id: int, grade: Grade) -> int:
        """Cast or change the viewer's grade of a fellow member; a repeat is a no-op.
        Returns the target's place on the viewer's screen."""
        row, info = await self._appraised_voter(viewer)
        if target_person_id == viewer.person_id:
            raise Conflict(SELF_VOTE)
        self._window(row, info)
        others = await self._others(info.branch_id, viewer.person_id)
        places = {m.person_id: i for i, m in enumerate(others)}
        if target_person_id not in places:
            raise NotFound(NOT_APPRAISED)
        token = self._token(row, viewer.person_id or 0)
        ballot = (
            await self.session.scalars(
                select(AppraisalBallot).where(
                    AppraisalBallot.appraisal_id == row.id,
                    AppraisalBallot.voter_token == token,
                    AppraisalBallot.target_person_id == target_person_id,
                )
            )
        ).first()
        if ballot is None:
            self.session.add(
                AppraisalBallot(
                    appraisal_id=row.id,
                    voter_token=token,
                    target_person_id=target_person_id,
                    grade=grade.value,
                )
            )
        else:
            ballot.grade = grade.value
        await self.session.flush()
        # No audit entry per ballot: it would name the voter and the target together.
        return places[target_person_id]

    async def counted_ballots(self, row: Appraisal) -> dict[int, dict[str, int]]:
        """Per target, the number of ballots per grade from members appraised now."""
        if row.salt is None:
            return {}
        voters = [voter_token(row.salt, m.person_id) for m in await self.appraised(row.branch_id)]
        counts: dict[int, dict[str, int]] = {}
        for start in range(0, len(voters), 500):
            rows = await self.session.execute(
                select(AppraisalBallot.target_person_id, AppraisalBallot.grade, func.count())
                .where(
                    AppraisalBallot.appraisal_id == row.id,
                    AppraisalBallot.voter_token.in_(voters[start : start + 500]),
                )
                .group_by(AppraisalBallot.target_person_id, AppraisalBallot.grade)
            )
            for target, grade, n in rows:
                per = counts.setdefault(target, {g.value: 0 for g in Grade})
                per[grade] = per.get(grade, 0) + int(n)
        return counts

    async def ballot_total(self, appraisal_id: int) -> int:
        return int(
            await self.session.scalar(
                select(func.count(AppraisalBallot.id)).where(
                    AppraisalBallot.appraisal_id == appraisal_id
                )
            )
            or 0
        )

    # -- the scoring group's grades ---------------------------------------------------
    async def group_screen(self, viewer: Viewer, index: int) -> BallotScreen:
        branch_id = await self.grader_branch(viewer)
        row, info, seat = await self._grader(viewer, branch_id)
        members = await self._others(branch_id, seat.person_id)
        if not members:
            raise Conflict(N_("There is nobody else to grade."))
        index = min(max(index, 0), len(members) - 1)
        target = members[index]
        grades = await self._group_rows(row.id, seat.id)
        mine = grades.get(target.person_id)
        return BallotScreen(
            info,
            target,
            index,
            len(members),
            _grade(mine.grade) if mine else None,
            mine.score if mine else None,
            done=len(grades),
        )

    async def _group_rows(self, appraisal_id: int, seat_id: int) -> dict[int, AppraisalGroupGrade]:
        rows = await self.session.scalars(
            select(AppraisalGroupGrade).where(
                AppraisalGroupGrade.appraisal_id == appraisal_id,
                AppraisalGroupGrade.grader_id == seat_id,
            )
        )
        return {r.target_person_id: r for r in rows}

    async def group_grade(
        self,
        viewer: Viewer,
        target_person_id: int,
        *,
        grade: Grade | None = None,
        score: Decimal | None = None,
    ) -> int:
        """A scoring-group member grades (or scores 0–100) a member; replaces an earlier
        grade. Returns the target's place on the grader's screen."""
        branch_id = await self.grader_branch(viewer)
        row, info, seat = await self._grader(viewer, branch_id)
        if target_person_id == seat.person_id:
            raise Conflict(SELF_VOTE)
        self._window(row, info)
        mode = info.settings.group_mode
        if (mode == "scores") != (score is not None) or (score is None and grade is None):
            raise Conflict(N_("The scoring group's grading has changed. Open it again."))
        if score is not None and not Decimal(0) <= score <= Decimal(100):
            raise DomainError(N_("A score is from 0 to 100."))
        members = await self._others(branch_id, seat.person_id)
        places = {m.person_id: i for i, m in enumerate(members)}
        if target_person_id not in places:
            raise NotFound(NOT_APPRAISED)
        existing = (await self._group_rows(row.id, seat.id)).get(target_person_id)
        now = self.clock.now()
        if existing is None:
            existing = AppraisalGroupGrade(
                appraisal_id=row.id,
                grader_id=seat.id,
                target_person_id=target_person_id,
                updated_at=now,
            )
            self.session.add(existing)
        existing.grade = grade.value if grade else None
        existing.score = score
        existing.updated_at = now
        await self.session.flush()
        await self.audit(
            "appraisal.group_grade",
            actor=viewer,
            branch_id=branch_id,
            subject_type="person",
            subject_id=target_person_id,
            grade=grade.value if grade else None,
            score=str(score) if score is not None else None,
        )
        return places[target_person_id]

    async def group_scores(self, row: Appraisal, mode: str) -> dict[int, list[Decimal]]:
        """Per target, the group's grades as points (or its scores)."""
        rows = await self.session.execute(
            select(
                AppraisalGroupGrade.target_person_id,
                AppraisalGroupGrade.grade,
                AppraisalGroupGrade.score,
            ).where(AppraisalGroupGrade.appraisal_id == row.id)
        )
        result: dict[int, list[Decimal]] = {}
        for target, grade, score in rows:
            if mode == "scores" and score is not None:
                result.setdefault(target, []).append(Decimal(score))
            elif mode == "grades" and grade is not None:
                result.setdefault(target, []).append(Grade(grade).points)
        return result


def _grade(value: str | None) -> Grade | None:
    return Grade(value) if value else None
