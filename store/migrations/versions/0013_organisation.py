"""organisation: administrators of organisations and used Mini App logins

Revision ID: 0013
Revises: 0009
Create Date: 2026-12-03 14:00:00

``org_admins`` names who administers an organisation (党委/党总支) and every branch
below it; ``webapp_logins`` keeps the hash of each Mini App initData exchanged for a
session, so a replayed one is refused.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0009"
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


def downgrade() -> None:
    with op.batch_alter_table("webapp_logins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webapp_logins_at"))
    op.drop_table("webapp_logins")
    with op.batch_alter_table("org_admins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_org_admins_telegram_user_id"))
        batch_op.drop_index(batch_op.f("ix_org_admins_organisation_id"))
    op.drop_table("org_admins")
