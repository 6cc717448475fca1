"""/metrics as Prometheus scrapes it from `handoff serve`: intake, outbox, Slack, SMTP, sweeps.

The counters live in one registry per process, so earlier tests have counted too: every test
reads a counter before and after, and asserts on the difference.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import metrics
from bot.config import load_settings
from bot.db import create_engine, session_factory
from bot.demo.standin.failures import Failure, disconnect, rate_limited, server_error, slack_error
from bot.demo.standin.smtp import SmtpServer
from bot.digests import mailing
from bot.digests.content import Rendered
from bot.models import utcnow
from bot.nudges.sweeps import FIRST_RESPONSE, SWEEPS, UNCLAIMED
from bot.referrals.partners import add_partner as register_partner
from bot.slack.web import start_web, web_app
from bot.vocabulary import MailKind
from tests.support.handoff import Handoff
from tests.support.slackbot import Bot, free_port, running_bot
from tests.support.world import T0, add_partner, add_referral, sweeper, update

FIXTURES = Path(__file__).parent / "fixtures" / "intake"
INTRO = FIXTURES / "01-acme-gmail-intro-cc-partner-plus-address.eml"
DUPLICATE = FIXTURES / "12-duplicate-delivery-of-01.eml"
INTAKE = "handoff_intake_messages_total"
DONE = "handoff_outbox_jobs_done_total"
PENDING = "handoff_outbox_pending_jobs"
OLDEST = "handoff_outbox_oldest_pending_age_seconds"
SLACK = "handoff_slack_errors_total"
SMTP = "handoff_smtp_errors_total"
NUDGES = "handoff_nudges_sent_total"
SWEEP = "handoff_sweep_duration_seconds"
DANA = "dana@acmeconsulting.example"
LEE = "lee@acmeconsulting.example"
MAIL_SECRET = "metrics-test-secret-" + "x" * 20

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    """Every sample of an exposition, by name and labels, as a Prometheus server reads it."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def counter(samples: Samples, name: str, **labels: str) -> float:
    """A counter's value; 0 when the series was never touched (as rate() treats it)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def gauge(samples: Samples, name: str, **labels: str) -> float:
    """A gauge's value, which must be there."""
    key = (name, frozenset(labels.items()))
    assert key in samples, f"no {name}{labels} in the scrape"
    return samples[key]


def in_process() -> Samples:
    """The process's counters now, before a bot is there to scrape."""
    return parse(generate_latest(metrics.REGISTRY).decode())


async def scrape(bot: Bot) -> Samples:
    return await scrape_port(bot.http, bot.port)


async def scrape_port(http: aiohttp.ClientSession, port: int) -> Samples:
    async with http.get(f"http://127.0.0.1:{port}/metrics") as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == CONTENT_TYPE_LATEST
        return parse(await response.text())


async def scrape_until(bot: Bot, what: str, done: object) -> Samples:
    """Scrape until done(samples) holds; the scrape that showed it."""

    async def check() -> Samples | None:
        samples = await scrape(bot)
        return samples if done(samples) else None  # type: ignore[operator]

    return await bot.until(what, check)  # type: ignore[no-any-return]


