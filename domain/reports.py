# i18n-domain: reports
"""Thought reports (思想汇报): who owes what, handing in, acknowledging, commenting,
the secretary's overview and nudges.

Probationary members owe one report per quarter, activists and development targets one
per half year (DOMAIN.md, seeds 000 and 003); full members may hand one in voluntarily
(it counts for the current quarter). A report's period is fixed when it is handed in.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import func, or_, select, update

from domain import sheets
from domain.base import Service
from domain.errors import Conflict, DomainError, NotAllowed, NotFound
from domain.periods import HalfYear, Quarter, local_today
from domain.pipeline_history import statuses_on
from domain.review import ensure_not_author, reviewer_ids
from domain.roles import PersonStatus
from domain.texts import chunk_plain
from domain.viewer import Viewer
from locales.i18n import N_
from store import repositories as repo
from store.models import Branch, Person, ReportComment, ReportNudge, ThoughtReport

Period = Quarter | HalfYear
Gettext = Callable[[str], str]

#: Telegram lets bots download files up to 20 MB (``getFile``).
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_FILE_MB = MAX_FILE_BYTES // (1024 * 1024)
#: A text report (all parts joined) is at most this long; longer ones go as a document.
MAX_REPORT_CHARS = 30_000
MAX_COMMENT_CHARS = 2_000
DEFAULT_TIMEZONE = "Asia/Shanghai"

#: Accepted file types: extension -> the MIME types Telegram clients send for it.
ALLOWED_TYPES: dict[str, frozenset[str]] = {
    ".pdf": frozenset({"application/pdf"}),
    ".doc": frozenset({"application/msword"}),
    ".docx": frozenset({"application/vnd.openxmlformats-officedocument.wordprocessingml.document"}),
    ".jpg": frozenset({"image/jpeg"}),
    ".jpeg": frozenset({"image/jpeg"}),
    ".png": frozenset({"image/png"}),
    ".webp": frozenset({"image/webp"}),
    ".heic": frozenset({"image/heic", "image/heif"}),
}
_EXT_BY_MIME = {
    "application/pdf": ".pdf",
    "application/msword": ".doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "image/heic": ".heic",
    "image/heif": ".heic",
}
#: MIME types clients send when they do not know better; then the extension decides.
_GENERIC_MIME = frozenset({"", "application/octet-stream", "binary/octet-stream"})

#: Reminder kinds this feature answers for (scheduler.hooks.register_audience).
QUARTERLY_STATUSES = (PersonStatus.PROBATIONARY,)
HALF_YEARLY_STATUSES = (PersonStatus.ACTIVIST, PersonStatus.TARGET)


# -- periods -------------------------------------------------------------------------
def parse_period(text: str) -> Period:
    """``2026Q3``, ``2026-q3``, ``2026H2``; ValueError otherwise."""
    cleaned = text.strip().upper().replace("-", "").replace(" ", "")
    match = re.fullmatch(r"(\d{4})([QH])(\d)", cleaned)
    if match is None:
        raise ValueError(text)
    year, kind, n = int(match[1]), match[2], int(match[3])
    if not 2000 <= year <= 2100:
        raise ValueError(text)
    return Quarter(year, n) if kind == "Q" else HalfYear(year, n)


def counts_for(status: PersonStatus, day: date) -> tuple[Period, bool]:
    """The period a report handed in on ``day`` counts for, and whether it is owed."""
    if status in QUARTERLY_STATUSES:
        return Quarter.of(day), True
    if status in HALF_YEARLY_STATUSES:
        return HalfYear.of(day), True
    return Quarter.of(day), False


def obligations(status: PersonStatus, period: Period) -> list[Period]:
    """The reports someone with ``status`` owes that concern ``period``: a quarter view
    shows a probationary member's quarter and an activist's half year; a half-year view
    shows both quarters of a probationary member. Full members owe nothing."""
    if status in QUARTERLY_STATUSES:
        if isinstance(period, Quarter):
            return [period]
        first = Quarter.of(period.start)
        return [first, first.next()]
    if status in HALF_YEARLY_STATUSES:
        return [period] if isinstance(period, HalfYear) else [HalfYear.of(period.start)]
    return []


def period_label(period: Period, gettext: Gettext) -> str:
    if isinstance(period, Quarter):
        return gettext("Q{q} {year}").format(q=period.q, year=period.year)
    if period.h == 1:
        return gettext("first half of {year}").format(year=period.year)
    return gettext("second half of {year}").format(year=period.year)


def key_label(key: str, gettext: Gettext) -> str:
    try:
        return period_label(parse_period(key), gettext)
    except ValueError:
        return key


# -- files ---------------------------------------------------------------------------
@dataclass(frozen=True)
class IncomingFile:
    """A document or photo a member sent (plain data, no Telegram types)."""

    kind: str  # "document" or "photo"
    file_id: str
    file_unique_id: str
    file_name: str | None
    mime_type: str | None
    file_size: int | None


def check_file(f: IncomingFile) -> str:
    """The file's extension if it may be handed in; raises DomainError otherwise."""
    if f.file_size is not None and f.file_size > MAX_FILE_BYTES:
        raise DomainError(
            N_("The file is too large ({size} MB). Files can be at most {limit} MB."),
            size=f"{f.file_size / (1024 * 1024):.1f}",
            limit=MAX_FILE_MB,
        )
    if f.kind == "photo":
        return ".jpg"
    name = (f.file_name or "").strip()
    ext = os.path.splitext(name)[1].lower()
    mime = (f.mime_type or "").lower()
    if ext in ALLOWED_TYPES and (mime in _GENERIC_MIME or mime in ALLOWED_TYPES[ext]):
        return ext
    if not ext and mime in _EXT_BY_MIME:
        return _EXT_BY_MIME[mime]
    raise DomainError(
        N_(
            "I cannot accept {name}: a thought report can be a PDF, Word (DOC, DOCX) or "
            "image (JPG, PNG, WEBP, HEIC) file, or text."
        ),
        name=name or mime or "?",
    )


