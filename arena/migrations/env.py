"""Alembic environment: migrations run on the connection `arena.db.upgrade` hands in."""

from alembic import context
from sqlmodel import SQLModel

import arena.models  # noqa: F401  (registers the tables on SQLModel.metadata)

target_metadata = SQLModel.metadata
connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `arena db upgrade`, which supplies the connection")

context.configure(
    connection=connection,
    target_metadata=target_metadata,
    compare_type=True,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
