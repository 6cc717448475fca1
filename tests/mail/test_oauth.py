"""OAuth 2.0 for IMAP and SMTP (issue 21, part 1), against Dovecot's oauth2 passdb and aiosmtpd,
with tokens from a token endpoint of our own (tests/support/oauth.py)."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import load_settings
from bot.demo.standin.smtp import Inbox
from bot.mail.oauth import TokenSource
from bot.mail.smtp import Mailer
from tests.support.dovecot import Dovecot
from tests.support.handoff import Handoff
from tests.support.imap import intro, referrals_reach, serving, until
from tests.support.oauth import TokenStandIn
from tests.support.ports import free_port

MAILBOX = "partners@ours.example"


@pytest.fixture
async def tokens() -> AsyncIterator[TokenStandIn]:
    stand_in = await TokenStandIn().start()
    yield stand_in
    await stand_in.close()


def imap_url(server: Dovecot) -> str:
    """The mailbox's URL with no password in it: OAuth signs in."""
    return f"imap://partners%40ours.example@127.0.0.1:{server.port}/INBOX"


def microsoft(tokens: TokenStandIn, **overrides: object) -> dict[str, object]:
    """The settings of an Entra app with the client credentials grant (the token URL pointed at
    the stand-in, as HANDOFF_OAUTH_TOKEN_URL lets any provider's be)."""
    return {
        "imap_auth": "oauth2",
        "oauth_provider": "microsoft",
        "oauth_tenant": "contoso.onmicrosoft.com",
        "oauth_token_url": tokens.token_url,
        "oauth_client_id": tokens.client_id,
        "oauth_client_secret": tokens.client_secret,
        **overrides,
    }


