"""Live battles, identity-leak and owner flags, imported votes, model pausing

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

OLD_STATUSES = "status IN ('ready', 'voted', 'failed')"
NEW_STATUSES = "status IN ('generating', 'ready', 'voted', 'failed')"


def upgrade() -> None:
    with op.batch_alter_table('arena_model', schema=None) as batch_op:
        batch_op.add_column(sa.Column('consecutive_failures', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('paused_until', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('battle', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mode', sa.String(length=16), nullable=False,
                                      server_default='answers'))
        batch_op.add_column(sa.Column('failure_reason', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('identity_leak', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('flagged', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('stats', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('source', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('source_id', sa.String(length=200), nullable=True))
        batch_op.create_unique_constraint('battle_source_id', ['source', 'source_id'])
        batch_op.drop_constraint('battle_status', type_='check')
        batch_op.create_check_constraint('battle_status', NEW_STATUSES)


def downgrade() -> None:
    with op.batch_alter_table('battle', schema=None) as batch_op:
        batch_op.drop_constraint('battle_status', type_='check')
        batch_op.create_check_constraint('battle_status', OLD_STATUSES)
        batch_op.drop_constraint('battle_source_id', type_='unique')
        batch_op.drop_column('source_id')
        batch_op.drop_column('source')
        batch_op.drop_column('stats')
        batch_op.drop_column('flagged')
        batch_op.drop_column('identity_leak')
        batch_op.drop_column('failure_reason')
        batch_op.drop_column('mode')

    with op.batch_alter_table('arena_model', schema=None) as batch_op:
        batch_op.drop_column('paused_until')
        batch_op.drop_column('consecutive_failures')
