"""democratic appraisal (民主评议党员)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 14:00:00

The year's appraisal of a branch: the scoring group (with non-member representatives
known only by their code and Telegram id), self-assessments, secret peer ballots keyed
by an HMAC voter token, the group's grades, confirmations of 不合格, final results and
the self-assessment reminders sent.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0011'
down_revision: str | Sequence[str] | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('appraisals',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('branch_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('opens_on', sa.Date(), nullable=False),
    sa.Column('deadline', sa.DateTime(timezone=True), nullable=False),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('salt', sa.LargeBinary(), nullable=True),
    sa.Column('meeting_id', sa.BigInteger(), nullable=True),
    sa.Column('created_by_person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finalised_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['branch_id'], ['branches.id'], name=op.f('fk_appraisals_branch_id_branches')),
    sa.ForeignKeyConstraint(['created_by_person_id'], ['persons.id'], name=op.f('fk_appraisals_created_by_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appraisals')),
    sa.UniqueConstraint('branch_id', 'year', name=op.f('uq_appraisals_branch_id_year'))
    )
    with op.batch_alter_table('appraisals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_appraisals_branch_id'), ['branch_id'], unique=False)

    op.create_table('appraisal_ballots',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('appraisal_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('voter_token', sa.String(length=64), nullable=False),
    sa.Column('target_person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('grade', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['appraisal_id'], ['appraisals.id'], name=op.f('fk_appraisal_ballots_appraisal_id_appraisals')),
    sa.ForeignKeyConstraint(['target_person_id'], ['persons.id'], name=op.f('fk_appraisal_ballots_target_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appraisal_ballots')),
    sa.UniqueConstraint('appraisal_id', 'voter_token', 'target_person_id', name=op.f('uq_appraisal_ballots_appraisal_id_voter_token_target_person_id'))
    )
    with op.batch_alter_table('appraisal_ballots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_appraisal_ballots_appraisal_id'), ['appraisal_id'], unique=False)

    op.create_table('appraisal_confirmations',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('appraisal_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('confirmed', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('decided_by_person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['appraisal_id'], ['appraisals.id'], name=op.f('fk_appraisal_confirmations_appraisal_id_appraisals')),
    sa.ForeignKeyConstraint(['decided_by_person_id'], ['persons.id'], name=op.f('fk_appraisal_confirmations_decided_by_person_id_persons')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_appraisal_confirmations_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appraisal_confirmations')),
    sa.UniqueConstraint('appraisal_id', 'person_id', name=op.f('uq_appraisal_confirmations_appraisal_id_person_id'))
    )
    with op.batch_alter_table('appraisal_confirmations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_appraisal_confirmations_appraisal_id'), ['appraisal_id'], unique=False)

    op.create_table('appraisal_group',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('appraisal_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=True),
    sa.Column('telegram_user_id', sa.BigInteger(), nullable=True),
    sa.Column('joined_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['appraisal_id'], ['appraisals.id'], name=op.f('fk_appraisal_group_appraisal_id_appraisals')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_appraisal_group_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appraisal_group')),
    sa.UniqueConstraint('appraisal_id', 'person_id', name=op.f('uq_appraisal_group_appraisal_id_person_id')),
    sa.UniqueConstraint('code', name=op.f('uq_appraisal_group_code'))
    )
    with op.batch_alter_table('appraisal_group', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_appraisal_group_appraisal_id'), ['appraisal_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_appraisal_group_telegram_user_id'), ['telegram_user_id'], unique=False)

    op.create_table('appraisal_reminders',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('appraisal_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['appraisal_id'], ['appraisals.id'], name=op.f('fk_appraisal_reminders_appraisal_id_appraisals')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_appraisal_reminders_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appraisal_reminders')),
    sa.UniqueConstraint('appraisal_id', 'person_id', 'kind', name=op.f('uq_appraisal_reminders_appraisal_id_person_id_kind'))
    )
    with op.batch_alter_table('appraisal_reminders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_appraisal_reminders_appraisal_id'), ['appraisal_id'], unique=False)

    op.create_table('appraisal_results',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('appraisal_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('self_grade', sa.String(length=16), nullable=True),
    sa.Column('self_score', sa.Numeric(precision=6, scale=2), nullable=True),
    sa.Column('peer_score', sa.Numeric(precision=6, scale=2), nullable=True),
    sa.Column('group_score', sa.Numeric(precision=6, scale=2), nullable=True),
    sa.Column('appraisal_score', sa.Numeric(precision=6, scale=2), nullable=True),
    sa.Column('daily_mean', sa.Numeric(precision=6, scale=2), nullable=True),
    sa.Column('combined', sa.Numeric(precision=6, scale=2), nullable=True),
    sa.Column('proposed_grade', sa.String(length=16), nullable=False),
    sa.Column('final_grade', sa.String(length=16), nullable=False),
    sa.Column('admonished', sa.Boolean(), nullable=False),
    sa.Column('votes', sa.JSON(), nullable=False),
    sa.Column('notes', sa.JSON(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['appraisal_id'], ['appraisals.id'], name=op.f('fk_appraisal_results_appraisal_id_appraisals')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_appraisal_results_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appraisal_results')),
    sa.UniqueConstraint('appraisal_id', 'person_id', name=op.f('uq_appraisal_results_appraisal_id_person_id'))
    )
    with op.batch_alter_table('appraisal_results', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_appraisal_results_appraisal_id'), ['appraisal_id'], unique=False)

    op.create_table('appraisal_selfs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('appraisal_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('document_file_id', sa.String(length=256), nullable=True),
    sa.Column('document_name', sa.String(length=128), nullable=True),
    sa.Column('grade', sa.String(length=16), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['appraisal_id'], ['appraisals.id'], name=op.f('fk_appraisal_selfs_appraisal_id_appraisals')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_appraisal_selfs_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appraisal_selfs')),
    sa.UniqueConstraint('appraisal_id', 'person_id', name=op.f('uq_appraisal_selfs_appraisal_id_person_id'))
    )
    with op.batch_alter_table('appraisal_selfs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_appraisal_selfs_appraisal_id'), ['appraisal_id'], unique=False)

    op.create_table('appraisal_group_grades',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('appraisal_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('grader_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('target_person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('grade', sa.String(length=16), nullable=True),
    sa.Column('score', sa.Numeric(precision=6, scale=2), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['appraisal_id'], ['appraisals.id'], name=op.f('fk_appraisal_group_grades_appraisal_id_appraisals')),
    sa.ForeignKeyConstraint(['grader_id'], ['appraisal_group.id'], name=op.f('fk_appraisal_group_grades_grader_id_appraisal_group')),
    sa.ForeignKeyConstraint(['target_person_id'], ['persons.id'], name=op.f('fk_appraisal_group_grades_target_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appraisal_group_grades')),
    sa.UniqueConstraint('appraisal_id', 'grader_id', 'target_person_id', name=op.f('uq_appraisal_group_grades_appraisal_id_grader_id_target_person_id'))
    )
    with op.batch_alter_table('appraisal_group_grades', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_appraisal_group_grades_appraisal_id'), ['appraisal_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('appraisal_group_grades', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_appraisal_group_grades_appraisal_id'))

    op.drop_table('appraisal_group_grades')
    with op.batch_alter_table('appraisal_selfs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_appraisal_selfs_appraisal_id'))

    op.drop_table('appraisal_selfs')
    with op.batch_alter_table('appraisal_results', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_appraisal_results_appraisal_id'))

    op.drop_table('appraisal_results')
    with op.batch_alter_table('appraisal_reminders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_appraisal_reminders_appraisal_id'))

    op.drop_table('appraisal_reminders')
    with op.batch_alter_table('appraisal_group', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_appraisal_group_telegram_user_id'))
        batch_op.drop_index(batch_op.f('ix_appraisal_group_appraisal_id'))

    op.drop_table('appraisal_group')
    with op.batch_alter_table('appraisal_confirmations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_appraisal_confirmations_appraisal_id'))

    op.drop_table('appraisal_confirmations')
    with op.batch_alter_table('appraisal_ballots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_appraisal_ballots_appraisal_id'))

    op.drop_table('appraisal_ballots')
    with op.batch_alter_table('appraisals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_appraisals_branch_id'))

    op.drop_table('appraisals')
