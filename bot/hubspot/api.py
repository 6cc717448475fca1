"""HubSpot's CRM API through the official client (`hubspot-api-client`), its answers turned
into ours: 429 and 5xx and a network failure are `Retry` (with how long HubSpot asks us to wait),
a refusal is `HubSpotRefused` with HubSpot's own message.

The client is synchronous (urllib3): each call runs in a thread, so the event loop never waits
on HubSpot. Its own retries are off; the outbox retries, durably.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from datetime import datetime
from functools import cached_property
from typing import Any

from bot.outbox import Retry

log = logging.getLogger("handoff.hubspot")

PAGE = 100  # search results per page (HubSpot allows 200)
RATE_WAIT = 1.0  # seconds after a 429 that says no more than its policy


class HubSpotRefused(Exception):  # noqa: N818 - an answer, not a crash
    """HubSpot refused the call (4xx): its message, and what to do when we know."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class NotFound(HubSpotRefused):
    pass


class Conflict(HubSpotRefused):
    pass


def _message(exc: Any) -> str:
    """HubSpot's `message`, from the error body it sends."""
    body = getattr(exc, "body", None)
    try:
        text = json.loads(body or "")["message"]
    except (TypeError, ValueError, KeyError):
        text = str(body or getattr(exc, "reason", "") or exc)
    return " ".join(str(text).split())[:300]


def _wait(headers: Any) -> float:
    """How long a 429 asks us to wait: Retry-After, else the rest of the rate-limit window."""
    headers = {str(k).lower(): v for k, v in dict(headers or {}).items()}
    try:
        return max(0.0, float(headers["retry-after"]))
    except (KeyError, ValueError):
        pass
    if headers.get("x-hubspot-ratelimit-remaining") == "0":
        try:
            return float(headers["x-hubspot-ratelimit-interval-milliseconds"]) / 1000
        except (KeyError, ValueError):
            pass
    return RATE_WAIT


