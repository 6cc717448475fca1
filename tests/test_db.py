"""Migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import async_url, current_revision, head_revision, upgrade
from bot.models import SQLModel


async def test_migrated_schema_matches_models(engine: AsyncEngine) -> None:
    def diff(connection: sa.Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, SQLModel.metadata)

    async with engine.connect() as connection:
        assert await connection.run_sync(diff) == []
    assert await current_revision(engine) == head_revision()


async def test_upgrade_is_idempotent(engine: AsyncEngine) -> None:
    before, after = await upgrade(engine)
    assert before == after == head_revision()


def test_url_mapping() -> None:
    assert async_url("sqlite:///./handoff.db") == "sqlite+aiosqlite:///./handoff.db"
    assert async_url("postgres://u:p@h/db?sslmode=require") == (
        "postgresql+asyncpg://u:p@h/db?ssl=require"
    )
