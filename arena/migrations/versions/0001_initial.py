"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-29

Also stores a random salt for hashing voter IPs, made once here so every
process of one arena hashes alike.
"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('answer_set',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('source_format', sa.String(length=32), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('answer_set', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_answer_set_name'), ['name'], unique=True)

    app_meta = op.create_table('app_meta',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.String(length=256), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.bulk_insert(app_meta, [{'key': 'salt', 'value': secrets.token_hex(32)}])
    op.create_table('arena_model',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('organization', sa.String(length=200), nullable=True),
    sa.Column('license', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('arena_model', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_arena_model_name'), ['name'], unique=True)

    op.create_table('question',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('answer_set_id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.String(length=200), nullable=False),
    sa.Column('category', sa.String(length=100), nullable=True),
    sa.Column('language', sa.String(length=16), nullable=True),
    sa.Column('turns', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['answer_set_id'], ['answer_set.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('answer_set_id', 'question_id')
    )
    with op.batch_alter_table('question', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_question_answer_set_id'), ['answer_set_id'], unique=False)

    op.create_table('answer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('question_pk', sa.Integer(), nullable=False),
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('turns', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['model_id'], ['arena_model.id'], ),
    sa.ForeignKeyConstraint(['question_pk'], ['question.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('question_pk', 'model_id')
    )
    with op.batch_alter_table('answer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_answer_model_id'), ['model_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_answer_question_pk'), ['question_pk'], unique=False)

    op.create_table('battle',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('anony', sa.Boolean(), nullable=False),
    sa.Column('model_a', sa.String(length=200), nullable=False),
    sa.Column('model_b', sa.String(length=200), nullable=False),
    sa.Column('answer_set', sa.String(length=200), nullable=True),
    sa.Column('question_id', sa.String(length=200), nullable=True),
    sa.Column('question_pk', sa.Integer(), nullable=True),
    sa.Column('category', sa.String(length=100), nullable=True),
    sa.Column('language', sa.String(length=16), nullable=True),
    sa.Column('conversation_a', sa.JSON(), nullable=False),
    sa.Column('conversation_b', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('voter_id', sa.String(length=64), nullable=False),
    sa.Column('ip_hash', sa.String(length=64), nullable=True),
    sa.Column('ui_language', sa.String(length=16), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('ready', 'voted', 'failed')", name='battle_status'),
    sa.CheckConstraint('model_a <> model_b', name='battle_distinct_models'),
    sa.ForeignKeyConstraint(['question_pk'], ['question.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('battle', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_battle_model_a'), ['model_a'], unique=False)
        batch_op.create_index(batch_op.f('ix_battle_model_b'), ['model_b'], unique=False)
        batch_op.create_index(batch_op.f('ix_battle_voter_id'), ['voter_id'], unique=False)

    op.create_table('vote',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('battle_id', sa.String(length=32), nullable=False),
    sa.Column('winner', sa.String(length=16), nullable=False),
    sa.Column('ip_hash', sa.String(length=64), nullable=True),
    sa.Column('ui_language', sa.String(length=16), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("winner IN ('model_a', 'model_b', 'tie', 'tie (bothbad)')", name='vote_winner'),
    sa.ForeignKeyConstraint(['battle_id'], ['battle.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('battle_id')
    )
    with op.batch_alter_table('vote', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vote_created_at'), ['created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('vote', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vote_created_at'))

    op.drop_table('vote')
    with op.batch_alter_table('battle', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_battle_voter_id'))
        batch_op.drop_index(batch_op.f('ix_battle_model_b'))
        batch_op.drop_index(batch_op.f('ix_battle_model_a'))

    op.drop_table('battle')
    with op.batch_alter_table('answer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_answer_question_pk'))
        batch_op.drop_index(batch_op.f('ix_answer_model_id'))

    op.drop_table('answer')
    with op.batch_alter_table('question', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_question_answer_set_id'))

    op.drop_table('question')
    with op.batch_alter_table('arena_model', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_arena_model_name'))

    op.drop_table('arena_model')
    op.drop_table('app_meta')
    with op.batch_alter_table('answer_set', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_answer_set_name'))

    op.drop_table('answer_set')