async def serve_fails(env: dict[str, str]) -> str:
    """`handoff serve` in a process of its own, expected to stop at start-up (exit 2): its
    stderr. The stand-ins keep answering in this event loop meanwhile."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "serve",
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(child.communicate(), 120)
    assert child.returncode == 2, (child.returncode, err.decode())
    return err.decode() + out.decode()


@pytest.mark.parametrize("mechanism", ["xoauth2", "oauthbearer"])
async def test_the_watcher_signs_in_with_a_token_and_no_token_is_logged(
    engine: AsyncEngine,
    scenario: Handoff,
    dovecot_factory: Callable[..., Dovecot],
    tokens: TokenStandIn,
    caplog: pytest.LogCaptureFixture,
    mechanism: str,
) -> None:
    server = dovecot_factory(introspection_url=tokens.introspection_url, oauth_mechanisms=mechanism)
    server.add_user(MAILBOX)
    caplog.set_level(logging.DEBUG)
    async with serving(engine, imap_url(server), **microsoft(tokens)):
        await server.append(MAILBOX, intro(1))
        await referrals_reach(engine, 1)
    assert tokens.grants == ["client_credentials"]
    assert tokens.introspected >= 1  # Dovecot checked the token with the stand-in
    logged = caplog.text
    assert tokens.issued and not any(i.token in logged for i in tokens.issued)
    assert tokens.client_secret not in logged


async def test_a_revoked_token_is_replaced_when_dovecot_comes_back(
    engine: AsyncEngine,
    scenario: Handoff,
    dovecot_factory: Callable[..., Dovecot],
    tokens: TokenStandIn,
) -> None:
    server = dovecot_factory(introspection_url=tokens.introspection_url)
    server.add_user(MAILBOX)
    async with serving(engine, imap_url(server), **microsoft(tokens)):
        await server.append(MAILBOX, intro(1))
        await referrals_reach(engine, 1)
        tokens.revoke_all()  # the cached token is refused from now on
        server.restart()  # every connection breaks: the watcher signs in again
        await server.append(MAILBOX, intro(2))
        await referrals_reach(engine, 2, seconds=60)
    assert tokens.grants == ["client_credentials", "client_credentials"]


async def test_an_expired_token_is_never_offered_after_a_dovecot_restart(
    engine: AsyncEngine,
    scenario: Handoff,
    dovecot_factory: Callable[..., Dovecot],
    tokens: TokenStandIn,
) -> None:
    tokens.lifetime = 3.0  # short-lived
    server = dovecot_factory(introspection_url=tokens.introspection_url)
    server.add_user(MAILBOX)
    async with serving(engine, imap_url(server), **microsoft(tokens)):
        await server.append(MAILBOX, intro(1))
        await referrals_reach(engine, 1)
        first = tokens.issued[0]

        async def expired() -> bool:
            return time.time() > first.expires

        await until(expired, "the first token to expire")
        server.restart()
        await server.append(MAILBOX, intro(2))
        await referrals_reach(engine, 2, seconds=60)
    assert len(tokens.grants) >= 2
    assert tokens.inactive == 0  # a fresh token was fetched before the login, not after a NO


async def test_a_token_is_renewed_before_it_expires(tokens: TokenStandIn) -> None:
    tokens.lifetime = 10.0
    settings = load_settings(**microsoft(tokens), imap_url="imap://u%40x.example@127.0.0.1/")
    source = TokenSource(settings.oauth_for(MAILBOX))
    first = await source.token()
    assert await source.token() == first  # kept while it is fresh
    expiry = tokens.issued[0].expires

    async def renewed() -> bool:
        return await source.token() != first

    await until(renewed, "a new token", seconds=30)
    assert time.time() < expiry, "renewed only after the old token had expired"


async def test_a_refused_secret_stops_serve_at_start_up_in_one_line(
    db_url: str, handoff: Handoff, dovecot_factory: Callable[..., Dovecot], tokens: TokenStandIn
) -> None:
    server = dovecot_factory(introspection_url=tokens.introspection_url)
    server.add_user(MAILBOX)
    env = {f"HANDOFF_{k.upper()}": str(v) for k, v in microsoft(tokens).items()}
    env["HANDOFF_OAUTH_CLIENT_SECRET"] = "wrong-Secret-42"
    env["HANDOFF_IMAP_URL"] = imap_url(server)
    said = await serve_fails(env)
    assert said.endswith(
        "handoff: HANDOFF_OAUTH_CLIENT_SECRET: microsoft's token endpoint refused: "
        "invalid_client: AADSTS7000215: Invalid client secret provided.\n"
    ), said
    assert "wrong-Secret-42" not in said


async def test_a_mailbox_the_app_was_not_granted_is_refused_naming_the_url(
    db_url: str, handoff: Handoff, dovecot_factory: Callable[..., Dovecot], tokens: TokenStandIn
) -> None:
    tokens.mailbox = "someone.else@ours.example"  # the app's token names another mailbox
    server = dovecot_factory(introspection_url=tokens.introspection_url)
    server.add_user(MAILBOX)
    env = {f"HANDOFF_{k.upper()}": str(v) for k, v in microsoft(tokens).items()}
    env["HANDOFF_IMAP_URL"] = imap_url(server)
    said = await serve_fails(env)
    last = said.strip().splitlines()[-1]
    assert last.startswith(
        f"handoff: HANDOFF_IMAP_URL: {MAILBOX}@127.0.0.1:{server.port} refused the OAuth token"
    ), said
    assert len(tokens.grants) == 2  # refused, fetched again once, refused again: a setting


def test_a_server_without_oauth_stops_serve_naming_the_setting(
    db_url: str, handoff: Handoff, dovecot_factory: Callable[..., Dovecot]
) -> None:
    server = dovecot_factory()  # passwords only
    server.add_user(MAILBOX)
    env = {
        "HANDOFF_IMAP_URL": imap_url(server),
        "HANDOFF_IMAP_AUTH": "oauth2",
        "HANDOFF_OAUTH_TOKEN_URL": "http://127.0.0.1:9/token",
        "HANDOFF_OAUTH_CLIENT_ID": "app",
        "HANDOFF_OAUTH_CLIENT_SECRET": "s",
    }
    os.environ.update(env)
    try:
        handoff("serve", expect=2)
    finally:
        for name in env:
            del os.environ[name]
    assert handoff.err == (
        f"handoff: HANDOFF_IMAP_AUTH: {MAILBOX}@127.0.0.1:{server.port} offers neither XOAUTH2 "
        "nor OAUTHBEARER, so it takes no OAuth token\n"
    )


def test_missing_oauth_settings_are_named(handoff: Handoff) -> None:
    os.environ.update({"HANDOFF_IMAP_AUTH": "oauth2", "HANDOFF_OAUTH_PROVIDER": "microsoft"})
    try:
        handoff("serve", expect=2)
    finally:
        del os.environ["HANDOFF_IMAP_AUTH"], os.environ["HANDOFF_OAUTH_PROVIDER"]
    assert handoff.err == (
        "handoff: HANDOFF_OAUTH_TENANT: required for microsoft (the directory's id)\n"
    )


@pytest.fixture
def service_account(tmp_path: Path, tokens: TokenStandIn) -> Path:
    """A Google service account's JSON key, its public half given to the token stand-in."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    tokens.public_key = key.public_key()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    path = tmp_path / "service-account.json"
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "handoff-test",
                "private_key_id": "k1",
                "private_key": pem,
                "client_email": tokens.service_account,
                "client_id": "1234567890",
                "token_uri": "https://oauth2.googleapis.com/token",
            }
        )
    )
    return path


