"""Points scheme tables (党员积分制管理): the branch catalogue, members' claims, the
immutable ledger (积分电子台账), final quarterly scores and records of what periodic
tasks already did (quarter close, overdue digests, published rankings)."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, BigIntPK, str_enum

POINTS = Numeric(8, 2)


class PointBlock(enum.StrEnum):
    BASE = "base"  # 基础分: deductions from the base
    SPECIAL = "special"  # 特色加分
    EXTRA = "extra"  # 附加奖励分


class ClaimStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    REVOKED = "revoked"


class LedgerKind(enum.StrEnum):
    CLAIM = "claim"  # an approved claim
    GRANT = "grant"  # granted or deducted directly by the secretary
    SYSTEM = "system"  # granted by another feature (quiz results …)
    REVERSAL = "reversal"  # compensating entry of a revoked entry


class PointItem(Base):
    """One item of a branch's catalogue. Editing an item never touches the ledger: the
    ledger copies the points, block and indicator it was granted with."""

    __tablename__ = "point_items"
    __table_args__ = (UniqueConstraint("branch_id", "key"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    key: Mapped[str] = mapped_column(String(48))
    indicator: Mapped[str] = mapped_column(String(32))
    block: Mapped[PointBlock] = mapped_column(str_enum(PointBlock, 16))
    points: Mapped[Decimal] = mapped_column(POINTS)
    cap_per_quarter: Mapped[Decimal | None] = mapped_column(POINTS)
    evidence_required: Mapped[bool] = mapped_column(Boolean, default=False)
    names: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    descriptions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    position: Mapped[int] = mapped_column(default=0)
    retired_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class PointClaim(Base):
    """A member's self-reported claim (个人申报), waiting for a reviewer."""

    __tablename__ = "point_claims"
    __table_args__ = (
        # One live claim per item and event date (a rejected one may be claimed again).
        Index(
            "uq_point_claims_live",
            "person_id",
            "item_id",
            "occurred_on",
            unique=True,
            sqlite_where=text("status IN ('pending', 'approved')"),
            postgresql_where=text("status IN ('pending', 'approved')"),
        ),
        Index("ix_point_claims_branch_status", "branch_id", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("point_items.id"))
    occurred_on: Mapped[date] = mapped_column(Date)
    quarter: Mapped[str] = mapped_column(String(8))
    description: Mapped[str] = mapped_column(Text)
    evidence_kind: Mapped[str | None] = mapped_column(String(16))
    evidence_file_id: Mapped[str | None] = mapped_column(String(256))
    evidence_name: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[ClaimStatus] = mapped_column(
        str_enum(ClaimStatus, 16), default=ClaimStatus.PENDING
    )
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    decided_by_person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    ledger_entry_id: Mapped[int | None] = mapped_column(ForeignKey("point_ledger.id"))


class LedgerEntry(Base):
    """One line of a member's points ledger. Never updated nor deleted: a correction is
    a new entry with ``reverses_id`` pointing at the entry it compensates."""

    __tablename__ = "point_ledger"
    __table_args__ = (
        UniqueConstraint("source", "source_ref"),
        # Covering index of the quarter's scores (migration 0008; see docs/performance.md).
        Index(
            "ix_point_ledger_scoring",
            "branch_id",
            "quarter",
            "person_id",
            "block",
            "indicator",
            "points",
        ),
        Index("ix_point_ledger_person_quarter", "person_id", "quarter"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    quarter: Mapped[str] = mapped_column(String(8))
    occurred_on: Mapped[date] = mapped_column(Date)
    kind: Mapped[LedgerKind] = mapped_column(str_enum(LedgerKind, 16))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("point_items.id"))
    item_key: Mapped[str | None] = mapped_column(String(48))
    item_name: Mapped[str | None] = mapped_column(String(200))
    indicator: Mapped[str] = mapped_column(String(32))
    block: Mapped[PointBlock] = mapped_column(str_enum(PointBlock, 16))
    #: The points that count (after the item's per-quarter cap).
    points: Mapped[Decimal] = mapped_column(POINTS)
    #: The points asked for before the cap (equal to ``points`` when nothing was capped).
    requested_points: Mapped[Decimal] = mapped_column(POINTS)
    claim_id: Mapped[int | None] = mapped_column(BigIntPK, index=True)
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("point_ledger.id"), unique=True)
    #: Idempotency key: ("claim", claim id), ("quiz", attempt id), ("revoke", entry id) …
    source: Mapped[str | None] = mapped_column(String(32))
    source_ref: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    created_by_person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    created_at: Mapped[datetime]


class QuarterScore(Base):
    """A member's final score of a closed quarter."""

    __tablename__ = "point_quarter_scores"
    __table_args__ = (UniqueConstraint("branch_id", "quarter", "person_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"))
    quarter: Mapped[str] = mapped_column(String(8))
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    base: Mapped[Decimal] = mapped_column(POINTS)
    deductions: Mapped[Decimal] = mapped_column(POINTS)
    special: Mapped[Decimal] = mapped_column(POINTS)
    extra: Mapped[Decimal] = mapped_column(POINTS)
    total: Mapped[Decimal] = mapped_column(POINTS)
    warned: Mapped[bool] = mapped_column(Boolean, default=False)  # 诫勉 (2nd quarter < 60)
    created_at: Mapped[datetime]


class QuarterClose(Base):
    """A quarter closed for a branch (its scores are final). Unique: closes once."""

    __tablename__ = "point_quarter_closes"
    __table_args__ = (UniqueConstraint("branch_id", "quarter"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"))
    quarter: Mapped[str] = mapped_column(String(8))
    closed_at: Mapped[datetime]


class ReviewDigest(Base):
    """An overdue-claims reminder sent to one reviewer on one (local) day."""

    __tablename__ = "point_review_digests"
    __table_args__ = (UniqueConstraint("branch_id", "person_id", "day"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    day: Mapped[date] = mapped_column(Date)
    claim_count: Mapped[int] = mapped_column(default=0)
    sent_at: Mapped[datetime]


class RankingPublication(Base):
    """A ranking (公示) published to the branch."""

    __tablename__ = "point_ranking_publications"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    quarter: Mapped[str] = mapped_column(String(8))
    published_by_person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    recipients: Mapped[int] = mapped_column(default=0)
    published_at: Mapped[datetime]