# slack_sdk never retries by itself (bot/slack/app.py): each failure reaches the outbox once
# and is counted once.
@pytest.mark.parametrize(
    ("failures", "error"),
    [
        ([slack_error("channel_not_found")], "channel_not_found"),
        ([rate_limited(1)], "ratelimited"),
        ([server_error(503)], "HTTP_503"),
        ([disconnect()], "ServerDisconnectedError"),
    ],
)
async def test_an_intro_is_counted_and_waits_in_the_outbox_while_slack_refuses_it(
    engine: AsyncEngine, scenario: Handoff, failures: list[Failure], error: str
) -> None:
    async with running_bot(engine) as bot:
        bot.slack.fail("chat.postMessage", *failures)
        before = await scrape(bot)
        assert gauge(before, "handoff_database_up") == 1
        assert gauge(before, PENDING, kind="slack_post") == 0
        assert gauge(before, OLDEST, kind="slack_post") == 0
        await asyncio.to_thread(scenario.ingest, INTRO)

        refused = await scrape_until(
            bot,
            "Slack's refusal to be counted",
            lambda s: counter(s, SLACK, error=error) > counter(before, SLACK, error=error),
        )
        assert counter(refused, SLACK, error=error) == counter(before, SLACK, error=error) + 1
        assert counter(refused, INTAKE, kind="new_intro") == (
            counter(before, INTAKE, kind="new_intro") + 1
        )
        assert counter(refused, INTAKE, kind="duplicate") == counter(
            before, INTAKE, kind="duplicate"
        )
        assert gauge(refused, PENDING, kind="slack_post") == 1
        assert 0 < gauge(refused, OLDEST, kind="slack_post") < 60

        # The retry posts it, and the outbox is empty again.
        await bot.post_of("ACME-1")
        after = await scrape_until(
            bot, "the outbox to empty", lambda s: gauge(s, PENDING, kind="slack_post") == 0
        )
    assert gauge(after, OLDEST, kind="slack_post") == 0
    assert counter(after, DONE, kind="slack_post") == counter(before, DONE, kind="slack_post") + 1
    assert counter(after, SLACK, error=error) == counter(before, SLACK, error=error) + 1


def test_a_dry_run_ingest_counts_nothing(scenario: Handoff) -> None:
    before = in_process()
    scenario.ingest(INTRO, DUPLICATE, dry_run=True)
    assert counter(in_process(), INTAKE, kind="new_intro") == counter(
        before, INTAKE, kind="new_intro"
    )
    scenario.ingest(INTRO, DUPLICATE)
    now = in_process()
    assert counter(now, INTAKE, kind="new_intro") == counter(before, INTAKE, kind="new_intro") + 1
    assert counter(now, INTAKE, kind="duplicate") == counter(before, INTAKE, kind="duplicate") + 1


async def queue_notice(engine: AsyncEngine) -> None:
    """A stage notice to each of acme's two contacts, recorded as Handoff records them."""
    settings = load_settings(secret=MAIL_SECRET, mail_from="Ours <partners@ours.example>")
    async with session_factory(engine)() as session:
        partner, _ = await register_partner(
            session=session,
            slug="acme",
            name="Acme Consulting",
            addresses=[],
            contacts=[DANA, LEE],
            domains=["acmeconsulting.example"],
        )
        await session.commit()
        assert partner.id is not None
        partner_id = partner.id
    async with engine.begin() as conn:
        await mailing.record(
            conn,
            settings=settings,
            kind=MailKind.STAGE,
            partner_id=partner_id,
            contacts=await mailing.active_contacts(conn, partner_id),
            render=lambda _: Rendered("ACME-1: a meeting", "A meeting.\n", "<p>A meeting.</p>"),
            at=utcnow(),
        )


async def test_smtp_refusals_are_counted_by_reply_class(
    engine: AsyncEngine, smtp: SmtpServer
) -> None:
    smtp.inbox.refuse[LEE] = "550 5.1.1 <lee@acmeconsulting.example>: no such user"
    smtp.inbox.refuse[DANA] = "451 4.3.0 try again later"
    mail = {"smtp_url": smtp.url, "secret": MAIL_SECRET, "mail_from": "partners@ours.example"}
    async with running_bot(engine, **mail) as bot:
        before = await scrape(bot)
        await queue_notice(engine)
        after = await scrape_until(
            bot,
            "both refusals counted and the refused mail done",
            lambda s: all(
                counter(s, name, **labels) > counter(before, name, **labels)
                for name, labels in (
                    (SMTP, {"error": "5xx"}),
                    (SMTP, {"error": "4xx"}),
                    (DONE, {"kind": "email"}),
                )
            ),
        )
    assert smtp.inbox.received == []
    # 550 is for good: counted once, the job done; 451 waits for its retry (and counts again).
    assert counter(after, SMTP, error="5xx") == counter(before, SMTP, error="5xx") + 1
    assert counter(after, SMTP, error="4xx") >= counter(before, SMTP, error="4xx") + 1
    assert counter(after, DONE, kind="email") == counter(before, DONE, kind="email") + 1
    assert gauge(after, PENDING, kind="email") == 1


