"""Quizzes (知识竞赛) and exams (培训考试): the question bank, practice rounds, exams with a
server-side timer, results, the monthly leaderboard and points for good results."""

# i18n-domain: quiz

from __future__ import annotations

import contextlib
import enum
import logging
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, ClassVar
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.base import Service
from domain.clock import Clock
from domain.errors import Conflict, DomainError, NotAllowed, NotFound
from domain.periods import local_today
from domain.quiz_bank import ParsedQuestion, QuestionKind, starter_bank
from domain.roles import PersonStatus, Role
from domain.viewer import Viewer
from locales.i18n import N_
from store import repositories as repo
from store.models import Branch, Person, QuizAttempt, QuizExam, QuizItem, QuizQuestion

if TYPE_CHECKING:
    from domain.services import Services

log = logging.getLogger(__name__)

PRACTICE_SIZE = 10
#: A practice result at or above this percentage earns the quiz catalogue item.
PRACTICE_POINTS_MARK = 80
DEFAULT_PASS_MARK = 80
#: Questions a member answered within this many days are avoided in new rounds.
RECENT_DAYS = 30
POINTS_ITEM = "study_quiz_passed"
MAX_EXAM_QUESTIONS = 50
MAX_TIME_LIMIT = 180
MAX_WINDOW_DAYS = 92
MAX_TITLE = 120
#: Branch setting: draw from the shared bank too (default) or only the branch's own.
SHARED_SETTING = "quiz_shared_bank"

OPEN, FINISHED, EXPIRED, ABANDONED = "open", "finished", "expired", "abandoned"


class ExamAudience(enum.StrEnum):
    ALL = "all"
    MEMBERS = "members"  # full and probationary members (党员)
    PROBATIONARY = "probationary"
    ACTIVISTS = "activists"  # activists and development targets

    @property
    def statuses(self) -> frozenset[PersonStatus]:
        return _AUDIENCE_STATUSES[self]

    @property
    def label(self) -> str:
        return _AUDIENCE_LABELS[self]


_AUDIENCE_STATUSES = {
    ExamAudience.ALL: frozenset(PersonStatus),
    ExamAudience.MEMBERS: frozenset({PersonStatus.MEMBER, PersonStatus.PROBATIONARY}),
    ExamAudience.PROBATIONARY: frozenset({PersonStatus.PROBATIONARY}),
    ExamAudience.ACTIVISTS: frozenset({PersonStatus.ACTIVIST, PersonStatus.TARGET}),
}
_AUDIENCE_LABELS = {
    ExamAudience.ALL: N_("everyone in the branch"),
    ExamAudience.MEMBERS: N_("Party members (full and probationary)"),
    ExamAudience.PROBATIONARY: N_("probationary members"),
    ExamAudience.ACTIVISTS: N_("activists and development targets"),
}


# -- pure rules ------------------------------------------------------------------------


def percent(correct: int, total: int) -> int:
    """Score in whole percent, rounded half up (四舍五入)."""
    if total <= 0:
        return 0
    return (200 * correct + total) // (2 * total)


def reaches(correct: int, total: int, mark: int) -> bool:
    """``correct / total >= mark %`` exactly (no rounding in the pass decision)."""
    return total > 0 and 100 * correct >= mark * total


def choose_questions(
    pool: Sequence[int], recent: Sequence[int], n: int, rng: random.Random | None = None
) -> list[int]:
    """Pick ``n`` distinct questions from ``pool``, avoiding ``recent`` (most recent first);
    when too few are fresh, the least recently seen fill the gap."""
    rng = rng or random.Random()
    pool_set = set(pool)
    recent_in_pool: list[int] = []
    seen: set[int] = set()
    for qid in recent:
        if qid in pool_set and qid not in seen:
            seen.add(qid)
            recent_in_pool.append(qid)
    fresh = [q for q in dict.fromkeys(pool) if q not in seen]
    if len(fresh) >= n:
        return rng.sample(fresh, n)
    chosen = list(fresh)
    for qid in reversed(recent_in_pool):  # least recently seen first
        if len(chosen) >= n:
            break
        chosen.append(qid)
    rng.shuffle(chosen)
    return chosen


_WINDOW_SPLIT = re.compile(r"\s*(?:至|到|~|～|—|–|\s)\s*")


def parse_window(text: str, today: date) -> tuple[date, date]:
    """``2026-12-01 2026-12-07`` (or ``… 至 …``); raises DomainError."""
    from domain.roster import parse_date

    parts = [p for p in _WINDOW_SPLIT.split(text.strip()) if p]
    if len(parts) != 2:
        raise DomainError(N_("Send the first and last day, for example 2026-12-01 2026-12-07."))
    try:
        start, end = parse_date(parts[0]), parse_date(parts[1])
    except ValueError:
        raise DomainError(
            N_("Send the first and last day, for example 2026-12-01 2026-12-07.")
        ) from None
    if end < start:
        raise DomainError(N_("The last day is before the first day."))
    if end < today:
        raise DomainError(N_("The exam window is already over."))
    if (end - start).days + 1 > MAX_WINDOW_DAYS:
        raise DomainError(N_("An exam window is at most {max} days."), max=MAX_WINDOW_DAYS)
    return start, end


