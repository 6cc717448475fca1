"""HubSpot both ways, against the stand-in of HubSpot's CRM v3 API (bot/demo/standin/hubspot.py)
driven through the official client: setup, a deal per claimed referral, HubSpot's stage and
amount read back, rate limits and outages, and a prospect HubSpot already had (issue 22, part 2)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import load_settings
from bot.crm.pulled import apply
from bot.demo.standin.hubspot import HubSpotStandIn
from bot.hubspot.deals import deal_change
from bot.models import SlackUser, utcnow
from bot.outboxes import Wires, stage_map, wire_outbox
from bot.referrals import actions
from bot.referrals.acting import Actor
from bot.slack import attribution
from bot.vocabulary import Role, Stage
from tests.support.handoff import Handoff
from tests.support.messages import message, write

REP = Actor(user="U0REP1")
slack_user: sa.Table = SlackUser.__table__  # type: ignore[attr-defined]


@pytest.fixture
async def hubspot(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[HubSpotStandIn]:
    standin = await HubSpotStandIn().start()
    monkeypatch.setenv("HANDOFF_HUBSPOT_TOKEN", standin.token)
    monkeypatch.setenv("HUBSPOT_API_URL", standin.url)
    try:
        yield standin
    finally:
        await standin.close()


@pytest.fixture
async def crm(
    engine: AsyncEngine, scenario: Handoff, hubspot: HubSpotStandIn
) -> AsyncIterator[Wires]:
    """HubSpot set up as a user does it, and the outbox lane `serve` writes deals with."""
    out = await asyncio.to_thread(scenario, "hubspot", "setup")
    assert "sync: on" in out
    wires = wire_outbox(load_settings(), engine, slack=False, mail=False)
    try:
        yield wires
    finally:
        await wires.aclose()


async def claimed(engine: AsyncEngine, scenario: Handoff, tmp_path, n: int = 1) -> str:  # type: ignore[no-untyped-def]
    """Jane Doe of Hooli introduced by Acme and claimed by the rep, who HubSpot knows by email."""
    path = write(tmp_path, f"intro{n}.eml", message(to="Jane Doe <jane@hooli.example>"))
    await asyncio.to_thread(scenario.ingest, path)
    async with engine.begin() as conn:
        await conn.execute(
            sa.insert(slack_user).values(
                id=REP.user, name="Sam Rivera", email="sam@ours.example", checked_at=utcnow()
            )
        )
    ref = f"ACME-{n}"
    await actions.claim(
        engine=engine, ref=ref, actor=REP, role=Role.SOURCED, at=utcnow(), request=ref
    )
    return ref


async def with_deal(
    engine: AsyncEngine, scenario: Handoff, hubspot: HubSpotStandIn, crm: Wires, tmp_path: Any
) -> tuple[str, dict[str, Any]]:
    """A claimed referral and the deal its push made."""
    ref = await claimed(engine, scenario, tmp_path)
    assert crm.crm is not None
    await crm.crm.drain()
    deal = hubspot.deal_by("handoff_ref", ref)
    assert deal is not None
    return ref, deal


async def show(scenario: Handoff, ref: str) -> dict[str, Any]:
    return await asyncio.to_thread(scenario.json, "referrals", "show", ref)  # type: ignore[return-value]


async def test_setup_makes_the_handoff_properties_once(
    scenario: Handoff, hubspot: HubSpotStandIn
) -> None:
    out = await asyncio.to_thread(scenario, "hubspot", "setup")
    assert 'property group "Handoff": created' in out
    assert "deal properties: 9 created" in out
    assert "pipeline 'Sales Pipeline' (default): appointmentscheduled = meeting" in out
    again = await asyncio.to_thread(scenario, "hubspot", "setup")
    assert 'property group "Handoff": there already' in again
    assert "deal properties: 0 created, 9 there already" in again


async def test_setup_names_a_refused_token_and_an_unknown_stage(
    scenario: Handoff, hubspot: HubSpotStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HANDOFF_HUBSPOT_TOKEN", "pat-na1-wrong")
    await asyncio.to_thread(scenario, "hubspot", "setup", expect=2)
    assert "HANDOFF_HUBSPOT_TOKEN: HubSpot refused the token" in scenario.err
    monkeypatch.setenv("HANDOFF_HUBSPOT_TOKEN", hubspot.token)
    monkeypatch.setenv("HANDOFF_HUBSPOT_STAGES", "appointmentscheduled=meeting,signed=won")
    await asyncio.to_thread(scenario, "hubspot", "setup", expect=2)
    assert "HANDOFF_HUBSPOT_STAGES: pipeline 'default' has no stage signed" in scenario.err


async def test_a_claim_makes_the_deal_with_handoffs_fields_and_both_associations(
    engine: AsyncEngine, scenario: Handoff, hubspot: HubSpotStandIn, crm: Wires, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    owner = hubspot.add_owner("sam@ours.example", "Sam", "Rivera")
    ref, deal = await with_deal(engine, scenario, hubspot, crm, tmp_path)
    props = deal["properties"]
    assert props["dealname"] == "ACME-1 · Jane Doe (Hooli)"
    assert (props["pipeline"], props["dealstage"]) == ("default", "appointmentscheduled")
    assert props["handoff_partner"] == "Acme Consulting"
    assert props["handoff_partner_role"] == "sourced"
    assert props["handoff_owner"] == "Sam Rivera <sam@ours.example>"
    assert props["hubspot_owner_id"] == owner
    assert props["handoff_intro_message_id"].endswith("@mail.gmail.com")
    [contact] = hubspot.objects("contacts").values()
    [company] = hubspot.objects("companies").values()
    assert contact["properties"]["email"] == "jane@hooli.example"
    assert company["properties"]["domain"] == "hooli.example"
    assert deal["associations"]["contacts"] == [contact["id"]]
    assert deal["associations"]["companies"] == [company["id"]]
    # A later change in Handoff updates the same deal.
    await actions.set_stage(
        engine=engine,
        ref=ref,
        actor=REP,
        stage=Stage.OPPORTUNITY,
        amount=None,
        at=utcnow(),
        request="s",
    )
    await crm.crm.drain()
    assert len(hubspot.objects("deals")) == 1
    assert hubspot.deal_by("handoff_ref", ref)["properties"]["dealstage"] == "qualifiedtobuy"  # type: ignore[index]


async def test_a_deal_won_in_hubspot_comes_back_won_with_its_amount(
    engine: AsyncEngine, scenario: Handoff, hubspot: HubSpotStandIn, crm: Wires, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    ref, deal = await with_deal(engine, scenario, hubspot, crm, tmp_path)
    # A forecast typed on the open deal moves nothing: only a won deal's amount is revenue.
    hubspot.update_deal(deal["id"], amount="30000")
    await asyncio.to_thread(scenario, "hubspot", "sync")
    assert ((await show(scenario, ref))["stage"], (await show(scenario, ref))["amount"]) == (
        "claimed",
        None,
    )
    hubspot.update_deal(deal["id"], dealstage="closedwon", amount="48000")
    out = await asyncio.to_thread(scenario, "hubspot", "sync")
    assert f"{ref}: won from HubSpot (48,000.00 USD)" in out
    shown = await show(scenario, ref)
    assert (shown["stage"], shown["amount"]) == ("won", 48000.0)
    [won] = [e for e in shown["events"] if e["kind"] == "stage_changed"]
    assert won["actor"] == "hubspot"
    # Read again, nothing new happens; and the write back is not mistaken for a change.
    again = await asyncio.to_thread(scenario, "hubspot", "sync")
    assert "won from HubSpot" not in again
    await crm.crm.drain()
    assert (
        len([e for e in (await show(scenario, ref))["events"] if e["kind"] == "stage_changed"]) == 1
    )


async def test_rate_limits_and_outages_are_retried_and_nothing_is_created_twice(
    engine: AsyncEngine, scenario: Handoff, hubspot: HubSpotStandIn, crm: Wires, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    hubspot.fail("/crm/v3/objects/contacts/search", 429)
    hubspot.fail("/crm/v3/objects/deals", 503, method="POST", times=2)
    ref = await claimed(engine, scenario, tmp_path)
    assert crm.crm is not None
    for _ in range(4):  # each failure puts the push back for later: made due at once here
        await crm.crm.drain(only=await due_now(engine))
    assert await due_now(engine) == []
    status = json.loads(await asyncio.to_thread(scenario, "hubspot", "status", "--json"))
    assert status["synced"] == 1 and status["failing"] == []
    assert hubspot.deal_by("handoff_ref", ref) is not None
    assert len(hubspot.objects("deals")) == 1
    assert len(hubspot.objects("contacts")) == 1
    assert [c.status for c in hubspot.calls_to("POST", "/crm/v3/objects/contacts/search")][:2] == [
        429,
        200,
    ]


async def due_now(engine: AsyncEngine) -> list[int]:
    """The push jobs not done, made due now: the test does not wait out their backoff."""
    async with engine.begin() as conn:
        await conn.execute(
            sa.text("UPDATE outbox SET due_at = :now WHERE kind = 'crm_push' AND done_at IS NULL"),
            {"now": utcnow() - timedelta(seconds=1)},
        )
        rows = await conn.execute(
            sa.text("SELECT id FROM outbox WHERE kind = 'crm_push' AND done_at IS NULL")
        )
        return [r.id for r in rows]


async def test_a_prospect_hubspot_has_with_an_open_deal_is_reported(
    engine: AsyncEngine, scenario: Handoff, hubspot: HubSpotStandIn, crm: Wires, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    contact = hubspot.add_contact("jane@hooli.example", firstname="Jane")
    old = hubspot.add_deal(dealname="Hooli renewal", dealstage="qualifiedtobuy", pipeline="default")
    hubspot.associate("contacts", contact, "deals", old)
    ref = await claimed(engine, scenario, tmp_path)
    assert crm.crm is not None
    await crm.crm.drain()
    existing = (await show(scenario, ref))["crm_existing"]
    assert (
        "contact jane@hooli.example has open deal(s): 'Hooli renewal' (qualifiedtobuy)" in existing
    )
    assert len(hubspot.objects("contacts")) == 1, "the contact HubSpot had is used, not made again"
    status = await asyncio.to_thread(scenario, "hubspot", "status")
    assert "Hooli renewal" in status
    # Managers see it in /attribution queues.
    async with engine.connect() as conn:
        answer = await attribution.queues_answer(
            conn, user="U0BOSS", manager=True, now=utcnow(), inactive_after=timedelta(days=60)
        )
    shown = json.dumps([b.to_dict() for b in answer.blocks])
    assert "Already in the CRM with an open deal" in shown and "Hooli renewal" in shown


async def test_a_stage_changed_on_both_sides_keeps_the_later_and_records_both(
    engine: AsyncEngine, scenario: Handoff, hubspot: HubSpotStandIn, crm: Wires, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    ref, deal = await with_deal(engine, scenario, hubspot, crm, tmp_path)
    hubspot.update_deal(deal["id"], dealstage="closedlost")
    # Marked won here a moment after HubSpot's change, before any sync.
    later = utcnow() + timedelta(seconds=5)
    await actions.set_stage(
        engine=engine, ref=ref, actor=REP, stage=Stage.WON, amount=9000.0, at=later, request="w"
    )
    await asyncio.to_thread(scenario, "hubspot", "sync")
    shown = await show(scenario, ref)
    assert (shown["stage"], shown["amount"]) == ("won", 9000.0)
    [note] = [e for e in shown["events"] if e["kind"] == "crm_conflict"]
    assert "HubSpot moved the deal to closedlost" in note["detail"] and note["actor"] == "hubspot"
    assert hubspot.deal_by("handoff_ref", ref)["properties"]["dealstage"] == "closedwon"  # type: ignore[index]


async def test_a_stage_set_in_hubspot_is_not_undone_by_a_push_about_something_else(
    engine: AsyncEngine, scenario: Handoff, hubspot: HubSpotStandIn, crm: Wires, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    ref, deal = await with_deal(engine, scenario, hubspot, crm, tmp_path)
    hubspot.update_deal(deal["id"], dealstage="contractsent")  # reads as opportunity
    await asyncio.to_thread(scenario, "hubspot", "sync")
    assert (await show(scenario, ref))["stage"] == "opportunity"
    hubspot.update_deal(deal["id"], dealstage="closedwon")  # won, but no amount typed yet
    for n, text in enumerate(["Send the proposal", "Call with the CFO"]):
        await actions.set_next_step(
            engine=engine,
            ref=ref,
            actor=REP,
            text=text,
            due=utcnow().date() + timedelta(days=3),
            at=utcnow(),
            request=f"step{n}",
        )
        await crm.crm.drain()
    props = hubspot.deal_by("handoff_ref", ref)["properties"]  # type: ignore[index]
    assert props["handoff_next_step"] == "Call with the CFO"
    assert props["dealstage"] == "closedwon", "the push left HubSpot's stage alone"
    assert (await show(scenario, ref))["stage"] == "opportunity"  # won once it has an amount
    hubspot.update_deal(deal["id"], amount="12000")
    await asyncio.to_thread(scenario, "hubspot", "sync")
    shown = await show(scenario, ref)
    assert (shown["stage"], shown["amount"]) == ("won", 12000.0)


async def test_a_deal_deleted_in_hubspot_is_made_again(
    engine: AsyncEngine, scenario: Handoff, hubspot: HubSpotStandIn, crm: Wires, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    ref, deal = await with_deal(engine, scenario, hubspot, crm, tmp_path)
    hubspot.delete("deals", deal["id"])
    await actions.set_stage(
        engine=engine,
        ref=ref,
        actor=REP,
        stage=Stage.MEETING,
        amount=None,
        at=utcnow(),
        request="m",
    )
    await crm.crm.drain()
    again = hubspot.deal_by("handoff_ref", ref)
    assert again is not None and again["properties"]["dealstage"] == "appointmentscheduled"
    made = [
        c
        for c in hubspot.calls_to("POST", "/crm/v3/objects/deals")
        if c.path == "/crm/v3/objects/deals"
    ]
    assert [c.status for c in made] == [201, 201]
    status = json.loads(await asyncio.to_thread(scenario, "hubspot", "status", "--json"))
    assert status["failing"] == [] and status["pending"] == []


async def test_an_old_read_of_the_deal_moves_nothing(
    engine: AsyncEngine, scenario: Handoff, hubspot: HubSpotStandIn, crm: Wires, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    # A pull that read the deal before the last push wrote it must not undo the push.
    ref, deal = await with_deal(engine, scenario, hubspot, crm, tmp_path)
    before = {"id": deal["id"], "properties": dict(deal["properties"]), "updated_at": None}
    await actions.set_stage(
        engine=engine,
        ref=ref,
        actor=REP,
        stage=Stage.OPPORTUNITY,
        amount=None,
        at=utcnow(),
        request="o",
    )
    await crm.crm.drain()
    stale = before | {"properties": before["properties"] | {"dealstage": "closedlost"}}
    line = await apply(engine, deal_change(stale), stage_map(load_settings()))
    assert line is None
    assert (await show(scenario, ref))["stage"] == "opportunity"
