"""Judge Copilot: battles whose judge comparison the voter opened before voting

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('battle', schema=None) as batch_op:
        batch_op.add_column(sa.Column('copilot_before_vote', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('battle', schema=None) as batch_op:
        batch_op.drop_column('copilot_before_vote')
