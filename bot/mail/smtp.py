"""The SMTP wire: one connection, reused while it lasts, and aiosmtplib's errors turned into ours.

Each email goes to one recipient, so that a refusal (RFC 5321 section 4.2: 5yz is permanent,
4yz transient) belongs to exactly one contact: a 5xx to RCPT TO marks that contact, a 4xx or a
server that cannot be reached is tried again later, and nothing else is affected.
"""

from __future__ import annotations

import logging

import aiosmtplib

from bot import metrics
from bot.servers import SmtpTarget

log = logging.getLogger("handoff.mail")
TIMEOUT_SECONDS = 30.0


class SmtpError(Exception):
    """Sending failed; the message is one line with the server's answer (never a password).

    `error` names the failure for /metrics: the reply class (4xx, 5xx) or the exception.
    """

    def __init__(self, reason: str, *, error: str) -> None:
        super().__init__(reason)
        self.error = error


class Temporary(SmtpError):
    """Try again later: the server is unreachable, busy (4xx) or refused us (auth, sender)."""


class Refused(SmtpError):
    """The server refused this recipient or this message for good (5xx)."""

    def __init__(self, reason: str, *, recipient: bool, error: str) -> None:
        super().__init__(reason, error=error)
        self.recipient = recipient  # True: RCPT TO refused (the address); False: the message


def _answer(code: int, message: str) -> str:
    return f"{code} {' '.join(str(message).split())}"[:300]


def _class(code: int) -> str:
    """A reply code's class (RFC 5321 section 4.2.1): 4xx transient, 5xx permanent."""
    return f"{code // 100}xx" if 100 <= code < 600 else "no_reply"  # aiosmtplib's -1: none


class Mailer:
    """Sends raw messages through HANDOFF_SMTP_URL; reconnects when the server hung up."""

    def __init__(self, target: SmtpTarget, *, timeout: float = TIMEOUT_SECONDS) -> None:
        self.target = target
        self.timeout = timeout
        self._smtp: aiosmtplib.SMTP | None = None

    async def send(self, raw: bytes, *, sender: str, recipient: str) -> str:
        """Send one message to one recipient; returns the server's answer to DATA."""
        try:
            return await self._send(raw, sender=sender, recipient=recipient)
        except SmtpError as exc:
            metrics.smtp_error(exc.error)
            raise

    async def _send(self, raw: bytes, *, sender: str, recipient: str) -> str:
        for attempt in (1, 2):
            smtp = await self._connected()
            try:
                errors, answer = await smtp.sendmail(sender, [recipient], raw)
            except aiosmtplib.SMTPServerDisconnected as exc:
                # A connection kept from an earlier message may have been closed by the
                # server while idle: once, connect again and resend.
                await self.close()
                if attempt == 1:
                    continue
                raise Temporary(
                    f"{self.target.shown} hung up: {exc}", error=type(exc).__name__
                ) from None
            except aiosmtplib.SMTPRecipientsRefused as exc:
                refused = exc.recipients[0] if exc.recipients else None
                code = refused.code if refused else 550
                reason = _answer(code, refused.message if refused else "recipient refused")
                await self._reset(smtp)
                if code >= 500:
                    raise Refused(reason, recipient=True, error=_class(code)) from None
                raise Temporary(reason, error=_class(code)) from None
            except aiosmtplib.SMTPResponseException as exc:
                # Sender refused, data refused, auth and the like.
                reason = _answer(exc.code, exc.message)
                await self._reset(smtp)
                if exc.code >= 500 and isinstance(exc, aiosmtplib.SMTPDataError):
                    raise Refused(reason, recipient=False, error=_class(exc.code)) from None
                raise Temporary(reason, error=_class(exc.code)) from None
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                await self.close()
                name = type(exc).__name__
                raise Temporary(f"{self.target.shown}: {name}: {exc}", error=name) from None
            if errors:  # one recipient: refused ones raise above, but be sure
                code, message = next(iter(errors.values()))
                raise Refused(_answer(code, message), recipient=True, error=_class(code))
            return answer
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
