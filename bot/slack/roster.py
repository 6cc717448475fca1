"""Who may do what: HANDOFF_REP_GROUP members claim, HANDOFF_MANAGERS manage (Slack groups)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.referrals.acting import Actor, Refused

log = logging.getLogger("handoff.slack")
CACHE_SECONDS = 60.0  # a change to a user group counts within a minute


def _is_group(name: str) -> bool:
    return name.startswith("S") and name.isupper() or name.startswith("@") or name.islower()


class Roster:
    """Answers "may this user claim / manage?" from user groups, cached for a minute.

    When Slack cannot be asked, the last known members are used; with none known yet, the
    user is refused with a note to try again, never let through unchecked.
    """

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        rep_group: str | None,
        managers: Iterable[str],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.rep_group = rep_group
        managers = list(managers)
        self.manager_users = frozenset(m for m in managers if not _is_group(m))
        self.manager_groups = tuple(m for m in managers if _is_group(m))
        self.clock = clock
        self._members: dict[str, tuple[float, frozenset[str]]] = {}
        self._handles: dict[str, str] = {}

    async def actor(self, user: str) -> Actor:
        """The user with what they may do."""
        manager = user in self.manager_users
        for group in self.manager_groups:
            if manager:
                break
            manager = user in await self.members(group)
        may_claim = self.rep_group is None or manager or user in await self.members(self.rep_group)
        return Actor(user=user, may_claim=may_claim, manager=manager)

    async def members(self, group: str) -> frozenset[str]:
        """The group's members (usergroups.users.list), at most a minute old."""
        cached = self._members.get(group)
        if cached is not None and self.clock() - cached[0] < CACHE_SECONDS:
            return cached[1]
        try:
            group_id = await self.group_id(group)
            answer = await self.client.usergroups_users_list(usergroup=group_id)
            members = frozenset(answer.get("users") or ())
        except SlackApiError as exc:
            error = exc.response.get("error") if exc.response is not None else None
            if cached is not None:
                log.warning("slack: user group %s unreadable, using last known: %s", group, error)
                return cached[1]
            raise Refused(
                f"Handoff cannot read the user group {group} from Slack right now ({error}); "
                "try again in a minute."
            ) from None
        self._members[group] = (self.clock(), members)
        return members

    async def group_id(self, group: str) -> str:
        """The group's id (S…), for an id or an @handle (usergroups.list); Refused if none."""
        if group.startswith("S") and group.isupper():
            return group
        handle = group.lstrip("@").lower()
        if handle not in self._handles:
            answer = await self.client.usergroups_list()
            for entry in answer.get("usergroups") or ():
                self._handles[str(entry.get("handle", "")).lower()] = str(entry["id"])
        if handle not in self._handles:
            raise Refused(
                f"Slack has no user group @{handle} (check HANDOFF_REP_GROUP and HANDOFF_MANAGERS)."
            )
        return self._handles[handle]