async def test_a_google_service_account_acts_as_the_mailbox(
    engine: AsyncEngine,
    scenario: Handoff,
    dovecot_factory: Callable[..., Dovecot],
    tokens: TokenStandIn,
    service_account: Path,
) -> None:
    server = dovecot_factory(introspection_url=tokens.introspection_url)
    server.add_user(MAILBOX)
    settings = {
        "imap_auth": "oauth2",
        "oauth_provider": "google",
        "oauth_key_file": str(service_account),
        "oauth_token_url": tokens.token_url,
    }
    async with serving(engine, imap_url(server), **settings):
        await server.append(MAILBOX, intro(1))
        await referrals_reach(engine, 1)
    assert tokens.grants == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]


async def test_a_refresh_token_is_used_where_one_is_given(
    engine: AsyncEngine,
    scenario: Handoff,
    dovecot_factory: Callable[..., Dovecot],
    tokens: TokenStandIn,
) -> None:
    tokens.refresh_token = "1//refresh-me"
    server = dovecot_factory(introspection_url=tokens.introspection_url)
    server.add_user(MAILBOX)
    settings = microsoft(
        tokens,
        oauth_provider="generic",
        oauth_client_secret=None,
        oauth_refresh_token="1//refresh-me",
    )
    async with serving(engine, imap_url(server), **settings):
        await server.append(MAILBOX, intro(1))
        await referrals_reach(engine, 1)
    assert tokens.grants == ["refresh_token"]


class OAuthInbox(Inbox):
    """An SMTP server's inbox that takes SASL XOAUTH2 (aiosmtpd calls auth_<MECHANISM>) and
    checks each token as the server's token service would; a refused one gets Google's error
    challenge, then 535."""

    def __init__(self, tokens: TokenStandIn) -> None:
        super().__init__()
        self.tokens = tokens
        self.tries: list[bool] = []

    async def auth_XOAUTH2(self, server: Any, args: list[str]) -> AuthResult:  # noqa: N802
        initial = args[1] if len(args) > 1 else await server.challenge_auth("")
        said = base64.b64decode(initial).decode()
        fields = dict(f.split("=", 1) for f in said.split("\x01") if "=" in f)
        return await self._check(server, fields.get("user"), fields.get("auth", ""))

    async def auth_OAUTHBEARER(self, server: Any, args: list[str]) -> AuthResult:  # noqa: N802
        initial = args[1] if len(args) > 1 else await server.challenge_auth("")
        gs2, _, rest = base64.b64decode(initial).decode().partition("\x01")
        user = next((p[2:] for p in gs2.split(",") if p.startswith("a=")), None)
        fields = dict(f.split("=", 1) for f in rest.split("\x01") if "=" in f)
        return await self._check(server, user, fields.get("auth", ""))

    async def _check(self, server: Any, user: str | None, auth: str) -> AuthResult:
        token = auth.removeprefix("Bearer ")
        ok = any(
            i.token == token and i.user == user and token not in self.tokens.revoked
            for i in self.tokens.issued
        )
        self.tries.append(ok)
        if not ok:
            error = json.dumps({"status": "401", "schemes": "Bearer", "scope": "mail"})
            await server.challenge_auth(error)  # the client's answer ends the exchange
        return AuthResult(success=ok, handled=False)


@pytest.fixture(params=["XOAUTH2", "OAUTHBEARER"])
def smtp_server(
    request: pytest.FixtureRequest, tokens: TokenStandIn
) -> Iterator[tuple[Controller, OAuthInbox]]:
    """An SMTP server offering one of the two mechanisms."""
    inbox = OAuthInbox(tokens)
    other = "OAUTHBEARER" if request.param == "XOAUTH2" else "XOAUTH2"
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=free_port(),
        auth_require_tls=False,
        auth_exclude_mechanism=[other, "LOGIN", "PLAIN"],
    )
    controller.start()
    yield controller, inbox
    controller.stop()


async def test_smtp_sends_with_a_token_and_replaces_a_revoked_one(
    tokens: TokenStandIn, smtp_server: tuple[Controller, OAuthInbox]
) -> None:
    controller, inbox = smtp_server
    settings = load_settings(
        smtp_url=f"smtp://partners%40ours.example@127.0.0.1:{controller.port}",
        smtp_auth="oauth2",
        oauth_provider="microsoft",
        oauth_tenant="contoso.onmicrosoft.com",
        oauth_token_url=tokens.token_url,
        oauth_client_id=tokens.client_id,
        oauth_client_secret=tokens.client_secret,
    )
    assert settings.smtp is not None

    async def send(mailer: Mailer) -> str:
        return await mailer.send(
            b"Subject: hi\r\n\r\nhello\r\n", sender=MAILBOX, recipient="dana@acme.example"
        )

    mailer = Mailer(settings.smtp, timeout=10)
    assert await send(mailer) == "2.0.0 queued"
    await mailer.close()
    tokens.revoke_all()
    mailer = Mailer(settings.smtp, timeout=10)
    assert await send(mailer) == "2.0.0 queued"
    await mailer.close()
    assert inbox.tries == [True, False, True]
    assert len(inbox.received) == 2
    assert tokens.grants == ["client_credentials", "client_credentials"]


