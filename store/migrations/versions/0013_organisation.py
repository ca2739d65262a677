"""organisation: administrators of organisations and used Mini App logins

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 14:00:00

``org_admins`` names who administers an organisation (党委/党总支) and every branch
below it; ``webapp_logins`` keeps the hash of each Mini App initData exchanged for a
session, so a replayed one is refused; ``branch_transfers`` (组织关系转接 confirmed by
the receiving branch), ``org_notices`` and their ``org_notice_receipts`` (one per
recipient: queued once, read when pressed).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "org_admins",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("organisation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("telegram_user_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_org_admins_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_org_admins")),
        sa.UniqueConstraint(
            "organisation_id",
            "telegram_user_id",
            name=op.f("uq_org_admins_organisation_id_telegram_user_id"),
        ),
    )
    with op.batch_alter_table("org_admins", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_org_admins_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_org_admins_telegram_user_id"), ["telegram_user_id"], unique=False
        )
    op.create_table(
        "webapp_logins",
        sa.Column("init_hash", sa.String(length=64), nullable=False),
        sa.Column("telegram_user_id", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("init_hash", name=op.f("pk_webapp_logins")),
    )
    with op.batch_alter_table("webapp_logins", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_webapp_logins_at"), ["at"], unique=False)

    op.create_table(
        "branch_transfers",
        sa.Column("id", BIGINT, autoincrement=True, nullable=False),
        sa.Column("person_id", BIGINT, nullable=False),
        sa.Column("from_branch_id", BIGINT, nullable=False),
        sa.Column("to_branch_id", BIGINT, nullable=False),
        sa.Column("requested_by", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by_person_id", BIGINT, nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_branch_transfers_person_id_persons")
        ),
        sa.ForeignKeyConstraint(
            ["from_branch_id"],
            ["branches.id"],
            name=op.f("fk_branch_transfers_from_branch_id_branches"),
        ),
        sa.ForeignKeyConstraint(
            ["to_branch_id"], ["branches.id"], name=op.f("fk_branch_transfers_to_branch_id_branches")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_person_id"],
            ["persons.id"],
            name=op.f("fk_branch_transfers_decided_by_person_id_persons"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_branch_transfers")),
    )
    with op.batch_alter_table("branch_transfers", schema=None) as batch_op:
        batch_op.create_index(
            "uq_branch_transfers_pending",
            ["person_id"],
            unique=True,
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        )
    op.create_table(
        "org_notices",
        sa.Column("id", BIGINT, autoincrement=True, nullable=False),
        sa.Column("organisation_id", BIGINT, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("sent_by", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_org_notices_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_org_notices")),
    )
    with op.batch_alter_table("org_notices", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_org_notices_organisation_id"), ["organisation_id"], unique=False
        )
    op.create_table(
        "org_notice_receipts",
        sa.Column("id", BIGINT, autoincrement=True, nullable=False),
        sa.Column("notice_id", BIGINT, nullable=False),
        sa.Column("telegram_user_id", sa.BigInteger(), nullable=False),
        sa.Column("branch_id", BIGINT, nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["notice_id"],
            ["org_notices.id"],
            name=op.f("fk_org_notice_receipts_notice_id_org_notices"),
        ),
        sa.ForeignKeyConstraint(
            ["branch_id"], ["branches.id"], name=op.f("fk_org_notice_receipts_branch_id_branches")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_org_notice_receipts")),
        sa.UniqueConstraint(
            "notice_id",
            "telegram_user_id",
            name=op.f("uq_org_notice_receipts_notice_id_telegram_user_id"),
        ),
    )


def downgrade() -> None:
    op.drop_table("org_notice_receipts")
    with op.batch_alter_table("org_notices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_org_notices_organisation_id"))
    op.drop_table("org_notices")
    with op.batch_alter_table("branch_transfers", schema=None) as batch_op:
        batch_op.drop_index("uq_branch_transfers_pending")
    op.drop_table("branch_transfers")
    with op.batch_alter_table("webapp_logins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webapp_logins_at"))
    op.drop_table("webapp_logins")
    with op.batch_alter_table("org_admins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_org_admins_telegram_user_id"))
        batch_op.drop_index(batch_op.f("ix_org_admins_organisation_id"))
    op.drop_table("org_admins")
