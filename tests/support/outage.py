"""A PostgreSQL database made unreachable for a while: new connections refused and the open
ones cut, as when the server restarts or a failover is under way."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import create_engine


@asynccontextmanager
async def database_away(engine: AsyncEngine) -> AsyncIterator[None]:
    """Inside, `engine`'s database takes no connection and has none; after, it takes them."""
    database = engine.url.database
    admin = engine.url.set(database="postgres").render_as_string(hide_password=False)
    control = create_engine(admin.replace("+asyncpg", ""))

    async def allow(yes: bool) -> None:
        async with control.connect() as conn:
            await conn.execute(sa.text("COMMIT"))  # ALTER DATABASE runs outside a transaction
            await conn.execute(
                sa.text(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS {str(yes).lower()}')
            )
            if not yes:
                await conn.execute(
                    sa.text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :db AND pid <> pg_backend_pid()"
                    ),
                    {"db": database},
                )

    try:
        await allow(False)
        try:
            yield
        finally:
            await allow(True)
    finally:
        await control.dispose()
