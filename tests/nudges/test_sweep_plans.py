"""Sweeps that scale with what is open (issue 24): each sweep's search for candidates reads
only its partial index of the referrals that can still be due, never the whole table. SQLite
says so in EXPLAIN QUERY PLAN; PostgreSQL's choice depends on its statistics, and its figures
at a million referrals are bench/sweeps.py's."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bot.db import create_engine
from tests.support.world import T0, add_partner, add_referral, sweeper

# Each sweep, and the index its candidates come from.
INDEXES = {
    "unclaimed": "ix_referral_unclaimed",
    "first-response": "ix_referral_awaiting_response",
    "next-steps": "ix_referral_open_steps",
    "expiring": "ix_referral_unmoved",
    "unconfirmed": "ix_referral_unconfirmed",
}


@pytest.mark.parametrize("sweep", sorted(INDEXES))
async def test_a_sweep_reads_its_partial_index_not_the_table(
    sweep: str, sqlite_template: Path, tmp_path: Path
) -> None:
    path = tmp_path / "plans.db"
    shutil.copy(sqlite_template, path)
    engine = create_engine(f"sqlite:///{path}")
    try:
        acme = await add_partner(engine)
        for n in range(20):  # closed history the sweeps must not read
            await add_referral(engine, acme, received=T0 - timedelta(days=400 + n), stage="won")
        seen: list[tuple[str, Any]] = []

        def capture(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
            if statement.lstrip().startswith("SELECT") and "FROM referral" in statement:
                seen.append((statement, parameters))

        sa.event.listen(engine.sync_engine, "before_cursor_execute", capture)
        await sweeper(engine).run(sweep, as_of=T0, dry_run=True)
        sa.event.remove(engine.sync_engine, "before_cursor_execute", capture)
        assert seen, f"{sweep} asked nothing of the referral table"
        statement, parameters = seen[0]
        async with engine.connect() as conn:
            plan = await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            steps = [str(row[-1]) for row in plan]
        main = [s for s in steps if s.startswith(("SCAN referral", "SEARCH referral"))]
        assert main and INDEXES[sweep] in main[0], steps
    finally:
        await engine.dispose()
