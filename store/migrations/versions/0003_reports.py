"""thought reports: reports, reviewers' comments, nudges

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-22 00:18:21.438795
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0003'
down_revision: str | Sequence[str] | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('report_nudges',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('branch_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('period_key', sa.String(length=8), nullable=False),
    sa.Column('sent_on', sa.Date(), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('by_person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['branch_id'], ['branches.id'], name=op.f('fk_report_nudges_branch_id_branches')),
    sa.ForeignKeyConstraint(['by_person_id'], ['persons.id'], name=op.f('fk_report_nudges_by_person_id_persons')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_report_nudges_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_nudges')),
    sa.UniqueConstraint('person_id', 'period_key', 'sent_on', name=op.f('uq_report_nudges_person_id_period_key_sent_on'))
    )
    op.create_table('thought_reports',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('branch_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('status', sa.Enum('member', 'probationary', 'activist', 'target', name='personstatus', native_enum=False, length=24), nullable=False),
    sa.Column('period_key', sa.String(length=8), nullable=False),
    sa.Column('required', sa.Boolean(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('file_id', sa.String(length=255), nullable=True),
    sa.Column('file_unique_id', sa.String(length=128), nullable=True),
    sa.Column('file_name', sa.String(length=255), nullable=True),
    sa.Column('mime_type', sa.String(length=128), nullable=True),
    sa.Column('file_size', sa.Integer(), nullable=True),
    sa.Column('local_path', sa.String(length=500), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('submitted_on', sa.Date(), nullable=False),
    sa.Column('submitted_by_telegram_id', sa.BigInteger(), nullable=False),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_by_person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['acknowledged_by_person_id'], ['persons.id'], name=op.f('fk_thought_reports_acknowledged_by_person_id_persons')),
    sa.ForeignKeyConstraint(['branch_id'], ['branches.id'], name=op.f('fk_thought_reports_branch_id_branches')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_thought_reports_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_thought_reports'))
    )
    with op.batch_alter_table('thought_reports', schema=None) as batch_op:
        batch_op.create_index('ix_thought_reports_branch_period', ['branch_id', 'period_key'], unique=False)
        batch_op.create_index('ix_thought_reports_branch_submitted', ['branch_id', 'submitted_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_thought_reports_person_id'), ['person_id'], unique=False)

    op.create_table('report_comments',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('report_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('author_person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_person_id'], ['persons.id'], name=op.f('fk_report_comments_author_person_id_persons')),
    sa.ForeignKeyConstraint(['report_id'], ['thought_reports.id'], name=op.f('fk_report_comments_report_id_thought_reports')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_comments'))
    )
    with op.batch_alter_table('report_comments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_comments_report_id'), ['report_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('report_comments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_comments_report_id'))

    op.drop_table('report_comments')
    with op.batch_alter_table('thought_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_thought_reports_person_id'))
        batch_op.drop_index('ix_thought_reports_branch_submitted')
        batch_op.drop_index('ix_thought_reports_branch_period')

    op.drop_table('thought_reports')
    op.drop_table('report_nudges')
