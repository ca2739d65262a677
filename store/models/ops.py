"""Operational tables: messages waiting to be (re)delivered, and leases that elect the one
instance that runs the scheduler."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, BigIntPK


class Delivery(Base):
    """A reply or notice Telegram did not accept (network error, 5xx): retried later by
    the delivery task, so a failure to answer never rolls back the user's action."""

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    text: Mapped[str] = mapped_column(Text)
    reply_markup: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # sent|failed|blocked
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    #: Sent as a photo (``text`` is its caption) when set.
    photo_id: Mapped[int | None] = mapped_column(ForeignKey("delivery_files.id"))


class DeliveryFile(Base):
    """A picture many deliveries send (a ranking chart): kept in the database so any
    instance can send it, uploaded once, then sent by Telegram's file id."""

    __tablename__ = "delivery_files"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    telegram_file_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime]


class Lease(Base):
    """A named lease held by one process until it expires (leader election)."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime]
    acquired_at: Mapped[datetime]


class ChatMenu(Base):
    """The command menu last published in one user's own chat (a reviewer's fuller
    list), by its fingerprint: at start-up only the menus that changed are published
    again, not one Bot API call per secretary of every branch."""

    __tablename__ = "chat_menus"

    telegram_user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime]
