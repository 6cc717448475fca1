"""Every referral change leaves as a Standard Webhooks message, verified by the reference
library on a receiver of ours (issue 22, part 1)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.models import WebhookDelivery, utcnow
from bot.referrals import actions
from bot.referrals.acting import Actor
from bot.vocabulary import Role, Stage
from bot.webhooks.sending import Policy, Sender
from tests.support.handoff import Handoff
from tests.support.messages import message, write
from tests.support.receiver import Answer, Receiver

REP = Actor(user="U0REP1")
delivery: sa.Table = WebhookDelivery.__table__  # type: ignore[attr-defined]
QUICK = Policy(timeout=2.0, first_backoff=0.05)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    got = await Receiver().start()
    try:
        yield got
    finally:
        await got.close()


def register(handoff: Handoff, receiver: Receiver, *options: str) -> int:
    """`handoff webhooks add` as a user runs it; the receiver learns the secret it printed."""
    out = handoff("webhooks", "add", receiver.url, *options)
    receiver.secret = out.split("signing secret (shown once; give it to the receiver): ")[
        1
    ].split()[0]
    return int(out.split()[2].rstrip(":"))


@asynccontextmanager
async def delivering(engine: AsyncEngine, policy: Policy = QUICK) -> AsyncIterator[Sender]:
    """The webhooks' lane of `handoff serve`, running in this loop."""
    sender = Sender(engine, policy)
    lane = sender.lane(lease=timedelta(seconds=30))
    task = asyncio.create_task(lane.run())
    try:
        yield sender
    finally:
        lane.stop()
        await asyncio.wait_for(task, 15)
        await sender.aclose()


async def statuses(engine: AsyncEngine, expected: list[str]) -> bool:
    """Whether the deliveries stand as `expected`, in the order they were queued."""
    async with engine.connect() as conn:
        found = (await conn.scalars(sa.select(delivery.c.status).order_by(delivery.c.id))).all()
    return list(found) == expected


async def intro(
    handoff: Handoff, tmp_path, n: int = 0, to: str = "Jane Doe <jane@hooli.example>"
) -> None:  # type: ignore[no-untyped-def]
    path = write(tmp_path, f"intro{n}.eml", message(to=to, subject="Intro: Jane <> Sam"))
    await asyncio.to_thread(handoff.ingest, path)