def content_matches(ext: str, data: bytes) -> bool:
    """Whether the bytes look like the type the name claims (an .exe renamed .pdf is not)."""
    if ext == ".pdf":
        return b"%PDF" in data[:1024]
    if ext == ".docx":
        return data.startswith(b"PK\x03\x04")
    if ext == ".doc":
        return data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
    if ext in (".jpg", ".jpeg"):
        return data.startswith(b"\xff\xd8\xff")
    if ext == ".png":
        return data.startswith(b"\x89PNG\r\n\x1a\n")
    if ext == ".webp":
        return data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    if ext == ".heic":
        return data[4:8] == b"ftyp"
    return False


def chunk_text(text: str, size: int) -> list[str]:
    """Cut ``text`` into pieces of at most ``size`` UTF-16 units (as Telegram counts)
    that join back to it, breaking after a line break in the second half of a piece."""
    return chunk_plain(text, size)


def safe_name(text: str, limit: int = 60) -> str:
    """A file-name-safe version of ``text`` (keeps Chinese characters)."""
    return sheets.zip_name(text, limit, default="report")


# -- plain views -------------------------------------------------------------------------
@dataclass(frozen=True)
class CommentView:
    author: str
    text: str
    created_at: datetime


@dataclass(frozen=True)
class ReportView:
    id: int
    branch_id: int
    person_id: int
    person_name: str
    status: PersonStatus
    period_key: str
    required: bool
    kind: str
    text: str | None
    file_id: str | None
    file_name: str | None
    mime_type: str | None
    local_path: str | None
    submitted_at: datetime
    submitted_on: date
    member_telegram_id: int | None
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    comments: tuple[CommentView, ...] = ()


@dataclass(frozen=True)
class Outstanding:
    period: Period
    overdue: bool  # the period has ended


