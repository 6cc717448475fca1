"""Mail that answers mail we sent: partners' replies, unsubscribes, and bounces of our mail.

A reply is placed by the signed token of the address it was sent to (or of our Message-ID in
In-Reply-To/References) and accepted only from the partner's people by From; Reply-To is never
read, since a forger sets it freely (DESIGN "Reply by email"). Whatever is not accepted is kept
as triage with the reason, never applied.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.intake import rules
from bot.intake.parse import ParsedMessage
from bot.intake.rules import Directory, PartnerInfo
from bot.mail import tokens
from bot.mail.extract import new_text
from bot.models import AddressKind, Digest, Kind, Mail, MailStatus, PartnerAddress, Referral

mail: sa.Table = Mail.__table__  # type: ignore[attr-defined]
digest: sa.Table = Digest.__table__  # type: ignore[attr-defined]
referral: sa.Table = Referral.__table__  # type: ignore[attr-defined]
address: sa.Table = PartnerAddress.__table__  # type: ignore[attr-defined]

REPLY_CHARS = 3000  # of a partner's reply kept in the event and shown in Slack
# A ref as people write it: "ACME-12", "acme-12", "Acme–12" is not one (en dash).
_REF = re.compile(r"(?<![\w-])([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}[A-Za-z0-9])?-\d{1,9})(?![\w-])")
_OUR_ID = re.compile(rb"<(handoff\.r-\d{1,12}-\d{1,12}-[0-9a-f]{16}@[^<>\s]{1,255})>", re.I)
_DSN_ACTION = re.compile(r"^Action:\s*([a-z-]+)", re.I | re.M)
_DSN_STATUS = re.compile(r"^Status:\s*([245]\.\d{1,3}\.\d{1,3})", re.I | re.M)
_DSN_DIAGNOSTIC = re.compile(r"^Diagnostic-Code:\s*(?:[\w-]+;\s*)?(.{1,300})", re.I | re.M)


@dataclass(frozen=True)
class Sent:
    """The mail of ours a message answers, as recorded."""

    id: int
    partner_id: int
    digest_id: int | None
    referral_id: int | None
    recipient: str
    raw: bytes | None


@dataclass(frozen=True)
class Answer:
    """What a reply to our mail comes to: events on these referrals, or triage with a reason."""

    kind: Kind
    partner: PartnerInfo | None = None
    referrals: tuple[tuple[int, str], ...] = ()  # (id, ref)
    text: str = ""
    reason: str | None = None


def token_of(parsed: ParsedMessage, tag: str | None) -> str | None:
    """The reply token: from the address's plus tag, else from our Message-ID it answers."""
    return tag or tokens.in_message_ids([*parsed.in_reply_to, *reversed(parsed.references)])


async def sent_mail(
    conn: AsyncConnection, token_text: str, secret: bytes | None
) -> tuple[Sent | None, tokens.ReplyToken | None, str | None]:
    """The mail a token names, if it verifies; else why not."""
    parsed_token = tokens.parse_reply(token_text)
    if parsed_token is None:
        return None, None, "the reply address's token is malformed"
    token, mac = parsed_token
    if secret is None:
        return None, token, "HANDOFF_SECRET is not set, so reply tokens cannot be verified"
    row = (
        await conn.execute(
            sa.select(
                mail.c.id,
                mail.c.partner_id,
                mail.c.digest_id,
                mail.c.referral_id,
                mail.c.recipient,
                mail.c.raw,
            ).where(mail.c.id == token.mail_id)
        )
    ).first()
    if row is None or not tokens.verifies(
        secret, token, mac, partner_id=row.partner_id, digest_id=row.digest_id
    ):
        return None, token, "the reply token does not verify (forged, altered or from elsewhere)"
    return Sent(*row), token, None


async def answer(
    conn: AsyncConnection, parsed: ParsedMessage, token_text: str, directory: Directory
) -> Answer:
    """Decide where a reply to our mail goes (pure but for the lookups)."""
    sent, token, why = await sent_mail(conn, token_text, directory.secret)
    if sent is None or token is None:
        return Answer(Kind.DIGEST_REPLY, reason=why)
    partner = directory.partners.get(sent.partner_id)
    if partner is None:
        return Answer(Kind.DIGEST_REPLY, reason="the partner of that digest is gone")
    sender = parsed.sender.email if parsed.sender else None
    if sender is None or not partner.owns_person(sender):
        return Answer(
            Kind.DIGEST_REPLY,
            partner,
            reason=(
                f"sender {sender or '(no From)'} is not one of {partner.slug}'s contacts or "
                "domains; the reply was not applied (Reply-To is never trusted)"
            ),
        )
    if rules.OOO_SUBJECT.match(parsed.subject):
        # Weak evidence is enough here: people do not answer our digests "Out of office: …".
        return Answer(Kind.AUTO_REPLY, partner, reason=f"out-of-office answer to our {kind(sent)}")
    text = without_ours(new_text(parsed.text, parsed.html or None), sent.raw)
    if not text:
        return Answer(Kind.DIGEST_REPLY, partner, reason="no new text: only quoted lines")
    targets = await _named(conn, text, sent.partner_id)
    if not targets:
        single = token.referral_id or sent.referral_id or await _single(conn, sent.digest_id)
        targets = await _refs(conn, [single], sent.partner_id) if single else []
    if not targets:
        return Answer(
            Kind.DIGEST_REPLY,
            partner,
            text=text,
            reason="names no referral and the digest covers several: for a manager to place",
        )
    return Answer(Kind.DIGEST_REPLY, partner, tuple(targets), text[:REPLY_CHARS])


