"""The IMAP watcher against a real Dovecot: intros appended to a mailbox become referrals."""

from __future__ import annotations

import asyncio
import logging
import os
import random
import signal
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import load_settings
from bot.db import create_engine
from bot.mail.imap import ImapConnection
from bot.mail.watcher import FolderWatcher
from bot.wiring import watch_settings
from tests.support.dovecot import PASSWORD, Dovecot
from tests.support.handoff import Handoff
from tests.support.imap import count, intro, referrals_reach, serving, until
from tests.support.messages import message
from tests.support.paths import ROOT


async def test_an_appended_intro_becomes_a_referral_with_its_arrival_time(
    engine: AsyncEngine, scenario: Handoff, dovecot_server: Dovecot, user: str
) -> None:
    arrived = datetime(2026, 11, 20, 8, 30, 5, tzinfo=UTC)
    async with serving(engine, dovecot_server.url(user)):
        uid = await dovecot_server.append(user, intro(1), when=arrived)
        await referrals_reach(engine, 1)
    shown = await asyncio.to_thread(scenario.json, "referrals", "show", "ACME-1")
    assert shown["prospect"]["email"] == "p1@prospect1.example"  # type: ignore[index]
    assert shown["received_at"].startswith("2026-11-20T08:30:05")  # type: ignore[index]
    async with engine.connect() as conn:
        source = (await conn.execute(sa.text("SELECT source FROM inbound_message"))).scalar_one()
    assert source.endswith(f";UID={uid}") and "/INBOX;UIDVALIDITY=" in source
    # Nothing destructive by default: not even \Seen (the watcher fetches with BODY.PEEK).
    assert "\\Seen" not in dovecot_server.flags(user, uid)
    assert dovecot_server.uids(user) == [uid]


async def test_mail_that_arrived_while_stopped_is_caught_up_oldest_first(
    engine: AsyncEngine, scenario: Handoff, dovecot_server: Dovecot, user: str
) -> None:
    url = dovecot_server.url(user)
    async with serving(engine, url):
        await dovecot_server.append(user, intro(1))
        await referrals_reach(engine, 1)
    for n in (2, 3, 4):  # a weekend's worth, while Handoff is down
        await dovecot_server.append(user, intro(n))
    async with serving(engine, url):
        await referrals_reach(engine, 4)
        await asyncio.sleep(0.3)  # nothing more may come
    rows = await asyncio.to_thread(scenario.json, "referrals", "list")
    assert [(r["ref"], r["prospect"]["email"]) for r in rows] == [  # type: ignore[index]
        (f"ACME-{n}", f"p{n}@prospect{n}.example") for n in (1, 2, 3, 4)
    ]
    assert await count(engine, "SELECT count(*) FROM inbound_message") == 4


