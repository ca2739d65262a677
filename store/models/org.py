"""The organisation level: who administers an organisation (党委/党总支), transfers
between its branches, its notices with read receipts, and the Mini App logins already
used (a replayed initData is refused)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint, text
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


class BranchTransfer(Base):
    """组织关系转接 between two branches of an organisation: asked by an administrator,
    confirmed (or declined) by the receiving branch's secretary. One pending per person."""

    __tablename__ = "branch_transfers"
    __table_args__ = (
        Index(
            "uq_branch_transfers_pending",
            "person_id",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    from_branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"))
    to_branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"))
    requested_by: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # accepted|declined
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    decided_by_person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))


class OrgNotice(Base):
    """通知公告: an organisation-wide notice to every member of its branches."""

    __tablename__ = "org_notices"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    sent_by: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime]


class OrgNoticeReceipt(Base):
    """One recipient of a notice: queued exactly once (unique), read when they pressed."""

    __tablename__ = "org_notice_receipts"
    __table_args__ = (UniqueConstraint("notice_id", "telegram_user_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("org_notices.id"))
    telegram_user_id: Mapped[int] = mapped_column(BigInteger)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"))
    queued_at: Mapped[datetime]
    read_at: Mapped[datetime | None]
