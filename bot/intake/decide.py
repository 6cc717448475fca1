"""Intake's decision about one message: what the database knows of it, then a short dispatch
over named steps (Zulip's email mirror, Discourse's receiver).

Each reason a message is refused is an exception of its own, built with its reason, and
turned into what is stored and shown in triage in one place (refused()). A refusal is the
sender's doing (an unknown address, no prospect), never an error of ours: those propagate,
and the pipeline keeps the message as `rejected` with the cause.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.email.authresults import verdict
from bot.email.parse import ParsedMessage
from bot.intake import meetings, outcomes, rules
from bot.intake import queries as q
from bot.intake.rules import PartnerMatch, Prospect
from bot.intake.store import Decision, IngestResult, Received
from bot.referrals.directory import FREEMAIL, Directory, PartnerInfo
from bot.replies import answers
from bot.vocabulary import Kind


class Refused(Exception):  # noqa: N818 - an answer about the message, not a crash
    """A message kept for triage and not acted on: its kind and the reason shown."""

    kind: ClassVar[Kind] = Kind.REJECTED

    def __init__(self, reason: str, partner: PartnerInfo | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.partner = partner


class Noise(Refused):
    """An auto-reply, an out-of-office or list mail (RFC 3834): never a referral, never answered."""

    def __init__(self, kind: Kind, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind  # type: ignore[misc]  # each noise is its own kind


class NotAnEmail(Refused):
    def __init__(self, parsed: ParsedMessage) -> None:
        super().__init__("not an email message: no From, To or delivery headers" + _defects(parsed))


class UnknownPartner(Refused):
    kind = Kind.UNKNOWN_PARTNER

    def __init__(self) -> None:
        super().__init__("no partner address in To, Cc or the delivery headers")


class UnknownPlusTag(UnknownPartner):
    def __init__(self, tag: str) -> None:
        Refused.__init__(
            self,
            f"plus tag {tag!r} names no partner (register it: handoff partners add {tag} --name …)",
        )


class SenderUnverified(Refused):
    """HANDOFF_TRUSTED_AUTHSERV_ID is set and our server did not vouch for the From."""

    kind = Kind.SENDER_UNVERIFIED

    def __init__(self, why: str) -> None:
        super().__init__(f"sender not verified: {why}; never attributed")


class UnknownSender(Refused):
    def __init__(self, who: str, partner: PartnerInfo) -> None:
        super().__init__(
            f"sender {who} is neither a contact of {partner.slug} nor internal "
            f"(add it: handoff partners add {partner.slug} --contact {who})",
            partner,
        )


class NoProspect(Refused):
    def __init__(self, parsed: ParsedMessage, partner: PartnerInfo) -> None:
        super().__init__(
            "no prospect: no external address besides the partner's people" + _defects(parsed),
            partner,
        )


def refused(exc: Refused) -> Decision:
    """The one place a refusal becomes the stored kind and reason, with its partner if known."""
    partner = exc.partner
    result = IngestResult(exc.kind, partner=partner.slug if partner else None, reason=exc.reason)
    return result, partner.id if partner else None, None


def an_intro(
    parsed: ParsedMessage, match: PartnerMatch, prospect: Prospect | None, directory: Directory
) -> tuple[PartnerInfo, Prospect]:
    """Pure: the partner and the prospect of an intro, or the refusal that says what is missing."""
    if parsed.sender is None and not parsed.recipients:
        raise NotAnEmail(parsed)
    partner = match.partner
    if partner is None:
        raise UnknownPlusTag(match.unknown_tag) if match.unknown_tag else UnknownPartner()
    if rules.sender_role(parsed.sender, partner, directory) == "unknown" and (
        partner.contacts or partner.domains
    ):
        raise UnknownSender(parsed.sender.email if parsed.sender else "(no From)", partner)
    if prospect is None:
        raise NoProspect(parsed, partner)
    return partner, prospect


@dataclass(frozen=True)
class Facts:
    """What the database knows that bears on one message (queries.FACTS)."""

    prior: sa.Row[Any] | None  # the first settled delivery of the same message
    thread: sa.Row[Any] | None  # the referral whose thread the message answers
    open: list[sa.Row[Any]]  # the prospect's open referrals in the window, oldest first
    company: list[sa.Row[Any]]  # others' open referrals at the prospect's company, oldest first
    tried: list[int]  # the same message's rows still waiting in triage


def _thread_ids(parsed: ParsedMessage) -> list[str]:
    """The Message-IDs a message answers, nearest first."""
    return list(dict.fromkeys([*parsed.in_reply_to, *reversed(parsed.references)]))[:50]


async def _facts(
    conn: AsyncConnection,
    parsed: ParsedMessage,
    prospect: Prospect | None,
    arrival: datetime,
    protection: timedelta,
    size: int,
) -> Facts:
    ids = _thread_ids(parsed)
    values = {
        "key": parsed.dedupe_key,
        "size": size,
        "email": prospect.email if prospect else None,
        "domain": prospect.domain if prospect and prospect.domain not in FREEMAIL else None,
        "since": arrival - protection,
        "until": arrival + protection,
    }
    if ids:
        rows = (await conn.execute(q.FACTS, values | {"ids": ids})).all()
    else:
        rows = (await conn.execute(q.FACTS_NO_THREAD, values)).all()
    prior = [r for r in rows if r.what == "prior"]
    thread = [r for r in rows if r.what == "thread"]
    return Facts(
        prior=min(prior, key=lambda r: r.row_id) if prior else None,
        thread=min(thread, key=lambda r: r.row_id) if thread else None,
        open=sorted((r for r in rows if r.what == "open"), key=lambda r: (r.received_at, r.row_id)),
        company=sorted(
            (r for r in rows if r.what == "company"), key=lambda r: (r.received_at, r.row_id)
        ),
        tried=[r.row_id for r in rows if r.what == "tried"],
    )


async def _serialize(conn: AsyncConnection, key: str) -> None:
    """Let no other writer decide about the same prospect between our read and our writes.

    Two intros of one prospect ingested at once would otherwise both see no open referral and
    neither be marked disputed. SQLite: take the write lock before reading (BEGIN IMMEDIATE).
    PostgreSQL: a transaction-scoped advisory lock on the prospect (or the message, without one).
    """
    if conn.dialect.name == "sqlite":
        # Inside a batch an earlier write may have begun the transaction (the driver begins
        # with BEGIN IMMEDIATE too, bot/db.py), and then we hold the lock already.
        driver = (await conn.get_raw_connection()).driver_connection
        if driver is None or not driver.in_transaction:
            await conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        await conn.execute(q.LOCK_KEY, {"key": key})


async def decide(
    conn: AsyncConnection,
    message: Received,
    *,
    directory: Directory,
    protection: timedelta,
    dry_run: bool,
) -> Decision:
    """duplicate? -> bounce? -> unsubscribe? -> noise? -> reply to our mail? -> thread reply?
    -> intro (partner, sender, prospect) -> new referral, duplicate or conflict."""
    try:
        return await _dispatch(conn, message, directory, protection, dry_run)
    except Refused as exc:
        return refused(exc)


async def _dispatch(
    conn: AsyncConnection,
    message: Received,
    directory: Directory,
    protection: timedelta,
    dry_run: bool,
) -> Decision:
    parsed = message.parsed
    # The pure rules first, so that one query fetches every fact the decision needs.
    noise = rules.noise(parsed, directory)
    match = rules.find_partner(parsed, directory)
    partner = match.partner
    prospect = rules.find_prospect(parsed, partner, directory) if partner else None
    # Only a message that may touch a referral (an intro, or a reply in a thread) needs the
    # lock; noise and the unplaceable only ever write their own row.
    # Calendar mail (an invitation, its acceptance) is sent by calendar servers that may mark it
    # as automatic; it still tells of a meeting, and changes a referral.
    meeting = meetings.relevant(parsed.meetings) if parsed.meetings else None
    may_touch_referral = (noise is None or meeting is not None) and (
        prospect is not None or _thread_ids(parsed)
    )
    if may_touch_referral and not dry_run:
        await _serialize(conn, prospect.email if prospect else parsed.dedupe_key)
    # Each rival referral is protected by its own partner's window: look as far as the
    # widest, then keep those whose window covers this arrival.
    facts = await _facts(
        conn,
        parsed,
        prospect,
        message.arrival_at,
        directory.widest(protection),
        len(message.raw),
    )
    arrival = message.arrival_at
    for found in (facts.open, facts.company):
        found[:] = [
            r
            for r in found
            if abs(arrival - r.received_at) <= directory.protection_of(r.partner_id, protection)
        ]
    if facts.tried and not dry_run:
        # Tried again: this delivery's row, stored with what it comes to now, replaces them.
        await conn.execute(q.DELETE_TRIED, {"ids": facts.tried, "raw": message.raw})

    if facts.prior is not None:
        prior = facts.prior
        known = directory.partners.get(prior.partner_id)
        result = IngestResult(
            Kind.DUPLICATE,
            partner=known.slug if known else None,
            referral=prior.ref,
            reason=f"already received as message #{prior.row_id}",
        )
        return result, prior.partner_id, prior.referral_id

    if noise is not None and noise[0] == Kind.BOUNCE:
        # A bounce of our own mail marks the mail, and the contact when it failed for good.
        token = answers.token_of(parsed, match.digest_token)
        note = await answers.bounced(conn, message.raw, token, directory.secret, message.arrival_at)
        reason = f"{noise[1]}; {note}" if note else noise[1]
        return IngestResult(Kind.BOUNCE, reason=reason), None, None

    if match.unsubscribe_token is not None:
        note, who = await answers.unsubscribe(
            conn, match.unsubscribe_token, directory, message.arrival_at
        )
        result = IngestResult(Kind.UNSUBSCRIBE, partner=who.slug if who else None, reason=note)
        return result, who.id if who else None, None

    if noise is not None and meeting is None:
        raise Noise(*noise)

    if directory.authserv_id is not None:
        # Whoever the From names is believed only on our own server's word (RFC 8601).
        sender = parsed.sender.email if parsed.sender else None
        checked = verdict(
            parsed.auth_results,
            authserv_id=directory.authserv_id,
            from_domain=sender.rpartition("@")[2] if sender else None,
        )
        if not checked.trusted:
            raise SenderUnverified(checked.reason)

    token = answers.token_of(parsed, match.digest_token)
    if token is not None:
        return await outcomes.answered(conn, message, token, directory)

    if meeting is not None:
        booked = await meetings.place(conn, message, meeting, facts.thread, partner, directory)
        if booked is not None:
            return booked
        if noise is not None:
            raise Noise(*noise)

    if facts.thread is not None:
        return await outcomes.thread_reply(conn, message, facts.thread, directory)

    partner, prospect = an_intro(parsed, match, prospect, directory)
    window = directory.protection_of(partner.id, protection)
    overlap = next((r for r in facts.company if r.partner_id != partner.id), None)
    return await outcomes.new_intro(
        conn,
        message,
        partner,
        prospect,
        match.via or "",
        facts.open,
        protection=window,
        overlap=overlap,
    )


def _defects(parsed: ParsedMessage) -> str:
    return f" (MIME defects: {', '.join(parsed.defects)})" if parsed.defects else ""
