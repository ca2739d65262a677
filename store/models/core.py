"""Core tables: organisation tree, branches, people, memberships, Telegram accounts,
join requests, the audit log, processed updates and dialog state."""

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
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from domain.roles import JoinStatus, PersonStatus, Role
from store.models.base import Base, BigIntPK, str_enum


class Organisation(Base):
    """党委 or 党总支: the parents of branches (optional)."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(24), default="committee")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    created_at: Mapped[datetime]


class Branch(Base):
    """党支部."""

    __tablename__ = "branches"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    name: Mapped[str] = mapped_column(String(120))
    join_code: Mapped[str] = mapped_column(String(16), unique=True)
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime]


class Person(Base):
    """A roster entry (党员花名册 row). History of branches lives in memberships."""

    __tablename__ = "persons"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    full_name: Mapped[str] = mapped_column(String(64))
    status: Mapped[PersonStatus] = mapped_column(str_enum(PersonStatus))
    admitted_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    memberships: Mapped[list[Membership]] = relationship(back_populates="person")


class Membership(Base):
    """A person's place in a branch; ``ended_at`` set when they transfer out."""

    __tablename__ = "memberships"
    __table_args__ = (
        Index(
            "uq_memberships_current_person",
            "person_id",
            unique=True,
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
        Index("ix_memberships_branch_current", "branch_id", "ended_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"))
    role: Mapped[Role] = mapped_column(str_enum(Role), default=Role.MEMBER)
    party_group: Mapped[str | None] = mapped_column(String(64))
    can_review: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]

    person: Mapped[Person] = relationship(back_populates="memberships")
    branch: Mapped[Branch] = relationship()


class TelegramAccount(Base):
    """A Telegram user who has talked to the bot, and the roster entry it is bound to."""

    __tablename__ = "telegram_accounts"

    telegram_user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"), unique=True)
    first_name: Mapped[str] = mapped_column(String(128), default="")
    last_name: Mapped[str | None] = mapped_column(String(128))
    username: Mapped[str | None] = mapped_column(String(64))
    language_code: Mapped[str | None] = mapped_column(String(35))
    locale: Mapped[str | None] = mapped_column(String(16))
    started_at: Mapped[datetime | None]
    blocked_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    @property
    def display_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p).strip()


class BindCode(Base):
    """A personal one-time code that binds a Telegram account to a roster entry."""

    __tablename__ = "bind_codes"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"))
    created_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_by: Mapped[int | None] = mapped_column(BigInteger)


class JoinRequest(Base):
    """A stranger asking to join a branch with its join code."""

    __tablename__ = "join_requests"
    __table_args__ = (
        Index(
            "uq_join_requests_pending",
            "branch_id",
            "telegram_user_id",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"))
    telegram_user_id: Mapped[int] = mapped_column(BigInteger)
    full_name: Mapped[str] = mapped_column(String(128))
    status: Mapped[JoinStatus] = mapped_column(str_enum(JoinStatus), default=JoinStatus.PENDING)
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    decided_by_person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))


class AuditEntry(Base):
    """Every state change: who, what, when. Append-only."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor_telegram_id: Mapped[int | None] = mapped_column(BigInteger)
    actor_person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branches.id"), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    subject_type: Mapped[str | None] = mapped_column(String(32))
    subject_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ProcessedUpdate(Base):
    """Telegram update ids already handled: a re-delivered update has its effect once."""

    __tablename__ = "processed_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    processed_at: Mapped[datetime] = mapped_column(index=True)
    outcome: Mapped[str] = mapped_column(String(16), default="ok")


class DialogState(Base):
    """A half-finished conversation (e.g. a claim being entered), kept in the database
    so it survives restarts and can continue on any instance."""

    __tablename__ = "dialog_states"

    telegram_user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    flow: Mapped[str] = mapped_column(String(32))
    step: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    text_buffer: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime]