def kind(sent: Sent) -> str:
    return "digest" if sent.digest_id is not None else "notice"


def without_ours(text: str, raw: bytes | None) -> str:
    """The reply without a copy of our own email that its client pasted in unmarked."""
    if not raw or not text:
        return text
    from bot.intake.parse import parse

    ours = [line.strip() for line in parse(raw).text.splitlines() if line.strip()][:2]
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if ours and line.strip() == ours[0] and i > 0:
            return "\n".join(lines[:i]).strip()
    return text


async def _named(conn: AsyncConnection, text: str, partner_id: int) -> list[tuple[int, str]]:
    """The partner's referrals the text names by ref, in the order named."""
    named = list(dict.fromkeys(m.upper() for m in _REF.findall(text[:20000])))[:50]
    if not named:
        return []
    rows = await conn.execute(
        sa.select(referral.c.id, referral.c.ref).where(
            referral.c.ref.in_(named), referral.c.partner_id == partner_id
        )
    )
    found = {r.ref: r.id for r in rows}
    return [(found[ref], ref) for ref in named if ref in found]


async def _refs(conn: AsyncConnection, ids: list[int], partner_id: int) -> list[tuple[int, str]]:
    rows = await conn.execute(
        sa.select(referral.c.id, referral.c.ref).where(
            referral.c.id.in_(ids), referral.c.partner_id == partner_id
        )
    )
    return [(r.id, r.ref) for r in rows]


async def _single(conn: AsyncConnection, digest_id: int | None) -> int | None:
    """The digest's one referral, when it covered exactly one."""
    if digest_id is None:
        return None
    covered = await conn.scalar(sa.select(digest.c.referrals).where(digest.c.id == digest_id))
    ids = json.loads(covered or "[]")
    return int(ids[0]) if len(ids) == 1 else None


async def bounced(
    conn: AsyncConnection, raw: bytes, token_text: str | None, secret: bytes | None, at: datetime
) -> str | None:
    """A delivery report about our mail: the mail marked, and its contact if it failed for good."""
    if token_text is None:
        found = _OUR_ID.search(raw[: 512 * 1024])
        token_text = tokens.in_message_ids([found.group(1).decode()]) if found else None
    if token_text is None:
        return None
    sent, _, _ = await sent_mail(conn, token_text, secret)
    if sent is None:
        return None
    report = raw[: 512 * 1024].decode("utf-8", "replace")
    action = _DSN_ACTION.search(report)
    status = _DSN_STATUS.search(report)
    permanent = (status is not None and status.group(1).startswith("5")) or (
        action is not None and action.group(1).lower() == "failed"
    )
    if not permanent:
        return f"a delay report about our mail #{sent.id} to {sent.recipient}"
    diagnostic = _DSN_DIAGNOSTIC.search(report)
    reason = (
        " ".join(
            part
            for part in (
                status.group(1) if status else None,
                diagnostic.group(1).strip() if diagnostic else None,
            )
            if part
        )
        or "delivery failed"
    )
    await conn.execute(
        sa.update(mail)
        .where(mail.c.id == sent.id)
        .values(status=str(MailStatus.BOUNCED), error=f"bounced: {reason}"[:500])
    )
    await mark_bounced(
        conn, partner_id=sent.partner_id, email=sent.recipient, reason=f"bounced: {reason}", at=at
    )
    return f"our mail #{sent.id} to {sent.recipient} bounced ({reason[:120]}): contact marked"


async def unsubscribe(
    conn: AsyncConnection, token_text: str, directory: Directory, at: datetime
) -> tuple[str, Any]:
    """A List-Unsubscribe mail: the contact it names gets no more digests. (reason, partner)"""
    if directory.secret is None:
        return "HANDOFF_SECRET is not set, so unsubscribe tokens cannot be verified", None
    contact_id = tokens.parse_unsubscribe(directory.secret, token_text)
    if contact_id is None:
        return "the unsubscribe token does not verify; nothing changed", None
    row = (
        await conn.execute(
            sa.select(address.c.value, address.c.partner_id).where(address.c.id == contact_id)
        )
    ).first()
    if row is None:
        return "the contact of that unsubscribe address is no longer registered", None
    await conn.execute(
        sa.update(address)
        .where(address.c.id == contact_id, address.c.unsubscribed_at.is_(None))
        .values(unsubscribed_at=at)
    )
    partner = directory.partners.get(row.partner_id)
    slug = partner.slug if partner else "its partner"
    return f"{row.value} unsubscribed from {slug}'s digests and notices", partner


async def mark_bounced(
    conn: AsyncConnection, *, partner_id: int, email: str, reason: str, at: datetime
) -> None:
    """The contact's mail comes back: no more digests to it until it is added again."""
    await conn.execute(
        sa.update(address)
        .where(
            address.c.partner_id == partner_id,
            address.c.kind == str(AddressKind.CONTACT),
            address.c.value == email,
        )
        .values(bounced_at=at, bounce_reason=reason[:500])
    )
