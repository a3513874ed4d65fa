"""Migrations are the only source of schema: they must build exactly the models' tables."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlmodel import SQLModel

from arena.db import alembic_config, current_revision, make_engine, upgrade


def test_head_schema_matches_the_models_and_keeps_old_rows(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine, "0001")
    with engine.connect() as connection:
        connection.execute(text(
            "INSERT INTO battle (id, anony, model_a, model_b, conversation_a, conversation_b,"
            " status, voter_id, created_at) VALUES ('b1', true, 'x', 'y', '[]', '[]', 'ready',"
            " 'voter-1', CURRENT_TIMESTAMP)"))
        connection.commit()
    upgrade(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, SQLModel.metadata) == []
        row = connection.execute(text("SELECT mode, identity_leak, flagged FROM battle")).one()
        assert (row[0], bool(row[1]), bool(row[2])) == ("answers", False, False)
        salt = connection.execute(text("SELECT value FROM app_meta WHERE key = 'salt'")).scalar()
        assert salt and len(salt) == 64
    engine.dispose()


def test_downgrade_and_upgrade_again(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    head = current_revision(engine)
    with engine.connect() as connection:
        command.downgrade(alembic_config(connection), "base")
        connection.commit()
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) == head
    engine.dispose()


def test_0006_keeps_old_answers_as_sample_0_with_their_text_hashes(database_url: str) -> None:
    import hashlib

    engine = make_engine(database_url)
    upgrade(engine, "0005")
    with engine.connect() as connection:
        for statement in (
            "INSERT INTO answer_set (id, name, source_format, imported_at) "
            "VALUES (1, 'old', 'arena-jsonl', CURRENT_TIMESTAMP)",
            "INSERT INTO question (id, answer_set_id, question_id, turns) "
            "VALUES (1, 1, 'q1', '[\"Hi?\", \"More?\"]')",
            "INSERT INTO arena_model (id, name, created_at, consecutive_failures) "
            "VALUES (1, 'old-model', CURRENT_TIMESTAMP, 0)",
            "INSERT INTO answer (id, question_pk, model_id, turns) "
            "VALUES (1, 1, 1, '[\"Héllo\", \"Again\"]')",
        ):
            connection.execute(text(statement))
        connection.commit()
    upgrade(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT sample FROM answer")).scalar_one() == 0
        hashes = connection.execute(text(
            "SELECT turn, text_hash FROM answer_text ORDER BY turn")).all()
        assert [tuple(row) for row in hashes] == [
            (0, hashlib.sha256("Héllo".encode()).hexdigest()),
            (1, hashlib.sha256(b"Again").hexdigest())]
        connection.execute(text("INSERT INTO answer (id, question_pk, model_id, sample, turns) "
                                "VALUES (2, 1, 1, 1, '[\"x\", \"y\"]')"))
        connection.commit()
    engine.dispose()