async def test_oauth_authorize_gets_a_refresh_token_that_signs_in(
    engine: AsyncEngine,
    scenario: Handoff,
    dovecot_factory: Callable[..., Dovecot],
    tokens: TokenStandIn,
) -> None:
    """A person consents once (here the stand-in's consent page agrees at once): the printed
    refresh token is what serve then signs in with."""
    env = {
        **os.environ,
        "HANDOFF_OAUTH_PROVIDER": "generic",
        "HANDOFF_OAUTH_TOKEN_URL": tokens.token_url,
        "HANDOFF_OAUTH_CLIENT_ID": tokens.client_id,
        "HANDOFF_OAUTH_SCOPE": "https://mail.google.com/",
    }
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "oauth",
        "authorize",
        "--authorize-url",
        f"{tokens.url}/authorize",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert child.stderr is not None
    url = ""
    while not url:
        line = (await asyncio.wait_for(child.stderr.readline(), 60)).decode()
        assert line, "the command ended without printing the consent URL"
        if line.strip().startswith("http"):
            url = line.strip()
    assert "code_challenge_method=S256" in url and "redirect_uri=http%3A%2F%2Flocalhost" in url
    async with aiohttp.ClientSession() as browser, browser.get(url) as page:
        assert page.status == 200 and "you can close this tab" in await page.text()
    out, _ = await asyncio.wait_for(child.communicate(), 60)
    assert child.returncode == 0
    assert out.decode() == f"HANDOFF_OAUTH_REFRESH_TOKEN={tokens.refresh_token}\n"
    assert tokens.grants == ["authorization_code"]

    server = dovecot_factory(introspection_url=tokens.introspection_url)
    server.add_user(MAILBOX)
    settings = {
        "imap_auth": "oauth2",
        "oauth_provider": "generic",
        "oauth_token_url": tokens.token_url,
        "oauth_client_id": tokens.client_id,
        "oauth_refresh_token": out.decode().split("=", 1)[1].strip(),
    }
    async with serving(engine, imap_url(server), **settings):
        await server.append(MAILBOX, intro(1))
        await referrals_reach(engine, 1)
    assert tokens.grants == ["authorization_code", "refresh_token"]


async def test_an_unknown_tenant_is_named_at_start_up(
    db_url: str, dovecot_factory: Callable[..., Dovecot], tokens: TokenStandIn
) -> None:
    server = dovecot_factory(introspection_url=tokens.introspection_url)
    server.add_user(MAILBOX)
    env = {f"HANDOFF_{k.upper()}": str(v) for k, v in microsoft(tokens).items()}
    env["HANDOFF_OAUTH_TENANT"] = "nosuch.onmicrosoft.com"
    env["HANDOFF_OAUTH_TOKEN_URL"] = f"{tokens.url}/nosuch.onmicrosoft.com/oauth2/v2.0/token"
    env["HANDOFF_IMAP_URL"] = imap_url(server)
    said = await serve_fails(env)
    assert (
        said.strip()
        .splitlines()[-1]
        .startswith(
            "handoff: HANDOFF_OAUTH_TENANT: microsoft's token endpoint refused: invalid_request: "
            "AADSTS90002: Tenant 'nosuch.onmicrosoft.com' not found."
        )
    ), said


async def test_a_token_service_outage_is_one_line_and_the_watcher_comes_back(
    engine: AsyncEngine,
    scenario: Handoff,
    dovecot_factory: Callable[..., Dovecot],
    tokens: TokenStandIn,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The token service is away when serve starts (a 503 page, not an OAuth error): an outage,
    said once with its cause, retried with backoff, over when the service is back."""
    server = dovecot_factory(introspection_url=tokens.introspection_url)
    server.add_user(MAILBOX)
    caplog.set_level(logging.INFO)
    tokens.down = True

    def outage() -> list[str]:
        return [
            r.getMessage()
            for r in caplog.records
            if r.levelno == logging.WARNING and "token endpoint" in r.getMessage()
        ]

    async with serving(engine, imap_url(server), **microsoft(tokens)):

        async def said() -> bool:
            return bool(outage())

        await until(said, "the outage line")
        await server.append(MAILBOX, intro(1))
        tokens.down = False
        await referrals_reach(engine, 1, seconds=90)
    assert outage()[0].startswith("imap partners@ours.example@127.0.0.1")
    assert outage()[0].endswith("microsoft's token endpoint answered HTTP 503; will keep trying")
    assert len(outage()) <= 2  # said at start-up, and by the watcher once if it was still away
    assert len(tokens.grants) >= 2  # tried again
