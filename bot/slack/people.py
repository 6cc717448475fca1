"""Who the managers are and where people are: HANDOFF_MANAGERS and users.info, for the sweeps."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.claims import Refused
from bot.db import upsert_insert
from bot.models import SlackUser, utcnow
from bot.slack.roster import Roster

log = logging.getLogger("handoff.slack")
slack_user: sa.Table = SlackUser.__table__  # type: ignore[attr-defined]
ZONE_DAYS = 1  # a time zone read from Slack is trusted this long (people travel)


class People:
    """Managers through the roster; time zones from users.info, kept in the database a day."""

    def __init__(
        self,
        engine: AsyncEngine,
        client: AsyncWebClient | None,
        roster: Roster | None,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.client = client
        self.roster = roster
        self.clock = clock

    async def managers(self) -> list[str] | None:
        """HANDOFF_MANAGERS' users and the members of its groups; None if a group is unreadable."""
        if self.roster is None:
            return None
        users = set(self.roster.manager_users)
        try:
            for group in self.roster.manager_groups:
                users |= await self.roster.members(group)
        except Refused as exc:
            log.warning("jobs: managers unknown for now: %s", exc)
            return None
        return sorted(users)

    async def zones(self, users: Collection[str]) -> dict[str, ZoneInfo]:
        """Each user's time zone: the stored one if fresh, else Slack's (users.info)."""
        now = self.clock()
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(slack_user.c.id, slack_user.c.tz, slack_user.c.checked_at).where(
                        slack_user.c.id.in_(sorted(users))
                    )
                )
            ).all()
        known = {r.id: r.tz for r in rows if now - r.checked_at < timedelta(days=ZONE_DAYS)}
        fresh = {}
        if self.client is not None:
            for user in sorted(set(users) - set(known)):
                try:
                    answer = await self.client.users_info(user=user)
                except (SlackApiError, OSError, TimeoutError) as exc:
                    log.warning("slack: time zone of %s unknown for now: %s", user, exc)
                    continue
                fresh[user] = (answer.get("user") or {}).get("tz")
        if fresh:
            rows_in = [{"id": u, "tz": tz, "checked_at": now} for u, tz in fresh.items()]
            insert = upsert_insert(self.engine.dialect, slack_user)
            async with self.engine.begin() as conn:
                await conn.execute(
                    insert.on_conflict_do_update(
                        index_elements=[slack_user.c.id],
                        set_={"tz": insert.excluded.tz, "checked_at": insert.excluded.checked_at},
                    ),
                    rows_in,
                )
        zones = {}
        for user, name in (known | fresh).items():
            try:
                if name:
                    zones[user] = ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                log.warning("slack: %s has an unknown time zone %r", user, name)
        return zones