async def test_smtp_unreachable_is_counted_by_exception(engine: AsyncEngine) -> None:
    closed = f"smtp://127.0.0.1:{free_port()}"  # nothing listens there
    mail = {"smtp_url": closed, "secret": MAIL_SECRET, "mail_from": "partners@ours.example"}
    async with running_bot(engine, **mail) as bot:
        before = await scrape(bot)
        await queue_notice(engine)
        after = await scrape_until(
            bot,
            "the connection failures counted",
            lambda s: (
                counter(s, SMTP, error="SMTPConnectError")
                >= counter(before, SMTP, error="SMTPConnectError") + 2
            ),
        )
    assert gauge(after, PENDING, kind="email") == 2


async def test_sweeps_are_timed_and_each_nudge_counted_once(engine: AsyncEngine) -> None:
    now = datetime.now(UTC)
    acme = await add_partner(engine, created=now - timedelta(days=30))
    ref = await add_referral(engine, acme, received=now - timedelta(days=2))
    await update(engine, ref, owner="UREP", stage="claimed", claimed_at=now - timedelta(hours=25))
    before = in_process()
    runs = f"{SWEEP}_count"
    async with running_bot(engine, sweep_every="1s", managers="UMGR1") as bot:
        bot.slack.users["UREP"] = {"id": "UREP", "name": "rep", "tz": "UTC"}
        # Every sweep runs at start, then each second: the second first-response run finds
        # the nudge recorded by the first.
        # The sweeps start together and finish in no promised order: wait for each one's run.
        after = await scrape_until(
            bot,
            "two first-response runs, and a run of every sweep",
            lambda s: (
                counter(s, runs, sweep=FIRST_RESPONSE)
                >= counter(before, runs, sweep=FIRST_RESPONSE) + 2
                and all(
                    counter(s, runs, sweep=name) >= counter(before, runs, sweep=name) + 1
                    for name in SWEEPS
                )
            ),
        )
        await bot.until("the owner's reminder", lambda: bot.slack.dms("UREP"))
    for name in SWEEPS:
        assert counter(after, runs, sweep=name) >= counter(before, runs, sweep=name) + 1, name
        assert counter(after, f"{SWEEP}_sum", sweep=name) > counter(
            before, f"{SWEEP}_sum", sweep=name
        )
        assert counter(after, f"{SWEEP}_bucket", sweep=name, le="+Inf") == counter(
            after, runs, sweep=name
        )
    assert counter(after, NUDGES, sweep=FIRST_RESPONSE) == (
        counter(before, NUDGES, sweep=FIRST_RESPONSE) + 1
    )
    assert counter(after, NUDGES, sweep=UNCLAIMED) == counter(before, NUDGES, sweep=UNCLAIMED)


async def test_a_dry_run_sweep_counts_no_nudge(engine: AsyncEngine) -> None:
    acme = await add_partner(engine)
    ref = await add_referral(engine, acme, received=T0 - timedelta(days=2))
    await update(engine, ref, owner="UREP", stage="claimed", claimed_at=T0 - timedelta(hours=25))
    before = counter(in_process(), NUDGES, sweep=FIRST_RESPONSE)
    dry = await sweeper(engine).run(FIRST_RESPONSE, as_of=T0, dry_run=True)
    assert len(dry.planned) == 1
    assert counter(in_process(), NUDGES, sweep=FIRST_RESPONSE) == before
    done = await sweeper(engine).run(FIRST_RESPONSE, as_of=T0)
    assert len(done.planned) == 1
    assert counter(in_process(), NUDGES, sweep=FIRST_RESPONSE) == before + 1


async def test_metrics_answer_without_the_database() -> None:
    engine = create_engine("postgresql://nobody@127.0.0.1:1/none")  # nothing listens there
    port = free_port()
    runner = await start_web(web_app(engine=engine, bolt=None), host="127.0.0.1", port=port)
    try:
        async with aiohttp.ClientSession() as http:
            samples = await scrape_port(http, port)
    finally:
        await runner.cleanup()
        await engine.dispose()
    assert gauge(samples, "handoff_database_up") == 0
    assert not [key for key in samples if key[0] in (PENDING, OLDEST)]  # no made-up zeros
    assert (INTAKE, frozenset({("kind", "new_intro")})) in samples  # the counters still answer
    assert any(name == "process_cpu_seconds_total" for name, _ in samples)
