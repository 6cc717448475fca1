"""Partner email as recorded: its addresses (signed reply, unsubscribe), its bytes and its
Message-ID, written with its outbox job in the transaction that decides it.

An email is a `mail` row (one recipient, its exact bytes) plus an outbox job; the job sends
the stored bytes (bot/mail/outgoing.py), so a retry sends the very same message.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.config import Settings
from bot.digests.content import Rendered
from bot.models import Mail, PartnerAddress
from bot.outbox import INSERT_JOB, job_row
from bot.replies import tokens
from bot.vocabulary import AddressKind, JobKind, MailStatus

mail: sa.Table = Mail.__table__  # type: ignore[attr-defined]
address: sa.Table = PartnerAddress.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Contact:
    id: int  # its partner_address row: the unsubscribe address names it
    email: str


@dataclass(frozen=True)
class Addresses:
    """The addresses one email carries: replies (whole, or about one referral), unsubscribe."""

    whole: str
    unsubscribe: str
    _about: Callable[[int], str]

    def about(self, referral_id: int) -> str:
        return self._about(referral_id)


class Signer:
    """Makes the signed plus addresses of HANDOFF_PARTNER_MAILBOX for one email."""

    def __init__(self, mailbox: str, secret: bytes) -> None:
        self.local, _, self.domain = mailbox.partition("@")
        self.secret = secret

    @classmethod
    def of(cls, settings: Settings) -> Signer:
        """From HANDOFF_PARTNER_MAILBOX and HANDOFF_SECRET (ConfigError naming what is unset)."""
        settings.mail_ready(sending=False)
        assert settings.partner_mailbox is not None and settings.secret is not None
        return cls(settings.partner_mailbox, settings.secret.get_secret_value().encode())

    def address(self, tag: str) -> str:
        return f"{self.local}+{tag}@{self.domain}"

    def tag(
        self, mail_id: int, referral_id: int | None, partner_id: int, digest_id: int | None
    ) -> str:
        token = tokens.ReplyToken(mail_id, referral_id)
        return tokens.reply_tag(self.secret, token, partner_id=partner_id, digest_id=digest_id)

    def addresses(
        self, *, mail_id: int, partner_id: int, digest_id: int | None, contact: Contact
    ) -> Addresses:
        return Addresses(
            whole=self.address(self.tag(mail_id, None, partner_id, digest_id)),
            unsubscribe=self.address(tokens.unsubscribe_tag(self.secret, contact.id)),
            _about=lambda rid: self.address(self.tag(mail_id, rid, partner_id, digest_id)),
        )


def build(
    rendered: Rendered,
    *,
    sender: str,
    recipient: str,
    addresses: Addresses,
    message_id: str,
    date: datetime,
) -> bytes:
    """The email's bytes: plain text and HTML alternatives, with the headers that stop loops."""
    msg = EmailMessage(policy=SMTP)
    msg["From"] = sender
    msg["To"] = recipient
    msg["Subject"] = rendered.subject
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = f"<{message_id}>"
    msg["Reply-To"] = addresses.whole
    # RFC 3834: responders must not answer auto-generated mail; Exchange reads the second.
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "OOF, AutoReply"
    # RFC 2369; a mailto (no web endpoint here): a mail to it stops this contact's digests.
    msg["List-Unsubscribe"] = f"<mailto:{addresses.unsubscribe}?subject=unsubscribe>"
    msg.set_content(rendered.text)
    msg.add_alternative(rendered.html, subtype="html")
    return msg.as_bytes()


def receives_mail(partner_id: Any) -> sa.ColumnElement[bool]:
    """The partner's contacts that still get mail: not unsubscribed, not bounced."""
    return sa.and_(
        address.c.partner_id == partner_id,
        address.c.kind == str(AddressKind.CONTACT),
        address.c.unsubscribed_at.is_(None),
        address.c.bounced_at.is_(None),
    )


async def active_contacts(conn: AsyncConnection, partner_id: int) -> list[Contact]:
    """The partner's contacts that still get mail, oldest first."""
    rows = await conn.execute(
        sa.select(address.c.id, address.c.value)
        .where(receives_mail(partner_id))
        .order_by(address.c.id)
    )
    return [Contact(r.id, r.value) for r in rows]


async def record(
    conn: AsyncConnection,
    *,
    settings: Settings,
    kind: str,
    partner_id: int,
    contacts: Sequence[Contact],
    render: Callable[[Addresses], Rendered],
    at: datetime,
    digest_id: int | None = None,
    referral_id: int | None = None,
    event_id: int | None = None,
) -> list[int]:
    """One mail row and outbox job per contact, in the caller's transaction; the jobs' ids."""
    signer = Signer.of(settings)
    sender = settings.sender or ""
    job_ids = []
    for contact in contacts:
        mail_id = await conn.scalar(
            sa.insert(mail)
            .values(
                kind=kind,
                partner_id=partner_id,
                digest_id=digest_id,
                referral_id=referral_id,
                event_id=event_id,
                recipient=contact.email,
                subject="",
                status=str(MailStatus.QUEUED),
                created_at=at,
            )
            .returning(mail.c.id)
        )
        addresses = signer.addresses(
            mail_id=mail_id, partner_id=partner_id, digest_id=digest_id, contact=contact
        )
        rendered = render(addresses)
        message_id = tokens.message_id(
            signer.tag(mail_id, None, partner_id, digest_id), signer.domain
        )
        raw = build(
            rendered,
            sender=sender,
            recipient=contact.email,
            addresses=addresses,
            message_id=message_id,
            date=at,
        )
        await conn.execute(
            sa.update(mail)
            .where(mail.c.id == mail_id)
            .values(message_id=message_id, subject=rendered.subject[:2000], raw=raw)
        )
        job = job_row(JobKind.EMAIL, referral_id, mail_id=mail_id)
        job_ids.append(await conn.scalar(INSERT_JOB.returning(INSERT_JOB.table.c.id), job))
    return job_ids


async def record_for_event(
    conn: AsyncConnection,
    *,
    settings: Settings,
    kind: str,
    partner_id: int,
    referral_id: int,
    event_id: int,
    render: Callable[[Addresses], Rendered],
    at: datetime,
) -> int | None:
    """The partner's emails about one event, once: None when a retried job finds them recorded
    already; else how many contacts they go to."""
    done = await conn.scalar(sa.select(sa.func.count()).where(mail.c.event_id == event_id))
    if done:
        return None
    contacts = await active_contacts(conn, partner_id)
    await record(
        conn,
        settings=settings,
        kind=kind,
        partner_id=partner_id,
        contacts=contacts,
        render=render,
        at=at,
        referral_id=referral_id,
        event_id=event_id,
    )
    return len(contacts)


def preview_addresses(
    settings: Settings, *, partner_id: int, contacts: Sequence[Contact], digest_id: int | None
) -> Addresses:
    """The addresses a preview shows: its first contact's (or an example's), signed with
    HANDOFF_SECRET when it is set; nothing is recorded."""
    assert settings.partner_mailbox is not None
    secret = settings.secret_bytes or b"preview: HANDOFF_SECRET unset"
    signer = Signer(settings.partner_mailbox, secret)
    contact = contacts[0] if contacts else Contact(0, "contact@partner.example")
    return signer.addresses(mail_id=0, partner_id=partner_id, digest_id=digest_id, contact=contact)