def parse_int(text: str, low: int, high: int, msgid: str) -> int:
    cleaned = text.strip()
    # isdigit() alone also takes "²", which int() refuses; and keep int() cheap.
    if not (cleaned.isascii() and cleaned.isdigit() and len(cleaned) <= 9) or not (
        low <= int(cleaned) <= high
    ):
        raise DomainError(msgid, low=low, high=high)
    return int(cleaned)


# -- plain data handed to handlers ---------------------------------------------------------


@dataclass(frozen=True)
class QuestionView:
    item_id: int
    attempt_id: int
    position: int
    total: int
    kind: QuestionKind
    text: str
    options: tuple[str, ...]
    answer: tuple[int, ...]
    explanation: str
    selected: tuple[int, ...]
    mode: str
    chat_id: int
    exam_id: int | None = None
    exam_title: str | None = None
    deadline: datetime | None = None

    @property
    def is_exam(self) -> bool:
        return self.exam_id is not None

    @property
    def as_poll(self) -> bool:
        """Sent as a Telegram quiz poll: practice in poll mode, within Telegram's limits
        (question 300 with our "(n/10) " prefix, option 100, explanation 200)."""
        return (
            self.mode == "poll"
            and not self.is_exam
            and len(self.text) <= 290
            and all(len(o) <= 100 for o in self.options)
            and len(self.explanation) <= 200
        )


@dataclass(frozen=True)
class AttemptResult:
    attempt_id: int
    person_id: int
    person_name: str
    telegram_user_id: int | None
    chat_id: int
    correct: int
    total: int
    score: int
    passed: bool
    expired: bool
    exam_id: int | None = None
    exam_title: str | None = None
    pass_mark: int | None = None
    points_granted: bool = False
    secretaries: tuple[int, ...] = ()


@dataclass(frozen=True)
class AnswerOutcome:
    question: QuestionView
    chosen: tuple[int, ...]
    correct: bool
    next: QuestionView | None
    result: AttemptResult | None


class TimeUp(Conflict):
    """The exam's time ran out: the attempt is closed (``result``) and the answer refused."""

    def __init__(self, result: AttemptResult) -> None:
        super().__init__(N_("Time is up: this answer came too late and was not counted."))
        self.result = result


@dataclass(frozen=True)
class ImportSummary:
    created: int
    updated: int
    unchanged: int
    bank: str  # branch name, or "" for the shared bank


@dataclass(frozen=True)
class BankStats:
    shared: int
    branch: int
    by_kind: dict[str, int]
    uses_shared: bool


@dataclass(frozen=True)
class ExamDraft:
    title: str
    question_count: int
    time_limit_minutes: int
    opens_on: date
    closes_on: date
    pass_mark: int
    audience: ExamAudience


@dataclass(frozen=True)
class ExamInfo:
    id: int
    title: str
    question_count: int
    time_limit_minutes: int
    opens_on: date
    closes_on: date
    pass_mark: int
    audience: ExamAudience
    state: str  # upcoming | open | closed
    my_status: str | None = None  # None (not taken) | open | finished | expired
    my_score: int | None = None
    my_passed: bool | None = None


@dataclass(frozen=True)
class ExamCreated:
    exam: ExamInfo
    participants: tuple[int, ...]  # telegram ids to notify


@dataclass(frozen=True)
class ResultRow:
    name: str
    status: PersonStatus
    state: str  # passed | failed | in_progress | missing
    score: int | None
    expired: bool


@dataclass(frozen=True)
class ExamResults:
    exam: ExamInfo
    rows: tuple[ResultRow, ...]

    def count(self, state: str) -> int:
        return sum(1 for r in self.rows if r.state == state)


@dataclass(frozen=True)
class BoardRow:
    rank: int
    person_id: int
    name: str
    correct: int
    answered: int
    is_me: bool


@dataclass(frozen=True)
class Leaderboard:
    month: str
    rows: tuple[BoardRow, ...]
    me: BoardRow | None


# -- the service -------------------------------------------------------------------------


