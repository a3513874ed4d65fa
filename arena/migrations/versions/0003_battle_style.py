"""Per-battle style counts for the live leaderboard

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('battle', schema=None) as batch_op:
        batch_op.add_column(sa.Column('style', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('battle', schema=None) as batch_op:
        batch_op.drop_column('style')
