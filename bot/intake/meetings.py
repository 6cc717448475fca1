"""Meetings count themselves: a calendar invitation or acceptance that reaches the mailbox in a
referral's thread, or names the prospect as attendee with the partner's address as a guest,
moves the referral to `meeting` (and is its first response when none was recorded); a
cancellation is recorded too (issue 23, part 3)."""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.email.calendar import Meeting
from bot.intake.store import Decision, IngestResult, Received
from bot.models import Partner, Referral
from bot.outbox import enqueue
from bot.referrals import timeline
from bot.referrals.actions import MARK_FIRST_RESPONSE
from bot.referrals.directory import Directory, PartnerInfo
from bot.vocabulary import CLOSED_STAGES, NOTICE_STAGES, EventKind, JobKind, Kind, Stage

log = logging.getLogger(__name__)

referral: sa.Table = Referral.__table__  # type: ignore[attr-defined]
partner: sa.Table = Partner.__table__  # type: ignore[attr-defined]

# Stages a booked meeting moves on; a referral at a meeting or beyond keeps its stage.
BEFORE_MEETING = frozenset({Stage.NEW, Stage.CLAIMED, Stage.CONTACTED})


def relevant(meetings: tuple[Meeting, ...]) -> Meeting | None:
    """The meeting the message tells of: booked (an invitation, an acceptance) or cancelled."""
    for m in meetings:
        if m.method == "REQUEST" or m.method == "CANCEL" or m.accepted_by:
            return m
    return None


async def place(
    conn: AsyncConnection,
    message: Received,
    meeting: Meeting,
    thread: sa.Row[Any] | None,
    matched: PartnerInfo | None,
    directory: Directory,
) -> Decision | None:
    """Book or cancel the meeting on its referral; None when no referral is found for it."""
    row = await _referral(conn, meeting, thread, matched, directory)
    if row is None:
        return None
    parsed, at = message.parsed, message.arrival_at
    sender = parsed.sender.email if parsed.sender else "(unknown)"
    if not _trusted(sender, meeting, row, directory):
        return None  # read as any other mail would be: a calendar of anyone's moves nothing
    actor = f"email:{sender}"
    start = meeting.start or at
    when = start.strftime("%Y-%m-%d %H:%M UTC")
    title = f" ({meeting.summary})" if meeting.summary else ""

    async def record(kind: EventKind, detail: str) -> int:
        return await timeline.record(
            conn,
            row.id,
            kind,
            actor=actor,
            at=at,
            detail=detail[:2000],
            message_id=parsed.message_id,
        )

    if meeting.method == "CANCEL":
        if row.meeting_uid is not None and row.meeting_uid != meeting.uid:
            return None  # another meeting's cancellation: not this referral's
        await conn.execute(
            sa.update(referral).where(referral.c.id == row.id).values(meeting_cancelled_at=at)
        )
        await record(EventKind.MEETING_CANCELLED, f"meeting on {when} cancelled{title}")
    else:
        if meeting.accepted_by:
            how = f"accepted by {', '.join(meeting.accepted_by)}"
        else:
            how = f"invitation from {meeting.organizer or sender}"
        await conn.execute(
            sa.update(referral)
            .where(referral.c.id == row.id)
            .values(
                meeting_at=start,
                meeting_uid=meeting.uid,
                meeting_cancelled_at=None,
                met_at=sa.func.coalesce(referral.c.met_at, at),
            )
        )
        # Each change only if still due (another delivery, or a rep, may have been first):
        # a meeting answers the intro, and moves a deal that had not got that far.
        first = await conn.execute(MARK_FIRST_RESPONSE, {"b_id": row.id, "b_at": at})
        if first.rowcount == 1:
            await record(EventKind.FIRST_RESPONSE, f"meeting booked{title}")
        moved = await conn.execute(
            sa.update(referral)
            .where(
                referral.c.id == row.id,
                referral.c.stage.in_([str(s) for s in BEFORE_MEETING]),
            )
            .values(stage=str(Stage.MEETING))
        )
        if moved.rowcount == 1:
            event_id = await record(EventKind.STAGE_CHANGED, f"stage {row.stage} → meeting")
            if row.stage_emails and Stage.MEETING in NOTICE_STAGES:
                await enqueue(conn, JobKind.STAGE_NOTICE, row.id, event_id=event_id)
        await record(EventKind.MEETING, f"meeting on {when}{title}: {how}")
    await enqueue(conn, JobKind.SLACK_UPDATE, row.id)
    log.info("intake: %s %s for %s", meeting.method.lower(), meeting.uid[:40], row.ref)
    result = IngestResult(Kind.MEETING, partner=row.slug, referral=row.ref)
    return result, row.partner_id, row.id


async def _referral(
    conn: AsyncConnection,
    meeting: Meeting,
    thread: sa.Row[Any] | None,
    matched: PartnerInfo | None,
    directory: Directory,
) -> Any:
    """The open referral the meeting is about: the thread's, else the prospect's among the
    attendees, when the partner's address is a guest (or a recipient)."""
    query = sa.select(
        referral.c.id,
        referral.c.ref,
        referral.c.stage,
        referral.c.first_response_at,
        referral.c.meeting_uid,
        referral.c.partner_id,
        referral.c.prospect_email,
        partner.c.slug,
        partner.c.stage_emails,
    ).join(partner, partner.c.id == referral.c.partner_id)
    if thread is not None:
        found = (await conn.execute(query.where(referral.c.id == thread.referral_id))).first()
        if found is not None and found.stage not in CLOSED_STAGES:
            return found
        return None
    people = {a.email for a in meeting.attendees} | set(meeting.accepted_by)
    partners = {p.id for email in people if (p := _partner_of(email, directory)) is not None}
    if matched is not None:
        partners.add(matched.id)
    if not partners or not people:
        return None
    return (
        await conn.execute(
            query.where(
                referral.c.partner_id.in_(partners),
                referral.c.prospect_email.in_(sorted(people)),
                referral.c.stage.not_in([str(s) for s in CLOSED_STAGES]),
            )
            .order_by(referral.c.received_at.desc())
            .limit(1)
        )
    ).first()


def _trusted(sender: str, meeting: Meeting, row: Any, directory: Directory) -> bool:
    """Whether the sender may book or cancel this referral's meeting: one of ours, one of the
    partner's people, or the prospect answering (or sending) an invitation of their own. As
    with a thread reply, a stranger's mail moves nothing (its From checked by our server when
    HANDOFF_TRUSTED_AUTHSERV_ID is set)."""
    partner = directory.partners.get(row.partner_id)
    ours = directory.is_internal(sender) or (partner is not None and partner.owns_person(sender))
    if meeting.method == "REPLY":
        return sender in meeting.accepted_by and (ours or sender == row.prospect_email)
    return ours or (sender == row.prospect_email and meeting.organizer == sender)


def _partner_of(email: str, directory: Directory) -> PartnerInfo | None:
    """The partner whose address (alias or plus tag) this attendee is."""
    if email in directory.by_alias:
        return directory.by_alias[email]
    tag = directory.plus_tag(email)
    return directory.by_slug.get(tag) if tag else None
