"""The admission pipeline (发展党员): each candidate's file, the procedures recorded, the
polls and their ballots, what reminders were sent; and every person's status history."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from domain.roles import PersonStatus
from store.models.base import Base, BigIntPK, str_enum


class PersonStatusHistory(Base):
    """A person's status from ``valid_from`` (None: since before the bot knew) until
    ``valid_to`` (None: still). Who owed a report for a past period is judged by the
    status then."""

    __tablename__ = "person_status_history"
    __table_args__ = (Index("ix_person_status_history_person_from", "person_id", "valid_from"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    status: Mapped[PersonStatus] = mapped_column(str_enum(PersonStatus))
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(32))  # backfill | pipeline step code
    changed_at: Mapped[datetime]
    changed_by_person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))


class PipelineCase(Base):
    """One candidate's file (发展党员档案) in a branch."""

    __tablename__ = "pipeline_cases"
    __table_args__ = (UniqueConstraint("branch_id", "person_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    opened_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    extension_months: Mapped[int] = mapped_column(Integer, default=0)


class PipelineStep(Base):
    """A procedure recorded: its date, who recorded it, a note or document, and what it
    carries (people, a score, a notice's end, the poll). Never edited; a probation
    extension marks the year-end steps ``superseded`` and they are recorded again."""

    __tablename__ = "pipeline_steps"
    __table_args__ = (
        Index(
            "uq_pipeline_steps_current",
            "case_id",
            "code",
            unique=True,
            sqlite_where=text("superseded = 0"),
            postgresql_where=text("superseded = false"),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("pipeline_cases.id"), index=True)
    code: Mapped[str] = mapped_column(String(24))
    done_on: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[datetime]
    by_person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    note: Mapped[str | None] = mapped_column(Text)
    file_id: Mapped[str | None] = mapped_column(String(255))
    file_name: Mapped[str | None] = mapped_column(String(255))
    value: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    superseded: Mapped[bool] = mapped_column(Boolean, default=False)


class PipelinePoll(Base):
    """A vote in chat: the assessment (secret) or a branch meeting's vote. ``entitled``
    lists who may vote (person ids), fixed when it opens."""

    __tablename__ = "pipeline_polls"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("pipeline_cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    step: Mapped[str] = mapped_column(String(24))
    secret: Mapped[bool] = mapped_column(Boolean)
    arg: Mapped[int | None] = mapped_column(Integer)  # extension months
    entitled: Mapped[list[int]] = mapped_column(JSON, default=list)
    opened_at: Mapped[datetime]
    opened_by_person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    closed_at: Mapped[datetime | None]
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    passed: Mapped[bool | None] = mapped_column(Boolean)


class PipelineBallot(Base):
    """One vote. The voter is kept only so nobody votes twice; a secret poll shows
    nobody who voted what."""

    __tablename__ = "pipeline_ballots"
    __table_args__ = (UniqueConstraint("poll_id", "voter_person_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("pipeline_polls.id"))
    voter_person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    choice: Mapped[str] = mapped_column(String(16))
    cast_at: Mapped[datetime]


class PipelineNotice(Base):
    """A reminder or digest sent, once per key (idempotent periodic task)."""

    __tablename__ = "pipeline_notices"
    __table_args__ = (UniqueConstraint("branch_id", "key"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"))
    key: Mapped[str] = mapped_column(String(64))
    sent_at: Mapped[datetime]
