"""The organisation level: who administers an organisation (党委/党总支), and the
Mini App logins already used (a replayed initData is refused)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, BigIntPK


class OrgAdmin(Base):
    """A Telegram user who administers an organisation and everything below it."""

    __tablename__ = "org_admins"
    __table_args__ = (UniqueConstraint("organisation_id", "telegram_user_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    created_at: Mapped[datetime]


class WebAppLogin(Base):
    """One Mini App initData exchanged for a session: its hash may not be used twice."""

    __tablename__ = "webapp_logins"

    init_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(index=True)