async def test_every_change_arrives_signed_with_what_a_crm_needs(
    engine: AsyncEngine, scenario: Handoff, receiver: Receiver, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    await asyncio.to_thread(register, scenario, receiver)
    await intro(scenario, tmp_path)
    at = utcnow()
    await actions.claim(
        engine=engine, ref="ACME-1", actor=REP, role=Role.SOURCED, at=at, request="c1"
    )
    await actions.set_stage(
        engine=engine, ref="ACME-1", actor=REP, stage=Stage.WON, amount=48000.0, at=at, request="s1"
    )
    async with delivering(engine):
        await receiver.until("three events", lambda: len(receiver.delivered()) == 3)
    got = receiver.delivered()
    assert [g.type for g in got] == [
        "referral.created",
        "referral.claimed",
        "referral.stage_changed",
    ]
    assert all(g.verified for g in got), "the reference library refused a signature"
    assert len({g.webhook_id for g in got}) == 3
    created = got[0].data["referral"]
    assert created["ref"] == "ACME-1"
    assert created["partner"] == {"slug": "acme", "name": "Acme Consulting"}
    assert created["prospect"]["email"] == "jane@hooli.example"
    assert created["prospect"]["name"] == "Jane Doe"
    assert created["proof"]["subject"] == "Intro: Jane <> Sam"
    assert created["proof"]["message_id"]
    assert created["received_at"].endswith("Z")
    assert created["owner"] is None
    claimed = got[1].data["referral"]
    assert claimed["owner"]["slack_id"] == "U0REP1" and claimed["role"] == "sourced"
    assert got[1].data["event"]["actor"] == "slack:U0REP1"
    won = got[2].data["referral"]
    assert (won["stage"], won["amount"]) == ("won", 48000.0)


async def test_a_failing_endpoint_is_retried_with_the_same_webhook_id_until_it_recovers(
    engine: AsyncEngine, scenario: Handoff, receiver: Receiver, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    await asyncio.to_thread(register, scenario, receiver)
    receiver.plan.extend(
        [
            Answer(status=503),
            Answer(status=429, retry_after="0"),
            Answer(delay=3.0),  # longer than the sender's 2 s timeout
            Answer(status=408),
        ]
    )
    await intro(scenario, tmp_path)
    async with delivering(engine):
        await receiver.until("the delivery", lambda: statuses(engine, ["delivered"]))
    assert len(set(receiver.arrived)) == 1, "every retry carries the first attempt's webhook-id"
    assert len(receiver.arrived) == 5
    out = await asyncio.to_thread(scenario, "webhooks", "deliveries")
    assert "delivered" in out and "5 attempt(s)" in out and "HTTP 200" in out


async def test_a_refusal_fails_at_once_and_redeliver_sends_it_again(
    engine: AsyncEngine, scenario: Handoff, receiver: Receiver, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    await asyncio.to_thread(register, scenario, receiver)
    receiver.plan.append(Answer(status=400, body="unknown field prospect"))
    await intro(scenario, tmp_path)
    async with delivering(engine):
        await receiver.until("the refusal", lambda: receiver.got)
        failed = await asyncio.to_thread(scenario, "webhooks", "deliveries", "--failed")
        while "failed" not in failed:  # the sender records the answer after it is read
            await asyncio.sleep(0.01)
            failed = await asyncio.to_thread(scenario, "webhooks", "deliveries", "--failed")
    assert "HTTP 400: unknown field prospect" in failed
    assert len(receiver.arrived) == 1, "a 400 is never retried"
    first = failed.split()[0]
    out = await asyncio.to_thread(scenario, "webhooks", "redeliver", first)
    assert "delivered: HTTP 200" in out
    assert receiver.arrived[0] == receiver.arrived[1]
    assert receiver.delivered()[0].verified


async def test_an_endpoint_that_keeps_failing_is_paused_once_and_its_events_wait_for_resume(
    engine: AsyncEngine, scenario: Handoff, receiver: Receiver, tmp_path, caplog
) -> None:  # type: ignore[no-untyped-def]
    endpoint = await asyncio.to_thread(register, scenario, receiver)
    receiver.always = Answer(status=500, retry_after="0")
    await intro(scenario, tmp_path)
    policy = Policy(timeout=2.0, first_backoff=0.05, pause_after=timedelta(0))
    with caplog.at_level(logging.WARNING, logger="handoff.webhooks"):
        async with delivering(engine, policy):
            await receiver.until("five failures", lambda: len(receiver.arrived) >= 5)
            listed = ""
            while "paused" not in listed:
                await asyncio.sleep(0.01)
                listed = await asyncio.to_thread(scenario, "webhooks", "list")
            at = utcnow()
            await actions.claim(
                engine=engine, ref="ACME-1", actor=REP, role=Role.SOURCED, at=at, request="c1"
            )
            held = len(receiver.arrived)
            receiver.always = None
            out = await asyncio.to_thread(scenario, "webhooks", "resume", str(endpoint))
            assert "2 held deliveries go now" in out
            await receiver.until("both, after resume", lambda: len(receiver.delivered()) == 2)
    assert held == 5, "a paused endpoint is not tried"
    assert [g.type for g in receiver.delivered()] == ["referral.created", "referral.claimed"]
    paused = [r for r in caplog.records if "paused" in r.getMessage()]
    assert len(paused) == 1
    assert f"handoff webhooks resume {endpoint}" in paused[0].getMessage()
    assert "HTTP 500" in listed


async def test_changes_to_many_referrals_arrive_each_once_in_each_referrals_order(
    engine: AsyncEngine, scenario: Handoff, receiver: Receiver, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    await asyncio.to_thread(register, scenario, receiver)
    paths = [
        write(
            tmp_path,
            f"i{n}.eml",
            message(to=f"P{n} <p{n}@prospect{n}.example>", subject=f"Intro {n}"),
        )
        for n in range(20)
    ]
    await asyncio.to_thread(scenario.ingest, *paths)
    at = utcnow()
    stages = [Stage.CONTACTED, Stage.MEETING, Stage.OPPORTUNITY]
    for n in range(1, 21):
        ref = f"ACME-{n}"
        await actions.claim(
            engine=engine, ref=ref, actor=REP, role=Role.SOURCED, at=at, request=f"c{n}"
        )
        for k, stage in enumerate(stages):
            await actions.set_stage(
                engine=engine,
                ref=ref,
                actor=REP,
                stage=stage,
                amount=None,
                at=at,
                request=f"s{n}-{k}",
            )
    receiver.plan.extend([Answer(status=503, retry_after="0")] * 7)  # some retries on the way
    async with delivering(engine):
        await receiver.until("100 events", lambda: len(receiver.delivered()) == 100)
    seen: dict[str, list[str]] = {}
    for g in receiver.delivered():
        r = g.data["referral"]
        seen.setdefault(r["ref"], []).append(r["stage"])
    assert len({g.webhook_id for g in receiver.delivered()}) == 100
    assert all(order == ["new", "claimed", *stages] for order in seen.values()), seen
    assert len(seen) == 20


def test_urls_must_be_https_but_to_loopback(scenario: Handoff) -> None:
    err = scenario("webhooks", "add", "http://crm.example/hook", expect=2)
    assert err == "" and "webhooks go over https only" in scenario.err
    scenario("webhooks", "add", "https://user:pw@crm.example/hook", expect=2)
    assert "the URL carries a user and password" in scenario.err and "pw" not in scenario.err
    scenario("webhooks", "add", "ftp://crm.example/hook", expect=2)
    assert "is not an http(s) URL" in scenario.err
    scenario("webhooks", "add", "https://crm.example/hook", "--events", "deal.*", expect=2)
    assert "--events 'deal.*' matches no event type" in scenario.err
    assert "webhook endpoint 1: https://crm.example/hook" in scenario(
        "webhooks", "add", "https://crm.example/hook", "--events", "referral.*"
    )
    assert "webhook endpoint 2: http://[::1]:8080/hook" in scenario(
        "webhooks", "add", "http://[::1]:8080/hook"
    )


async def test_webhooks_test_pings_and_says_how_the_endpoint_answered(
    scenario: Handoff, receiver: Receiver
) -> None:
    endpoint = await asyncio.to_thread(register, scenario, receiver, "--events", "partner.*")
    out = await asyncio.to_thread(scenario, "webhooks", "test", str(endpoint))
    assert f"delivered to endpoint {endpoint}: HTTP 200" in out
    [ping] = receiver.got
    assert (ping.type, ping.verified) == ("ping", True)
    await receiver.close()
    out = await asyncio.to_thread(scenario, "webhooks", "test", str(endpoint), expect=1)
    assert f"to endpoint {endpoint} failed: unreachable: ConnectError" in out
    listed = await asyncio.to_thread(scenario, "webhooks", "list")
    assert "active" in listed, "a failed ping is a test, not the endpoint's failure record"


async def test_a_new_partner_is_an_event_too(
    engine: AsyncEngine, scenario: Handoff, receiver: Receiver
) -> None:
    await asyncio.to_thread(register, scenario, receiver, "--events", "partner.created")
    await asyncio.to_thread(
        scenario,
        "partners",
        "add",
        "umbrella",
        "--name",
        "Umbrella",
        "--contact",
        "ada@umbrella.example",
    )
    async with delivering(engine):
        await receiver.until("partner.created", lambda: receiver.delivered())
    [got] = receiver.delivered()
    assert got.type == "partner.created"
    assert got.data["partner"]["slug"] == "umbrella"
    assert got.data["partner"]["contacts"] == ["ada@umbrella.example"]


async def test_removing_an_endpoint_cancels_what_waits_for_it(
    engine: AsyncEngine, scenario: Handoff, receiver: Receiver, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    endpoint = await asyncio.to_thread(register, scenario, receiver)
    await intro(scenario, tmp_path)
    out = await asyncio.to_thread(scenario, "webhooks", "remove", str(endpoint))
    assert "1 pending deliveries cancelled" in out
    async with engine.connect() as conn:
        assert await conn.scalar(sa.select(delivery.c.status)) == "cancelled"
    assert "no webhook endpoints" in await asyncio.to_thread(scenario, "webhooks", "list")
