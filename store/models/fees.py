"""Party fees: the amount table (月交纳党费数额核定表), members' payment reports, the
payment register (党费缴纳登记表, append-only) and arrears alerts sent."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from domain.fee_rules import FeeBasis
from store.models.base import Base, BigIntPK, Money, str_enum


class SubmissionStatus(enum.StrEnum):
    PENDING = "pending"  # reported by the member, waiting for the secretary
    CONFIRMED = "confirmed"  # entered in the register
    QUERIED = "queried"  # the secretary has a question (有疑问); the months are open again


class FeeAssessment(Base):
    """One line of the amount table: from ``effective_month`` on, ``person`` pays
    ``amount`` a month. Append-only: a change is a new row (latest id wins)."""

    __tablename__ = "fee_assessments"
    __table_args__ = (
        Index("ix_fee_assessments_person", "person_id", "effective_month"),
        # A member's rows of the branch (migration 0017): what /fees reads per member.
        Index("ix_fee_assessments_branch_person", "branch_id", "person_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    basis: Mapped[FeeBasis] = mapped_column(str_enum(FeeBasis, 16))
    income: Mapped[Decimal | None] = mapped_column(Money)
    amount: Mapped[Decimal] = mapped_column(Money)
    effective_month: Mapped[str] = mapped_column(String(7))  # "YYYY-MM"
    source: Mapped[str] = mapped_column(String(16), default="chat")  # chat / roster
    set_by_person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    created_at: Mapped[datetime]


class FeeSubmission(Base):
    """A member's report "I paid" for one or several months, maybe with a screenshot."""

    __tablename__ = "fee_submissions"
    __table_args__ = (
        Index("ix_fee_submissions_branch_person", "branch_id", "person_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    total: Mapped[Decimal] = mapped_column(Money)
    photo_file_id: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[SubmissionStatus] = mapped_column(
        str_enum(SubmissionStatus, 16), default=SubmissionStatus.PENDING
    )
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    decided_by_person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    query_reason: Mapped[str | None] = mapped_column(Text)


class FeeSubmissionMonth(Base):
    """A month covered by a submission. While the submission is pending or confirmed the
    month is taken: a partial unique index stops a second report for the same month."""

    __tablename__ = "fee_submission_months"
    __table_args__ = (
        UniqueConstraint("submission_id", "month"),
        Index(
            "uq_fee_submission_months_open",
            "person_id",
            "month",
            unique=True,
            sqlite_where=text("is_open = 1"),
            postgresql_where=text("is_open"),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("fee_submissions.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    month: Mapped[str] = mapped_column(String(7))
    amount: Mapped[Decimal] = mapped_column(Money)
    is_open: Mapped[bool] = mapped_column(default=True)


class FeeRegisterEntry(Base):
    """A line of the payment register (党费缴纳登记表). Never edited: a correction is a
    new row with ``corrects_id`` and the difference as ``amount``."""

    __tablename__ = "fee_register"
    __table_args__ = (
        UniqueConstraint("submission_id", "month"),
        Index("ix_fee_register_person_month", "person_id", "month"),
        Index("ix_fee_register_branch_person", "branch_id", "person_id", "month"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    month: Mapped[str] = mapped_column(String(7))
    amount: Mapped[Decimal] = mapped_column(Money)
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("fee_submissions.id"))
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("fee_register.id"))
    note: Mapped[str | None] = mapped_column(String(200))
    recorded_at: Mapped[datetime]
    recorded_by_person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))


class FeeArrearsAlert(Base):
    """An arrears alert sent to the secretary: once per person, level (3 or 6 months)
    and run of unpaid months (identified by its first month)."""

    __tablename__ = "fee_arrears_alerts"
    __table_args__ = (UniqueConstraint("person_id", "level", "since_month"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    level: Mapped[int]
    since_month: Mapped[str] = mapped_column(String(7))
    created_at: Mapped[datetime]
