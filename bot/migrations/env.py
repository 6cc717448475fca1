"""Alembic environment: runs on the connection that bot.db hands over (see bot.db.upgrade)."""

from alembic import context
from sqlmodel import SQLModel

from bot import models  # noqa: F401  (registers the tables on SQLModel.metadata)

connection = context.config.attributes.get("connection")
if connection is None:
    raise SystemExit("run migrations with `handoff migrate`, which supplies the connection")

context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
