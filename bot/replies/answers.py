"""Mail that answers mail we sent: partners' replies, unsubscribes, and bounces of our mail.

A reply is placed by the signed token of the address it was sent to (or of our Message-ID in
In-Reply-To/References) and accepted only from the partner's people by From; Reply-To is never
read, since a forger sets it freely (DESIGN "Reply by email"). Whatever is not accepted is kept
as triage with the reason, never applied.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.email.auto import OOO_SUBJECT
from bot.email.extract import Split, split_reply
from bot.email.html import html_to_text
from bot.email.parse import ParsedMessage, parse
from bot.models import Digest, Mail, PartnerAddress, Referral
from bot.referrals.directory import Directory, PartnerInfo
from bot.replies import inline, tokens
from bot.replies.inline import Piece
from bot.vocabulary import AddressKind, Kind, MailStatus

mail: sa.Table = Mail.__table__  # type: ignore[attr-defined]
digest: sa.Table = Digest.__table__  # type: ignore[attr-defined]
referral: sa.Table = Referral.__table__  # type: ignore[attr-defined]
address: sa.Table = PartnerAddress.__table__  # type: ignore[attr-defined]

REPLY_CHARS = 3000  # of a partner's reply kept in the event and shown in Slack
# A ref as people write it: "ACME-12", "acme-12", "Acme–12" is not one (en dash).
_REF = re.compile(rf"(?<![\w-]){inline.REF}(?![\w-])")
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
class Landed:
    """Text of a reply that becomes an event on one referral."""

    referral_id: int
    ref: str
    text: str


@dataclass(frozen=True)
class Placed:
    """A stretch of a reply's new text, where it goes and why (`handoff replies explain`)."""

    text: str
    quoted: str | None  # the referral whose quoted block stands above it
    refs: tuple[str, ...]  # where it lands; none: for a manager to place
    why: str


@dataclass(frozen=True)
class Answer:
    """What a reply to our mail comes to: events on these referrals, or triage with a reason.

    A reason with text landed means part of the reply could not be placed (kept for triage).
    """

    kind: Kind
    partner: PartnerInfo | None = None
    landed: tuple[Landed, ...] = ()
    text: str = ""  # the reply's whole new text
    inline: bool = False  # some of it answers a referral quoted above it
    reason: str | None = None
    placed: tuple[Placed, ...] = ()
    sent: Sent | None = None  # the mail of ours it answers, when the token verifies
    split: Split | None = None  # its text as read, once it is read

    @property
    def referrals(self) -> tuple[tuple[int, str], ...]:
        return tuple((a.referral_id, a.ref) for a in self.landed)


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
        return Answer(Kind.DIGEST_REPLY, reason="the partner of that digest is gone", sent=sent)
    sender = parsed.sender.email if parsed.sender else None
    if sender is None or not partner.owns_person(sender):
        return Answer(
            Kind.DIGEST_REPLY,
            partner,
            reason=(
                f"sender {sender or '(no From)'} is not one of {partner.slug}'s contacts or "
                "domains; the reply was not applied (Reply-To is never trusted)"
            ),
            sent=sent,
        )
    if OOO_SUBJECT.match(parsed.subject):
        # Weak evidence is enough here: people do not answer our digests "Out of office: …".
        why = f"out-of-office answer to our {kind(sent)}"
        return Answer(Kind.AUTO_REPLY, partner, reason=why, sent=sent)
    ours = our_text(sent.raw)
    split = inline.unmarked_answers(split_reply(parsed.text, parsed.html or None), ours)
    pieces = inline.place(split)
    text = "\n\n".join(p.text for p in pieces)
    if not text:
        why = "no new text: only quoted lines"
        return Answer(Kind.DIGEST_REPLY, partner, reason=why, sent=sent, split=split)
    named = [r for p in pieces for r in (p.ref, *_named(p.text)) if r]
    known = await _known(conn, named, partner.id)
    answers_inline = any(p.ref in known for p in pieces)
    if not answers_inline:  # one message: it goes where it names, as a whole
        pieces = [Piece(None, text)]
    placed = [_place(piece, known) for piece in pieces]
    if any(not p.refs for p in placed):  # else the address's referral, or the digest's one
        about = token.referral_id or sent.referral_id
        one = about or await _single(conn, sent.digest_id)
        found = await _refs(conn, [one], sent.partner_id) if one else []
        known.update({ref: id_ for id_, ref in found})
        why = "the referral the reply address is about" if about else "the digest's only referral"
        placed = [
            replace(p, refs=(found[0][1],), why=f"names no referral: {why}")
            if found and not p.refs
            else p
            for p in placed
        ]
    texts: dict[str, list[str]] = {}
    for p in placed:
        for ref in p.refs:
            texts.setdefault(ref, []).append(p.text)
    landed = tuple(
        Landed(known[ref], ref, "\n\n".join(parts)[:REPLY_CHARS]) for ref, parts in texts.items()
    )
    reason = None
    if any(not p.refs for p in placed):
        on = ", ".join(a.ref for a in landed)
        reason = f"answers landed on {on}; the rest {UNPLACED}" if landed else UNPLACED
    return Answer(
        Kind.DIGEST_REPLY, partner, landed, text, answers_inline, reason, tuple(placed), sent, split
    )


UNPLACED = "names no referral and the digest covers several: for a manager to place"


def _place(piece: Piece, known: dict[str, int]) -> Placed:
    """Where one stretch goes by itself: the referral quoted above it and those it names."""
    quoted = piece.ref if piece.ref in known else None
    named = [r for r in _named(piece.text) if r in known and r != quoted]
    if not (quoted or named):
        return Placed(piece.text, None, (), UNPLACED)
    reasons = [f"under {quoted}'s quoted lines"] if quoted else []
    reasons += [f"names {', '.join(named)}"] if named else []
    refs = ([quoted] if quoted else []) + named
    return Placed(piece.text, quoted, tuple(refs), "; ".join(reasons))


def kind(sent: Sent) -> str:
    return "digest" if sent.digest_id is not None else "notice"


def our_text(raw: bytes | None) -> str:
    """What our mail said: its text, then its HTML rendered ("" when its bytes are not kept)."""
    if not raw:
        return ""
    ours = parse(raw)
    return f"{ours.text}\n{html_to_text(ours.html)}" if ours.html else ours.text


def _named(text: str) -> list[str]:
    """The refs a text names, in the order named."""
    return list(dict.fromkeys(m.upper() for m in _REF.findall(text[:20000])))[:50]


async def _known(conn: AsyncConnection, refs: list[str], partner_id: int) -> dict[str, int]:
    """Of these refs, the partner's referrals: ref -> id."""
    wanted = list(dict.fromkeys(refs))[:200]
    if not wanted:
        return {}
    rows = await conn.execute(
        sa.select(referral.c.id, referral.c.ref).where(
            referral.c.ref.in_(wanted), referral.c.partner_id == partner_id
        )
    )
    return {r.ref: r.id for r in rows}


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
