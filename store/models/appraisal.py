"""Democratic appraisal tables (民主评议党员): the year's appraisal of a branch, its
scoring group (积分考评小组), self-assessments, secret peer ballots, the group's grades,
the confirmations of 不合格, the final results and the reminders already sent.

Ballot secrecy: ``appraisal_ballots`` holds no person id of the voter, only an HMAC
token keyed by the appraisal's salt (wiped at finalisation), and no timestamp."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, BigIntPK

SCORE = Numeric(6, 2)


class Appraisal(Base):
    """One branch's democratic appraisal of one year."""

    __tablename__ = "appraisals"
    __table_args__ = (UniqueConstraint("branch_id", "year"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    year: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default="open")  # open|final|published
    opens_on: Mapped[date] = mapped_column(Date)
    deadline: Mapped[datetime]
    #: weights (percent), excellent share, group mode, self-assessment length
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: HMAC key of the voter tokens; wiped (NULL) when the appraisal is finalised.
    salt: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: The 组织生活会 meeting this appraisal belongs to (the meetings feature links it).
    meeting_id: Mapped[int | None] = mapped_column(BigInteger)
    created_by_person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    created_at: Mapped[datetime]
    finalised_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None]


class AppraisalGroupMember(Base):
    """A member of the scoring group: a committee member, a member representative
    (党员代表, ``person_id``) or a non-member representative (群众代表: no person, joins
    with ``code`` and is known by ``telegram_user_id`` only — no other rights)."""

    __tablename__ = "appraisal_group"
    __table_args__ = (UniqueConstraint("appraisal_id", "person_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    appraisal_id: Mapped[int] = mapped_column(ForeignKey("appraisals.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # committee|member_rep|public_rep
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    name: Mapped[str] = mapped_column(String(64))
    code: Mapped[str | None] = mapped_column(String(16), unique=True)
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    joined_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class AppraisalSelf(Base):
    """A member's self-assessment (自评): a short text or a document, and a self-grade."""

    __tablename__ = "appraisal_selfs"
    __table_args__ = (UniqueConstraint("appraisal_id", "person_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    appraisal_id: Mapped[int] = mapped_column(ForeignKey("appraisals.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    text: Mapped[str | None] = mapped_column(Text)
    document_file_id: Mapped[str | None] = mapped_column(String(256))
    document_name: Mapped[str | None] = mapped_column(String(128))
    grade: Mapped[str | None] = mapped_column(String(16))
    updated_at: Mapped[datetime]


class AppraisalBallot(Base):
    """One peer grade (互评). ``voter_token`` = HMAC(salt, voter person id): counts are
    exact, a changed vote replaces the row, and no column names the voter."""

    __tablename__ = "appraisal_ballots"
    __table_args__ = (UniqueConstraint("appraisal_id", "voter_token", "target_person_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    appraisal_id: Mapped[int] = mapped_column(ForeignKey("appraisals.id"), index=True)
    voter_token: Mapped[str] = mapped_column(String(64))
    target_person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    grade: Mapped[str] = mapped_column(String(16))


class AppraisalGroupGrade(Base):
    """A scoring-group member's grade (or 0–100 score) of one member."""

    __tablename__ = "appraisal_group_grades"
    __table_args__ = (UniqueConstraint("appraisal_id", "grader_id", "target_person_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    appraisal_id: Mapped[int] = mapped_column(ForeignKey("appraisals.id"), index=True)
    grader_id: Mapped[int] = mapped_column(ForeignKey("appraisal_group.id"))
    target_person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    grade: Mapped[str | None] = mapped_column(String(16))
    score: Mapped[Decimal | None] = mapped_column(SCORE)
    updated_at: Mapped[datetime]


class AppraisalConfirmation(Base):
    """The scoring group's decision on a proposed 不合格: confirmed (with the reason) or
    not confirmed (the member is graded 基本合格)."""

    __tablename__ = "appraisal_confirmations"
    __table_args__ = (UniqueConstraint("appraisal_id", "person_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    appraisal_id: Mapped[int] = mapped_column(ForeignKey("appraisals.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    confirmed: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(Text)
    decided_by_person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    decided_at: Mapped[datetime]


class AppraisalResult(Base):
    """A member's final result, written once when the appraisal is finalised."""

    __tablename__ = "appraisal_results"
    __table_args__ = (UniqueConstraint("appraisal_id", "person_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    appraisal_id: Mapped[int] = mapped_column(ForeignKey("appraisals.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    name: Mapped[str] = mapped_column(String(64))
    self_grade: Mapped[str | None] = mapped_column(String(16))
    self_score: Mapped[Decimal | None] = mapped_column(SCORE)
    peer_score: Mapped[Decimal | None] = mapped_column(SCORE)
    group_score: Mapped[Decimal | None] = mapped_column(SCORE)
    appraisal_score: Mapped[Decimal | None] = mapped_column(SCORE)
    daily_mean: Mapped[Decimal | None] = mapped_column(SCORE)
    combined: Mapped[Decimal | None] = mapped_column(SCORE)
    proposed_grade: Mapped[str] = mapped_column(String(16))
    final_grade: Mapped[str] = mapped_column(String(16))
    admonished: Mapped[bool] = mapped_column(Boolean, default=False)
    #: peer vote counts per grade, e.g. {"excellent": 3, "qualified": 8, …}
    votes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    notes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class AppraisalReminder(Base):
    """A self-assessment reminder sent (7 or 2 days before the deadline): once each."""

    __tablename__ = "appraisal_reminders"
    __table_args__ = (UniqueConstraint("appraisal_id", "person_id", "kind"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    appraisal_id: Mapped[int] = mapped_column(ForeignKey("appraisals.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    kind: Mapped[str] = mapped_column(String(8))
    sent_at: Mapped[datetime]
