"""No password in clear (issue 21, part 2): TLS before any login, except to loopback.

The servers listen on this machine's own non-loopback address, so that the wire between Handoff
and them is one a password must not cross in clear; the opt-out is HANDOFF_INSECURE_CLEARTEXT_LOGIN.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.demo.standin.smtp import Inbox
from bot.mail.smtp import Mailer, Temporary
from bot.servers import loopback, parse_smtp_url
from tests.support.dovecot import PASSWORD, Dovecot
from tests.support.handoff import Handoff
from tests.support.imap import intro, referrals_reach, serving
from tests.support.ports import free_port, outward_address

USER = "partners@ours.example"


@pytest.mark.parametrize(
    ("host", "local"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("LOCALHOST.", True),
        ("10.0.0.5", False),
        ("192.0.2.2", False),
        ("fd00::2", False),
        ("mail.ours.example", False),
        ("localhost.ours.example", False),
    ],
)
def test_only_loopback_may_hear_a_password_in_clear(host: str, local: bool) -> None:
    assert loopback(host) is local


def _auth_attempts(server: Dovecot) -> bool | None:
    """True once Dovecot logged a login attempt, False once it logged a session without one."""
    log = server.log()
    if "auth attempts" in log and "no auth attempts" not in log:
        return True
    if "no auth attempts" in log:
        return False
    return None


def test_imap_without_starttls_off_loopback_stops_serve_before_any_login(
    db_url: str, handoff: Handoff, dovecot_factory: Callable[..., Dovecot]
) -> None:
    server = dovecot_factory(address=outward_address())  # ssl = no: STARTTLS is not offered
    server.add_user(USER)
    os.environ["HANDOFF_IMAP_URL"] = server.url(USER)
    try:
        handoff("serve", expect=2)
    finally:
        del os.environ["HANDOFF_IMAP_URL"]
    shown = f"imap://{USER}@{server.address}:{server.port}/INBOX"
    assert handoff.err.startswith(f"handoff: HANDOFF_IMAP_URL: {shown} offers no STARTTLS")
    assert "HANDOFF_INSECURE_CLEARTEXT_LOGIN=true" in handoff.err
    assert len(handoff.err.strip().splitlines()) == 1
    assert PASSWORD not in handoff.err
    # The server saw the connection end without a login.
    deadline = time.monotonic() + 30
    while (attempted := _auth_attempts(server)) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert attempted is False, server.log()


async def test_imap_starttls_off_loopback_is_required_and_used(
    engine: AsyncEngine,
    scenario: Handoff,
    dovecot_factory: Callable[..., Dovecot],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = dovecot_factory(tls=True, address=outward_address())
    server.add_user(USER)
    monkeypatch.setenv("SSL_CERT_FILE", str(server.cert))  # our private CA
    async with serving(engine, server.url(USER, scheme="imap")):
        await server.append(USER, intro(1))
        await referrals_reach(engine, 1)


async def test_the_opt_out_logs_in_in_clear_and_says_so(
    engine: AsyncEngine,
    scenario: Handoff,
    dovecot_factory: Callable[..., Dovecot],
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = dovecot_factory(address=outward_address())
    server.add_user(USER)
    caplog.set_level(logging.WARNING)
    async with serving(engine, server.url(USER), insecure_cleartext_login=True):
        await server.append(USER, intro(1))
        await referrals_reach(engine, 1)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(
        "logging in without TLS (HANDOFF_INSECURE_CLEARTEXT_LOGIN)" in w for w in warnings
    ), warnings


class _Recorder:
    """aiosmtpd's authenticator: notes every AUTH it is given, and accepts it."""

    def __init__(self) -> None:
        self.logins: list[Any] = []

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        self.logins.append((mechanism, data))
        return AuthResult(success=True)


@pytest.fixture
def smtp_off_loopback() -> Iterator[tuple[Controller, _Recorder, Inbox]]:
    """An SMTP server on the outward address that offers AUTH without TLS, and no STARTTLS."""
    recorder, inbox = _Recorder(), Inbox()
    controller = Controller(
        inbox,
        hostname=outward_address(),
        port=free_port(),
        authenticator=recorder,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield controller, recorder, inbox
    finally:
        controller.stop()


async def _send(controller: Controller, *, insecure: bool) -> str:
    url = f"smtp://partners%40ours.example:S3cretPass@{controller.hostname}:{controller.port}"
    mailer = Mailer(parse_smtp_url(url, insecure_cleartext=insecure), timeout=10)
    try:
        return await mailer.send(
            b"Subject: hi\r\n\r\nhello\r\n",
            sender="partners@ours.example",
            recipient="dana@acme.example",
        )
    finally:
        await mailer.close()


async def test_smtp_without_starttls_off_loopback_sends_no_password(
    smtp_off_loopback: tuple[Controller, _Recorder, Inbox],
) -> None:
    controller, recorder, inbox = smtp_off_loopback
    with pytest.raises(Temporary) as refused:
        await _send(controller, insecure=False)
    shown = f"smtp://partners@ours.example@{controller.hostname}:{controller.port}"
    assert str(refused.value) == (
        f"HANDOFF_SMTP_URL: {shown} offers no STARTTLS, and Handoff sends no password in clear "
        "to a host that is not loopback (use smtps://, or HANDOFF_INSECURE_CLEARTEXT_LOGIN=true "
        "on a trusted private network)"
    )
    assert recorder.logins == [] and inbox.received == []


async def test_smtp_opt_out_logs_in_in_clear(
    smtp_off_loopback: tuple[Controller, _Recorder, Inbox],
) -> None:
    controller, recorder, inbox = smtp_off_loopback
    assert await _send(controller, insecure=True) == "2.0.0 queued"
    assert len(recorder.logins) == 1 and len(inbox.received) == 1
