"""chat menus published (start-up publishes only the changed ones)

Revision ID: 0016
Revises: 0017
Create Date: 2026-12-03 17:00:00

The command menu last published in each reviewer's own chat, by fingerprint: a bot
serving 5,000 branches no longer makes 5,000 ``setMyCommands`` calls at every start.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0016'
down_revision: str | Sequence[str] | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('chat_menus',
    sa.Column('telegram_user_id', sa.BigInteger(), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('telegram_user_id', name=op.f('pk_chat_menus'))
    )


def downgrade() -> None:
    op.drop_table('chat_menus')