class HubSpot:
    """The calls Handoff makes, each in a thread, each failure said in our terms."""

    def __init__(self, token: str, base_url: str, *, timeout: float = 15.0) -> None:
        self.token = token
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._owners: dict[str, str | None] = {}

    @cached_property
    def client(self) -> Any:
        from hubspot import HubSpot as Client  # imported on first use: it is large
        from urllib3.util.retry import Retry as Retries

        # The generated models refuse an answer missing a field they hold required, or with an
        # enum value newer than the client: read what HubSpot sends rather than fail on it.
        return Client(
            access_token=self.token,
            host=self.base_url,
            retry=Retries(total=0),
            client_side_validation=False,
        )

    async def call(self, what: str, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """One API call in a thread; HubSpot's and the network's failures in our terms."""
        kwargs.setdefault("_request_timeout", self.timeout)
        try:
            return await asyncio.to_thread(method, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - sorted below; the rest is re-raised
            raise self._ours(what, exc) from None

    def _ours(self, what: str, exc: Exception) -> Exception:
        from urllib3.exceptions import HTTPError

        status = getattr(exc, "status", None)
        if isinstance(status, int) and status > 0:
            said = _message(exc)
            if status == 429:
                after = _wait(getattr(exc, "headers", None))
                return Retry(
                    f"HubSpot rate-limits {what} ({said}); waiting {after:g}s", after=after
                )
            if status >= 500:
                return Retry(f"HubSpot answered {status} to {what}: {said}")
            if status == 401:
                return HubSpotRefused(
                    f"HANDOFF_HUBSPOT_TOKEN: HubSpot refused the token ({said})", status
                )
            if status == 403:
                return HubSpotRefused(
                    f"HubSpot refused {what}: {said} (give the private app the scopes in "
                    "README, CRM)",
                    status,
                )
            kind = {404: NotFound, 409: Conflict}.get(status, HubSpotRefused)
            return kind(f"HubSpot refused {what}: {said}", status)
        if isinstance(exc, HTTPError | OSError | TimeoutError):
            return Retry(f"HubSpot unreachable for {what}: {type(exc).__name__}: {exc}"[:300])
        return exc

    # Objects: contacts, companies, deals.

    def _api(self, kind: str) -> Any:
        return getattr(self.client.crm, kind)

    async def find(
        self, kind: str, prop: str, value: str, properties: list[str] | None = None
    ) -> dict[str, Any] | None:
        """The first object whose `prop` is `value` (HubSpot compares case-insensitively)."""
        body = {
            "filterGroups": [
                {"filters": [{"propertyName": prop, "operator": "EQ", "value": value}]}
            ],
            "properties": properties or [prop],
            "limit": 1,
        }
        found = await self.call(
            f"the {kind} search",
            self._api(kind).search_api.do_search,
            public_object_search_request=body,
        )
        results = found.results or []
        return _plain(results[0]) if results else None

    async def create(
        self,
        kind: str,
        properties: dict[str, str],
        associations: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"properties": properties, "associations": associations or []}
        made = await self.call(
            f"creating a {kind[:-1]}",
            self._api(kind).basic_api.create,
            simple_public_object_input_for_create=body,
        )
        return _plain(made)

    async def update(self, kind: str, object_id: str, properties: dict[str, str]) -> dict[str, Any]:
        made = await self.call(
            f"updating {kind[:-1]} {object_id}",
            self._api(kind).basic_api.update,
            object_id,
            simple_public_object_input={"properties": properties},
        )
        return _plain(made)

    async def get(self, kind: str, object_id: str, properties: list[str]) -> dict[str, Any]:
        got = await self.call(
            f"reading {kind[:-1]} {object_id}",
            self._api(kind).basic_api.get_by_id,
            object_id,
            properties=properties,
        )
        return _plain(got)

    async def associated(self, kind: str, object_id: str, to: str) -> list[str]:
        """Ids of the `to` objects associated with this one (associations v4)."""
        page = await self.call(
            f"the {to} of {kind[:-1]} {object_id}",
            self.client.crm.associations.v4.basic_api.get_page,
            kind,
            object_id,
            to,
            limit=500,
        )
        return [str(r.to_object_id) for r in page.results or []]

    async def changed_deals(self, since_ms: int, properties: list[str]) -> list[dict[str, Any]]:
        """One page of the deals with a Handoff ref modified at or after `since_ms`, oldest
        change first. The caller pages by asking again from the last one's time: an `after`
        offset would skip a deal modified while the pages are read, and search stops at
        10,000 results."""
        body: dict[str, Any] = {
            "filterGroups": [
                {
                    "filters": [
                        {
                            "propertyName": "hs_lastmodifieddate",
                            "operator": "GTE",
                            "value": str(since_ms),
                        },
                        {"propertyName": "handoff_ref", "operator": "HAS_PROPERTY"},
                    ]
                }
            ],
            "sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
            "properties": properties,
            "limit": PAGE,
        }
        page = await self.call(
            "the deals search",
            self.client.crm.deals.search_api.do_search,
            public_object_search_request=body,
        )
        return [_plain(r) for r in page.results or []]

    async def owner_id(self, email: str | None) -> str | None:
        """The HubSpot owner with this email, if one exists (cached per process)."""
        if not email:
            return None
        key = email.lower()
        if key not in self._owners:
            page = await self.call(
                "the owners", self.client.crm.owners.owners_api.get_page, email=email, limit=1
            )
            results = page.results or []
            self._owners[key] = str(results[0].id) if results else None
        return self._owners[key]


def _plain(obj: Any) -> dict[str, Any]:
    """A SimplePublicObject as {id, properties, updated_at}."""
    updated = getattr(obj, "updated_at", None)
    return {
        "id": str(obj.id),
        "properties": dict(obj.properties or {}),
        "updated_at": updated if isinstance(updated, datetime) else None,
    }