@dataclass(frozen=True)
class MemberStatus:
    counts_for: Period
    required: bool
    handed_in: int  # reports already handed in for ``counts_for``
    outstanding: list[Outstanding]


@dataclass(frozen=True)
class OwedRow:
    person_id: int
    name: str
    status: PersonStatus
    period: Period
    overdue: bool
    telegram_id: int | None  # None: not reachable on Telegram


@dataclass(frozen=True)
class Overview:
    period: Period
    today: date
    submitted: list[ReportView]
    owed: list[OwedRow]


@dataclass(frozen=True)
class NudgeTarget:
    telegram_id: int
    name: str
    period: Period


@dataclass(frozen=True)
class NudgeResult:
    targets: list[NudgeTarget]
    already_today: int
    unreachable: list[str]


@dataclass(frozen=True)
class CommentResult:
    report: ReportView
    newly_acknowledged: bool


class ReportService(Service):
    # -- helpers ---------------------------------------------------------------------
    def today(self, viewer: Viewer) -> date:
        return local_today(self.clock.now(), viewer.branch_timezone or DEFAULT_TIMEZONE)

    async def _branch_today(self, branch_id: int) -> date:
        branch = await self.session.get(Branch, branch_id)
        zone = branch.timezone if branch is not None else DEFAULT_TIMEZONE
        return local_today(self.clock.now(), zone)

    @staticmethod
    def _need_member(viewer: Viewer) -> None:
        if not viewer.is_member or viewer.status is None:
            raise NotAllowed(N_("Only members of a branch can hand in thought reports."))

    @staticmethod
    def _need_reviewer(viewer: Viewer, branch_id: int | None = None) -> None:
        if not viewer.is_reviewer or (branch_id is not None and viewer.branch_id != branch_id):
            raise NotAllowed(
                N_(
                    "Only the branch secretary or a committee member with review rights "
                    "can do this."
                )
            )

    async def _view(self, report: ThoughtReport, with_comments: bool = True) -> ReportView:
        person = await self.session.get(Person, report.person_id)
        account = await repo.account_of_person(self.session, report.person_id)
        ack_by = None
        if report.acknowledged_by_person_id is not None:
            ack_person = await self.session.get(Person, report.acknowledged_by_person_id)
            ack_by = ack_person.full_name if ack_person else "?"
        comments: tuple[CommentView, ...] = ()
        if with_comments:
            rows = await self.session.execute(
                select(ReportComment, Person.full_name)
                .join(Person, Person.id == ReportComment.author_person_id)
                .where(ReportComment.report_id == report.id)
                .order_by(ReportComment.id)
            )
            comments = tuple(CommentView(name, c.text, c.created_at) for c, name in rows.all())
        return ReportView(
            id=report.id,
            branch_id=report.branch_id,
            person_id=report.person_id,
            person_name=person.full_name if person else "?",
            status=report.status,
            period_key=report.period_key,
            required=report.required,
            kind=report.kind,
            text=report.text,
            file_id=report.file_id,
            file_name=report.file_name,
            mime_type=report.mime_type,
            local_path=report.local_path,
            submitted_at=report.submitted_at,
            submitted_on=report.submitted_on,
            member_telegram_id=account.telegram_user_id if account else None,
            acknowledged_by=ack_by,
            acknowledged_at=report.acknowledged_at,
            comments=comments,
        )

    async def _keys_handed_in(
        self, person_ids: Iterable[int], keys: Iterable[str]
    ) -> set[tuple[int, str]]:
        ids, wanted = list(person_ids), list(keys)
        if not ids or not wanted:
            return set()
        rows = await self.session.execute(
            select(ThoughtReport.person_id, ThoughtReport.period_key).where(
                ThoughtReport.person_id.in_(ids), ThoughtReport.period_key.in_(wanted)
            )
        )
        return {(p, k) for p, k in rows.all()}

    # -- the member ------------------------------------------------------------------
    async def member_status(self, viewer: Viewer) -> MemberStatus:
        self._need_member(viewer)
        assert viewer.status is not None and viewer.person_id is not None
        today = self.today(viewer)
        period, required = counts_for(viewer.status, today)
        handed = await self.session.scalars(
            select(ThoughtReport.id).where(
                ThoughtReport.person_id == viewer.person_id,
                ThoughtReport.period_key == period.key,
            )
        )
        outstanding: list[Outstanding] = []
        if required:
            candidates: list[Period] = [period.prev(), period]
            done = await self._keys_handed_in([viewer.person_id], [p.key for p in candidates])
            outstanding = [
                Outstanding(p, p.end < today)
                for p in candidates
                if (viewer.person_id, p.key) not in done
            ]
        return MemberStatus(period, required, len(handed.all()), outstanding)

    async def _new_report(self, viewer: Viewer, kind: str, text: str | None) -> ThoughtReport:
        self._need_member(viewer)
        assert viewer.status is not None and viewer.person_id is not None
        assert viewer.branch_id is not None
        today = self.today(viewer)
        period, required = counts_for(viewer.status, today)
        report = ThoughtReport(
            branch_id=viewer.branch_id,
            person_id=viewer.person_id,
            status=viewer.status,
            period_key=period.key,
            required=required,
            kind=kind,
            text=text,
            submitted_at=self.clock.now(),
            submitted_on=today,
            submitted_by_telegram_id=viewer.telegram_user_id,
        )
        self.session.add(report)
        await self.session.flush()
        return report

    async def check_quota(self, viewer: Viewer, quota: int | None) -> None:
        """Refuse a new report when the member already handed in ``quota`` reports for
        the period it would count for (None: no limit). Checked before a file is
        downloaded, and again when it is recorded."""
        if quota is None:
            return
        self._need_member(viewer)
        assert viewer.status is not None and viewer.person_id is not None
        period, _required = counts_for(viewer.status, self.today(viewer))
        count = await self.session.scalar(
            select(func.count(ThoughtReport.id)).where(
                ThoughtReport.person_id == viewer.person_id,
                ThoughtReport.period_key == period.key,
            )
        )
        if (count or 0) >= quota:
            await self.audit(
                "report.quota",
                actor=viewer,
                subject_type="person",
                subject_id=viewer.person_id,
                period=period.key,
                quota=quota,
            )
            raise DomainError(
                N_(
                    "You have already handed in {n} reports for {period}, the most one "
                    "member can. Ask the secretary if one needs replacing."
                ),
                n=quota,
                period=period.key,
            )

    async def submit_text(
        self, viewer: Viewer, text: str, *, quota: int | None = None
    ) -> ReportView:
        text = text.strip()
        if not text:
            raise DomainError(N_("The report is empty. Send its text first."))
        if len(text) > MAX_REPORT_CHARS:
            raise DomainError(
                N_("A text report can be at most {limit} characters; send it as a document."),
                limit=MAX_REPORT_CHARS,
            )
        await self.check_quota(viewer, quota)
        report = await self._new_report(viewer, "text", text)
        await self.audit(
            "report.submit",
            actor=viewer,
            subject_type="thought_report",
            subject_id=report.id,
            kind="text",
            period=report.period_key,
            chars=len(text),
        )
        return await self._view(report)

    async def submit_file(
        self,
        viewer: Viewer,
        f: IncomingFile,
        data: bytes | None,
        storage_dir: Path,
        caption: str | None = None,
        *,
        quota: int | None = None,
    ) -> ReportView:
        """Record a document or photo report. ``data`` is the downloaded file (None when
        the download failed: the file id is kept and the copy is made at export)."""
        ext = check_file(f)
        await self.check_quota(viewer, quota)
        if data is not None:
            if len(data) > MAX_FILE_BYTES:
                raise DomainError(
                    N_("The file is too large ({size} MB). Files can be at most {limit} MB."),
                    size=f"{len(data) / (1024 * 1024):.1f}",
                    limit=MAX_FILE_MB,
                )
            if f.kind == "document" and not content_matches(ext, data):
                raise DomainError(
                    N_(
                        "The content of {name} does not look like a {ext} file. Please send "
                        "the original PDF, Word or image file."
                    ),
                    name=f.file_name or "?",
                    ext=ext.lstrip(".").upper(),
                )
        note = (caption or "").strip()[:MAX_COMMENT_CHARS] or None
        report = await self._new_report(viewer, f.kind, note)
        report.file_id = f.file_id
        report.file_unique_id = f.file_unique_id
        report.file_name = (f.file_name or f"photo{ext}")[:255]
        report.mime_type = f.mime_type or ("image/jpeg" if f.kind == "photo" else None)
        report.file_size = len(data) if data is not None else f.file_size
        if data is not None:
            report.local_path = write_copy(storage_dir, report, ext, data)
        await self.session.flush()
        await self.audit(
            "report.submit",
            actor=viewer,
            subject_type="thought_report",
            subject_id=report.id,
            kind=f.kind,
            period=report.period_key,
            file=report.file_name,
            stored=report.local_path is not None,
        )
        return await self._view(report)

    async def store_copy(self, report_id: int, data: bytes, storage_dir: Path) -> str:
        """Keep a local copy of a report file that has none yet (export back-fill)."""
        report = await self.session.get(ThoughtReport, report_id)
        if report is None:
            raise NotFound(N_("This report no longer exists."))
        ext = os.path.splitext(report.file_name or "")[1].lower() or ".bin"
        report.local_path = write_copy(storage_dir, report, ext, data)
        await self.session.flush()
        await self.audit(
            "report.copy",
            branch_id=report.branch_id,
            subject_type="thought_report",
            subject_id=report.id,
            path=report.local_path,
        )
        return report.local_path

    # -- reviewers ---------------------------------------------------------------------
    async def reviewers(self, branch_id: int, *, exclude_person: int | None = None) -> list[int]:
        """Telegram ids of the secretary and reviewers to show a new report to."""
        return await reviewer_ids(self.session, branch_id, author_person_id=exclude_person)

    async def for_review(self, viewer: Viewer, report_id: int) -> ReportView:
        report = await self.session.get(ThoughtReport, report_id)
        if report is None:
            self._need_reviewer(viewer)
            raise NotFound(N_("This report no longer exists."))
        await self._check_review(viewer, report)
        return await self._view(report)

    async def _check_review(self, viewer: Viewer, report: ThoughtReport) -> None:
        try:
            self._need_reviewer(viewer, report.branch_id)
        except NotAllowed:
            await self.audit(
                "report.denied",
                actor=viewer,
                branch_id=report.branch_id,
                subject_type="thought_report",
                subject_id=report.id,
            )
            raise
        await ensure_not_author(
            self,
            viewer,
            report.person_id,
            branch_id=report.branch_id,
            subject_type="thought_report",
            subject_id=report.id,
        )

    async def _acknowledge(self, viewer: Viewer, report: ThoughtReport) -> bool:
        """Set the acknowledgement once (a conditional update, so two reviewers tapping
        at once cannot both win). True if this call acknowledged it."""
        result = await self.session.execute(
            update(ThoughtReport)
            .where(ThoughtReport.id == report.id, ThoughtReport.acknowledged_at.is_(None))
            .values(acknowledged_at=self.clock.now(), acknowledged_by_person_id=viewer.person_id)
            .execution_options(synchronize_session=False)
        )
        await self.session.refresh(report)
        return bool(getattr(result, "rowcount", 0))

    async def acknowledge(self, viewer: Viewer, report_id: int) -> ReportView:
        report = await self.session.get(ThoughtReport, report_id)
        if report is None:
            self._need_reviewer(viewer)
            raise NotFound(N_("This report no longer exists."))
        await self._check_review(viewer, report)
        if not await self._acknowledge(viewer, report):
            view = await self._view(report, with_comments=False)
            raise Conflict(N_("Already acknowledged by {name}."), name=view.acknowledged_by or "?")
        await self.audit(
            "report.acknowledge",
            actor=viewer,
            branch_id=report.branch_id,
            subject_type="thought_report",
            subject_id=report.id,
        )
        return await self._view(report)

    async def comment(self, viewer: Viewer, report_id: int, text: str) -> CommentResult:
        text = text.strip()
        if not text:
            raise DomainError(N_("The comment is empty. Please send it as text."))
        if len(text) > MAX_COMMENT_CHARS:
            raise DomainError(
                N_("A comment can be at most {limit} characters (yours has {n})."),
                limit=MAX_COMMENT_CHARS,
                n=len(text),
            )
        report = await self.session.get(ThoughtReport, report_id)
        if report is None:
            self._need_reviewer(viewer)
            raise NotFound(N_("This report no longer exists."))
        await self._check_review(viewer, report)
        assert viewer.person_id is not None
        newly = await self._acknowledge(viewer, report)
        comment = ReportComment(
            report_id=report.id,
            author_person_id=viewer.person_id,
            text=text,
            created_at=self.clock.now(),
        )
        self.session.add(comment)
        await self.session.flush()
        await self.audit(
            "report.comment",
            actor=viewer,
            branch_id=report.branch_id,
            subject_type="thought_report",
            subject_id=report.id,
            comment_id=comment.id,
            acknowledged=newly,
        )
        return CommentResult(await self._view(report), newly)

    async def unacknowledged_count(self, viewer: Viewer) -> int:
        if not viewer.is_reviewer or viewer.branch_id is None:
            return 0
        rows = await self.session.scalars(
            select(ThoughtReport.id).where(
                ThoughtReport.branch_id == viewer.branch_id,
                ThoughtReport.acknowledged_at.is_(None),
            )
        )
        return len(rows.all())

    # -- overview, nudges, reminders ------------------------------------------------------
    async def _owed(self, branch_id: int, period: Period, today: date) -> list[OwedRow]:
        members = await repo.branch_members(self.session, branch_id)
        # Duty for a past period follows the status then (the status history).
        then = await statuses_on(
            self.session, [(m.person.id, m.person.status) for m in members], min(period.end, today)
        )
        wanted: list[tuple[repo.MemberRow, Period]] = [
            (m, p)
            for m in members
            if (status := then.get(m.person.id)) is not None
            for p in obligations(status, period)
        ]
        done = await self._keys_handed_in(
            {m.person.id for m, _ in wanted}, {p.key for _, p in wanted}
        )
        return [
            OwedRow(
                person_id=m.person.id,
                name=m.person.full_name,
                status=then.get(m.person.id) or m.person.status,
                period=p,
                overdue=p.end < today,
                telegram_id=m.account.telegram_user_id
                if m.account is not None and m.account.started_at is not None
                else None,
            )
            for m, p in wanted
            if (m.person.id, p.key) not in done
        ]

    async def overview(self, viewer: Viewer, period: Period | None = None) -> Overview:
        self._need_reviewer(viewer)
        assert viewer.branch_id is not None
        today = self.today(viewer)
        if period is None:
            period = Quarter.of(today)
        keys = {period.key}
        if isinstance(period, Quarter):
            keys.add(HalfYear.of(period.start).key)
        else:
            first = Quarter.of(period.start)
            keys |= {first.key, first.next().key}
        reports = await self.session.scalars(
            select(ThoughtReport)
            .where(
                ThoughtReport.branch_id == viewer.branch_id,
                or_(
                    ThoughtReport.period_key.in_(sorted(keys)),
                    ThoughtReport.submitted_on.between(period.start, period.end),
                ),
            )
            .order_by(ThoughtReport.submitted_at, ThoughtReport.id)
        )
        submitted = [await self._view(r, with_comments=False) for r in reports.all()]
        owed = await self._owed(viewer.branch_id, period, today)
        return Overview(period, today, submitted, owed)

    async def nudge(self, viewer: Viewer, branch_id: int, period: Period) -> NudgeResult:
        """Who to remind now: everyone still owing a report for ``period`` who was not
        already reminded of the same owed period today. Records the reminders."""
        self._need_reviewer(viewer, branch_id)
        today = self.today(viewer)
        owed = await self._owed(branch_id, period, today)
        sent_today = await self.session.execute(
            select(ReportNudge.person_id, ReportNudge.period_key).where(
                ReportNudge.branch_id == branch_id, ReportNudge.sent_on == today
            )
        )
        already = {(p, k) for p, k in sent_today.all()}
        targets: list[NudgeTarget] = []
        unreachable: list[str] = []
        skipped = 0
        for row in owed:
            if (row.person_id, row.period.key) in already:
                skipped += 1
                continue
            if row.telegram_id is None:
                unreachable.append(row.name)
                continue
            self.session.add(
                ReportNudge(
                    branch_id=branch_id,
                    person_id=row.person_id,
                    period_key=row.period.key,
                    sent_on=today,
                    sent_at=self.clock.now(),
                    by_person_id=viewer.person_id,
                )
            )
            already.add((row.person_id, row.period.key))
            targets.append(NudgeTarget(row.telegram_id, row.name, row.period))
        await self.session.flush()
        if targets:
            await self.audit(
                "report.nudge",
                actor=viewer,
                branch_id=branch_id,
                subject_type="report_period",
                subject_id=period.key,
                people=[t.name for t in targets],
            )
        return NudgeResult(targets, skipped, unreachable)

    async def owing(
        self, branch_id: int, statuses: Sequence[PersonStatus], period: Period
    ) -> set[int]:
        """Person ids with one of ``statuses`` who have no report for ``period``."""
        members = await repo.branch_members(self.session, branch_id, statuses=statuses)
        ids = {m.person.id for m in members}
        done = await self._keys_handed_in(ids, [period.key])
        return {i for i in ids if (i, period.key) not in done}

    async def owing_for_deadline(self, branch_id: int, kind: str, deadline: date) -> set[int]:
        if kind == "report_quarterly":
            return await self.owing(branch_id, QUARTERLY_STATUSES, Quarter.of(deadline))
        return await self.owing(branch_id, HALF_YEARLY_STATUSES, HalfYear.of(deadline))

    # -- export ------------------------------------------------------------------------
    async def for_export(self, viewer: Viewer, period: Period) -> list[ReportView]:
        """Reports handed in during ``period`` or counting for it, with comments."""
        self._need_reviewer(viewer)
        rows = await self.session.scalars(
            select(ThoughtReport)
            .where(
                ThoughtReport.branch_id == viewer.branch_id,
                or_(
                    ThoughtReport.period_key == period.key,
                    ThoughtReport.submitted_on.between(period.start, period.end),
                ),
            )
            .order_by(ThoughtReport.submitted_at, ThoughtReport.id)
        )
        return [await self._view(r) for r in rows.all()]


def write_copy(storage_dir: Path, report: ThoughtReport, ext: str, data: bytes) -> str:
    """Write the local copy atomically; returns its path relative to ``storage_dir``."""
    relative = Path("reports") / str(report.branch_id) / report.period_key
    name = f"{report.id:06d}-{safe_name(report.file_unique_id or 'file', 40)}{ext}"
    folder = storage_dir / relative
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    tmp = folder / (name + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, target)
    return (relative / name).as_posix()


def copy_path(storage_dir: Path, local_path: str | None) -> Path | None:
    """The local copy of a report file on disk, None when there is none."""
    if not local_path:
        return None
    path = storage_dir / local_path
    return path if path.is_file() else None


def read_copy(storage_dir: Path, local_path: str | None) -> bytes | None:
    if not local_path:
        return None
    path = storage_dir / local_path
    try:
        return path.read_bytes()
    except OSError:
        return None
