"""A bad day at intake (issue 19): mail that once stopped or lost intake, as users send it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import db
from bot.email.parse import ParsedMessage, parse
from bot.intake import pipeline, store
from bot.intake.pipeline import Intake
from bot.referrals.directory import Directory
from tests.support.messages import message, write

FIXTURES = Path(__file__).parent.parent / "fixtures" / "intake"


def _with_attachment(filename: bytes) -> bytes:
    """An intro with a text attachment whose name is written raw, as some clients do."""
    intro = message(message_id="<notes-1@acmeconsulting.example>").decode()
    head, body = intro.split("\r\n\r\n", 1)
    head = head.replace(
        'Content-Type: text/plain; charset="UTF-8"', 'Content-Type: multipart/mixed; boundary="b"'
    )
    parts = (
        f'--b\r\nContent-Type: text/plain; charset="UTF-8"\r\n\r\n{body}\r\n'
        '--b\r\nContent-Type: text/plain; charset="UTF-8"\r\n'
    ).encode()
    parts += b'Content-Disposition: attachment; filename="' + filename + b'"\r\n\r\n'
    parts += b"Jane wants the pilot in Q1.\r\n--b--\r\n"
    return head.encode() + b"\r\n\r\n" + parts


def test_a_raw_utf8_attachment_name_keeps_the_intro(scenario, tmp_path) -> None:  # type: ignore[no-untyped-def]
    raw = _with_attachment("Notizen für Jane.txt".encode())
    [result] = scenario.ingest(write(tmp_path, "notes.eml", raw))
    assert (result["kind"], result["referral"]) == ("new_intro", "ACME-1")
    assert result["message_id"] == "notes-1@acmeconsulting.example"
    shown = scenario.json("referrals", "show", "ACME-1")
    assert shown["prospect"]["email"] == "jane.doe@hooli.example"  # type: ignore[index]
    assert shown["intro_message_id"] == "notes-1@acmeconsulting.example"  # type: ignore[index]


def _mangled(raw: bytes, rng: random.Random) -> bytes:
    """One of the ways mail arrives broken: raw 8-bit bytes, cut short, doubled, scrambled."""
    cut = rng.randrange(len(raw))
    junk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40)))
    return rng.choice(
        [
            raw[:cut],
            raw[:cut] + junk + raw[cut:],
            raw[:cut] + "für Jøhn «x» \u00e9".encode() + raw[cut:],
            raw.replace(b"\n", b"\r", rng.randrange(1, 50)),
            raw[cut:] + raw[:cut],
            raw.replace(b": ", b": " + junk, 3),
            raw + b"\r\n--" + junk + b"\r\n" + raw,
        ]
    )


def test_parse_never_raises_on_broken_mail() -> None:
    rng = random.Random(19)
    samples = [p.read_bytes() for p in sorted(FIXTURES.glob("*.eml"))]
    samples.append(_with_attachment("Notizen für Jane.txt".encode()))
    samples.append(_with_attachment(b"\xff\xfe caf\xe9 \x00.txt"))
    assert len(samples) > 20
    for n in range(3000):
        raw = _mangled(rng.choice(samples), rng)
        assert isinstance(parse(raw), ParsedMessage), n


def test_hostile_bodies_read_the_way_plain_ones_do(scenario, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # Lines that look like forward markers or forwarded headers, a quarter of a megabyte of
    # them, around a plain intro: read once each, and the intro is still the intro.
    filler = {
        "underscores": "__________\n",
        "from-lines": "From: x\n",
        "markers": "---------- Forwarded message ---------\n",
    }
    for n, (name, line) in enumerate(filler.items()):
        body = "Sam, meet Jane, Hooli's head of data.\n\n" + line * (256 * 1024 // len(line))
        raw = message(subject="Fwd: Jane (Hooli)", body=body, to=f"jane{n}@hooli.example")
        [result] = scenario.ingest(write(tmp_path, f"{name}.eml", raw))
        assert (result["kind"], result["referral"]) == ("new_intro", f"ACME-{n + 1}"), name


def test_ten_thousand_tiny_parts_are_read_up_to_a_thousand(scenario, tmp_path) -> None:  # type: ignore[no-untyped-def]
    intro = message().decode()
    head, body = intro.split("\r\n\r\n", 1)
    head = head.replace(
        'Content-Type: text/plain; charset="UTF-8"', 'Content-Type: multipart/mixed; boundary="b"'
    )
    parts = f'--b\r\nContent-Type: text/plain; charset="UTF-8"\r\n\r\n{body}\r\n'
    parts += "--b\r\nContent-Type: text/plain\r\n\r\nx\r\n" * 10_000 + "--b--\r\n"
    raw = (head + "\r\n\r\n" + parts).encode()
    parsed = parse(raw)
    assert "more than 1,000 MIME parts: the first 1,000 read" in parsed.defects
    [result] = scenario.ingest(write(tmp_path, "parts.eml", raw))
    assert (result["kind"], result["referral"]) == ("new_intro", "ACME-1")


async def test_parsing_leaves_the_event_loop_free(
    engine: AsyncEngine, directory: Directory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # While a message is parsed, the loop goes on (Slack's acks, /healthz): the parse below
    # can only finish once the loop has run a callback of this test.
    loop_ran = threading.Event()

    def parse_once_the_loop_ran(raw: bytes) -> ParsedMessage:
        assert loop_ran.wait(30), "the event loop stood still while a message was parsed"
        return parse(raw)

    monkeypatch.setattr(store, "parse", parse_once_the_loop_ran)
    async with Intake.open(
        engine=engine, directory=directory, protection=timedelta(days=90)
    ) as intake:
        ingesting = asyncio.create_task(intake.ingest(message()))
        asyncio.get_running_loop().call_soon(loop_ran.set)
        result = await ingesting
    assert (result.kind, result.referral) == ("new_intro", "ACME-1")


async def test_a_database_blip_mid_message_is_retried_with_its_arrival_time(
    engine: AsyncEngine,
    directory: Directory,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The first try of the message loses its database: on PostgreSQL its connection is
    # killed mid-transaction; on SQLite another writer holds the lock past the busy timeout.
    caplog.set_level(logging.INFO, logger="bot.intake.pipeline")
    monkeypatch.setattr(db, "BUSY_TIMEOUT_MS", 50)
    arrival = datetime(2026, 11, 16, 17, 12, 30, tzinfo=UTC)
    tries = 0
    process = pipeline.process

    async def process_after_a_blip(*, conn, message, intake):  # type: ignore[no-untyped-def]
        nonlocal tries
        tries += 1
        if tries == 1 and conn.dialect.name == "postgresql":
            await conn.execute(sa.text("SELECT pg_terminate_backend(pg_backend_pid())"))
        return await process(conn=conn, message=message, intake=intake)

    monkeypatch.setattr(pipeline, "process", process_after_a_blip)
    async with contextlib.AsyncExitStack() as held:
        if engine.dialect.name == "sqlite":
            other = await held.enter_async_context(engine.connect())
            await other.exec_driver_sql("BEGIN IMMEDIATE")  # the write lock, until let go
        async with Intake.open(
            engine=engine, directory=directory, protection=timedelta(days=90)
        ) as intake:
            ingesting = asyncio.create_task(intake.ingest(message(), arrival_at=arrival))
            while not any("trying again" in r.getMessage() for r in caplog.records):
                assert not ingesting.done(), ingesting.result()
                await asyncio.sleep(0.01)
            if engine.dialect.name == "sqlite":
                await other.rollback()
            result = await ingesting
    assert (result.kind, result.referral) == ("new_intro", "ACME-1")
    async with engine.connect() as conn:
        stored = (await conn.execute(sa.text("SELECT kind, arrival_at FROM inbound_message"))).all()
        received = await conn.scalar(sa.text("SELECT received_at FROM referral"))
    assert [row[0] for row in stored] == ["new_intro"]
    assert _utc(stored[0][1]) == arrival and _utc(received) == arrival


def _utc(value: object) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
