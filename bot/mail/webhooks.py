"""Mail posted to Handoff by the mail services SaaS teams use: Mailgun routes, SendGrid Inbound
Parse and Postmark inbound webhooks, under /inbound/ on serve's HTTP port.

Each request is checked before the message in it is read (Mailgun's HMAC signature, or the basic
auth the URL carries for SendGrid and Postmark), stored with all it causes before it is answered
200 (bot/intake/arrivals.py), and answered with a status the service retries when it could not
be stored. A service's retry of a message already stored is recognised as the same message.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable
from urllib.parse import unquote_to_bytes

from aiohttp import BodyPartReader, web

from bot.config import Settings
from bot.intake.arrivals import Arrivals, trace

log = logging.getLogger("handoff.inbound")
MAILGUN_WINDOW = 12 * 3600  # seconds a signature stays good: Mailgun retries for 8 hours
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def _fields(request: web.Request) -> dict[str, bytes]:
    """A form's fields as bytes (raw MIME is kept byte for byte), multipart or urlencoded."""
    if request.content_type.startswith("multipart/"):
        fields: dict[str, bytes] = {}
        reader = await request.multipart()
        async for part in reader:
            if isinstance(part, BodyPartReader) and part.name:
                fields[part.name] = bytes(await part.read(decode=False))
        return fields
    fields = {}
    for pair in (await request.read()).split(b"&"):
        name, _, value = pair.replace(b"+", b" ").partition(b"=")
        fields[unquote_to_bytes(name).decode("utf-8", "replace")] = unquote_to_bytes(value)
    return fields


def _basic_auth_ok(request: web.Request, expected: str) -> bool:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        given = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def _unauthorized(service: str) -> web.Response:
    log.warning("inbound %s: a request without the right credentials was refused", service)
    return web.Response(
        status=401,
        text="unauthorized\n",
        headers={"WWW-Authenticate": 'Basic realm="handoff inbound"'},
    )


class Inbound:
    def __init__(self, arrivals: Arrivals, settings: Settings) -> None:
        self.arrivals = arrivals
        self.settings = settings

    async def _store(self, service: str, raw: bytes) -> web.Response:
        result = await self.arrivals.store(raw, f"{service}:webhook")
        if result is None:  # not stored: the service posts it again
            return web.Response(status=503, text="not stored; try again later\n")
        return web.json_response({"stored": str(result.kind), "referral": result.referral})

    async def mailgun(self, request: web.Request) -> web.Response:
        key = self.settings.mailgun_signing_key
        assert key is not None
        fields = await _fields(request)
        timestamp = fields.get("timestamp", b"").decode("ascii", "replace")
        token = fields.get("token", b"").decode("ascii", "replace")
        signature = fields.get("signature", b"").decode("ascii", "replace")
        expected = hmac.new(
            key.get_secret_value().encode(), (timestamp + token).encode(), hashlib.sha256
        ).hexdigest()
        if not hmac.compare_digest(expected, signature):
            log.warning("inbound mailgun: a request with a bad signature was refused")
            return web.Response(status=401, text="bad signature\n")
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > MAILGUN_WINDOW:
            log.warning("inbound mailgun: a signature too old (or from the future) was refused")
            return web.Response(status=401, text="stale signature\n")
        raw = fields.get("body-mime")
        if raw is None:
            # Mailgun posts the raw message only to a URL that ends in "mime"; 406 stops its
            # retries of a parsed post we cannot keep byte for byte.
            log.error(
                "inbound mailgun: no body-mime; make the route forward to a URL ending in "
                "mime, e.g. https://handoff.ours.example/inbound/mailgun?format=mime"
            )
            return web.Response(status=406, text="post the raw MIME (a URL ending in mime)\n")
        recipients = [
            r.strip() for r in fields.get("recipient", b"").decode().split(",") if r.strip()
        ]
        sender = fields.get("sender", b"").decode("utf-8", "replace")
        return await self._store("mailgun", trace(sender, recipients) + raw)

    async def sendgrid(self, request: web.Request) -> web.Response:
        auth = self.settings.sendgrid_basic_auth
        assert auth is not None
        if not _basic_auth_ok(request, auth.get_secret_value()):
            return _unauthorized("sendgrid")
        fields = await _fields(request)
        raw = fields.get("email")
        if raw is None:
            log.error("inbound sendgrid: no raw message; tick 'POST the raw, full MIME message'")
            return web.Response(status=422, text="post the raw, full MIME message\n")
        try:
            envelope = json.loads(fields.get("envelope", b"{}"))
        except ValueError:
            envelope = {}
        recipients = [str(r) for r in envelope.get("to", []) if r]
        return await self._store("sendgrid", trace(str(envelope.get("from", "")), recipients) + raw)

    async def postmark(self, request: web.Request) -> web.Response:
        auth = self.settings.postmark_basic_auth
        assert auth is not None
        if not _basic_auth_ok(request, auth.get_secret_value()):
            return _unauthorized("postmark")
        try:
            payload = json.loads(await request.read())
        except ValueError:
            return web.Response(status=400, text="not JSON\n")
        raw = payload.get("RawEmail") if isinstance(payload, dict) else None
        if not raw:
            log.error(
                "inbound postmark: no RawEmail; turn on 'Include raw email content in JSON "
                "payload' for the inbound stream"
            )
            return web.Response(status=422, text="include the raw email content\n")
        recipient = str(payload.get("OriginalRecipient") or "")
        head = trace(None, [recipient] if recipient else [])
        return await self._store("postmark", head + str(raw).encode("utf-8", "surrogateescape"))


def inbound_app(arrivals: Arrivals, settings: Settings) -> web.Application | None:
    """The routes whose secret is set, or None when no service is set up."""
    inbound = Inbound(arrivals, settings)
    # A message may be as large as LMTP takes; a form encodes it at most ~1.4 times over.
    app = web.Application(client_max_size=int(settings.lmtp_max_bytes * 1.4) + 65536)
    routes = {
        "mailgun": (settings.mailgun_signing_key, inbound.mailgun),
        "sendgrid": (settings.sendgrid_basic_auth, inbound.sendgrid),
        "postmark": (settings.postmark_basic_auth, inbound.postmark),
    }
    on = [name for name, (secret, _) in routes.items() if secret is not None]
    for name in on:
        app.router.add_post(f"/{name}", routes[name][1])
    if not on:
        return None
    log.info("inbound: taking mail posted to /inbound/%s", ", /inbound/".join(on))
    return app
