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

from bot.db import upsert_insert
from bot.models import SlackUser, utcnow
from bot.referrals.acting import Refused
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
        """Each user's time zone, where known: the stored one if fresh, else Slack's."""
        zones = {}
        for user, (tz, _) in (await self._profiles(users)).items():
            try:
                if tz:
                    zones[user] = ZoneInfo(tz)
            except (ZoneInfoNotFoundError, ValueError):
                log.warning("slack: %s has an unknown time zone %r", user, tz)
        return zones

    async def names(self, users: Collection[str]) -> dict[str, str]:
        """Each user's name as colleagues see it (the digests name a referral's owner)."""
        return {u: name for u, (_, name) in (await self._profiles(users)).items() if name}

    async def _profiles(self, users: Collection[str]) -> dict[str, tuple[str | None, str | None]]:
        """(time zone, name) per user: stored if fresh, else from Slack (users.info), stored."""
        now = self.clock()
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(sa.select(slack_user).where(slack_user.c.id.in_(sorted(users))))
            ).all()
        known = {
            r.id: (r.tz, r.name) for r in rows if now - r.checked_at < timedelta(days=ZONE_DAYS)
        }
        fresh: dict[str, tuple[str | None, str | None]] = {}
        emails: dict[str, str | None] = {}
        if self.client is not None:
            for user in sorted(set(users) - set(known)):
                try:
                    answer = await self.client.users_info(user=user)
                except (SlackApiError, OSError, TimeoutError) as exc:
                    log.warning("slack: profile of %s unknown for now: %s", user, exc)
                    continue
                found = answer.get("user") or {}
                profile = found.get("profile") or {}
                name = (
                    profile.get("display_name")
                    or profile.get("real_name")
                    or found.get("real_name")
                    or found.get("name")
                )
                fresh[user] = (found.get("tz"), str(name)[:200] if name else None)
                # With users:read.email; webhooks and the CRM name the owner by it.
                email = profile.get("email")
                emails[user] = str(email)[:320] if email else None
        if fresh:
            rows_in = [
                {"id": u, "tz": tz, "name": name, "email": emails.get(u), "checked_at": now}
                for u, (tz, name) in fresh.items()
            ]
            insert = upsert_insert(self.engine.dialect, slack_user)
            async with self.engine.begin() as conn:
                await conn.execute(
                    insert.on_conflict_do_update(
                        index_elements=[slack_user.c.id],
                        set_={
                            "tz": insert.excluded.tz,
                            "name": insert.excluded.name,
                            "email": insert.excluded.email,
                            "checked_at": insert.excluded.checked_at,
                        },
                    ),
                    rows_in,
                )
        return known | fresh
