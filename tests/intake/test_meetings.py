"""Meetings count themselves (issue 23, part 3): a calendar invitation or acceptance naming the
prospect as attendee with the partner's address as a guest (Google, Outlook, Apple formats)
moves the referral to `meeting` at the meeting's start, is its first response when none was
recorded, and a cancellation is recorded; a meeting about nobody we know changes nothing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.referrals import cards
from bot.referrals.acting import Actor
from bot.referrals.actions import claim, set_stage
from bot.slack.blocks import intro_post
from bot.vocabulary import Role, Stage
from tests.support.arrivals import DAY, FROM_GLOBEX, arrive
from tests.support.handoff import Handoff
from tests.support.messages import message

CALENDAR = Path(__file__).parent.parent / "fixtures" / "calendar"
T0 = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)


def fixture(name: str) -> bytes:
    return (CALENDAR / name).read_bytes()


async def show(scenario: Handoff, ref: str) -> dict:  # type: ignore[type-arg]
    return await asyncio.to_thread(scenario.json, "referrals", "show", ref)  # type: ignore[return-value]


async def test_a_google_invitation_then_its_acceptance_book_the_meeting(
    engine: AsyncEngine, scenario: Handoff
) -> None:
    intro = await arrive(engine, message(to="Jordan Lee <jordan@northwind.example>"), T0)
    assert intro["referral"] == "ACME-1"
    invited = await arrive(engine, fixture("01-google-invitation.eml"), T0 + 4 * DAY)
    assert (invited["kind"], invited["referral"]) == ("meeting", "ACME-1")
    shown = await show(scenario, "ACME-1")
    assert shown["stage"] == "meeting"
    assert shown["meeting_at"] == "2027-01-12T17:30:00+00:00"
    # Nobody had clicked "first response": the invitation is it.
    assert shown["first_response_at"] == (T0 + 4 * DAY).isoformat()
    kinds = [e["kind"] for e in shown["events"]]
    assert kinds[-3:] == ["first_response", "stage_changed", "meeting"]
    assert "meeting on 2027-01-12 17:30 UTC" in shown["events"][-1]["detail"]
    assert "invitation from sam.rivera@ours.example" in shown["events"][-1]["detail"]
    # The prospect accepts: recorded, nothing moves twice.
    accepted = await arrive(engine, fixture("02-google-acceptance.eml"), T0 + 4 * DAY)
    assert (accepted["kind"], accepted["referral"]) == ("meeting", "ACME-1")
    shown = await show(scenario, "ACME-1")
    assert [e["kind"] for e in shown["events"]].count("stage_changed") == 1
    assert "accepted by jordan@northwind.example" in shown["events"][-1]["detail"]
    async with engine.connect() as conn:
        placed = await cards.placed(conn, ref="ACME-1")
    assert placed is not None
    post = str(intro_post(placed.card, now=T0 + 5 * DAY).blocks)
    assert ":calendar: Meeting <!date^" in post and "|2027-01-12 17:30 UTC>" in post


async def test_an_outlook_invitation_in_the_partners_zone_then_its_cancellation(
    engine: AsyncEngine, scenario: Handoff
) -> None:
    ines = "Ines Alvarez <ines.alvarez@contosofreight.example>"
    await arrive(engine, message(to=ines, **FROM_GLOBEX), T0)
    invited = await arrive(engine, fixture("03-outlook-invitation.eml"), T0 + DAY)
    assert (invited["kind"], invited["referral"]) == ("meeting", "GLOBEX-1")
    shown = await show(scenario, "GLOBEX-1")
    # 10:00 Pacific Standard Time on 14 January is 18:00 UTC.
    assert (shown["stage"], shown["meeting_at"]) == ("meeting", "2027-01-14T18:00:00+00:00")
    assert (await arrive(engine, fixture("04-outlook-acceptance.eml"), T0 + DAY))["kind"] == (
        "meeting"
    )
    cancelled = await arrive(engine, fixture("06-outlook-cancellation.eml"), T0 + 2 * DAY)
    assert (cancelled["kind"], cancelled["referral"]) == ("meeting", "GLOBEX-1")
    shown = await show(scenario, "GLOBEX-1")
    assert shown["meeting_cancelled_at"] == (T0 + 2 * DAY).isoformat()
    assert shown["events"][-1]["kind"] == "meeting_cancelled"
    assert shown["stage"] == "meeting"  # the stage a person set back is theirs to set


async def test_an_apple_invitation_in_berlin_time_keeps_a_later_stage(
    engine: AsyncEngine, scenario: Handoff
) -> None:
    await asyncio.to_thread(
        scenario, "partners", "add", "initech", "--contact", "bill@initech.example"
    )
    jonas = "J. Mueller <j.mueller@fahrwerk.example>"
    intro = message(sender="Bill <bill@initech.example>", to=jonas, cc="initech@ours.example")
    await arrive(engine, intro, T0)
    await claim(
        engine=engine,
        ref="INITECH-1",
        actor=Actor("U0SAM"),
        role=Role.SOURCED,
        at=T0,
        request="claim-1",
    )
    await set_stage(
        engine=engine,
        ref="INITECH-1",
        actor=Actor("U0SAM"),
        stage=Stage.OPPORTUNITY,
        amount=None,
        at=T0,
        request="stage-1",
    )
    await arrive(engine, fixture("05-apple-invitation.eml"), T0 + DAY)
    shown = await show(scenario, "INITECH-1")
    assert shown["stage"] == "opportunity"  # a meeting does not move a deal back
    # 10:30 in Berlin in May (summer time) is 08:30 UTC.
    assert shown["meeting_at"] == "2027-05-05T08:30:00+00:00"


async def test_a_meeting_about_nobody_we_know_changes_nothing(
    engine: AsyncEngine, scenario: Handoff
) -> None:
    result = await arrive(engine, fixture("03-outlook-invitation.eml"), T0)
    # No referral of Ines: the invitation is read as any other mail would be.
    assert result["kind"] != "meeting"
    listed = await asyncio.to_thread(scenario.json, "referrals", "list")
    assert all(r["meeting_at"] is None for r in listed)  # type: ignore[union-attr, index]


async def test_a_strangers_invitation_moves_nothing_and_one_in_the_thread_is_placed(
    engine: AsyncEngine, scenario: Handoff
) -> None:
    intro = message(
        to="Jordan Lee <jordan@northwind.example>",
        message_id="<intro-7@mail.acmeconsulting.example>",
    )
    await arrive(engine, intro, T0)
    forged = fixture("01-google-invitation.eml").replace(
        b"From: Sam Rivera <sam.rivera@ours.example>", b"From: Mallory <mallory@evil.example>"
    )
    assert b"mallory@evil.example" in forged
    result = await arrive(engine, forged, T0 + DAY)
    assert result["kind"] != "meeting"
    shown = await show(scenario, "ACME-1")
    assert (shown["stage"], shown["meeting_at"], shown["first_response_at"]) == ("new", None, None)
    # Sam's invitation sent as a reply in the intro's thread: placed by the thread.
    threaded = fixture("01-google-invitation.eml").replace(
        b"Message-ID: <calendar-0b7e2c4a",
        b"In-Reply-To: <intro-7@mail.acmeconsulting.example>\r\nMessage-ID: <calendar-1b7e2c4a",
    )
    result = await arrive(engine, threaded, T0 + 2 * DAY)
    assert (result["kind"], result["referral"]) == ("meeting", "ACME-1")


async def test_a_meeting_before_anyone_claimed_it_stays_a_meeting_after_the_claim(
    engine: AsyncEngine, scenario: Handoff
) -> None:
    await arrive(engine, message(to="Jordan Lee <jordan@northwind.example>"), T0)
    await arrive(engine, fixture("01-google-invitation.eml"), T0 + DAY)
    await claim(
        engine=engine,
        ref="ACME-1",
        actor=Actor("U0SAM"),
        role=Role.SOURCED,
        at=T0 + 2 * DAY,
        request="claim-after-meeting",
    )
    shown = await show(scenario, "ACME-1")
    assert (shown["stage"], shown["owner"]) == ("meeting", "U0SAM")
