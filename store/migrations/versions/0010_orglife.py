"""organisational life: meetings, attendance, minutes, leading cadres, alerts, talks

Revision ID: 0010
Revises: 0013
Create Date: 2026-12-03 13:51:25

三会一课 meetings and theme Party days (one-offs, or an occurrence of a calendar rule,
once) with the people they concern (notice, leave, check-in), append-only minutes, the
leading cadres who get notices early, the overdue alerts already sent to secretaries
(unique per branch, kind and period), and heart-to-heart talks with the party group
leaders and their quarter alerts.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0010"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('meeting_leading_cadres',
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_meeting_leading_cadres_person_id_persons')),
    sa.PrimaryKeyConstraint('person_id', name=op.f('pk_meeting_leading_cadres'))
    )
    op.create_table('talk_group_leaders',
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_talk_group_leaders_person_id_persons')),
    sa.PrimaryKeyConstraint('person_id', name=op.f('pk_talk_group_leaders'))
    )
    op.create_table('meeting_alerts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('branch_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('period', sa.String(length=16), nullable=False),
    sa.Column('telegram_user_id', sa.BigInteger(), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['branch_id'], ['branches.id'], name=op.f('fk_meeting_alerts_branch_id_branches')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting_alerts')),
    sa.UniqueConstraint('branch_id', 'kind', 'period', name=op.f('uq_meeting_alerts_branch_id_kind_period'))
    )
    op.create_table('talk_alerts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('branch_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('party_group', sa.String(length=64), nullable=False),
    sa.Column('quarter', sa.String(length=8), nullable=False),
    sa.Column('missing', sa.Integer(), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['branch_id'], ['branches.id'], name=op.f('fk_talk_alerts_branch_id_branches')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_talk_alerts')),
    sa.UniqueConstraint('branch_id', 'party_group', 'quarter', name=op.f('uq_talk_alerts_branch_id_party_group_quarter'))
    )
    op.create_table('talks',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('branch_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_a_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_b_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('talk_on', sa.Date(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=True),
    sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('held_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['branch_id'], ['branches.id'], name=op.f('fk_talks_branch_id_branches')),
    sa.ForeignKeyConstraint(['created_by_person_id'], ['persons.id'], name=op.f('fk_talks_created_by_person_id_persons')),
    sa.ForeignKeyConstraint(['person_a_id'], ['persons.id'], name=op.f('fk_talks_person_a_id_persons')),
    sa.ForeignKeyConstraint(['person_b_id'], ['persons.id'], name=op.f('fk_talks_person_b_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_talks'))
    )
    with op.batch_alter_table('talks', schema=None) as batch_op:
        batch_op.create_index('ix_talks_branch_day', ['branch_id', 'talk_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_talks_person_a_id'), ['person_a_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_talks_person_b_id'), ['person_b_id'], unique=False)

    op.create_table('meetings',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('branch_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('place', sa.String(length=200), nullable=True),
    sa.Column('audience', sa.String(length=24), nullable=False),
    sa.Column('party_group', sa.String(length=64), nullable=True),
    sa.Column('chair_person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('minutes_person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('lecturer_person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('calendar_rule_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('occurrence', sa.Date(), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['branch_id'], ['branches.id'], name=op.f('fk_meetings_branch_id_branches')),
    sa.ForeignKeyConstraint(['calendar_rule_id'], ['calendar_rules.id'], name=op.f('fk_meetings_calendar_rule_id_calendar_rules')),
    sa.ForeignKeyConstraint(['chair_person_id'], ['persons.id'], name=op.f('fk_meetings_chair_person_id_persons')),
    sa.ForeignKeyConstraint(['created_by_person_id'], ['persons.id'], name=op.f('fk_meetings_created_by_person_id_persons')),
    sa.ForeignKeyConstraint(['lecturer_person_id'], ['persons.id'], name=op.f('fk_meetings_lecturer_person_id_persons')),
    sa.ForeignKeyConstraint(['minutes_person_id'], ['persons.id'], name=op.f('fk_meetings_minutes_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meetings')),
    sa.UniqueConstraint('calendar_rule_id', 'occurrence', name=op.f('uq_meetings_calendar_rule_id_occurrence'))
    )
    with op.batch_alter_table('meetings', schema=None) as batch_op:
        batch_op.create_index('ix_meetings_branch_starts', ['branch_id', 'starts_at'], unique=False)

    op.create_table('meeting_attendance',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('meeting_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('notified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('response', sa.String(length=16), nullable=False),
    sa.Column('leave_status', sa.String(length=16), nullable=True),
    sa.Column('leave_reason', sa.Text(), nullable=True),
    sa.Column('leave_decided_by_person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('checked_in_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('late', sa.Boolean(), nullable=False),
    sa.Column('checked_by_person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['checked_by_person_id'], ['persons.id'], name=op.f('fk_meeting_attendance_checked_by_person_id_persons')),
    sa.ForeignKeyConstraint(['leave_decided_by_person_id'], ['persons.id'], name=op.f('fk_meeting_attendance_leave_decided_by_person_id_persons')),
    sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], name=op.f('fk_meeting_attendance_meeting_id_meetings')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_meeting_attendance_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting_attendance')),
    sa.UniqueConstraint('meeting_id', 'person_id', name=op.f('uq_meeting_attendance_meeting_id_person_id'))
    )
    with op.batch_alter_table('meeting_attendance', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_attendance_meeting_id'), ['meeting_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_attendance_person_id'), ['person_id'], unique=False)

    op.create_table('meeting_minutes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('meeting_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('files', sa.JSON(), nullable=False),
    sa.Column('author_person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_person_id'], ['persons.id'], name=op.f('fk_meeting_minutes_author_person_id_persons')),
    sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], name=op.f('fk_meeting_minutes_meeting_id_meetings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting_minutes')),
    sa.UniqueConstraint('meeting_id', 'version', name=op.f('uq_meeting_minutes_meeting_id_version'))
    )
    with op.batch_alter_table('meeting_minutes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_minutes_meeting_id'), ['meeting_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('meeting_minutes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_minutes_meeting_id'))

    op.drop_table('meeting_minutes')
    with op.batch_alter_table('meeting_attendance', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_attendance_person_id'))
        batch_op.drop_index(batch_op.f('ix_meeting_attendance_meeting_id'))

    op.drop_table('meeting_attendance')
    with op.batch_alter_table('meetings', schema=None) as batch_op:
        batch_op.drop_index('ix_meetings_branch_starts')

    op.drop_table('meetings')
    with op.batch_alter_table('talks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_talks_person_b_id'))
        batch_op.drop_index(batch_op.f('ix_talks_person_a_id'))
        batch_op.drop_index('ix_talks_branch_day')

    op.drop_table('talks')
    op.drop_table('talk_alerts')
    op.drop_table('meeting_alerts')
    op.drop_table('talk_group_leaders')
    op.drop_table('meeting_leading_cadres')
