"""The SMTP wire: one connection, reused while it lasts, and aiosmtplib's errors turned into ours.

Each email goes to one recipient, so that a refusal (RFC 5321 section 4.2: 5yz is permanent,
4yz transient) belongs to exactly one contact. What a failure means depends on when it came:

- before the message was handed over (MAIL, RCPT, or no connection): nothing was sent, try
  again later; a refusal of the recipient is the contact's only when its enhanced status code
  (RFC 3463) says the address or mailbox is bad (5.1.x, 5.2.1). Any other refusal of RCPT
  (`550 5.7.1 Relaying denied`) is our relay's, and no contact's fault: tried again later.
- after it was handed over (DATA sent) without a final answer (a timeout, the server hanging
  up): the server may well have taken it. That is Unknown, never sent again.
- an explicit answer to DATA: 250 sent, 4xx try again, 5xx the message refused for good.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable

import aiosmtplib

from bot import metrics
from bot.credentials import OAuthConfig
from bot.mail import sasl
from bot.mail.oauth import OAuthRefused, OAuthUnavailable, token_source, with_fresh_token
from bot.servers import CLEARTEXT_SETTING, SmtpTarget, loopback

log = logging.getLogger("handoff.mail")
TIMEOUT_SECONDS = 30.0
# RFC 3463 enhanced status code at the start of a reply's text: class.subject.detail
_ENHANCED = re.compile(r"^\s*[245]\.(\d{1,3})\.(\d{1,3})\b")
# Without an enhanced code: words that make a refusal the relay's, not the address's.
_NOT_THE_ADDRESS = re.compile(
    r"relay|authenticat|auth required|not permitted|policy|access denied|sender|"
    r"blocked|spam|rate|too many|quota exceeded|try again",
    re.IGNORECASE,
)


class SmtpError(Exception):
    """Sending failed; the message is one line with the server's answer (never a password).

    `error` names the failure for /metrics: the reply class (4xx, 5xx) or the exception.
    """

    def __init__(self, reason: str, *, error: str) -> None:
        super().__init__(reason)
        self.error = error


class Temporary(SmtpError):
    """Nothing was sent; try again later: the server is unreachable, busy (4xx), or refused
    us (auth, sender, relaying)."""


class Refused(SmtpError):
    """The server refused this recipient or this message for good (5xx)."""

    def __init__(self, reason: str, *, recipient: bool, error: str) -> None:
        super().__init__(reason, error=error)
        self.recipient = recipient  # True: RCPT TO refused (the address); False: the message


class Unknown(SmtpError):
    """The message was handed over and no final answer came: it may have been accepted."""


async def _oauthbearer(smtp: aiosmtplib.SMTP, user: str, token: str, host: str, port: int) -> None:
    """AUTH OAUTHBEARER (RFC 7628): on a refusal the server's error comes as a 334 challenge,
    answered with a lone %x01 to get the final 535."""
    initial = sasl.initial_response("OAUTHBEARER", user, token, host, port)
    response = await smtp.execute_command(b"AUTH", b"OAUTHBEARER", initial.encode("ascii"))
    if response.code == 334:
        response = await smtp.execute_command(b"AQ==")
    if response.code != 235:
        raise aiosmtplib.SMTPAuthenticationError(response.code, response.message)


def _answer(code: int, message: str) -> str:
    return f"{code} {' '.join(str(message).split())}"[:300]


def _class(code: int) -> str:
    """A reply code's class (RFC 5321 section 4.2.1): 4xx transient, 5xx permanent."""
    return f"{code // 100}xx" if 100 <= code < 600 else "no_reply"  # aiosmtplib's -1: none


def the_address(code: int, message: str) -> bool:
    """Whether a 5xx refusal of RCPT TO is about the recipient's address (mark the contact),
    rather than about us (relaying denied, authentication, policy: fix the relay, retry)."""
    enhanced = _ENHANCED.match(message)
    if enhanced:
        subject, detail = enhanced.groups()
        return subject == "1" or (subject == "2" and detail == "1")  # address; mailbox disabled
    return code in (550, 551, 553) and not _NOT_THE_ADDRESS.search(message)


HandingOver = Callable[[], Awaitable[None]]


