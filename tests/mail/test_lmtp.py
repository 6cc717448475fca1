"""Mail handed to `handoff serve` over LMTP (issue 21, part 3): one reply per recipient, 250
only once the message and its referral are committed, 451 while the database is away."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import load_settings
from bot.wiring import serve
from tests.support.dovecot import Dovecot
from tests.support.handoff import Handoff
from tests.support.imap import count, intro, serving, until
from tests.support.lmtp import LmtpClient
from tests.support.messages import message
from tests.support.outage import database_away
from tests.support.ports import free_port

SENDER = "dana@acmeconsulting.example"
# The partner address only in RCPT TO; lines ending in CRLF, as on the wire.
BCC = (
    message(cc="Sam Rivera <sam.rivera@ours.example>")
    .replace(b"\r\n", b"\n")
    .replace(b"\n", b"\r\n")
)


@asynccontextmanager
async def lmtp_serving(engine: AsyncEngine, **overrides: object) -> AsyncIterator[str]:
    """`handoff serve` taking LMTP on a loopback port (or the socket given); yields where."""
    listen = str(overrides.pop("lmtp_listen", f"127.0.0.1:{free_port()}"))
    settings = load_settings(lmtp_listen=listen, **overrides)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(settings, engine, stop=stop))

    async def listening() -> bool:
        if task.done():
            task.result()  # serve failed: say why
        try:
            client = await _connect(listen)
        except OSError:
            return False
        await client.close()
        return True

    try:
        await until(listening, f"LMTP on {listen}")
        yield listen
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)


async def _connect(listen: str) -> LmtpClient:
    if listen.startswith("/"):
        return await LmtpClient.connect(path=listen)
    host, _, port = listen.rpartition(":")
    return await LmtpClient.connect(host, int(port))


async def rows(engine: AsyncEngine, sql: str) -> list[sa.Row[object]]:
    async with engine.connect() as conn:
        return list(await conn.execute(sa.text(sql)))


async def test_a_bcc_intro_is_attributed_from_rcpt_to_and_committed_before_250(
    engine: AsyncEngine, scenario: Handoff
) -> None:
    async with lmtp_serving(engine) as listen:
        client = await _connect(listen)
        sent = await client.send(BCC, SENDER, ["partners+acme@ours.example"])
        # Committed before the answer: read at once, no waiting.
        referrals = await rows(engine, "SELECT ref, prospect_email FROM referral")
        stored = await rows(engine, "SELECT kind, raw FROM inbound_message")
        await client.close()
    assert sent.rcpt == ["250 2.1.5 OK"]
    assert sent.data == ["250 2.0.0 stored as new_intro (ACME-1)"]
    assert [(r.ref, r.prospect_email) for r in referrals] == [("ACME-1", "jane.doe@hooli.example")]
    [(kind, raw)] = stored
    assert kind == "new_intro"
    assert bytes(raw).startswith(
        f"Return-Path: <{SENDER}>\r\nDelivered-To: partners+acme@ours.example\r\n".encode()
    )
    assert bytes(raw).endswith(BCC)  # the message itself, byte for byte


async def test_each_recipient_gets_its_own_reply_and_the_message_is_stored_once(
    engine: AsyncEngine, scenario: Handoff
) -> None:
    async with lmtp_serving(engine) as listen:
        client = await _connect(listen)
        recipients = ["partners+acme@ours.example", "partners@ours.example", "nobody@ours.example"]
        sent = await client.send(BCC, SENDER, recipients)
        again = await client.send(BCC, SENDER, ["partners+acme@ours.example"])  # an MTA's retry
        await client.close()
        stored = await rows(engine, "SELECT kind FROM inbound_message ORDER BY id")
    assert sent.rcpt == ["250 2.1.5 OK"] * 3
    assert sent.data == ["250 2.0.0 stored as new_intro (ACME-1)"] * 3
    assert again.data == ["250 2.0.0 stored as duplicate (ACME-1)"]
    assert [r.kind for r in stored] == ["new_intro", "duplicate"]
    assert await count(engine, "SELECT count(*) FROM referral") == 1


async def test_unknown_recipients_go_to_triage_or_are_refused_when_asked(
    engine: AsyncEngine, scenario: Handoff
) -> None:
    stray = message(cc=None, to="Jane Doe <jane.doe@hooli.example>")
    async with lmtp_serving(engine) as listen:
        client = await _connect(listen)
        kept = await client.send(stray, SENDER, ["someone@ours.example"])
        await client.close()
    assert kept.data == ["250 2.0.0 stored as unknown_partner"]
    async with lmtp_serving(engine, lmtp_reject_unknown=True) as listen:
        client = await _connect(listen)
        refused = await client.send(
            message(cc=None), SENDER, ["someone@ours.example", "partners+acme@ours.example"]
        )
        await client.close()
    assert refused.rcpt == [
        "550 5.1.1 <someone@ours.example>: no partner address or mailbox here",
        "250 2.1.5 OK",
    ]
    assert refused.data == ["250 2.0.0 stored as new_intro (ACME-1)"]


async def test_an_lmtp_intro_seen_again_over_imap_is_stored_once(
    engine: AsyncEngine, scenario: Handoff, dovecot_server: Dovecot, user: str
) -> None:
    raw = intro(1)
    async with lmtp_serving(engine) as listen:
        client = await _connect(listen)
        sent = await client.send(raw, SENDER, ["partners+acme@ours.example"])
        await client.close()
    assert sent.data[0].startswith("250 2.0.0 stored as new_intro")
    async with serving(engine, dovecot_server.url(user)):
        uid = await dovecot_server.append(user, raw)

        async def read() -> bool:
            return (
                await count(engine, f"SELECT count(*) FROM imap_folder WHERE last_uid >= {uid}")
                == 1
            )

        await until(read, "the watcher to have read the IMAP copy")
    kinds = await rows(engine, "SELECT kind FROM inbound_message ORDER BY id")
    # Read and known: kept once more as a duplicate, or recognised at once as stored.
    assert [k.kind for k in kinds] in (["new_intro"], ["new_intro", "duplicate"])
    assert await count(engine, "SELECT count(*) FROM referral") == 1


async def test_a_unix_socket_and_the_size_limit_answer_per_recipient(
    engine: AsyncEngine, scenario: Handoff, tmp_path: Path
) -> None:
    socket_path = str(tmp_path / "lmtp.sock")
    async with lmtp_serving(engine, lmtp_listen=socket_path, lmtp_max_bytes=4096) as listen:
        client = await _connect(listen)
        big = message(cc=None, body=("x" * 70 + "\n") * 100)
        too_big = await client.send(big, SENDER, ["partners+acme@ours.example"] * 2)
        fits = await client.send(message(cc=None), SENDER, ["partners+acme@ours.example"])
        long_line = message(cc=None, to="Ann <ann@initrode.example>", body="y" * 3000 + "\n")
        kept = await client.send(long_line, SENDER, ["partners+acme@ours.example"])
        await client.close()
    assert too_big.data == ["552 Error: Too much mail data"] * 2
    assert fits.data == ["250 2.0.0 stored as new_intro (ACME-1)"]
    # A line past RFC 5321's 1,000 octets (real mail has them) is taken, not refused.
    assert kept.data == ["250 2.0.0 stored as new_intro (ACME-2)"]


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_while_the_database_is_away_every_recipient_hears_451_and_nothing_is_lost(
    engine: AsyncEngine, scenario: Handoff
) -> None:
    async with lmtp_serving(engine) as listen:
        client = await _connect(listen)
        async with database_away(engine):
            away = await client.send(BCC, SENDER, ["partners+acme@ours.example"] * 2)
        back = await client.send(BCC, SENDER, ["partners+acme@ours.example"])
        await client.close()
    reason = "451 4.3.0 Handoff could not store the message now; try again later"
    assert away.data == [reason, reason]
    assert back.data == ["250 2.0.0 stored as new_intro (ACME-1)"]
    stored = await rows(engine, "SELECT kind FROM inbound_message")
    assert [r.kind for r in stored] == ["new_intro"]
