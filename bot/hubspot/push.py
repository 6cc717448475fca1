"""A referral written onto its HubSpot deal: the outbox handler of JobKind.CRM_PUSH.

Every push writes the whole deal as the referral is now, so pushes are idempotent and a
late one never undoes a newer one. The first push of a claimed referral finds or creates the
prospect's contact (by email) and company (by domain), then finds (by the `handoff_ref`
property) or creates the deal, associated with both. Each id is kept the moment it is known,
so that a retry after a crash creates nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.crm import records
from bot.crm.pulled import apply
from bot.crm.records import PushState
from bot.crm.stages import StageMap
from bot.hubspot.api import Conflict, HubSpot, HubSpotRefused, NotFound
from bot.hubspot.deals import PROPERTIES, deal_change, modified_at
from bot.models import utcnow
from bot.outbox import Defer, Handler, Job, Retry
from bot.referrals.directory import FREEMAIL
from bot.vocabulary import CLOSED_STAGES, JobKind, Stage

log = logging.getLogger("handoff.hubspot")

# HUBSPOT_DEFINED association types (HubSpot's "Associations v4" type ids).
DEAL_TO_CONTACT, DEAL_TO_COMPANY = 3, 5
Permalink = Callable[[str, str], Awaitable[str | None]]  # (channel, ts) -> the post's link
Profiles = Callable[[list[str]], Awaitable[object]]  # fetch and keep these users' profiles
SEARCH_CATCH_UP = 10.0  # seconds: HubSpot's search may not show a deal created just before


def deal_name(r: dict[str, Any]) -> str:
    """`ACME-12 · Jane Doe (Hooli)`."""
    prospect = r["prospect"]
    who = prospect["name"] or prospect["email"]
    company = prospect["company"] or prospect["domain"]
    return f"{r['ref']} · {who}" + (f" ({company})" if company else "")


def deal_properties(
    r: dict[str, Any],
    stages: StageMap,
    *,
    pipeline: str,
    owner_id: str | None,
    slack_url: str | None,
) -> dict[str, str]:
    """The deal's properties as HubSpot takes them (strings), Handoff's in its own group."""
    owner = r["owner"]
    step = r["next_step"] or {}
    props = {
        "dealname": deal_name(r)[:250],
        "pipeline": pipeline,
        "dealstage": stages.theirs(r["stage"]),
        "handoff_ref": r["ref"],
        "handoff_partner": r["partner"]["name"],
        "handoff_partner_role": r["role"] or "",
        "handoff_intro_received_at": r["received_at"] or "",
        "handoff_intro_message_id": (r["proof"]["message_id"] or "")[:1000],
        "handoff_owner": _owner_text(owner),
        "handoff_next_step": (step.get("text") or "")[:1000],
        "handoff_next_step_due": (step.get("due") or "")[:10],
        "handoff_slack_url": slack_url or "",
        "hubspot_owner_id": owner_id or "",
    }
    if r["stage"] == Stage.WON and r["amount"] is not None:
        props["amount"] = f"{r['amount']:.2f}"
    return props


def _owner_text(owner: dict[str, Any] | None) -> str:
    if not owner:
        return ""
    name, email = owner.get("name"), owner.get("email")
    if name and email:
        return f"{name} <{email}>"
    return str(name or email or owner["slack_id"])


class Pusher:
    """Writes referrals onto their deals, through the outbox."""

    def __init__(
        self,
        engine: AsyncEngine,
        api: HubSpot,
        stages: StageMap,
        *,
        pipeline: str,
        currency: str = "USD",
        permalink: Permalink | None = None,
        profiles: Profiles | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.api = api
        self.stages = stages
        self.pipeline = pipeline
        self.currency = currency
        self.permalink = permalink
        self.profiles = profiles
        self.clock = clock

    def handlers(self) -> dict[str, Handler]:
        return {str(JobKind.CRM_PUSH): self.push}

    async def push(self, job: Job) -> str | None:
        """Write the referral onto its deal, creating what is missing."""
        assert job.referral_id is not None
        state = await records.push_state(self.engine, job.referral_id, self.clock())
        r = state.referral
        if state.deal_id is None and r["owner"] is None:
            return None  # not claimed (or released before its deal was made): no deal yet
        owner = r["owner"]
        if owner is not None and not owner["email"] and self.profiles is not None:
            # Slack tells the owner's email (users.info): the deal's owner is found by it.
            await self.profiles([owner["slack_id"]])
            state = await records.push_state(self.engine, job.referral_id, self.clock())
            r = state.referral
        if state.deal_id is None and job.uncertain and job.attempts <= 2:
            # A worker died mid-push: the deal it may have made shows in search a little later.
            raise Defer("waiting for HubSpot's search to catch up", after=SEARCH_CATCH_UP)
        try:
            if state.deal_id is not None and await self._changed_there(state):
                state = await records.push_state(self.engine, job.referral_id, self.clock())
            return await self._push(state)
        except NotFound:
            # The deal was deleted in HubSpot: found again by its ref, or made anew.
            await records.keep(self.engine, job.referral_id, deal_id=None, pushed_stage=None)
            state = await records.push_state(self.engine, job.referral_id, self.clock())
            return await self._push(state)
        except HubSpotRefused as exc:
            await records.keep(self.engine, job.referral_id, last_error=str(exc))
            raise Retry(str(exc)) from None

    async def _changed_there(self, state: PushState) -> bool:
        """Whether the deal was changed in HubSpot since we last wrote or read it: then that
        change is applied first (or, when ours is later, noted), never silently overwritten."""
        assert state.deal_id is not None
        got = await self.api.get("deals", state.deal_id, PROPERTIES)
        change = deal_change(got)
        line = await apply(self.engine, change, self.stages, currency=self.currency)
        if line:
            log.info("hubspot: %s", line)
        return line is not None

    async def _push(self, state: PushState) -> str:
        r, rid = state.referral, state.referral_id
        notes: list[str] = []
        contact_id = state.contact_id or await self._contact(state, notes)
        company_id = state.company_id or await self._company(state, notes)
        if notes and state.crm_existing is None:
            await records.found_existing(self.engine, rid, "; ".join(notes), self.clock())
        owner_email = (r["owner"] or {}).get("email")
        link = None
        if self.permalink is not None and r["slack"]:
            link = await self.permalink(r["slack"]["channel"], r["slack"]["ts"])
        props = deal_properties(
            r,
            self.stages,
            pipeline=self.pipeline,
            owner_id=await self.api.owner_id(owner_email),
            slack_url=link,
        )
        deal_id, verb = state.deal_id, "updated"
        if deal_id is None:
            found = await self.api.find("deals", "handoff_ref", r["ref"])
            deal_id = found["id"] if found else None
        if deal_id is not None and state.pushed_stage == r["stage"]:
            # The stage did not change here since it was last written: HubSpot's stays, be it
            # one the map reads the same, one it does not know, or another pipeline's.
            for name in ("dealstage", "pipeline"):
                props.pop(name)
        if deal_id is None:
            links = [(contact_id, DEAL_TO_CONTACT), (company_id, DEAL_TO_COMPANY)]
            associations = [
                {
                    "to": {"id": to},
                    "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": t}],
                }
                for to, t in links
                if to
            ]
            written = await self.api.create("deals", props, associations)
            deal_id, verb = written["id"], "created"
            await records.keep(self.engine, rid, deal_id=deal_id)
        else:
            written = await self.api.update("deals", deal_id, props)
        got = written["properties"]
        stage = got.get("dealstage") or props.get("dealstage")
        await records.keep(
            self.engine,
            rid,
            deal_id=deal_id,
            pushed_at=state.read_at,
            pushed_stage=r["stage"],
            seen_stage=stage,
            seen_amount=deal_change(written).amount if got.get("amount") else None,
            seen_modified_at=modified_at(written),
            last_error=None,
        )
        return f"hubspot: {r['ref']} {verb} deal {deal_id} ({stage})"

    async def _contact(self, state: PushState, notes: list[str]) -> str:
        p = state.referral["prospect"]
        found = await self.api.find("contacts", "email", p["email"])
        if found is None:
            first, _, last = (p["name"] or "").partition(" ")
            props = {"email": p["email"], "firstname": first, "lastname": last}
            if p["company"]:
                props["company"] = p["company"]
            try:
                found = await self.api.create("contacts", props)
            except Conflict as exc:  # made meanwhile: "Contact already exists. Existing ID: 123"
                existing = str(exc).rsplit("Existing ID:", 1)
                if len(existing) != 2:
                    raise
                found = {"id": existing[1].strip().split()[0].rstrip(".")}
        else:
            await self._open_deals("contacts", found["id"], f"contact {p['email']}", state, notes)
        await records.keep(self.engine, state.referral_id, contact_id=found["id"])
        return str(found["id"])

    async def _company(self, state: PushState, notes: list[str]) -> str | None:
        p = state.referral["prospect"]
        domain = (p["domain"] or "").lower()
        if not domain or domain in FREEMAIL:
            return None
        found = await self.api.find("companies", "domain", domain)
        if found is None:
            found = await self.api.create(
                "companies", {"domain": domain, "name": p["company"] or domain}
            )
        else:
            await self._open_deals("companies", found["id"], f"company {domain}", state, notes)
        await records.keep(self.engine, state.referral_id, company_id=found["id"])
        return str(found["id"])

    async def _open_deals(
        self, kind: str, object_id: str, what: str, state: PushState, notes: list[str]
    ) -> None:
        """Note the open deals the CRM already has on this contact or company (not ours)."""
        if state.crm_existing is not None:
            return
        deals = []
        for deal_id in (await self.api.associated(kind, object_id, "deals"))[:20]:
            d = await self.api.get("deals", deal_id, ["dealname", "dealstage", "handoff_ref"])
            props = d["properties"]
            if props.get("handoff_ref") == state.referral["ref"]:
                continue
            if self.stages.ours(props.get("dealstage")) in CLOSED_STAGES:
                continue
            if props.get("dealstage") in ("closedwon", "closedlost"):
                continue
            deals.append(f"{props.get('dealname') or deal_id!r} ({props.get('dealstage')})")
        if deals:
            notes.append(f"HubSpot {what} has open deal(s): " + ", ".join(deals))
