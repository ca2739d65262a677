"""growth: a member's fee rows found by (branch, person), not by scanning the branch

Revision ID: 0017
Revises: 0011
Create Date: 2026-12-03 17:00:00

``/fees`` (a member's own), the payment report and its review read one member's
assessments, register lines and pending months with ``branch_id = ? AND person_id IN
(…)``. With only the single-column ``branch_id`` indexes SQLite chose them and scanned
the whole branch's rows (a 2,000-member branch: 24,000 register lines a year for one
member's answer); ``bench/growth.py`` showed ``/fees`` twice as slow in that branch as in
a 10-member one. Indexes on (branch_id, person_id, …) make it a seek per member on both
databases; the ``branch_id`` indexes are their prefixes and are dropped.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: (table, new index, its columns, the dropped single-column branch index)
INDEXES = [
    (
        "fee_assessments",
        "ix_fee_assessments_branch_person",
        ["branch_id", "person_id", "id"],
        "ix_fee_assessments_branch_id",
    ),
    (
        "fee_register",
        "ix_fee_register_branch_person",
        ["branch_id", "person_id", "month"],
        "ix_fee_register_branch_id",
    ),
    (
        "fee_submissions",
        "ix_fee_submissions_branch_person",
        ["branch_id", "person_id", "status"],
        "ix_fee_submissions_branch_id",
    ),
]


def upgrade() -> None:
    for table, name, columns, old in INDEXES:
        op.create_index(name, table, columns, unique=False)
        op.drop_index(old, table_name=table)


def downgrade() -> None:
    for table, name, _columns, old in INDEXES:
        op.create_index(old, table, ["branch_id"], unique=False)
        op.drop_index(name, table_name=table)
