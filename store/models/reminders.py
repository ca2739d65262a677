"""The branch calendar (rules and their reminders), each member's reminder preferences,
and the reminder outbox: one row per (reminder, occurrence, recipient)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, BigIntPK


class CalendarRule(Base):
    """A recurring (or one-off) event of a branch: theme Party day, fee day, meetings,
    report and declaration deadlines. Dates are local to the branch's time zone."""

    __tablename__ = "calendar_rules"
    __table_args__ = (Index("ix_calendar_rules_branch", "branch_id", "enabled"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"))
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str | None] = mapped_column(String(120))
    #: monthly | quarterly | half_yearly | once
    freq: Mapped[str] = mapped_column(String(16))
    #: nth_weekday | day | period_end | date
    anchor: Mapped[str] = mapped_column(String(16))
    nth: Mapped[int | None] = mapped_column(Integer)  # 1..4, or -1 for the last
    weekday: Mapped[int | None] = mapped_column(Integer)  # 0 = Monday … 6 = Sunday
    day: Mapped[int | None] = mapped_column(Integer)  # day of month (clamped)
    month_in_period: Mapped[int] = mapped_column(Integer, default=1)
    offset_days: Mapped[int] = mapped_column(Integer, default=0)
    on_date: Mapped[date | None] = mapped_column(Date)
    event_time: Mapped[str | None] = mapped_column(String(5))  # "HH:MM" local
    audience: Mapped[str] = mapped_column(String(24), default="all")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    reminders_on: Mapped[bool] = mapped_column(Boolean, default=True)
    #: When the schedule last changed: reminders due before it are never sent late.
    changed_at: Mapped[datetime]
    created_at: Mapped[datetime]


class ReminderRule(Base):
    """When to remind of an event: ``days_before`` at ``at_time`` (local)."""

    __tablename__ = "reminder_rules"
    __table_args__ = (UniqueConstraint("calendar_rule_id", "days_before", "at_time"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    calendar_rule_id: Mapped[int] = mapped_column(ForeignKey("calendar_rules.id"), index=True)
    days_before: Mapped[int] = mapped_column(Integer)
    at_time: Mapped[str] = mapped_column(String(5))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]


class ReminderOccurrence(Base):
    """One reminder of one event occurrence, materialised once (or recorded as skipped
    when its time passed beyond the grace window while the bot was down)."""

    __tablename__ = "reminder_occurrences"
    __table_args__ = (UniqueConstraint("reminder_id", "occurrence"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    reminder_id: Mapped[int] = mapped_column(ForeignKey("reminder_rules.id"))
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    occurrence: Mapped[date] = mapped_column(Date)  # the event's local date
    due_at: Mapped[datetime] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(16))  # queued | skipped
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]


class ReminderOutbox(Base):
    """One message to one recipient. Claimed atomically (pending → sending with a claim
    token); a row found in ``sending`` after a crash becomes ``unknown`` and is never
    resent (the Bot API has no idempotency key)."""

    __tablename__ = "reminder_outbox"
    __table_args__ = (
        UniqueConstraint("reminder_id", "occurrence", "person_id"),
        Index("ix_reminder_outbox_status_due", "status", "due_at"),
        Index("ix_reminder_outbox_branch_status", "branch_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    reminder_id: Mapped[int] = mapped_column(ForeignKey("reminder_rules.id"))
    occurrence: Mapped[date] = mapped_column(Date)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"))
    telegram_user_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(32))
    due_at: Mapped[datetime]
    #: pending | sending | sent | unknown | blocked | muted | skipped | failed
    status: Mapped[str] = mapped_column(String(16))
    claim_token: Mapped[str | None] = mapped_column(String(32))
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(200))
    acknowledged_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class ReminderPreference(Base):
    """A member's choice: mute optional reminders, or pause them until a date."""

    __tablename__ = "reminder_preferences"

    person_id: Mapped[int] = mapped_column(
        ForeignKey("persons.id"), primary_key=True, autoincrement=False
    )
    muted: Mapped[bool] = mapped_column(Boolean, default=False)
    paused_until: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime]