async def test_a_dovecot_restart_during_idle_costs_one_log_line_and_no_mail(
    engine: AsyncEngine,
    scenario: Handoff,
    dovecot_factory: Callable[..., Dovecot],
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = dovecot_factory()
    user = "partners@ours.example"
    server.add_user(user)
    caplog.set_level(logging.INFO)
    async with serving(engine, server.url(user)):
        await server.append(user, intro(1))
        await referrals_reach(engine, 1)
        await asyncio.to_thread(server.stop)  # the watcher is in IDLE now
        await asyncio.sleep(1.5)  # a few reconnects fail meanwhile
        await asyncio.to_thread(server.start)
        await server.append(user, intro(2))
        await referrals_reach(engine, 2)
    outages = [r for r in caplog.records if "reconnecting" in r.getMessage()]
    assert len(outages) == 1, [r.getMessage() for r in outages]
    assert any("back after" in r.getMessage() for r in caplog.records)
    assert await count(engine, "SELECT count(*) FROM inbound_message") == 2


async def test_a_recreated_folder_is_read_again_without_duplicates(
    engine: AsyncEngine, scenario: Handoff, dovecot_server: Dovecot, user: str
) -> None:
    folder = "Partner Intros"
    dovecot_server.create_folder(user, folder)
    first = [intro(1), intro(2)]
    async with serving(engine, dovecot_server.url(user, folder)):
        for raw in first:
            await dovecot_server.append(user, raw, folder)
        await referrals_reach(engine, 2)
    validity = await _uidvalidity(engine)
    # Restored from a backup: same messages, new folder, new UIDVALIDITY; plus one new intro.
    dovecot_server.delete_folder(user, folder)
    dovecot_server.create_folder(user, folder)
    for raw in [*first, intro(3)]:
        await dovecot_server.append(user, raw, folder)
    async with serving(engine, dovecot_server.url(user, folder)):
        await referrals_reach(engine, 3)
        await asyncio.sleep(0.3)
    assert await _uidvalidity(engine) != validity
    assert await count(engine, "SELECT count(*) FROM inbound_message") == 3
    assert await count(engine, "SELECT count(*) FROM referral") == 3


async def _uidvalidity(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(
            (await conn.execute(sa.text("SELECT uidvalidity FROM imap_folder"))).scalar_one()
        )


async def test_a_25_mb_message_is_stored_whole(
    engine: AsyncEngine, scenario: Handoff, dovecot_server: Dovecot, user: str
) -> None:
    # A deck attached to the intro, base64 in 76-character lines as mail clients send it.
    line = "QUJD" * 19
    attachment = "\r\n".join([line] * (25 * 1024 * 1024 // 78))
    raw = message(
        to="Prospect 9 <p9@prospect9.example>",
        headers={"Content-Type": 'multipart/mixed; boundary="b1"'},
        body=(
            "--b1\r\nContent-Type: text/plain\r\n\r\nSam, meet Prospect 9.\r\n"
            "--b1\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n"
            'Content-Disposition: attachment; filename="deck.pdf"\r\n\r\n'
            f"{attachment}\r\n--b1--\r\n"
        ),
    ).replace(b'Content-Type: text/plain; charset="UTF-8"\r\n\r\n', b"\r\n", 1)
    assert len(raw) > 25_000_000
    async with serving(engine, dovecot_server.url(user)):
        await dovecot_server.append(user, raw)
        await referrals_reach(engine, 1, seconds=60)
    assert await count(engine, "SELECT size FROM inbound_message") == len(raw)
    async with engine.connect() as conn:
        stored = (await conn.execute(sa.text("SELECT raw FROM inbound_message"))).scalar_one()
    assert bytes(stored) == raw


async def test_a_server_without_idle_is_polled(
    engine: AsyncEngine, scenario: Handoff, dovecot_factory: Callable[..., Dovecot]
) -> None:
    server = dovecot_factory(idle=False)
    user = "partners@ours.example"
    server.add_user(user)
    target = load_settings(imap_url=server.url(user)).imap_targets[0]
    async with ImapConnection.open(target, seconds=5) as conn:
        assert not conn.has("IDLE") and conn.has("MOVE")
    async with serving(engine, server.url(user), imap_poll_seconds=1):
        await server.append(user, intro(1))
        await referrals_reach(engine, 1, seconds=10)
        await server.append(user, intro(2))
        await referrals_reach(engine, 2, seconds=10)


@pytest.mark.parametrize("scheme", ["imaps", "imap"])
async def test_tls_from_the_start_or_by_starttls(
    engine: AsyncEngine,
    scenario: Handoff,
    dovecot_factory: Callable[..., Dovecot],
    monkeypatch: pytest.MonkeyPatch,
    scheme: str,
) -> None:
    server = dovecot_factory(tls=True)
    user = "partners@ours.example"
    server.add_user(user)
    monkeypatch.setenv("SSL_CERT_FILE", str(server.cert))  # our private CA, as an operator would
    target = load_settings(imap_url=server.url(user, scheme=scheme)).imap_targets[0]
    async with ImapConnection.open(target, seconds=5) as conn:
        assert conn.client is not None
        assert conn.client.protocol.transport.get_extra_info("ssl_object") is not None
    async with serving(engine, server.url(user, scheme=scheme)):
        await server.append(user, intro(1))
        await referrals_reach(engine, 1)


def test_an_untrusted_certificate_stops_serve_at_start_up(
    db_url: str, handoff: Handoff, dovecot_factory: Callable[..., Dovecot]
) -> None:
    server = dovecot_factory(tls=True)
    server.add_user("partners@ours.example")
    os.environ["HANDOFF_IMAP_URL"] = server.url("partners@ours.example", scheme="imaps")
    try:
        handoff("serve", expect=2)
    finally:
        del os.environ["HANDOFF_IMAP_URL"]
    assert "HANDOFF_IMAP_URL: TLS certificate of localhost not trusted" in handoff.err
    assert len(handoff.err.strip().splitlines()) == 1


def test_wrong_password_stops_serve_at_start_up_naming_the_setting(
    db_url: str,
    handoff: Handoff,
    dovecot_server: Dovecot,
    user: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = dovecot_server.url(user).replace(quote(PASSWORD, safe=""), "wrong")
    monkeypatch.setenv("HANDOFF_IMAP_URL", url)
    handoff("serve", expect=2)
    assert handoff.err.startswith("handoff: HANDOFF_IMAP_URL: ")
    assert "refused the login" in handoff.err and user in handoff.err
    assert "wrong" not in handoff.err  # never the password
    assert len(handoff.err.strip().splitlines()) == 1


def test_a_missing_folder_stops_serve_at_start_up(
    db_url: str,
    handoff: Handoff,
    dovecot_server: Dovecot,
    user: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HANDOFF_IMAP_URL", dovecot_server.url(user, "Nope"))
    handoff("serve", expect=2)
    assert "HANDOFF_IMAP_URL: folder 'Nope' not found" in handoff.err
    monkeypatch.setenv("HANDOFF_IMAP_URL", dovecot_server.url(user))
    monkeypatch.setenv("HANDOFF_IMAP_MOVE_TO", "Done")
    handoff("serve", expect=2)
    assert "HANDOFF_IMAP_MOVE_TO: folder 'Done' not found" in handoff.err


def test_serve_without_a_mailbox_or_slack_says_what_to_set(db_url: str, handoff: Handoff) -> None:
    handoff("serve", expect=2)
    assert handoff.err == (
        "handoff: SLACK_BOT_TOKEN, HANDOFF_IMAP_URL and HANDOFF_LMTP_LISTEN: none is set, "
        "so there is nothing to serve (see README, quick start)\n"
    )


async def test_processed_mail_can_be_moved_to_a_folder(
    engine: AsyncEngine, scenario: Handoff, dovecot_server: Dovecot, user: str
) -> None:
    done = "Traités"  # not ASCII: names travel in modified UTF-7 (RFC 3501 section 5.1.3)
    await asyncio.to_thread(dovecot_server.create_folder, user, done)
    async with serving(engine, dovecot_server.url(user), imap_move_to=done):
        for n in (1, 2):
            await dovecot_server.append(user, intro(n))
        await referrals_reach(engine, 2)

        async def moved() -> bool:
            inbox = await asyncio.to_thread(dovecot_server.uids, user)
            return not inbox and len(await asyncio.to_thread(dovecot_server.uids, user, done)) == 2

        await until(moved, "both messages moved")


async def test_two_replicas_one_watcher_and_a_takeover(
    db_url: str, scenario: Handoff, dovecot_server: Dovecot, user: str
) -> None:
    target = load_settings(imap_url=dovecot_server.url(user)).imap_targets[0]
    options = watch_settings(load_settings())
    options = type(options)(**{**options.__dict__, "lock_retry_seconds": 0.2})
    engines = [create_engine(db_url), create_engine(db_url)]
    seen: list[list[str]] = [[], []]
    replicas = [
        asyncio.create_task(
            FolderWatcher(
                target,
                engine=engines[i],
                settings=options,
                observer=lambda results, i=i: seen[i].extend(str(r.kind) for r in results),
            ).run()
        )
        for i in (0, 1)
    ]
    try:
        for n in range(1, 6):
            await dovecot_server.append(user, intro(n))
        await referrals_reach(engines[0], 5)
        assert sorted(len(s) for s in seen) == [0, 5]  # one replica did all the work
        holder = 0 if seen[0] else 1
        replicas[holder].cancel()  # it dies; the other takes over
        for n in range(6, 9):
            await dovecot_server.append(user, intro(n))
        await referrals_reach(engines[0], 8)
        assert len(seen[1 - holder]) == 3
        assert await count(engines[0], "SELECT count(*) FROM inbound_message") == 8
    finally:
        for task in replicas:
            task.cancel()
        await asyncio.gather(*replicas, return_exceptions=True)
        for e in engines:
            await e.dispose()


async def test_killed_at_any_moment_every_message_is_processed_exactly_once(
    db_url: str, scenario: Handoff, dovecot_server: Dovecot, user: str, tmp_path: Path
) -> None:
    """SIGKILL `handoff serve` again and again while mail arrives; then check the ledger."""
    env = {
        **os.environ,
        "HANDOFF_DATABASE_URL": db_url,
        "HANDOFF_IMAP_URL": dovecot_server.url(user),
        "PYTHONPATH": str(ROOT),
    }
    log = (tmp_path / "serve.log").open("wb")

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "serve"], env=env, stderr=log, stdout=log
        )

    total, rng = 40, random.Random(7)
    process = start()
    try:
        for n in range(1, total + 1):
            await dovecot_server.append(user, intro(n))
            if n % 8 == 0:
                await asyncio.sleep(rng.uniform(0.05, 1.2))  # mid-fetch, mid-commit, mid-idle
                process.send_signal(signal.SIGKILL)
                process.wait()
                log.write(b"killed\n")
                log.flush()
                process = start()
        engine = create_engine(db_url)
        try:
            await referrals_reach(engine, total, seconds=60)
            await asyncio.sleep(0.5)
            assert await count(engine, "SELECT count(*) FROM inbound_message") == total
            ids = await count(engine, "SELECT count(DISTINCT message_id) FROM inbound_message")
            assert ids == total
            assert await count(engine, "SELECT count(*) FROM referral") == total
            assert await count(engine, "SELECT max(last_uid) FROM imap_folder") == total
        finally:
            await engine.dispose()
    finally:
        log.close()

        async def watching() -> bool:
            return "watching 1 folder" in (tmp_path / "serve.log").read_text().split("killed")[-1]

        await until(watching, "the last start to finish")
        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == 0  # and a SIGTERM stops it cleanly
