"""Pair sampling: the policies' intended shares, and live prompts' keys for deduplication

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'sampling_intent',
        sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('policy', sa.String(length=16), nullable=False),
        sa.Column('shares', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('battle', schema=None) as batch_op:
        batch_op.add_column(sa.Column('intent_id', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('prompt_hash', sa.String(length=64), nullable=True))
        batch_op.create_index('ix_battle_prompt_hash', ['prompt_hash'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('battle', schema=None) as batch_op:
        batch_op.drop_index('ix_battle_prompt_hash')
        batch_op.drop_column('prompt_hash')
        batch_op.drop_column('intent_id')
    op.drop_table('sampling_intent')
