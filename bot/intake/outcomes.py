"""What each kind of message leaves behind, in the transaction that stores it: a new referral
(with its conflict, if another partner was first), a thread reply's event (a rep's reply-all is
the first response), a reply's answers on the referrals it is about."""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.email.forwards import is_forward_subject
from bot.intake import queries as q
from bot.intake.rules import Prospect
from bot.intake.store import Decision, IngestResult, Received
from bot.models import utcnow
from bot.outbox import enqueue
from bot.referrals import confirmations, lanes, timeline
from bot.referrals.actions import MARK_FIRST_RESPONSE
from bot.referrals.directory import Directory, PartnerInfo
from bot.replies import answers
from bot.vocabulary import THREADED_EVENTS, EventKind, JobKind, Kind, Role, Stage

log = logging.getLogger(__name__)


EXCERPT_CHARS = 500


async def answered(
    conn: AsyncConnection, message: Received, token: str, directory: Directory
) -> Decision:
    """A reply to our digest or notice: an event on each referral it is about, or triage."""
    found = await answers.answer(conn, message.parsed, token, directory)
    partner = found.partner
    result = IngestResult(
        found.kind,
        partner=partner.slug if partner else None,
        referral=found.referrals[0][1] if found.referrals else None,
        reason=found.reason,
        text=found.text or None,
        answers=[{"referral": a.ref, "text": a.text} for a in found.landed]
        if found.inline
        else None,
    )
    sender = message.parsed.sender.email if message.parsed.sender else "(unknown)"
    for landed in found.landed:
        await _event(conn, landed.referral_id, EventKind.PARTNER_REPLY, message, landed.text)
        # An answer to "did you introduce …?" is the partner's confirmation of the referral.
        await confirmations.confirm(
            conn,
            landed.referral_id,
            answered=found.sent.id if found.sent else None,
            text=landed.text,
            actor=f"email:{sender}",
            at=message.arrival_at,
            message_id=message.parsed.message_id,
        )
    if found.referrals:
        log.info(
            "intake: reply from %s lands on %s", sender, ", ".join(r for _, r in found.referrals)
        )
    first = found.referrals[0][0] if found.referrals else None
    return result, partner.id if partner else None, first


async def thread_reply(
    conn: AsyncConnection, message: Received, thread: sa.Row[Any], directory: Directory
) -> Decision:
    parsed = message.parsed
    sender = parsed.sender.email if parsed.sender else "(unknown)"
    partner = directory.partners.get(thread.partner_id)
    is_internal = parsed.sender is not None and directory.is_internal(sender)
    # A first response reaches the prospect: not a forward, not a note to the partner alone.
    to_prospect = thread.prospect_email in {a.email for a in parsed.addresses("to", "cc")}
    forwards = is_forward_subject(parsed.subject) or (
        parsed.forwarded is not None and parsed.forwarded.via == "rfc822"
    )
    responds = is_internal and to_prospect and not forwards
    first = responds and thread.first_response_at is None
    if first:
        # The first internal reply in the intro's thread is the first response (DESIGN).
        await conn.execute(
            MARK_FIRST_RESPONSE, {"b_id": thread.referral_id, "b_at": message.arrival_at}
        )
        await enqueue(conn, JobKind.SLACK_UPDATE, thread.referral_id)  # the post shows it
    if is_internal:
        who = "internal" if to_prospect else "internal (not to the prospect)"
    elif partner and partner.owns_person(sender):
        who = "partner"
        await lanes.partner_acted(conn, thread.referral_id, message.arrival_at)
    else:
        who = "prospect" if sender == thread.prospect_email else "external"
    kind = EventKind.FIRST_RESPONSE if first else EventKind.ACTIVITY
    await _event(conn, thread.referral_id, kind, message, f"{who} reply: {parsed.subject}"[:2000])
    result = IngestResult(
        Kind.THREAD_REPLY,
        partner=partner.slug if partner else None,
        referral=thread.ref,
        first_response=first,
        reply=parsed,
    )
    return result, thread.partner_id, thread.referral_id


async def new_intro(
    conn: AsyncConnection,
    message: Received,
    partner: PartnerInfo,
    prospect: Prospect,
    via: str,
    existing: list[sa.Row[Any]],
    *,
    protection: timedelta,
    overlap: sa.Row[Any] | None = None,
) -> Decision:
    """A new referral, unless this partner introduced the prospect already; the later of two
    partners' intros of one prospect is disputed, another person at the same company is a
    possible overlap (`overlap`: the earliest such referral of another partner)."""
    parsed, arrival = message.parsed, message.arrival_at
    same = next((r for r in existing if r.partner_id == partner.id), None)
    if same is not None:
        note = f"{partner.slug} introduced {prospect.email} again"
        await _event(conn, same.row_id, EventKind.REINTRODUCED, message, note)
        reason = f"{partner.slug} already introduced {prospect.email} as {same.ref}"
        result = IngestResult(
            Kind.DUPLICATE, partner=partner.slug, referral=same.ref, reason=reason
        )
        return result, partner.id, same.row_id
    forwarded = parsed.forwarded
    subject = forwarded.subject if forwarded and forwarded.subject else parsed.subject
    if forwarded and parsed.sender:
        via += f"; forwarded ({forwarded.via}) by {parsed.sender.email}"

    async def record(
        referral_id: int,
        kind: EventKind,
        detail: str,
        actor: str | None = None,
        receipts: bool | None = None,
    ) -> None:
        await _event(conn, referral_id, kind, message, detail, actor=actor, receipts=receipts)

    referral_id, ref, rival = await register(
        conn,
        partner=partner,
        prospect=prospect,
        arrival=arrival,
        existing=existing,
        overlap=overlap,
        protection=protection,
        values={
            "dedupe_key": parsed.dedupe_key,
            "subject": _strip_forward_prefix(subject)[:2000],
            "intro_excerpt": excerpt(forwarded.text if forwarded else parsed.text),
            "intro_message_id": parsed.message_id,
            "sender": parsed.sender.email if parsed.sender else None,
            "partner_action_at": arrival,
        },
        first=(EventKind.INTRO_RECEIVED, via),
        record=record,
    )
    result = IngestResult(
        Kind.NEW_INTRO,
        partner=partner.slug,
        referral=ref,
        prospect=prospect,
        conflict_with=rival.ref if rival else None,
    )
    return result, partner.id, referral_id


