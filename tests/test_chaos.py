"""A bad day, all at once: `handoff serve` killed (-9) and stopped (SIGTERM) at random while
mail arrives over IMAP and reps click in Slack, PostgreSQL connections dying, Slack and the SMTP
server failing in turn. At the end: every message stored once, every acknowledged click
applied once, every post, thread line and email once."""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import subprocess
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import create_engine
from bot.demo.standin.failures import (
    disconnect,
    rate_limited,
    server_error,
    slow,
)
from bot.demo.standin.slack import SlackStandIn
from bot.demo.standin.smtp import SmtpServer
from bot.slack import blocks
from bot.vocabulary import THREADED_EVENTS
from tests.support.dovecot import Dovecot
from tests.support.handoff import Handoff
from tests.support.imap import intro
from tests.support.intros import stage_values
from tests.support.slackbot import Bot, serve_env, start_serve

INTROS = 16
CHAOS_SECONDS = 25.0
DANA = "dana@acmeconsulting.example"


class Serve:
    """`handoff serve` as operators run it: a process, restarted after each blow."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None
        self.blows: Counter[str] = Counter()

    def start(self) -> None:
        self.process = start_serve(self.env)

    async def blow(self, rng: random.Random) -> None:
        """SIGKILL or SIGTERM, then start again."""
        assert self.process is not None
        how = rng.choice(["kill", "term"])
        self.blows[how] += 1
        self.process.send_signal(signal.SIGKILL if how == "kill" else signal.SIGTERM)
        code = await asyncio.to_thread(self.process.wait, 30)
        # A SIGTERM before serve has set up its handler (still importing) ends it at once.
        assert how == "kill" or code in (0, -signal.SIGTERM), f"serve exited {code} on SIGTERM"
        self.start()

    async def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            assert await asyncio.to_thread(self.process.wait, 30) == 0


async def rows(engine: AsyncEngine, sql: str) -> list[Any]:
    try:
        async with engine.connect() as conn:
            return list(await conn.execute(sa.text(sql)))
    except sa.exc.DBAPIError:
        return []  # its connection was killed too: ask again


async def acknowledged(send: Any) -> bool:
    """One gesture, sent as Slack sends it; True when Slack was answered 200."""
    try:
        answer = await send()
    except (aiohttp.ClientError, OSError):
        return False  # serve was down: the user sees an error and clicks again
    return bool(answer.status == 200)


async def until_acknowledged(send: Any) -> None:
    while True:
        if await acknowledged(send):
            return
        await asyncio.sleep(0.5)  # serve is down: the user tries again in a moment


async def rep(bot: Bot, engine: AsyncEngine, n: int, clicks: list[tuple[str, str]]) -> None:
    """Rep n claims ACME-n once it is posted, then moves it to a meeting. A gesture Slack got
    no 200 for is made again (the user saw an error); one it got 200 for must take effect."""
    ref, user = f"ACME-{n}", f"U0REP{n:02d}"
    await bot.until(f"{ref} posted", lambda: _posted(bot, ref), seconds=240)
    await until_acknowledged(lambda: bot.click(blocks.CLAIM_SOURCED, user=user, value=ref))
    clicks.append((ref, "claim"))
    claimed = f"SELECT 1 FROM referral WHERE ref = '{ref}' AND owner = '{user}'"
    assert await _applied(engine, claimed), f"{ref}: an acknowledged claim was lost"
    values = stage_values("meeting")
    await until_acknowledged(lambda: bot.submit(blocks.STAGE_MODAL, ref, values, user=user))
    clicks.append((ref, "stage"))
    met = f"SELECT 1 FROM referral WHERE ref = '{ref}' AND stage = 'meeting'"
    assert await _applied(engine, met), f"{ref}: an acknowledged stage change was lost"


def _posted(bot: Bot, ref: str) -> bool:
    return any(
        ref in (m.get("text") or "") and not m.get("thread_ts")
        for m in list(bot.slack.messages.values())
    )


async def _applied(engine: AsyncEngine, sql: str, seconds: float = 120.0) -> bool:
    """Whether an acknowledged gesture took effect within `seconds` (after a kill, the next
    start replays it once it is ten seconds old; the blows go on for CHAOS_SECONDS)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        if await rows(engine, sql):
            return True
        await asyncio.sleep(0.1)
    return False


