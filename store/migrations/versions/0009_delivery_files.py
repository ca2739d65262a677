"""delivery files: pictures sent through the deliveries outbox

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22 04:00:00

The published ranking goes out through the ``deliveries`` outbox (durable with the
update's commit, resumed after a crash) instead of a loop in the updating process; its
chart is stored once in ``delivery_files`` and referenced by each member's photo
delivery.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "delivery_files",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("telegram_file_id", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_files")),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("photo_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_deliveries_photo_id_delivery_files"),
            "delivery_files",
            ["photo_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_deliveries_photo_id_delivery_files"), type_="foreignkey"
        )
        batch_op.drop_column("photo_id")
    op.drop_table("delivery_files")
