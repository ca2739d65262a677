"""points: catalogue, claims, ledger, quarter scores

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 00:18:55.404793
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0002'
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('point_items',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('branch_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('key', sa.String(length=48), nullable=False),
    sa.Column('indicator', sa.String(length=32), nullable=False),
    sa.Column('block', sa.Enum('base', 'special', 'extra', name='pointblock', native_enum=False, length=16), nullable=False),
    sa.Column('points', sa.Numeric(precision=8, scale=2), nullable=False),
    sa.Column('cap_per_quarter', sa.Numeric(precision=8, scale=2), nullable=True),
    sa.Column('evidence_required', sa.Boolean(), nullable=False),
    sa.Column('names', sa.JSON(), nullable=False),
    sa.Column('descriptions', sa.JSON(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['branch_id'], ['branches.id'], name=op.f('fk_point_items_branch_id_branches')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_point_items')),
    sa.UniqueConstraint('branch_id', 'key', name=op.f('uq_point_items_branch_id_key'))
    )
    with op.batch_alter_table('point_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_point_items_branch_id'), ['branch_id'], unique=False)

    op.create_table('point_quarter_closes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('branch_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('quarter', sa.String(length=8), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['branch_id'], ['branches.id'], name=op.f('fk_point_quarter_closes_branch_id_branches')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_point_quarter_closes')),
    sa.UniqueConstraint('branch_id', 'quarter', name=op.f('uq_point_quarter_closes_branch_id_quarter'))
    )
    op.create_table('point_quarter_scores',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('branch_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('quarter', sa.String(length=8), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('base', sa.Numeric(precision=8, scale=2), nullable=False),
    sa.Column('deductions', sa.Numeric(precision=8, scale=2), nullable=False),
    sa.Column('special', sa.Numeric(precision=8, scale=2), nullable=False),
    sa.Column('extra', sa.Numeric(precision=8, scale=2), nullable=False),
    sa.Column('total', sa.Numeric(precision=8, scale=2), nullable=False),
    sa.Column('warned', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['branch_id'], ['branches.id'], name=op.f('fk_point_quarter_scores_branch_id_branches')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_point_quarter_scores_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_point_quarter_scores')),
    sa.UniqueConstraint('branch_id', 'quarter', 'person_id', name=op.f('uq_point_quarter_scores_branch_id_quarter_person_id'))
    )
    with op.batch_alter_table('point_quarter_scores', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_point_quarter_scores_person_id'), ['person_id'], unique=False)

    op.create_table('point_ranking_publications',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('branch_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('quarter', sa.String(length=8), nullable=False),
    sa.Column('published_by_person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('recipients', sa.Integer(), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['branch_id'], ['branches.id'], name=op.f('fk_point_ranking_publications_branch_id_branches')),
    sa.ForeignKeyConstraint(['published_by_person_id'], ['persons.id'], name=op.f('fk_point_ranking_publications_published_by_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_point_ranking_publications'))
    )
    with op.batch_alter_table('point_ranking_publications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_point_ranking_publications_branch_id'), ['branch_id'], unique=False)

    op.create_table('point_review_digests',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('branch_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('claim_count', sa.Integer(), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['branch_id'], ['branches.id'], name=op.f('fk_point_review_digests_branch_id_branches')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_point_review_digests_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_point_review_digests')),
    sa.UniqueConstraint('branch_id', 'person_id', 'day', name=op.f('uq_point_review_digests_branch_id_person_id_day'))
    )
    op.create_table('point_ledger',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('branch_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('quarter', sa.String(length=8), nullable=False),
    sa.Column('occurred_on', sa.Date(), nullable=False),
    sa.Column('kind', sa.Enum('claim', 'grant', 'system', 'reversal', name='ledgerkind', native_enum=False, length=16), nullable=False),
    sa.Column('item_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('item_key', sa.String(length=48), nullable=True),
    sa.Column('item_name', sa.String(length=200), nullable=True),
    sa.Column('indicator', sa.String(length=32), nullable=False),
    sa.Column('block', sa.Enum('base', 'special', 'extra', name='pointblock', native_enum=False, length=16), nullable=False),
    sa.Column('points', sa.Numeric(precision=8, scale=2), nullable=False),
    sa.Column('requested_points', sa.Numeric(precision=8, scale=2), nullable=False),
    sa.Column('claim_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('reverses_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('source', sa.String(length=32), nullable=True),
    sa.Column('source_ref', sa.String(length=64), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_by_person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['branch_id'], ['branches.id'], name=op.f('fk_point_ledger_branch_id_branches')),
    sa.ForeignKeyConstraint(['created_by_person_id'], ['persons.id'], name=op.f('fk_point_ledger_created_by_person_id_persons')),
    sa.ForeignKeyConstraint(['item_id'], ['point_items.id'], name=op.f('fk_point_ledger_item_id_point_items')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_point_ledger_person_id_persons')),
    sa.ForeignKeyConstraint(['reverses_id'], ['point_ledger.id'], name=op.f('fk_point_ledger_reverses_id_point_ledger')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_point_ledger')),
    sa.UniqueConstraint('reverses_id', name=op.f('uq_point_ledger_reverses_id')),
    sa.UniqueConstraint('source', 'source_ref', name=op.f('uq_point_ledger_source_source_ref'))
    )
    with op.batch_alter_table('point_ledger', schema=None) as batch_op:
        batch_op.create_index('ix_point_ledger_branch_quarter', ['branch_id', 'quarter'], unique=False)
        batch_op.create_index(batch_op.f('ix_point_ledger_claim_id'), ['claim_id'], unique=False)
        batch_op.create_index('ix_point_ledger_person_quarter', ['person_id', 'quarter'], unique=False)

    op.create_table('point_claims',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('branch_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('item_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('occurred_on', sa.Date(), nullable=False),
    sa.Column('quarter', sa.String(length=8), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('evidence_kind', sa.String(length=16), nullable=True),
    sa.Column('evidence_file_id', sa.String(length=256), nullable=True),
    sa.Column('evidence_name', sa.String(length=128), nullable=True),
    sa.Column('status', sa.Enum('pending', 'approved', 'rejected', 'revoked', name='claimstatus', native_enum=False, length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by_person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('decision_reason', sa.Text(), nullable=True),
    sa.Column('ledger_entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['branch_id'], ['branches.id'], name=op.f('fk_point_claims_branch_id_branches')),
    sa.ForeignKeyConstraint(['decided_by_person_id'], ['persons.id'], name=op.f('fk_point_claims_decided_by_person_id_persons')),
    sa.ForeignKeyConstraint(['item_id'], ['point_items.id'], name=op.f('fk_point_claims_item_id_point_items')),
    sa.ForeignKeyConstraint(['ledger_entry_id'], ['point_ledger.id'], name=op.f('fk_point_claims_ledger_entry_id_point_ledger')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_point_claims_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_point_claims'))
    )
    with op.batch_alter_table('point_claims', schema=None) as batch_op:
        batch_op.create_index('ix_point_claims_branch_status', ['branch_id', 'status', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_point_claims_person_id'), ['person_id'], unique=False)
        batch_op.create_index('uq_point_claims_live', ['person_id', 'item_id', 'occurred_on'], unique=True, sqlite_where=sa.text("status IN ('pending', 'approved')"), postgresql_where=sa.text("status IN ('pending', 'approved')"))



def downgrade() -> None:
    with op.batch_alter_table('point_claims', schema=None) as batch_op:
        batch_op.drop_index('uq_point_claims_live', sqlite_where=sa.text("status IN ('pending', 'approved')"), postgresql_where=sa.text("status IN ('pending', 'approved')"))
        batch_op.drop_index(batch_op.f('ix_point_claims_person_id'))
        batch_op.drop_index('ix_point_claims_branch_status')

    op.drop_table('point_claims')
    with op.batch_alter_table('point_ledger', schema=None) as batch_op:
        batch_op.drop_index('ix_point_ledger_person_quarter')
        batch_op.drop_index(batch_op.f('ix_point_ledger_claim_id'))
        batch_op.drop_index('ix_point_ledger_branch_quarter')

    op.drop_table('point_ledger')
    op.drop_table('point_review_digests')
    with op.batch_alter_table('point_ranking_publications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_point_ranking_publications_branch_id'))

    op.drop_table('point_ranking_publications')
    with op.batch_alter_table('point_quarter_scores', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_point_quarter_scores_person_id'))

    op.drop_table('point_quarter_scores')
    op.drop_table('point_quarter_closes')
    with op.batch_alter_table('point_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_point_items_branch_id'))

    op.drop_table('point_items')
