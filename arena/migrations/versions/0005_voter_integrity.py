"""Voter integrity: API keys, rate-limit counters, voter flags, too-fast and suspicious votes

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'api_key',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('key_hash', sa.String(length=64), nullable=False),
        sa.Column('prefix', sa.String(length=16), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('name'),
        sa.UniqueConstraint('key_hash'),
    )
    op.create_table(
        'rate_bucket',
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('window_end', sa.DateTime(timezone=True), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('key'),
    )
    op.create_index('ix_rate_bucket_window_end', 'rate_bucket', ['window_end'], unique=False)
    op.create_table(
        'voter_flag',
        sa.Column('voter_id', sa.String(length=64), nullable=False),
        sa.Column('flagged', sa.Boolean(), nullable=False),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('reason', sa.String(length=500), nullable=False),
        sa.Column('score', sa.Float(), nullable=True),
        sa.Column('review', sa.String(length=16), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('voter_id'),
    )
    with op.batch_alter_table('battle', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ready_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('vote', schema=None) as batch_op:
        batch_op.add_column(sa.Column('too_fast', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('suspicious', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('vote', schema=None) as batch_op:
        batch_op.drop_column('suspicious')
        batch_op.drop_column('too_fast')
    with op.batch_alter_table('battle', schema=None) as batch_op:
        batch_op.drop_column('ready_at')
    op.drop_table('voter_flag')
    op.drop_index('ix_rate_bucket_window_end', table_name='rate_bucket')
    op.drop_table('rate_bucket')
    op.drop_table('api_key')