class QuizService(Service):
    #: Databases whose shared starter bank this process has already checked.
    _synced: ClassVar[set[str]] = set()

    def __init__(
        self, session: AsyncSession, clock: Clock, services: Services | None = None
    ) -> None:
        super().__init__(session, clock)
        self.services = services

    # -- the question bank -----------------------------------------------------------
    async def ensure_starter_bank(self) -> int:
        """Load the shipped starter bank into the shared bank (``branch_id`` NULL) if it is
        missing or out of date; returns how many questions changed. Safe to call often
        and from several instances at once."""
        questions, sources = starter_bank()
        url = str(self.session.get_bind().engine.url)
        count = await self.session.scalar(
            select(func.count(QuizQuestion.id)).where(
                QuizQuestion.branch_id.is_(None),
                QuizQuestion.origin == "starter",
                QuizQuestion.active.is_(True),
            )
        )
        if url in self._synced and count == len(questions):
            return 0
        try:
            async with self.session.begin_nested():
                changed = await self._sync_starter(questions, sources)
        except IntegrityError:  # another instance loaded it at the same moment
            log.info("starter question bank loaded concurrently")
            changed = 0
        self._synced.add(url)
        return changed

    async def _sync_starter(
        self, questions: Sequence[ParsedQuestion], sources: dict[str, str]
    ) -> int:
        now = self.clock.now()
        rows = (
            await self.session.scalars(select(QuizQuestion).where(QuizQuestion.branch_id.is_(None)))
        ).all()
        by_ext = {r.ext_id: r for r in rows if r.origin == "starter" and r.ext_id}
        keys = {r.text_key for r in rows}
        created = updated = retired = 0
        for q in questions:
            source = (sources.get(q.source, q.source) if q.source else None) or None
            fields = _fields(q, source[:200] if source else None)
            row = by_ext.get(q.ext_id) if q.ext_id else None
            if row is None:
                if q.text_key in keys:
                    continue  # the same text was imported into the shared bank by hand
                self.session.add(
                    QuizQuestion(
                        branch_id=None,
                        ext_id=q.ext_id,
                        origin="starter",
                        active=True,
                        created_at=now,
                        updated_at=now,
                        **fields,
                    )
                )
                keys.add(q.text_key)
                created += 1
            elif _apply(row, fields) or not row.active:
                row.active = True
                row.updated_at = now
                updated += 1
        wanted = {q.ext_id for q in questions}
        for ext_id, row in by_ext.items():
            if ext_id not in wanted and row.active:
                row.active = False
                row.updated_at = now
                retired += 1
        await self.session.flush()
        if created or updated or retired:
            await self.audit(
                "quiz.starter_sync",
                subject_type="question_bank",
                subject_id="shared",
                created=created,
                updated=updated,
                retired=retired,
            )
        return created + updated + retired

    async def import_questions(
        self,
        questions: Sequence[ParsedQuestion],
        *,
        branch_id: int | None,
        actor: Viewer | None = None,
        filename: str | None = None,
    ) -> ImportSummary:
        """Add or update questions of one bank (matched by text); all or nothing: the
        caller's transaction holds every row."""
        now = self.clock.now()
        bank_name = ""
        if branch_id is not None:
            branch = await self.session.get(Branch, branch_id)
            if branch is None:
                raise NotFound(N_("This branch does not exist."))
            bank_name = branch.name
        existing = {
            r.text_key: r
            for r in (
                await self.session.scalars(
                    select(QuizQuestion).where(
                        QuizQuestion.branch_id.is_(None)
                        if branch_id is None
                        else QuizQuestion.branch_id == branch_id
                    )
                )
            ).all()
        }
        created = updated = unchanged = 0
        for q in questions:
            fields = _fields(q, q.source)
            row = existing.get(q.text_key)
            if row is None:
                row = QuizQuestion(
                    branch_id=branch_id,
                    ext_id=q.ext_id,
                    origin="import",
                    active=True,
                    created_at=now,
                    updated_at=now,
                    **fields,
                )
                self.session.add(row)
                existing[q.text_key] = row
                created += 1
            elif _apply(row, fields) or not row.active:
                row.active = True
                row.updated_at = now
                updated += 1
            else:
                unchanged += 1
        await self.session.flush()
        await self.audit(
            "quiz.import",
            actor=actor,
            branch_id=branch_id,
            subject_type="question_bank",
            subject_id=branch_id if branch_id is not None else "shared",
            file=filename,
            created=created,
            updated=updated,
            unchanged=unchanged,
        )
        return ImportSummary(created, updated, unchanged, bank_name)

    async def import_as(
        self, viewer: Viewer, questions: Sequence[ParsedQuestion], filename: str
    ) -> ImportSummary:
        self._require_secretary(viewer)
        return await self.import_questions(
            questions, branch_id=viewer.branch_id, actor=viewer, filename=filename
        )

    async def bank_stats(self, viewer: Viewer) -> BankStats:
        self._require_member(viewer)
        await self.ensure_starter_bank()
        rows = (
            await self.session.execute(
                select(QuizQuestion.branch_id, QuizQuestion.kind, func.count(QuizQuestion.id))
                .where(
                    QuizQuestion.active.is_(True),
                    (QuizQuestion.branch_id.is_(None))
                    | (QuizQuestion.branch_id == viewer.branch_id),
                )
                .group_by(QuizQuestion.branch_id, QuizQuestion.kind)
            )
        ).all()
        shared = sum(n for b, _k, n in rows if b is None)
        own = sum(n for b, _k, n in rows if b is not None)
        by_kind: dict[str, int] = {}
        for _b, kind, n in rows:
            by_kind[QuestionKind(kind).value] = by_kind.get(QuestionKind(kind).value, 0) + n
        assert viewer.branch_id is not None
        return BankStats(shared, own, by_kind, await self.uses_shared_bank(viewer.branch_id))

    async def uses_shared_bank(self, branch_id: int) -> bool:
        branch = await self.session.get(Branch, branch_id)
        return branch is None or bool((branch.settings or {}).get(SHARED_SETTING, True))

    async def set_shared_bank(self, viewer: Viewer, enabled: bool) -> bool:
        """Whether the branch draws questions from the shared bank as well as its own."""
        self._require_secretary(viewer)
        branch = await self.session.get(Branch, viewer.branch_id)
        assert branch is not None
        if await self.uses_shared_bank(branch.id) != enabled:
            branch.settings = {**(branch.settings or {}), SHARED_SETTING: enabled}
            await self.session.flush()
            await self.audit(
                "quiz.shared_bank",
                actor=viewer,
                subject_type="branch",
                subject_id=branch.id,
                enabled=enabled,
            )
        return enabled

    async def _pool(self, branch_id: int) -> list[int]:
        await self.ensure_starter_bank()
        bank = QuizQuestion.branch_id == branch_id
        if await self.uses_shared_bank(branch_id):
            bank = bank | QuizQuestion.branch_id.is_(None)
        ids = await self.session.scalars(
            select(QuizQuestion.id)
            .where(QuizQuestion.active.is_(True), bank)
            .order_by(QuizQuestion.id)
        )
        return list(ids.all())

    async def _recent(self, person_id: int) -> list[int]:
        since = self.clock.now() - timedelta(days=RECENT_DAYS)
        rows = await self.session.scalars(
            select(QuizItem.question_id)
            .join(QuizAttempt, QuizAttempt.id == QuizItem.attempt_id)
            .where(QuizAttempt.person_id == person_id, QuizAttempt.started_at >= since)
            .order_by(QuizAttempt.started_at.desc(), QuizItem.position)
        )
        return list(rows.all())

    # -- rights ------------------------------------------------------------------------
    @staticmethod
    def _require_member(viewer: Viewer) -> None:
        if not viewer.is_member:
            raise NotAllowed(N_("Quizzes are for members of a branch. Send /start to join."))

    def _require_secretary(self, viewer: Viewer) -> None:
        if not viewer.is_secretary:
            raise NotAllowed(N_("Only the branch secretary can do this."))

    # -- practice ----------------------------------------------------------------------
    async def start_practice(
        self, viewer: Viewer, chat_id: int, *, mode: str = "buttons"
    ) -> QuestionView:
        self._require_member(viewer)
        assert viewer.person_id is not None and viewer.branch_id is not None
        now = self.clock.now()
        stale = await self.session.scalars(
            select(QuizAttempt).where(
                QuizAttempt.person_id == viewer.person_id,
                QuizAttempt.exam_id.is_(None),
                QuizAttempt.status == OPEN,
            )
        )
        for old in stale.all():
            old.status = ABANDONED
            old.finished_at = now
        pool = await self._pool(viewer.branch_id)
        if not pool:
            raise NotFound(N_("The question bank is empty. Ask the secretary to import questions."))
        chosen = choose_questions(pool, await self._recent(viewer.person_id), PRACTICE_SIZE)
        attempt = await self._new_attempt(viewer, chosen, chat_id, mode=mode, exam=None)
        await self.audit(
            "quiz.practice.start",
            actor=viewer,
            subject_type="quiz_attempt",
            subject_id=attempt.id,
            questions=len(chosen),
            mode=mode,
        )
        return await self._view_of(attempt, 1)

    async def _new_attempt(
        self,
        viewer: Viewer,
        question_ids: Sequence[int],
        chat_id: int,
        *,
        mode: str,
        exam: QuizExam | None,
    ) -> QuizAttempt:
        assert viewer.person_id is not None and viewer.branch_id is not None
        now = self.clock.now()
        deadline = None
        if exam is not None:
            deadline = min(now + timedelta(minutes=exam.time_limit_minutes), exam.closes_at)
        attempt = QuizAttempt(
            person_id=viewer.person_id,
            branch_id=viewer.branch_id,
            exam_id=exam.id if exam is not None else None,
            mode=mode,
            chat_id=chat_id,
            status=OPEN,
            question_count=len(question_ids),
            correct=0,
            started_at=now,
            deadline=deadline,
        )
        self.session.add(attempt)
        try:
            async with self.session.begin_nested():
                await self.session.flush()
        except IntegrityError:  # the same exam started twice at the same moment
            raise Conflict(N_("You have already taken this exam.")) from None
        for position, qid in enumerate(question_ids, start=1):
            self.session.add(
                QuizItem(attempt_id=attempt.id, position=position, question_id=qid, selected=[])
            )
        await self.session.flush()
        return attempt

    async def _view_of(self, attempt: QuizAttempt, position: int) -> QuestionView:
        item = (
            await self.session.scalars(
                select(QuizItem).where(
                    QuizItem.attempt_id == attempt.id, QuizItem.position == position
                )
            )
        ).one()
        return await self._view(attempt, item)

    async def _view(self, attempt: QuizAttempt, item: QuizItem) -> QuestionView:
        question = await self.session.get(QuizQuestion, item.question_id)
        assert question is not None
        exam = await self.session.get(QuizExam, attempt.exam_id) if attempt.exam_id else None
        return QuestionView(
            item_id=item.id,
            attempt_id=attempt.id,
            position=item.position,
            total=attempt.question_count,
            kind=QuestionKind(question.kind),
            text=question.text,
            options=tuple(question.options or ()),
            answer=tuple(question.answer),
            explanation=question.explanation or "",
            selected=tuple(item.selected or ()),
            mode=attempt.mode,
            chat_id=attempt.chat_id,
            exam_id=attempt.exam_id,
            exam_title=exam.title if exam else None,
            deadline=attempt.deadline,
        )

    async def set_message(self, item_id: int, message_id: int, poll_id: str | None = None) -> None:
        item = await self.session.get(QuizItem, item_id)
        if item is not None:
            item.message_id = message_id
            item.poll_id = poll_id
            await self.session.flush()

    async def current_question(self, viewer: Viewer, attempt_id: int) -> QuestionView | None:
        attempt = await self.session.get(QuizAttempt, attempt_id)
        if attempt is None or attempt.person_id != viewer.person_id or attempt.status != OPEN:
            return None
        position = await self._current_position(attempt.id)
        return await self._view_of(attempt, position) if position else None

    async def _current_position(self, attempt_id: int) -> int | None:
        result: int | None = await self.session.scalar(
            select(func.min(QuizItem.position)).where(
                QuizItem.attempt_id == attempt_id, QuizItem.answered_at.is_(None)
            )
        )
        return result

    # -- answering -------------------------------------------------------------------
    async def _owned(
        self, viewer: Viewer, item: QuizItem | None, *, exam: bool
    ) -> tuple[QuizItem, QuizAttempt, QuizQuestion]:
        if item is None:
            raise NotFound(N_("This question no longer exists."))
        attempt = await self.session.get(QuizAttempt, item.attempt_id)
        assert attempt is not None
        if attempt.person_id != viewer.person_id:
            await self.audit(
                "quiz.denied",
                actor=viewer,
                branch_id=attempt.branch_id,
                subject_type="quiz_item",
                subject_id=item.id,
            )
            raise NotAllowed(N_("This is not your quiz."))
        if (attempt.exam_id is not None) != exam:
            raise NotFound(N_("This question no longer exists."))
        if item.answered_at is not None:
            raise Conflict(N_("You have already answered this question."))
        if attempt.status != OPEN:
            raise Conflict(N_("This quiz is already over."))
        if attempt.deadline is not None and self.clock.now() > attempt.deadline:
            result = await self._finish(attempt, expired=True)
            raise TimeUp(result)
        if item.position != await self._current_position(attempt.id):
            raise Conflict(N_("Please answer the current question first."))
        question = await self.session.get(QuizQuestion, item.question_id)
        assert question is not None
        return item, attempt, question

    async def toggle(self, viewer: Viewer, item_id: int, index: int, *, exam: bool) -> QuestionView:
        item, attempt, question = await self._owned(
            viewer, await self.session.get(QuizItem, item_id), exam=exam
        )
        if question.kind is not QuestionKind.MULTIPLE or not 0 <= index < len(question.options):
            raise NotFound(N_("This button is no longer valid."))
        selected = set(item.selected or ())
        selected ^= {index}
        item.selected = sorted(selected)
        await self.session.flush()
        return await self._view(attempt, item)

    async def answer(
        self, viewer: Viewer, item_id: int, choice: int | None, *, exam: bool
    ) -> AnswerOutcome:
        """``choice`` is an option index; ``None`` submits a multiple choice's toggles."""
        item, attempt, question = await self._owned(
            viewer, await self.session.get(QuizItem, item_id), exam=exam
        )
        kind = QuestionKind(question.kind)
        if kind is QuestionKind.MULTIPLE:
            if choice is not None:
                raise NotFound(N_("This button is no longer valid."))
            chosen = tuple(sorted(item.selected or ()))
            if not chosen:
                raise DomainError(N_("Choose at least one option, then tap Done."))
        else:
            limit = 2 if kind is QuestionKind.TRUEFALSE else len(question.options)
            if choice is None or not 0 <= choice < limit:
                raise NotFound(N_("This button is no longer valid."))
            chosen = (choice,)
        return await self._record(attempt, item, question, chosen)

    async def answer_poll(
        self, viewer: Viewer, poll_id: str, option_ids: Sequence[int]
    ) -> AnswerOutcome | None:
        """A ``poll_answer``; None when the poll is not one of ours or the vote was retracted."""
        item = (
            await self.session.scalars(select(QuizItem).where(QuizItem.poll_id == poll_id))
        ).first()
        if item is None or not option_ids:
            return None
        item, attempt, question = await self._owned(viewer, item, exam=False)
        limit = 2 if question.kind is QuestionKind.TRUEFALSE else len(question.options)
        chosen = tuple(sorted(set(option_ids)))
        if any(not 0 <= i < limit for i in chosen):
            raise NotFound(N_("This button is no longer valid."))
        return await self._record(attempt, item, question, chosen)

    async def _record(
        self,
        attempt: QuizAttempt,
        item: QuizItem,
        question: QuizQuestion,
        chosen: tuple[int, ...],
    ) -> AnswerOutcome:
        correct = list(chosen) == sorted(question.answer)
        item.answer = list(chosen)
        item.selected = list(chosen)
        item.correct = correct
        item.answered_at = self.clock.now()
        if correct:
            attempt.correct += 1
        await self.session.flush()
        view = await self._view(attempt, item)
        nxt = None
        result = None
        if item.position < attempt.question_count:
            nxt = await self._view_of(attempt, item.position + 1)
        else:
            result = await self._finish(attempt, expired=False)
        return AnswerOutcome(view, chosen, correct, nxt, result)

    async def _finish(self, attempt: QuizAttempt, *, expired: bool) -> AttemptResult:
        now = self.clock.now()
        status = EXPIRED if expired else FINISHED
        # Claim the attempt: a tick and a late answer (or two instances) finish it once.
        claimed = await self.session.execute(
            update(QuizAttempt)
            .where(QuizAttempt.id == attempt.id, QuizAttempt.status == OPEN)
            .values(status=status, finished_at=now)
            .execution_options(synchronize_session=False)
        )
        if getattr(claimed, "rowcount", 1) != 1:
            raise Conflict(N_("This quiz is already over."))
        attempt.status = status
        attempt.finished_at = now
        attempt.score = percent(attempt.correct, attempt.question_count)
        exam = await self.session.get(QuizExam, attempt.exam_id) if attempt.exam_id else None
        mark = exam.pass_mark if exam is not None else PRACTICE_POINTS_MARK
        attempt.passed = reaches(attempt.correct, attempt.question_count, mark)
        await self.session.flush()
        person = await self.session.get(Person, attempt.person_id)
        account = await repo.account_of_person(self.session, attempt.person_id)
        granted = False
        if attempt.passed:
            branch = await self.session.get(Branch, attempt.branch_id)
            tz = branch.timezone if branch is not None else "Asia/Shanghai"
            today = local_today(now, tz)
            if exam is not None:
                source, ref = "exam", f"exam:{exam.id}:{attempt.person_id}"
            else:
                source, ref = "quiz", f"practice:{attempt.person_id}:{today:%Y-%m}"
            granted = await self._grant(attempt.person_id, today, source, ref, exam)
        await self.audit(
            "quiz.expire" if expired else "quiz.finish",
            branch_id=attempt.branch_id,
            subject_type="quiz_attempt",
            subject_id=attempt.id,
            person_id=attempt.person_id,
            exam_id=attempt.exam_id,
            correct=attempt.correct,
            total=attempt.question_count,
            score=attempt.score,
            passed=attempt.passed,
            points=granted,
        )
        secretaries: tuple[int, ...] = ()
        if exam is not None:
            secretaries = await self._secretaries(attempt.branch_id)
        return AttemptResult(
            attempt_id=attempt.id,
            person_id=attempt.person_id,
            person_name=person.full_name if person else "?",
            telegram_user_id=account.telegram_user_id if account else None,
            chat_id=attempt.chat_id,
            correct=attempt.correct,
            total=attempt.question_count,
            score=attempt.score,
            passed=attempt.passed,
            expired=expired,
            exam_id=exam.id if exam else None,
            exam_title=exam.title if exam else None,
            pass_mark=exam.pass_mark if exam else None,
            points_granted=granted,
            secretaries=secretaries,
        )

    async def _grant(
        self, person_id: int, day: date, source: str, ref: str, exam: QuizExam | None
    ) -> bool:
        """Record the quiz catalogue item in the points ledger, once per (source, ref):
        practice once per member and month, an exam once per member and exam (the
        item's own per-quarter cap applies on top)."""
        if self.services is None:
            return False
        note = exam.title[:200] if exam is not None else None
        entry = await self.services.points.grant_system(
            person_id, POINTS_ITEM, occurred_on=day, source=source, source_ref=ref, note=note
        )
        return entry is not None

    async def _secretaries(self, branch_id: int) -> tuple[int, ...]:
        rows = await repo.branch_members(self.session, branch_id, roles=[Role.SECRETARY])
        return tuple(r.account.telegram_user_id for r in rows if r.account is not None)

    async def close_overdue(self) -> list[AttemptResult]:
        """Close exam attempts whose time ran out without a last answer (periodic)."""
        rows = await self.session.scalars(
            select(QuizAttempt).where(
                QuizAttempt.status == OPEN,
                QuizAttempt.deadline.is_not(None),
                QuizAttempt.deadline < self.clock.now(),
            )
        )
        results = []
        for attempt in rows.all():
            try:
                results.append(await self._finish(attempt, expired=True))
            except Conflict:  # finished meanwhile by a late answer
                continue
        return results

    # -- exams -----------------------------------------------------------------------
    async def exam_pool_size(self, viewer: Viewer) -> int:
        self._require_secretary(viewer)
        assert viewer.branch_id is not None
        return len(await self._pool(viewer.branch_id))

    async def create_exam(self, viewer: Viewer, draft: ExamDraft) -> ExamCreated:
        self._require_secretary(viewer)
        assert viewer.branch_id is not None
        title = draft.title.strip()
        if not title or len(title) > MAX_TITLE:
            raise DomainError(N_("The title is 1 to {max} characters."), max=MAX_TITLE)
        pool = await self._pool(viewer.branch_id)
        if not 1 <= draft.question_count <= min(MAX_EXAM_QUESTIONS, len(pool)):
            raise DomainError(
                N_("Choose 1 to {max} questions."), max=min(MAX_EXAM_QUESTIONS, len(pool))
            )
        if not 1 <= draft.time_limit_minutes <= MAX_TIME_LIMIT:
            raise DomainError(N_("The time limit is 1 to {max} minutes."), max=MAX_TIME_LIMIT)
        if not 0 < draft.pass_mark <= 100:
            raise DomainError(N_("The pass mark is 1 to 100."))
        branch = await self.session.get(Branch, viewer.branch_id)
        assert branch is not None
        tz = ZoneInfo(branch.timezone)
        now = self.clock.now()
        if draft.closes_on < local_today(now, branch.timezone) or draft.closes_on < draft.opens_on:
            raise DomainError(N_("The exam window is already over."))
        exam = QuizExam(
            branch_id=branch.id,
            title=title,
            question_count=draft.question_count,
            time_limit_minutes=draft.time_limit_minutes,
            opens_on=draft.opens_on,
            closes_on=draft.closes_on,
            opens_at=datetime.combine(draft.opens_on, time(0), tz),
            closes_at=datetime.combine(draft.closes_on + timedelta(days=1), time(0), tz),
            pass_mark=draft.pass_mark,
            audience=draft.audience.value,
            created_by_person_id=viewer.person_id,
            created_at=now,
        )
        self.session.add(exam)
        await self.session.flush()
        await self.audit(
            "quiz.exam.create",
            actor=viewer,
            subject_type="quiz_exam",
            subject_id=exam.id,
            title=title,
            questions=draft.question_count,
            minutes=draft.time_limit_minutes,
            opens_on=draft.opens_on.isoformat(),
            closes_on=draft.closes_on.isoformat(),
            pass_mark=draft.pass_mark,
            audience=draft.audience.value,
        )
        participants = [
            r.account.telegram_user_id
            for r in await self._participants(exam)
            if r.account is not None and r.account.started_at is not None
        ]
        return ExamCreated(self._info(exam), tuple(participants))

    async def _participants(self, exam: QuizExam) -> list[repo.MemberRow]:
        audience = ExamAudience(exam.audience)
        return await repo.branch_members(
            self.session, exam.branch_id, statuses=sorted(audience.statuses)
        )

    def _state(self, exam: QuizExam) -> str:
        now = self.clock.now()
        if now < exam.opens_at:
            return "upcoming"
        return "open" if now < exam.closes_at else "closed"

    def _info(self, exam: QuizExam, attempt: QuizAttempt | None = None) -> ExamInfo:
        return ExamInfo(
            id=exam.id,
            title=exam.title,
            question_count=exam.question_count,
            time_limit_minutes=exam.time_limit_minutes,
            opens_on=exam.opens_on,
            closes_on=exam.closes_on,
            pass_mark=exam.pass_mark,
            audience=ExamAudience(exam.audience),
            state=self._state(exam),
            my_status=attempt.status if attempt else None,
            my_score=attempt.score if attempt else None,
            my_passed=attempt.passed if attempt else None,
        )

    async def _exam_for(self, viewer: Viewer, exam_id: int) -> QuizExam:
        self._require_member(viewer)
        exam = await self.session.get(QuizExam, exam_id)
        if exam is None or exam.branch_id != viewer.branch_id:
            raise NotFound(N_("This exam does not exist."))
        return exam

    async def _my_attempt(self, person_id: int, exam_id: int) -> QuizAttempt | None:
        return (
            await self.session.scalars(
                select(QuizAttempt).where(
                    QuizAttempt.exam_id == exam_id, QuizAttempt.person_id == person_id
                )
            )
        ).first()

    async def exams(self, viewer: Viewer, *, limit: int = 10) -> list[ExamInfo]:
        """Recent exams of the viewer's branch: all for the secretary, otherwise the
        ones the viewer is asked to take."""
        self._require_member(viewer)
        rows = (
            await self.session.scalars(
                select(QuizExam)
                .where(QuizExam.branch_id == viewer.branch_id)
                .order_by(QuizExam.closes_at.desc(), QuizExam.id.desc())
                .limit(limit * 3)
            )
        ).all()
        result = []
        for exam in rows:
            eligible = viewer.status in ExamAudience(exam.audience).statuses
            if not (eligible or viewer.is_secretary):
                continue
            attempt = await self._my_attempt(viewer.person_id or 0, exam.id)
            result.append(self._info(exam, attempt))
        return result[:limit]

    async def pending_exams(self, viewer: Viewer) -> int:
        """Open exams the viewer must still take (menu badge)."""
        if not viewer.is_member:
            return 0
        return sum(
            1
            for e in await self.exams(viewer)
            if e.state == "open" and e.my_status is None and viewer.status in e.audience.statuses
        )

    async def start_exam(self, viewer: Viewer, exam_id: int, chat_id: int) -> QuestionView:
        exam = await self._exam_for(viewer, exam_id)
        assert viewer.person_id is not None and viewer.branch_id is not None
        if viewer.status not in ExamAudience(exam.audience).statuses:
            raise NotAllowed(N_("This exam is not for you."))
        attempt = await self._my_attempt(viewer.person_id, exam.id)
        if attempt is not None:
            if attempt.status == OPEN:
                if attempt.deadline is not None and self.clock.now() > attempt.deadline:
                    raise TimeUp(await self._finish(attempt, expired=True))
                position = await self._current_position(attempt.id)
                if position:
                    return await self._view_of(attempt, position)
            raise Conflict(N_("You have already taken this exam."))
        state = self._state(exam)
        if state == "upcoming":
            raise Conflict(N_("This exam opens on {day}."), day=exam.opens_on.isoformat())
        if state == "closed":
            raise Conflict(N_("This exam closed on {day}."), day=exam.closes_on.isoformat())
        pool = await self._pool(viewer.branch_id)
        chosen = choose_questions(pool, await self._recent(viewer.person_id), exam.question_count)
        attempt = await self._new_attempt(viewer, chosen, chat_id, mode="buttons", exam=exam)
        await self.audit(
            "quiz.exam.start",
            actor=viewer,
            subject_type="quiz_attempt",
            subject_id=attempt.id,
            exam_id=exam.id,
            deadline=attempt.deadline.isoformat() if attempt.deadline else None,
        )
        return await self._view_of(attempt, 1)

    async def exam_results(self, viewer: Viewer, exam_id: int) -> ExamResults:
        exam = await self._exam_for(viewer, exam_id)
        if not viewer.is_reviewer:
            raise NotAllowed(N_("Only the branch secretary can do this."))
        return await self._results(exam)

    async def latest_exam_id(self, viewer: Viewer) -> int:
        """The branch's most recent exam (the default of ``/export exams``)."""
        self._require_member(viewer)
        exam_id = await self.session.scalar(
            select(QuizExam.id)
            .where(QuizExam.branch_id == viewer.branch_id)
            .order_by(QuizExam.closes_at.desc(), QuizExam.id.desc())
            .limit(1)
        )
        if exam_id is None:
            raise NotFound(N_("This branch has held no exam yet."))
        return int(exam_id)

    async def _results(self, exam: QuizExam) -> ExamResults:
        attempts = {
            a.person_id: a
            for a in (
                await self.session.scalars(
                    select(QuizAttempt).where(QuizAttempt.exam_id == exam.id)
                )
            ).all()
        }
        rows: list[ResultRow] = []
        people = {r.person.id: r.person for r in await self._participants(exam)}
        for person_id in set(attempts) - set(people):  # sat it, status changed since
            person = await self.session.get(Person, person_id)
            if person is not None:
                people[person_id] = person
        for person in sorted(people.values(), key=lambda p: (p.full_name, p.id)):
            a = attempts.get(person.id)
            if a is None:
                state = "missing"
            elif a.status == OPEN:
                state = "in_progress"
            else:
                state = "passed" if a.passed else "failed"
            rows.append(
                ResultRow(
                    name=person.full_name,
                    status=person.status,
                    state=state,
                    score=a.score if a is not None else None,
                    expired=a is not None and a.status == EXPIRED,
                )
            )
        return ExamResults(self._info(exam), tuple(rows))

    async def due_summaries(self) -> list[tuple[ExamResults, tuple[int, ...]]]:
        """Exams whose window closed and whose summary was not sent yet: marks them sent
        (the caller's transaction) and returns the results with the secretaries."""
        now = self.clock.now()
        exams = (
            await self.session.scalars(
                select(QuizExam).where(
                    QuizExam.closes_at <= now, QuizExam.results_sent_at.is_(None)
                )
            )
        ).all()
        out = []
        for exam in exams:
            for attempt in (
                await self.session.scalars(
                    select(QuizAttempt).where(
                        QuizAttempt.exam_id == exam.id, QuizAttempt.status == OPEN
                    )
                )
            ).all():
                with contextlib.suppress(Conflict):
                    await self._finish(attempt, expired=True)
            claimed = await self.session.execute(
                update(QuizExam)
                .where(QuizExam.id == exam.id, QuizExam.results_sent_at.is_(None))
                .values(results_sent_at=now)
                .execution_options(synchronize_session=False)
            )
            if getattr(claimed, "rowcount", 1) != 1:
                continue
            exam.results_sent_at = now
            secretaries = await self._secretaries(exam.branch_id)
            out.append((await self._results(exam), secretaries))
            await self.audit(
                "quiz.exam.summary",
                branch_id=exam.branch_id,
                subject_type="quiz_exam",
                subject_id=exam.id,
            )
        return out

    # -- leaderboard -----------------------------------------------------------------
    async def leaderboard(self, viewer: Viewer, *, size: int = 10) -> Leaderboard:
        self._require_member(viewer)
        tz_name = viewer.branch_timezone or "Asia/Shanghai"
        tz = ZoneInfo(tz_name)
        today = local_today(self.clock.now(), tz_name)
        start = datetime.combine(today.replace(day=1), time(0), tz)
        nxt = (today.replace(day=28) + timedelta(days=4)).replace(day=1)
        end = datetime.combine(nxt, time(0), tz)
        correct_sum = func.sum(case((QuizItem.correct.is_(True), 1), else_=0))
        stmt = (
            select(Person.id, Person.full_name, correct_sum, func.count(QuizItem.id))
            .join(QuizAttempt, QuizAttempt.person_id == Person.id)
            .join(
                QuizItem,
                and_(QuizItem.attempt_id == QuizAttempt.id, QuizItem.answered_at.is_not(None)),
            )
            .where(
                QuizAttempt.branch_id == viewer.branch_id,
                QuizItem.answered_at >= start,
                QuizItem.answered_at < end,
            )
            .group_by(Person.id, Person.full_name)
        )
        data = [
            (int(pid), str(name), int(c or 0), int(n or 0))
            for pid, name, c, n in (await self.session.execute(stmt)).all()
        ]
        data.sort(key=lambda r: (-r[2], -(r[2] / r[3] if r[3] else 0), r[1], r[0]))
        rows: list[BoardRow] = []
        rank = 0
        previous: tuple[int, float] | None = None
        for index, (pid, name, c, n) in enumerate(data, start=1):
            key = (c, c / n if n else 0.0)
            if key != previous:
                rank = index
                previous = key
            rows.append(BoardRow(rank, pid, name, c, n, pid == viewer.person_id))
        me = next((r for r in rows if r.is_me), None)
        return Leaderboard(f"{today:%Y-%m}", tuple(rows[:size]), me)


def _fields(q: ParsedQuestion, source: str | None) -> dict[str, Any]:
    return {
        "kind": q.kind,
        "text": q.text,
        "text_key": q.text_key,
        "options": list(q.options),
        "answer": list(q.answer),
        "explanation": q.explanation,
        "topics": list(q.topics),
        "source": source,
        "ref": q.ref,
    }


def _apply(row: QuizQuestion, fields: dict[str, Any]) -> bool:
    changed = False
    for name, value in fields.items():
        current = getattr(row, name)
        if name == "kind":
            current = QuestionKind(current)
        if current != value:
            setattr(row, name, value)
            changed = True
    return changed
