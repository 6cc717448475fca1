"""Deals read back from HubSpot: those changed since the last look, oldest change first, each
applied to its referral (bot/crm/pulled.py). `handoff serve` looks every
HANDOFF_HUBSPOT_SYNC_EVERY, one replica at a time; `handoff hubspot sync` looks now."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.crm import records
from bot.crm.pulled import apply
from bot.crm.stages import StageMap
from bot.hubspot.api import PAGE, HubSpot, HubSpotRefused
from bot.hubspot.deals import PROPERTIES, deal_change
from bot.locks import run_exclusive
from bot.models import utcnow
from bot.outbox import Retry

log = logging.getLogger("handoff.hubspot")
# Looked at again: a deal saved as we looked, or not yet in HubSpot's search index when we
# looked, is not missed (applying one twice changes nothing).
OVERLAP = timedelta(minutes=2)
LOCK = "hubspot-sync"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class Pulled:
    deals: int = 0
    applied: list[str] = field(default_factory=list)
    error: str | None = None


class Puller:
    """Reads HubSpot's deal changes into the referrals."""

    def __init__(
        self,
        engine: AsyncEngine,
        api: HubSpot,
        stages: StageMap,
        *,
        every: timedelta,
        currency: str = "USD",
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.api = api
        self.stages = stages
        self.every = every
        self.currency = currency
        self.clock = clock

    async def once(self) -> Pulled:
        """Look now: apply every deal changed since the last look, and move the cursor on."""
        row = await records.sync_row(self.engine)
        if row is None:
            return Pulled(error="HubSpot is not set up here: run handoff hubspot setup")
        # The cursor is HubSpot's own time (the deals' hs_lastmodifieddate), never our clock;
        # before the first deal, every deal with a ref is looked at.
        since = row.cursor - OVERLAP if row.cursor else EPOCH
        now = self.clock()
        result = Pulled()
        seen: set[tuple[str, datetime]] = set()
        while True:
            try:
                deals = await self.api.changed_deals(int(since.timestamp() * 1000), PROPERTIES)
            except (Retry, HubSpotRefused) as exc:
                result.error = str(exc)
                await records.pulled(self.engine, cursor=None, at=now, error=result.error)
                return result
            fresh = [d for d in deals if (d["id"], deal_change(d, now).modified_at) not in seen]
            if not fresh:
                break
            cursor = await self._apply(fresh, result, now, seen)
            # The cursor moves on after each page: a failure later loses no page done.
            await records.pulled(self.engine, cursor=cursor, at=now, error=None)
            if len(deals) < PAGE:
                break
            since = cursor
        await records.pulled(self.engine, cursor=None, at=now, error=None)
        return result

    async def _apply(
        self, deals: list[dict[str, Any]], result: Pulled, now: datetime, seen: set[Any]
    ) -> datetime:
        """Apply a page of deals; the last one's change time (the next page starts there)."""
        cursor = now
        for d in deals:
            change = deal_change(d, now)
            seen.add((d["id"], change.modified_at))
            line = await apply(self.engine, change, self.stages, currency=self.currency)
            result.deals += 1
            if line:
                result.applied.append(line)
                log.info("hubspot: %s", line)
            cursor = change.modified_at
        return cursor

    async def forever(self) -> None:
        """Every HANDOFF_HUBSPOT_SYNC_EVERY, while this process holds the sync's lock."""
        await run_exclusive(self.engine, LOCK, self._loop)

    async def _loop(self) -> None:
        failing = False
        while True:
            try:
                result = await self.once()
            except Exception:  # noqa: BLE001 - logged; the next look tries again
                log.exception("hubspot: reading deals failed")
                result = Pulled(error="failed")
            if result.error and not failing:
                log.warning("hubspot: reading deals: %s", result.error)
            elif failing and not result.error:
                log.info("hubspot: reading deals again")
            failing = bool(result.error)
            await asyncio.sleep(self.every.total_seconds())
