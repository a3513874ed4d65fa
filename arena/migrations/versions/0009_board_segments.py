"""Leaderboard at scale: vote columns stored in segments, a log of flags changed after the
vote, and partial indexes that find the few flagged votes without reading every vote

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'board_segment',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('low_id', sa.BigInteger(), nullable=False),
        sa.Column('high_id', sa.BigInteger(), nullable=False),
        sa.Column('votes', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('low_id'),
    )
    op.create_table(
        'flag_change',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('battle_id', sa.String(length=32), nullable=True),
        sa.Column('voter_id', sa.String(length=64), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    flagged = sa.text('flagged OR identity_leak')
    op.create_index('ix_battle_flagged_partial', 'battle', ['id'],
                    postgresql_where=flagged, sqlite_where=flagged)
    suspicious = sa.text('suspicious')
    op.create_index('ix_vote_suspicious_partial', 'vote', ['id'],
                    postgresql_where=suspicious, sqlite_where=suspicious)


def downgrade() -> None:
    op.drop_index('ix_vote_suspicious_partial', table_name='vote')
    op.drop_index('ix_battle_flagged_partial', table_name='battle')
    op.drop_table('flag_change')
    op.drop_table('board_segment')