async def kill_connections(url: str, stop: asyncio.Event, rng: random.Random) -> None:
    killer = create_engine(url)
    try:
        while not stop.is_set():
            with contextlib.suppress(sa.exc.DBAPIError):
                async with killer.connect() as conn:
                    await conn.execute(
                        sa.text(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                            "ORDER BY random() LIMIT 1"
                        )
                    )
            await asyncio.sleep(rng.uniform(0.1, 0.4))
    finally:
        await killer.dispose()


def slack_trouble(slack: SlackStandIn, rng: random.Random) -> None:
    """Slack's next post or update goes wrong in one of its ways."""
    failure = rng.choice(
        [
            server_error(500, after_work=True),
            slow(3, after_work=True),  # past HANDOFF_SLACK_TIMEOUT_SECONDS
            server_error(503),
            rate_limited(1),
            disconnect(),
        ]
    )
    slack.fail(rng.choice(["chat.postMessage", "chat.update"]), failure)


def smtp_trouble(smtp: SmtpServer, rng: random.Random) -> None:
    """The SMTP server takes the next message and hangs up, or our relay refuses for a while."""
    inbox = smtp.inbox
    inbox.hang_up = False
    inbox.refuse_all = None
    match rng.choice(["hang up", "relay", "busy", "well"]):
        case "hang up":
            inbox.hang_up = True
        case "relay":
            inbox.refuse_all = "550 5.7.1 Relaying denied"
        case "busy":
            inbox.refuse_all = "451 4.3.0 try again later"


@pytest.fixture
async def slack() -> AsyncIterator[SlackStandIn]:
    standin = await SlackStandIn().start()
    yield standin
    await standin.close()


@pytest.fixture
def smtp() -> Any:
    server = SmtpServer().start()
    yield server
    server.stop()


