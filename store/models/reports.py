"""Thought reports (思想汇报): the reports, reviewers' comments and nudges sent."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from domain.roles import PersonStatus
from store.models.base import Base, BigIntPK, str_enum


class ThoughtReport(Base):
    """One report handed in: text in ``text``, or a file (Telegram file id plus a local
    copy under ``storage_dir``, relative path in ``local_path``). The acknowledgement is
    written once (``acknowledged_*``); comments are rows of ``report_comments``."""

    __tablename__ = "thought_reports"
    __table_args__ = (
        Index("ix_thought_reports_branch_period", "branch_id", "period_key"),
        Index("ix_thought_reports_branch_submitted", "branch_id", "submitted_on"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    status: Mapped[PersonStatus] = mapped_column(str_enum(PersonStatus))  # when submitted
    period_key: Mapped[str] = mapped_column(String(8))  # 2026Q3 / 2026H2
    required: Mapped[bool]  # False: a voluntary report (full member)
    kind: Mapped[str] = mapped_column(String(12))  # text / document / photo
    text: Mapped[str | None] = mapped_column(Text)  # the report, or a file's caption
    file_id: Mapped[str | None] = mapped_column(String(255))
    file_unique_id: Mapped[str | None] = mapped_column(String(128))
    file_name: Mapped[str | None] = mapped_column(String(255))
    mime_type: Mapped[str | None] = mapped_column(String(128))
    file_size: Mapped[int | None] = mapped_column(Integer)
    local_path: Mapped[str | None] = mapped_column(String(500))
    submitted_at: Mapped[datetime]
    submitted_on: Mapped[date] = mapped_column(Date)  # local date in the branch's zone
    submitted_by_telegram_id: Mapped[int] = mapped_column(BigInteger)
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by_person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))


class ReportComment(Base):
    """A reviewer's comment (评语) on a report. Append-only."""

    __tablename__ = "report_comments"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("thought_reports.id"), index=True)
    author_person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class ReportNudge(Base):
    """A reminder the secretary sent to someone who still owes a report: at most one per
    person, owed period and local day."""

    __tablename__ = "report_nudges"
    __table_args__ = (UniqueConstraint("person_id", "period_key", "sent_on"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    period_key: Mapped[str] = mapped_column(String(8))
    sent_on: Mapped[date] = mapped_column(Date)
    sent_at: Mapped[datetime]
    by_person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