class Record(Protocol):
    """Writes one event of the new referral's (or its rival's) timeline."""

    async def __call__(
        self,
        referral_id: int,
        kind: EventKind,
        detail: str,
        actor: str | None = None,
        receipts: bool | None = None,
    ) -> None: ...


async def register(
    conn: AsyncConnection,
    *,
    partner: PartnerInfo,
    prospect: Prospect,
    arrival: datetime,
    existing: list[sa.Row[Any]],
    overlap: sa.Row[Any] | None,
    protection: timedelta,
    values: dict[str, Any],
    first: tuple[EventKind, str],
    record: Record,
) -> tuple[int, str, sa.Row[Any] | None]:
    """A new referral of the prospect from the partner, however it came (email, Slack): the
    later of two partners' referrals is disputed, another person at the same company is a
    possible overlap; its post and first event queued. (id, ref, the rival if any)."""
    rival = next((r for r in existing if r.partner_id != partner.id), None)
    # First in time wins, by arrival (never the sender's Date header): the later one is disputed.
    disputed = rival is not None and rival.received_at <= arrival
    inserted = (
        await conn.execute(
            q.INSERT_REFERRAL,
            {
                "prefix": partner.ref_prefix,
                "partner_id": partner.id,
                "b_partner": partner.id,
                "prospect_email": prospect.email,
                "prospect_name": prospect.name,
                "prospect_company": prospect.company,
                "prospect_domain": prospect.domain,
                "received_at": arrival,
                "stage": str(Stage.NEW),
                "role": str(Role.DISPUTED) if disputed else None,
                "conflict_with_id": rival.row_id if rival is not None and disputed else None,
                "protected_until": arrival + protection,
                "overlap_with_id": overlap.row_id if overlap and rival is None else None,
                "created_at": utcnow(),
            }
            | values,
        )
    ).one()
    referral_id, ref = inserted.id, inserted.ref
    await enqueue(conn, JobKind.SLACK_POST, referral_id)
    await record(referral_id, first[0], first[1], receipts=partner.receipts)
    if rival is not None:
        if not disputed:
            # A backfill brought an older intro: the one we had is the later one after all.
            await conn.execute(q.MARK_DISPUTED, {"b_id": rival.row_id, "b_other": referral_id})
        earlier, later = (rival.ref, ref) if disputed else (ref, rival.ref)
        note = (
            f"{ref} and {rival.ref} introduce {prospect.email}; "
            f"{earlier} came first, {later} is disputed"
        )
        for target in (referral_id, rival.row_id):
            await record(target, EventKind.CONFLICT, note, actor="system")
        # The rival's post gains the warning that names this referral.
        await enqueue(conn, JobKind.SLACK_UPDATE, rival.row_id)
    elif overlap is not None:
        # Not the same person: a manager judges whether it is the same deal (no dispute).
        note = (
            f"possible overlap with {overlap.ref}: {ref} and {overlap.ref} introduce people at "
            f"{prospect.domain}"
        )
        for target in (referral_id, overlap.row_id):
            await record(target, EventKind.OVERLAP, note, actor="system")
        # The earlier referral's post gains the note that names this one.
        await enqueue(conn, JobKind.SLACK_UPDATE, overlap.row_id)
    return referral_id, ref, rival


async def _event(
    conn: AsyncConnection,
    referral_id: int,
    kind: EventKind,
    message: Received,
    detail: str,
    actor: str | None = None,
    receipts: bool | None = None,
) -> None:
    """One line of the referral's timeline, with the message as proof (and in its Slack thread)."""
    sender = message.parsed.sender
    await timeline.record(
        conn,
        referral_id,
        kind,
        actor=actor or (f"email:{sender.email}" if sender else "email:(unknown)"),
        at=message.arrival_at,
        message_id=message.parsed.message_id,
        detail=detail,
        threaded=kind in THREADED_EVENTS,
        receipts=receipts,
    )


_FWD_PREFIX = re.compile(r"^\s*((fwd?|tr|wg|rv|enc|re|aw|sv)\s*:\s*)+", re.IGNORECASE)


def _strip_forward_prefix(subject: str) -> str:
    return _FWD_PREFIX.sub("", subject).strip()


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """The start of the intro's own words: quoted lines dropped, whitespace folded."""
    lines = [line for line in text.split("\n")[:200] if not line.lstrip().startswith(">")]
    folded = " ".join(" ".join(lines).split())
    return folded if len(folded) <= limit else folded[: limit - 1].rstrip() + "…"