class Mailer:
    """Sends raw messages through HANDOFF_SMTP_URL; reconnects when the server hung up."""

    def __init__(self, target: SmtpTarget, *, timeout: float = TIMEOUT_SECONDS) -> None:
        self.target = target
        self.timeout = timeout
        self._smtp: aiosmtplib.SMTP | None = None

    async def send(
        self,
        raw: bytes,
        *,
        sender: str,
        recipient: str,
        handing_over: HandingOver | None = None,
    ) -> str:
        """Send one message to one recipient; returns the server's answer to DATA.

        `handing_over` runs once the server has accepted sender and recipient, just before the
        message goes: the caller records there that the outcome may become unknown.
        """
        try:
            return await self._send(raw, sender=sender, recipient=recipient, before=handing_over)
        except SmtpError as exc:
            metrics.smtp_error(exc.error)
            raise

    async def _send(
        self, raw: bytes, *, sender: str, recipient: str, before: HandingOver | None
    ) -> str:
        smtp = await self._envelope(sender, recipient)
        if before is not None:
            try:
                await before()
            except BaseException:
                await self._reset(smtp)
                raise
        try:
            response = await smtp.data(raw)
        except aiosmtplib.SMTPDataError as exc:  # an answer: the message was not taken
            reason = _answer(exc.code, exc.message)
            await self._reset(smtp)
            if exc.code >= 500:
                raise Refused(reason, recipient=False, error=_class(exc.code)) from None
            raise Temporary(reason, error=_class(exc.code)) from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            await self.close()
            name = type(exc).__name__
            raise Unknown(
                f"{self.target.shown} gave no answer after the message was handed over "
                f"({name}: {exc}): it may have been accepted, so it is not sent again",
                error="unknown",
            ) from None
        return response.message

    async def _envelope(self, sender: str, recipient: str) -> aiosmtplib.SMTP:
        """A connection whose server accepted MAIL FROM and RCPT TO; nothing sent yet."""
        for attempt in (1, 2):
            smtp = await self._connected()
            try:
                await smtp.mail(sender)
                await smtp.rcpt(recipient)
                return smtp
            except aiosmtplib.SMTPServerDisconnected as exc:
                # A connection kept from an earlier message may have been closed by the
                # server while idle: once, connect again (nothing was handed over).
                await self.close()
                if attempt == 1:
                    continue
                raise Temporary(
                    f"{self.target.shown} hung up: {exc}", error=type(exc).__name__
                ) from None
            except aiosmtplib.SMTPRecipientRefused as exc:
                reason = _answer(exc.code, exc.message)
                await self._reset(smtp)
                if exc.code >= 500 and the_address(exc.code, exc.message):
                    raise Refused(reason, recipient=True, error=_class(exc.code)) from None
                if exc.code >= 500:
                    reason = f"{self.target.shown} refused to take it (not the address): {reason}"
                raise Temporary(reason, error=_class(exc.code)) from None
            except aiosmtplib.SMTPResponseException as exc:  # sender refused, and the like
                reason = _answer(exc.code, exc.message)
                await self._reset(smtp)
                raise Temporary(reason, error=_class(exc.code)) from None
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                await self.close()
                name = type(exc).__name__
                raise Temporary(f"{self.target.shown}: {name}: {exc}", error=name) from None
        raise AssertionError("unreachable")

    async def _connected(self) -> aiosmtplib.SMTP:
        if self._smtp is not None and self._smtp.is_connected:
            return self._smtp
        target = self.target
        smtp = aiosmtplib.SMTP(
            hostname=target.host,
            port=target.port,
            use_tls=target.tls,
            start_tls=None if not target.tls else False,  # STARTTLS whenever offered
            timeout=self.timeout,
        )
        try:
            await smtp.connect()
            if target.user is not None:
                self._may_log_in(smtp)
                if target.oauth is not None:
                    await self._sign_in_with_token(smtp, target.user, target.oauth)
                else:
                    await smtp.login(target.user, target.password or "")
        except aiosmtplib.SMTPAuthenticationError as exc:
            smtp.close()
            answer = _answer(exc.code, exc.message)
            raise Temporary(
                f"HANDOFF_SMTP_URL: {target.shown} refused the login: {answer}",
                error=_class(exc.code),
            ) from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            smtp.close()
            name = type(exc).__name__
            raise Temporary(f"{target.shown} unreachable: {name}: {exc}", error=name) from None
        self._smtp = smtp
        return smtp

    async def _sign_in_with_token(
        self, smtp: aiosmtplib.SMTP, user: str, oauth: OAuthConfig
    ) -> None:
        """SASL XOAUTH2 or OAUTHBEARER (RFC 7628); a refused token is replaced once (expired
        or revoked since it was fetched)."""
        offered = smtp.server_auth_methods
        mechanism = next((m for m in sasl.MECHANISMS if m.lower() in offered), None)
        if mechanism is None:
            smtp.close()
            raise Temporary(
                f"HANDOFF_SMTP_AUTH: {self.target.shown} offers neither XOAUTH2 nor "
                "OAUTHBEARER, so it takes no OAuth token",
                error="NoOAuth",
            )
        refusal: aiosmtplib.SMTPAuthenticationError | None = None

        async def log_in(token: str) -> bool:
            nonlocal refusal
            try:
                if mechanism == "XOAUTH2":
                    await smtp.auth_xoauth2(user, token)
                else:
                    await _oauthbearer(smtp, user, token, self.target.host, self.target.port)
            except aiosmtplib.SMTPAuthenticationError as exc:
                refusal = exc
                return False
            return True

        try:
            taken = await with_fresh_token(token_source(oauth), log_in)
        except (OAuthRefused, OAuthUnavailable) as exc:
            smtp.close()
            raise Temporary(str(exc), error=type(exc).__name__) from None
        if not taken:
            assert refusal is not None
            raise refusal

    def _may_log_in(self, smtp: aiosmtplib.SMTP) -> None:
        """No password in clear: over TLS, to loopback, or where the operator allowed it."""
        target = self.target
        if smtp.get_transport_info("sslcontext") is not None:
            return
        if not target.cleartext_ok:
            smtp.close()
            raise Temporary(
                f"HANDOFF_SMTP_URL: {target.shown} offers no STARTTLS, and Handoff sends no "
                f"password in clear to a host that is not loopback (use smtps://, or "
                f"{CLEARTEXT_SETTING}=true on a trusted private network)",
                error="NoTLS",
            )
        if not loopback(target.host):
            log.warning("mail: logging in to %s without TLS (%s)", target.shown, CLEARTEXT_SETTING)

    async def _reset(self, smtp: aiosmtplib.SMTP) -> None:
        """After a refusal the session may be mid-transaction: RSET it, or drop it."""
        try:
            await smtp.rset()
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            await self.close()

    async def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            if smtp.is_connected:
                await smtp.quit()
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            smtp.close()