async def test_a_bad_day_loses_and_doubles_nothing(
    db_url: str,
    engine: AsyncEngine,
    scenario: Handoff,
    dovecot_server: Dovecot,
    user: str,
    slack: SlackStandIn,
    smtp: SmtpServer,
) -> None:
    rng = random.Random(19)
    for n in range(1, INTROS + 1):
        uid = f"U0REP{n:02d}"
        slack.users[uid] = {"id": uid, "name": f"rep{n}", "tz": "UTC", "real_name": f"Rep {n}"}
    await asyncio.to_thread(scenario, "partners", "add", "acme", "--stage-emails")
    env = serve_env(
        db_url,
        slack,
        HANDOFF_IMAP_URL=dovecot_server.url(user),
        HANDOFF_SMTP_URL=smtp.url,
        HANDOFF_SECRET="chaos-secret-" + "x" * 20,
        HANDOFF_MAIL_FROM="Ours Partnerships <partners@ours.example>",
        HANDOFF_SLACK_TIMEOUT_SECONDS="2",
    )
    serve = Serve(env)
    serve.start()
    stop_killing = asyncio.Event()
    killing = (
        asyncio.create_task(kill_connections(db_url, stop_killing, rng))
        if engine.dialect.name == "postgresql"
        else None
    )
    clicks: list[tuple[str, str]] = []
    async with aiohttp.ClientSession() as http:
        bot = Bot(slack, int(env["HANDOFF_PORT"]), http)
        reps = [asyncio.create_task(rep(bot, engine, n, clicks)) for n in range(1, INTROS + 1)]

        async def mail() -> None:
            for n in range(1, INTROS + 1):
                await dovecot_server.append(user, intro(n))
                await asyncio.sleep(rng.uniform(0.5, 1.5))

        mailing = asyncio.create_task(mail())
        try:
            deadline = asyncio.get_running_loop().time() + CHAOS_SECONDS
            while asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(rng.uniform(1.5, 3.5))
                slack_trouble(slack, rng)
                smtp_trouble(smtp, rng)
                await serve.blow(rng)
            await mailing
            await bot.until("serve to be up again", bot.up, seconds=60)
            # The weather clears: everything acknowledged and queued must now land, once.
            slack.clear_failures()
            smtp.inbox.hang_up, smtp.inbox.refuse_all = False, None
            stop_killing.set()
            if killing is not None:
                await killing
            await asyncio.wait_for(asyncio.gather(*reps), 240)

            async def settled() -> bool:
                left = await rows(
                    engine,
                    "SELECT (SELECT count(*) FROM outbox WHERE done_at IS NULL) "
                    "+ (SELECT count(*) FROM pending_action)",
                )
                return bool(left) and left[0][0] == 0

            await bot.until("the outbox and pending clicks to empty", settled, seconds=180)
        finally:
            for task in reps:
                task.cancel()
            stop_killing.set()
            await serve.stop()
    assert serve.blows["kill"] + serve.blows["term"] >= 5

    # Every message once.
    stored = await rows(engine, "SELECT kind, count(*) FROM inbound_message GROUP BY kind")
    assert dict(stored) == {"new_intro": INTROS}
    referrals = await rows(engine, "SELECT ref, id, owner, stage FROM referral ORDER BY id")
    assert [(r.ref, r.owner, r.stage) for r in referrals] == [
        (f"ACME-{n}", f"U0REP{n:02d}", "meeting") for n in range(1, INTROS + 1)
    ]
    # Every acknowledged click applied, once: one claim and one move to a meeting each.
    events = await rows(engine, "SELECT referral_id, kind, detail FROM event ORDER BY id")
    by_referral: dict[int, list[str]] = {}
    for event in events:
        by_referral.setdefault(event.referral_id, []).append(event.kind)
    for referral in referrals:
        kinds = Counter(by_referral[referral.id])
        assert kinds["claimed"] == 1 and kinds["stage_changed"] == 1, (referral.ref, kinds)
    assert {ref for ref, _ in clicks} == {r.ref for r in referrals}

    # Every post and thread line once.
    for referral in referrals:
        posts = [
            key
            for key, m in slack.messages.items()
            if not m.get("thread_ts") and _names(m, referral.ref)
        ]
        assert len(posts) == 1, (referral.ref, posts)
        threaded = [k for k in by_referral[referral.id] if k in THREADED_EVENTS]
        assert len(slack.thread(*posts[0])) == len(threaded), referral.ref

    # Every email once: none twice, none unrecorded, and every recorded one delivered but a
    # mail a kill caught between marking it `sending` and the server's taking it: that one is
    # `unknown` and never sent again, as the server may have it (README: "The SMTP server hangs
    # up or answers late"). A blow catches at most the one mail being handed over.
    mails = await rows(engine, "SELECT message_id, status, kind, error FROM mail ORDER BY id")
    # To Dana, per referral: its receipt, who owns it, and its meeting notice.
    assert Counter(m.kind for m in mails) == {"receipt": 2 * INTROS, "stage": INTROS}
    assert {m.status for m in mails} <= {"sent", "unknown"}
    delivered = Counter(str(d.message["Message-ID"]).strip("<>") for d in smtp.inbox.received)
    assert set(delivered.values()) == {1}, delivered
    assert set(delivered) <= {m.message_id for m in mails}
    undelivered = [m for m in mails if m.message_id not in delivered]
    for m in undelivered:
        assert m.status == "unknown" and "stopped while handing it over" in m.error, m
    assert len(undelivered) <= serve.blows["kill"] + serve.blows["term"], undelivered


def _names(message: dict[str, Any], ref: str) -> bool:
    """Whether a channel post is `ref`'s (ACME-1 is not ACME-12's)."""
    text = message.get("text") or ""
    at = text.find(ref)
    return at >= 0 and not text[at + len(ref) : at + len(ref) + 1].isdigit()
