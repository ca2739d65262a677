"""Organisational life (组织生活): meetings of 三会一课 and theme Party days, who was
invited and how they answered (attend / leave), check-ins, append-only minutes, the
leading cadres who get notices early, the overdue alerts already sent, and
heart-to-heart talks (谈心谈话) with party group leaders and their quarter alerts."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, BigIntPK


class Meeting(Base):
    """One meeting of a branch: 党员大会, 支委会, 党小组会, 党课, 主题党日, 组织生活会."""

    __tablename__ = "meetings"
    __table_args__ = (
        Index("ix_meetings_branch_starts", "branch_id", "starts_at"),
        # One meeting per occurrence of a calendar rule (one-offs have neither).
        UniqueConstraint("calendar_rule_id", "occurrence"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"))
    kind: Mapped[str] = mapped_column(String(24))
    title: Mapped[str] = mapped_column(String(120))
    starts_at: Mapped[datetime]
    place: Mapped[str | None] = mapped_column(String(200))
    #: all | party_members | committee | group
    audience: Mapped[str] = mapped_column(String(24))
    party_group: Mapped[str | None] = mapped_column(String(64))
    chair_person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    minutes_person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    lecturer_person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    #: scheduled | held | cancelled
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    #: The calendar rule and occurrence (local date) this meeting holds, if any.
    calendar_rule_id: Mapped[int | None] = mapped_column(ForeignKey("calendar_rules.id"))
    occurrence: Mapped[date | None] = mapped_column(Date)
    closed_at: Mapped[datetime | None]
    created_by_person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    created_at: Mapped[datetime]


class MeetingAttendance(Base):
    """One person concerned by one meeting: notice, answer, leave, check-in."""

    __tablename__ = "meeting_attendance"
    __table_args__ = (UniqueConstraint("meeting_id", "person_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    notified_at: Mapped[datetime | None]
    #: none | attend | leave
    response: Mapped[str] = mapped_column(String(16), default="none")
    #: None | pending | approved | refused
    leave_status: Mapped[str | None] = mapped_column(String(16))
    leave_reason: Mapped[str | None] = mapped_column(Text)
    leave_decided_by_person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    checked_in_at: Mapped[datetime | None]
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    checked_by_person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    updated_at: Mapped[datetime]


class MeetingMinutes(Base):
    """One version of a meeting's minutes (会议记录). Never updated: a correction is the
    next version."""

    __tablename__ = "meeting_minutes"
    __table_args__ = (UniqueConstraint("meeting_id", "version"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text, default="")
    #: [{"kind": "photo" | "document", "file_id": …, "name": …}]
    files: Mapped[list[Any]] = mapped_column(JSON, default=list)
    author_person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    created_at: Mapped[datetime]


class LeadingCadre(Base):
    """A member who lives a double organisational life (双重组织生活): notices come early."""

    __tablename__ = "meeting_leading_cadres"

    person_id: Mapped[int] = mapped_column(
        ForeignKey("persons.id"), primary_key=True, autoincrement=False
    )
    created_at: Mapped[datetime]


class MeetingAlert(Base):
    """An overdue alert sent to a branch's secretary: a kind's meeting not held in a
    period that is about to end. Unique: sent once."""

    __tablename__ = "meeting_alerts"
    __table_args__ = (UniqueConstraint("branch_id", "kind", "period"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"))
    kind: Mapped[str] = mapped_column(String(24))
    period: Mapped[str] = mapped_column(String(16))
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger)
    sent_at: Mapped[datetime]


class Talk(Base):
    """A heart-to-heart talk (谈心谈话) between two people of a branch: planned (with a
    reminder to both on the day) or held, with a short summary private to the two, the
    secretary and reviewers."""

    __tablename__ = "talks"
    __table_args__ = (Index("ix_talks_branch_day", "branch_id", "talk_on"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"))
    person_a_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    person_b_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    #: planned | held
    status: Mapped[str] = mapped_column(String(16))
    #: The day it was held, or the day it is planned for (local).
    talk_on: Mapped[date] = mapped_column(Date)
    summary: Mapped[str | None] = mapped_column(Text)
    reminded_at: Mapped[datetime | None]
    created_by_person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    created_at: Mapped[datetime]
    held_at: Mapped[datetime | None]


class GroupLeader(Base):
    """The leader of a party group (党小组长, a roster column): gets the quarter's
    talk-table reminder."""

    __tablename__ = "talk_group_leaders"

    person_id: Mapped[int] = mapped_column(
        ForeignKey("persons.id"), primary_key=True, autoincrement=False
    )
    created_at: Mapped[datetime]


class TalkAlert(Base):
    """A reminder sent to a party group's leaders that the quarter's talk table is
    incomplete. Unique: once per branch, group and quarter."""

    __tablename__ = "talk_alerts"
    __table_args__ = (UniqueConstraint("branch_id", "party_group", "quarter"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"))
    party_group: Mapped[str] = mapped_column(String(64))
    quarter: Mapped[str] = mapped_column(String(8))
    missing: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime]
