"""Failures of live models, kept for the owner

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'model_failure',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('model', sa.String(length=200), nullable=False),
        sa.Column('kind', sa.String(length=64), nullable=False),
        sa.Column('reason', sa.String(length=500), nullable=False),
        sa.Column('battle_id', sa.String(length=32), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_model_failure_model', 'model_failure', ['model'], unique=False)
    op.create_index('ix_model_failure_created_at', 'model_failure', ['created_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_model_failure_created_at', table_name='model_failure')
    op.drop_index('ix_model_failure_model', table_name='model_failure')
    op.drop_table('model_failure')
