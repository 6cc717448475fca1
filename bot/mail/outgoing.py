"""The outbox's handler for partner email: sends a recorded mail's exact bytes over SMTP.

A 4xx, an unreachable server or our relay's refusal is retried with backoff; a 5xx for the
recipient's address is recorded on the mail and on the contact (shown to managers) and never
retried (bot/digests/mailing.py records the mail and its job in the transaction that decides
it). A mail is marked `sending` before it is handed over: one found so (the worker died while
the server was taking it), or one handed over without an answer, is `unknown`, never resent;
one whose mark could not be confirmed (the database's answer lost) is queued again, as nothing
was handed over.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.config import Settings
from bot.db import first_line
from bot.digests.mailing import Signer, receives_mail
from bot.mail.smtp import Mailer, Refused, SmtpError, Unknown
from bot.models import Mail, PartnerAddress, utcnow
from bot.outbox import Handler, Job, Retry
from bot.replies.answers import mark_bounced
from bot.vocabulary import JobKind, MailStatus

log = logging.getLogger("handoff.mail")
mail: sa.Table = Mail.__table__  # type: ignore[attr-defined]
address: sa.Table = PartnerAddress.__table__  # type: ignore[attr-defined]


class Postman:
    """The outbox's handler for emails: sends a recorded mail, records what the server said."""

    def __init__(self, engine: AsyncEngine, mailer: Mailer, settings: Settings) -> None:
        self.engine = engine
        self.mailer = mailer
        self.signer = Signer.of(settings)

    def handlers(self) -> dict[str, Handler]:
        return {JobKind.EMAIL: self.send}

    async def send(self, job: Job) -> str | None:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(
                        mail.c.id,
                        mail.c.kind,
                        mail.c.recipient,
                        mail.c.status,
                        mail.c.raw,
                        mail.c.partner_id,
                        mail.c.digest_id,
                        address.c.id.label("contact_id"),
                    )
                    .outerjoin(
                        address,
                        sa.and_(
                            receives_mail(mail.c.partner_id),
                            address.c.value == mail.c.recipient,
                        ),
                    )
                    .where(mail.c.id == job.mail_id)
                )
            ).first()
        if row is not None and row.status == MailStatus.SENDING:
            # A worker was handing it over when it died: the server may have it.
            reason = "the sender stopped while handing it over: it may have been accepted"
            await self._mark(row.id, MailStatus.UNKNOWN, error=reason)
            log.warning("mail: #%d to %s not sent again: %s", row.id, row.recipient, reason)
            return None
        if row is None or row.status != MailStatus.QUEUED or row.raw is None:
            return None  # sent already (a retried job), or gone
        if row.contact_id is None:
            # Unsubscribed, bounced or removed since the mail was recorded: honour it.
            await self._mark(row.id, MailStatus.SKIPPED, error="contact no longer receives mail")
            return f"mail: #{row.id} to {row.recipient} skipped (unsubscribed or bounced)"
        # The envelope sender (where delivery reports go) is the mail's own reply address, so
        # that a bounce names the very mail it is about even when it quotes nothing of it.
        envelope = self.signer.address(self.signer.tag(row.id, None, row.partner_id, row.digest_id))
        mail_id = row.id

        async def handing_over() -> None:
            try:
                async with self.engine.begin() as conn:
                    taken = await conn.execute(
                        _moved(mail_id, MailStatus.QUEUED, MailStatus.SENDING)
                    )
            except (OSError, sa.exc.SQLAlchemyError) as exc:
                # Whether the mark was written is not known (the commit's answer may be what
                # was lost), but nothing was handed over: queued again with the job's retry.
                async def queued_again(conn: AsyncConnection) -> None:
                    await conn.execute(_moved(mail_id, MailStatus.SENDING, MailStatus.QUEUED))

                raise Retry(
                    f"mail #{mail_id} not handed over: {first_line(exc)}", also=queued_again
                ) from None
            if taken.rowcount != 1:
                raise Retry(f"mail #{mail_id} is being sent by another worker")

        try:
            answer = await self.mailer.send(
                row.raw, sender=envelope, recipient=row.recipient, handing_over=handing_over
            )
        except Unknown as exc:
            await self._mark(row.id, MailStatus.UNKNOWN, error=str(exc))
            log.warning("mail: #%d (%s) to %s: %s", row.id, row.kind, row.recipient, exc)
            return None
        except Refused as exc:
            await self._mark(row.id, MailStatus.REFUSED, error=str(exc))
            if exc.recipient:
                async with self.engine.begin() as conn:
                    await mark_bounced(
                        conn,
                        partner_id=row.partner_id,
                        email=row.recipient,
                        reason=f"refused: {exc}",
                        at=utcnow(),
                    )
            log.warning("mail: #%d (%s) to %s refused: %s", row.id, row.kind, row.recipient, exc)
            return None
        except SmtpError as exc:
            # Nothing was taken (an answer said so): queued again for the retry.
            await self._mark(row.id, MailStatus.QUEUED, error=str(exc))
            raise Retry(str(exc)) from None
        await self._mark(row.id, MailStatus.SENT, error=None, sent=True)
        return f"mail: #{row.id} ({row.kind}) sent to {row.recipient}: {answer[:80]}"

    async def _mark(
        self, mail_id: int, status: MailStatus, *, error: str | None, sent: bool = False
    ) -> None:
        values: dict[str, object] = {"status": str(status), "error": error}
        if sent:
            values["sent_at"] = utcnow()
        async with self.engine.begin() as conn:
            await conn.execute(sa.update(mail).where(mail.c.id == mail_id).values(**values))


def _moved(mail_id: int, was: MailStatus, to: MailStatus) -> sa.Update:
    """A compare-and-set of a mail's status: it becomes `to` only if it is still `was`."""
    return (
        sa.update(mail)
        .where(mail.c.id == mail_id, mail.c.status == str(was))
        .values(status=str(to))
    )
