"""Named exposure and seen_named votes; several samples per answer

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

import hashlib

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

# Gives 0001's unnamed UNIQUE (question_pk, model_id) a name SQLite's batch mode can drop.
_NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def upgrade() -> None:
    op.create_table(
        'named_exposure',
        sa.Column('voter_id', sa.String(length=64), nullable=False),
        sa.Column('question_pk', sa.Integer(), nullable=False),
        sa.Column('model', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['question_pk'], ['question.id']),
        sa.PrimaryKeyConstraint('voter_id', 'question_pk', 'model'),
    )
    with op.batch_alter_table('vote', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seen_named', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    with op.batch_alter_table('battle', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sample_a', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('sample_b', sa.Integer(), nullable=True))
    if op.get_bind().dialect.name == 'sqlite':
        context = op.batch_alter_table('answer', naming_convention=_NAMING)
        old_unique = 'uq_answer_question_pk'
    else:
        context = op.batch_alter_table('answer')
        old_unique = 'answer_question_pk_model_id_key'
    with context as batch_op:
        batch_op.add_column(sa.Column('sample', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.drop_constraint(old_unique, type_='unique')
        batch_op.create_unique_constraint('answer_sample_unique',
                                          ['question_pk', 'model_id', 'sample'])
    answer_text = op.create_table(
        'answer_text',
        sa.Column('answer_id', sa.Integer(), nullable=False),
        sa.Column('turn', sa.Integer(), nullable=False),
        sa.Column('text_hash', sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(['answer_id'], ['answer.id']),
        sa.PrimaryKeyConstraint('answer_id', 'turn'),
    )
    op.create_index('ix_answer_text_text_hash', 'answer_text', ['text_hash'], unique=False)
    answer = sa.table('answer', sa.column('id', sa.Integer()), sa.column('turns', sa.JSON()))
    rows = op.get_bind().execute(sa.select(answer.c.id, answer.c.turns)).all()
    # arena.formats.answers.text_hash, written out so this migration never changes
    hashes = [{'answer_id': answer_id, 'turn': turn,
               'text_hash': hashlib.sha256(content.encode()).hexdigest()}
              for answer_id, turns in rows for turn, content in enumerate(turns)]
    if hashes:
        op.bulk_insert(answer_text, hashes)


def downgrade() -> None:
    op.drop_index('ix_answer_text_text_hash', table_name='answer_text')
    op.drop_table('answer_text')
    op.execute("DELETE FROM answer WHERE sample <> 0")
    with op.batch_alter_table('answer', schema=None) as batch_op:
        batch_op.drop_constraint('answer_sample_unique', type_='unique')
        batch_op.create_unique_constraint('answer_question_pk_model_id_key',
                                          ['question_pk', 'model_id'])
        batch_op.drop_column('sample')
    with op.batch_alter_table('battle', schema=None) as batch_op:
        batch_op.drop_column('sample_b')
        batch_op.drop_column('sample_a')
    with op.batch_alter_table('vote', schema=None) as batch_op:
        batch_op.drop_column('seen_named')
    op.drop_table('named_exposure')
