"""Mail posted by Mailgun, SendGrid and Postmark (issue 21, part 3): verified before it is read,
stored before it is answered 200, a retryable status when it cannot be, once on retries."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import load_settings
from bot.wiring import serve
from tests.support.handoff import Handoff
from tests.support.imap import count, until
from tests.support.messages import message
from tests.support.outage import database_away
from tests.support.ports import free_port

KEY = "key-mailgun-signing-0123456789"
SENDGRID = "parse:sendgrid-Pass-1"
POSTMARK = "inbound:postmark-Pass-2"
# The partner address only in the envelope, as with a Bcc; CRLF line ends, as on the wire.
BCC = (
    message(cc="Sam Rivera <sam.rivera@ours.example>")
    .replace(b"\r\n", b"\n")
    .replace(b"\n", b"\r\n")
)
PARTNER = "partners+acme@ours.example"


@asynccontextmanager
async def posting(engine: AsyncEngine, **overrides: object) -> AsyncIterator[str]:
    """`handoff serve` with the inbound routes given; yields its base URL."""
    port = free_port()
    settings = load_settings(port=port, host="127.0.0.1", **overrides)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(settings, engine, stop=stop))
    base = f"http://127.0.0.1:{port}"

    async def up() -> bool:
        if task.done():
            task.result()
        try:
            async with aiohttp.ClientSession() as http, http.get(f"{base}/healthz") as r:
                return r.status == 200
        except aiohttp.ClientError:
            return False

    try:
        await until(up, "serve's HTTP port")
        yield base
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)


def mailgun_form(raw: bytes | None, *, key: str = KEY, age: float = 0) -> aiohttp.FormData:
    """A route's post as Mailgun makes it: multipart, signed over timestamp + token."""
    timestamp, token = str(int(time.time() - age)), secrets.token_hex(25)
    signature = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    form = aiohttp.FormData()
    for name, value in (
        ("timestamp", timestamp),
        ("token", token),
        ("signature", signature),
        ("recipient", PARTNER),
        ("sender", "dana@acmeconsulting.example"),
    ):
        form.add_field(name, value)
    if raw is not None:
        form.add_field("body-mime", raw, content_type="message/rfc822", filename="message.mime")
    return form


def basic(user: str, password: str) -> dict[str, str]:
    """The Authorization header a URL's user:password becomes (RFC 7617)."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


async def post(url: str, **kwargs: object) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.post(url, **kwargs) as r:  # type: ignore[arg-type]
        return r.status, await r.text()


async def kinds(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        return [
            r[0]
            for r in await conn.execute(sa.text("SELECT kind FROM inbound_message ORDER BY id"))
        ]


async def test_mailgun_posts_are_verified_stored_before_200_and_once(
    engine: AsyncEngine, scenario: Handoff
) -> None:
    async with posting(engine, mailgun_signing_key=KEY) as base:
        url = f"{base}/inbound/mailgun?format=mime"
        assert (await post(url, data=mailgun_form(BCC, key="not-the-key")))[0] == 401
        assert (await post(url, data=mailgun_form(BCC, age=13 * 3600)))[0] == 401
        assert await kinds(engine) == []  # refused before anything was read or stored
        status, text = await post(url, data=mailgun_form(BCC))
        # Stored before the answer: the referral is there as soon as the 200 is.
        assert await count(engine, "SELECT count(*) FROM referral") == 1
        again = await post(url, data=mailgun_form(BCC))  # Mailgun's retry
        parsed_only = await post(url, data=mailgun_form(None))
    assert (status, json.loads(text)) == (200, {"stored": "new_intro", "referral": "ACME-1"})
    assert json.loads(again[1]) == {"stored": "duplicate", "referral": "ACME-1"}
    assert parsed_only[0] == 406  # a route not ending in mime: Mailgun must not retry it
    assert await kinds(engine) == ["new_intro", "duplicate"]


async def test_sendgrid_needs_its_basic_auth_and_reads_the_envelope(
    engine: AsyncEngine, scenario: Handoff
) -> None:
    user, password = SENDGRID.split(":")

    def form() -> aiohttp.FormData:
        data = aiohttp.FormData()
        data.add_field("email", BCC.decode())
        data.add_field("envelope", json.dumps({"to": [PARTNER], "from": "dana@x.example"}))
        data.add_field("to", "Jane Doe <jane.doe@hooli.example>")
        return data

    async with posting(engine, sendgrid_basic_auth=SENDGRID) as base:
        url = f"{base}/inbound/sendgrid"
        refused = await post(url, data=form())
        wrong = await post(url, data=form(), headers=basic(user, "guess"))
        taken = await post(url, data=form(), headers=basic(user, password))
        missing = await post(f"{base}/inbound/postmark", json={})
    assert (refused[0], wrong[0]) == (401, 401)
    assert json.loads(taken[1]) == {"stored": "new_intro", "referral": "ACME-1"}
    assert missing[0] == 404  # Postmark's route is off: no secret set for it
    assert await kinds(engine) == ["new_intro"]


async def test_postmark_posts_the_raw_email_in_json(engine: AsyncEngine, scenario: Handoff) -> None:
    user, password = POSTMARK.split(":")
    auth = basic(user, password)
    payload = {
        "From": "dana@acmeconsulting.example",
        "OriginalRecipient": PARTNER,
        "Subject": "Intro: Jane (Hooli) <> Sam (Ours)",
        "MessageID": "b7bc2f4a-e38e-4336-af7d-e6c392c2f817",
        "RawEmail": BCC.decode(),
    }
    async with posting(engine, postmark_basic_auth=POSTMARK) as base:
        url = f"{base}/inbound/postmark"
        taken = await post(url, json=payload, headers=auth)
        without_raw = await post(url, json={**payload, "RawEmail": None}, headers=auth)
    assert json.loads(taken[1]) == {"stored": "new_intro", "referral": "ACME-1"}
    assert without_raw[0] == 422  # retried by Postmark until the raw content is turned on
    async with engine.connect() as conn:
        raw = (await conn.execute(sa.text("SELECT raw FROM inbound_message"))).scalar_one()
    assert bytes(raw) == f"Delivered-To: {PARTNER}\r\n".encode() + BCC


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_a_post_that_cannot_be_stored_is_answered_503(
    engine: AsyncEngine, scenario: Handoff
) -> None:
    async with posting(engine, mailgun_signing_key=KEY) as base:
        url = f"{base}/inbound/mailgun?format=mime"
        async with database_away(engine):
            away = await post(url, data=mailgun_form(BCC))
        back = await post(url, data=mailgun_form(BCC))
    assert away[0] == 503
    assert json.loads(back[1]) == {"stored": "new_intro", "referral": "ACME-1"}
    assert await kinds(engine) == ["new_intro"]
