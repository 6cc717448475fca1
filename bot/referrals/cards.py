"""Reading what Slack shows of referrals: one post's card, a thread line, the App Home lists."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.models import Event, InboundMessage, Partner, PartnerAddress, Referral, utcnow
from bot.referrals import lanes
from bot.vocabulary import CLOSED_STAGES, EventKind, Kind, Role, waits_for_triage

referral: sa.Table = Referral.__table__  # type: ignore[attr-defined]
partner: sa.Table = Partner.__table__  # type: ignore[attr-defined]
event: sa.Table = Event.__table__  # type: ignore[attr-defined]
address: sa.Table = PartnerAddress.__table__  # type: ignore[attr-defined]
inbound: sa.Table = InboundMessage.__table__  # type: ignore[attr-defined]

HOME_LIMIT = 50  # per list; the App Home says how many more there are


@dataclass(frozen=True)
class Card:
    """What a referral's Slack post shows."""

    ref: str
    partner_slug: str
    partner_name: str
    prospect_email: str
    prospect_name: str | None
    prospect_company: str | None
    subject: str
    excerpt: str
    received_at: datetime
    stage: str
    role: str | None
    owner: str | None
    claimed_at: datetime | None
    first_response_at: datetime | None
    next_step: str | None
    next_step_due: date | None
    amount: float | None
    conflict_ref: str | None = None
    conflict_partner: str | None = None
    disputed: bool = False  # this referral came later and its dispute is open
    conflict_settled: bool = False  # a manager settled it (or set the later one's role)
    closed_by: str | None = None
    protected_until: datetime | None = None  # the partner's protection ends (at arrival)
    overlap_ref: str | None = None  # another partner's referral at the same company
    overlap_partner: str | None = None
    meeting_at: datetime | None = None  # the meeting a calendar invitation booked
    meeting_cancelled: bool = False
    action_type: str | None = None  # logged in Slack: what the partner did; None: an email
    action_at: datetime | None = None
    proof_url: str | None = None  # logged in Slack: the message it came from
    logged_by: str | None = None
    confirmed_at: datetime | None = None  # the partner confirmed it by email
    partner_action_at: datetime | None = None  # the partner's latest recorded action


@dataclass(frozen=True)
class Placed:
    """A referral's card and where its post lives (or should go)."""

    id: int
    card: Card
    partner_channel: str | None  # the partner's own channel, else HANDOFF_SLACK_CHANNEL
    channel: str | None  # where it was posted (a channel id), once it was
    ts: str | None


def _cards_query() -> sa.Select[Any]:
    """Referral, partner, the rival it conflicts with (either way) and who closed it."""
    rival, rival_partner = referral.alias("rival"), partner.alias("rival_partner")
    overlap, overlap_partner = referral.alias("overlap"), partner.alias("overlap_partner")
    # The later of two intros points at the earlier; the earlier is found by the reverse link.
    other = referral.alias("later")
    later = (
        sa.select(sa.func.min(other.c.id))
        .where(other.c.conflict_with_id == referral.c.id)
        .correlate(referral)
        .scalar_subquery()
    )
    # Overlaps as conflicts: the later names the earlier, the earlier is found by the reverse.
    near = referral.alias("near")
    nearby = (
        sa.select(sa.func.min(near.c.id))
        .where(near.c.overlap_with_id == referral.c.id)
        .correlate(referral)
        .scalar_subquery()
    )
    closer = (
        sa.select(event.c.actor)
        .where(event.c.referral_id == referral.c.id, event.c.kind == str(EventKind.NOT_A_FIT))
        .order_by(event.c.id.desc())
        .limit(1)
        .correlate(referral)
        .scalar_subquery()
    )
    return (
        sa.select(
            referral,
            partner.c.slug.label("partner_slug"),
            partner.c.name.label("partner_name"),
            partner.c.slack_channel.label("partner_channel"),
            rival.c.ref.label("rival_ref"),
            rival.c.role.label("rival_role"),
            rival_partner.c.name.label("rival_partner"),
            closer.label("closed_by"),
            overlap.c.ref.label("overlap_ref"),
            overlap_partner.c.name.label("overlap_partner"),
        )
        .join(partner, partner.c.id == referral.c.partner_id)
        .outerjoin(rival, rival.c.id == sa.func.coalesce(referral.c.conflict_with_id, later))
        .outerjoin(rival_partner, rival_partner.c.id == rival.c.partner_id)
        .outerjoin(overlap, overlap.c.id == sa.func.coalesce(referral.c.overlap_with_id, nearby))
        .outerjoin(overlap_partner, overlap_partner.c.id == overlap.c.partner_id)
    )


def _card(row: sa.Row[Any]) -> Card:
    closed_by = row.closed_by.removeprefix("slack:") if row.closed_by else None
    later = row.conflict_with_id is not None  # this one came after its rival
    return Card(
        ref=row.ref,
        partner_slug=row.partner_slug,
        partner_name=row.partner_name,
        prospect_email=row.prospect_email,
        prospect_name=row.prospect_name,
        prospect_company=row.prospect_company,
        subject=row.subject,
        excerpt=row.intro_excerpt,
        received_at=row.received_at,
        protected_until=row.protected_until,
        stage=row.stage,
        role=row.role,
        owner=row.owner,
        claimed_at=row.claimed_at,
        first_response_at=row.first_response_at,
        next_step=row.next_step,
        next_step_due=row.next_step_due.date() if row.next_step_due else None,
        amount=row.amount,
        conflict_ref=row.rival_ref,
        conflict_partner=row.rival_partner,
        disputed=later and row.role == Role.DISPUTED,
        # The later of the two carries the dispute: once its role is anything else, it is over.
        conflict_settled=row.rival_ref is not None
        and (row.role if later else row.rival_role) != Role.DISPUTED,
        closed_by=closed_by,
        overlap_ref=row.overlap_ref,
        overlap_partner=row.overlap_partner,
        meeting_at=row.meeting_at,
        meeting_cancelled=row.meeting_cancelled_at is not None,
        action_type=row.action_type,
        action_at=row.action_at,
        proof_url=row.proof_url,
        logged_by=row.logged_by,
        confirmed_at=row.confirmed_at,
        partner_action_at=row.partner_action_at,
    )


async def placed(
    conn: AsyncConnection, *, referral_id: int | None = None, ref: str = ""
) -> Placed | None:
    """One referral's card with its post's place, by id or by ref."""
    query = _cards_query()
    if referral_id is not None:
        query = query.where(referral.c.id == referral_id)
    else:
        query = query.where(referral.c.ref == ref.strip().upper())
    row = (await conn.execute(query)).first()
    if row is None:
        return None
    return Placed(row.id, _card(row), row.partner_channel, row.slack_channel, row.slack_ts)


async def thread_event(conn: AsyncConnection, event_id: int) -> Any:
    """The event a thread line tells: kind, actor, detail."""
    query = sa.select(event.c.kind, event.c.actor, event.c.detail).where(event.c.id == event_id)
    return (await conn.execute(query)).first()


@dataclass(frozen=True)
class Home:
    mine: list[Card]
    unclaimed: list[Card]
    disputed: list[Card]
    totals: tuple[int, int, int]  # the full counts; the lists hold at most HOME_LIMIT each
    overdue: list[Card] = field(default_factory=list)  # next steps past their day (managers)
    overdue_total: int = 0
    # Managers: partner contacts whose mail bounced or was refused, and the mail that waits in
    # triage (partners' replies not applied, unknown partners, rejected): (what, why) pairs.
    attention: list[tuple[str, str]] = field(default_factory=list)
    # Managers: the stored messages among them that wait in triage, by id (their Dismiss).
    triage: list[int] = field(default_factory=list)
    # Managers: referrals flagged as a possible overlap with another partner's (same company),
    # and referrals in the attached lane (their partner quiet for HANDOFF_ATTACHED_AFTER).
    overlaps: list[Card] = field(default_factory=list)
    attached: list[Card] = field(default_factory=list)
    attached_total: int = 0


async def home(
    conn: AsyncConnection,
    *,
    user: str,
    manager: bool,
    now: datetime | None = None,
    attached_after: timedelta | None = None,
) -> Home:
    """A rep's open referrals (next step first due first); for managers the queues too."""
    open_ = referral.c.stage.notin_([str(s) for s in CLOSED_STAGES])
    base = _cards_query().where(open_)
    mine_query = (
        base.where(referral.c.owner == user)
        .order_by(referral.c.next_step_due.is_(None), referral.c.next_step_due, referral.c.id)
        .limit(HOME_LIMIT)
    )
    mine = [_card(r) for r in (await conn.execute(mine_query)).all()]

    async def total(condition: sa.ColumnElement[bool]) -> int:
        query = sa.select(sa.func.count()).select_from(referral).where(open_, condition)
        return int(await conn.scalar(query) or 0)

    mine_total = await total(referral.c.owner == user) if len(mine) == HOME_LIMIT else len(mine)
    if not manager:
        return Home(mine, [], [], (mine_total, 0, 0))
    unclaimed_query = (
        base.where(referral.c.owner.is_(None)).order_by(referral.c.received_at).limit(HOME_LIMIT)
    )
    disputed_query = (
        base.where(referral.c.role == str(Role.DISPUTED))
        .order_by(referral.c.received_at)
        .limit(HOME_LIMIT)
    )
    unclaimed = [_card(r) for r in (await conn.execute(unclaimed_query)).all()]
    disputed = [_card(r) for r in (await conn.execute(disputed_query)).all()]
    totals = (
        mine_total,
        await total(referral.c.owner.is_(None)),
        await total(referral.c.role == str(Role.DISPUTED)),
    )
    # A step is overdue once its day is over (days are kept as their UTC midnight).
    today = datetime.combine((now or utcnow()).date(), time(), tzinfo=UTC)
    late = referral.c.next_step_due < today
    overdue_query = base.where(late).order_by(referral.c.next_step_due).limit(HOME_LIMIT)
    overdue = [_card(r) for r in (await conn.execute(overdue_query)).all()]
    attention, waiting = await _attention(conn)
    overlap_query = (
        base.where(referral.c.overlap_with_id.is_not(None))
        .order_by(referral.c.received_at.desc())
        .limit(HOME_LIMIT)
    )
    overlaps = [_card(r) for r in (await conn.execute(overlap_query)).all()]
    attached: list[Card] = []
    attached_total = 0
    if attached_after is not None:
        quiet = lanes.lapsed((now or utcnow()) - attached_after)
        attached_query = base.where(quiet).order_by(lanes.last_partner_action()).limit(HOME_LIMIT)
        attached = [_card(r) for r in (await conn.execute(attached_query)).all()]
        attached_total = await total(quiet) if len(attached) == HOME_LIMIT else len(attached)
    return Home(
        mine,
        unclaimed,
        disputed,
        totals,
        overdue,
        await total(late),
        attention,
        waiting,
        overlaps,
        attached,
        attached_total,
    )


TRIAGE_SHOWN = 5  # each with its Dismiss button in App Home


async def _attention(conn: AsyncConnection) -> tuple[list[tuple[str, str]], list[int]]:
    """Mail problems for managers: contacts not reached, and mail waiting in triage (newest
    first); with the ids of the latter."""
    bounced = await conn.execute(
        sa.select(partner.c.slug, address.c.value, address.c.bounce_reason)
        .join(partner, partner.c.id == address.c.partner_id)
        .where(address.c.bounced_at.is_not(None))
        .order_by(address.c.bounced_at.desc())
        .limit(HOME_LIMIT)
    )
    found = [(f"{r.slug}: {r.value}", r.bounce_reason or "bounced") for r in bounced]
    waiting = (
        await conn.execute(
            sa.select(inbound.c.id, inbound.c.kind, inbound.c.sender, inbound.c.reason)
            .where(waits_for_triage(inbound))
            .order_by(inbound.c.id.desc())
            .limit(HOME_LIMIT)
        )
    ).all()
    found += [
        (
            f"{'reply' if r.kind == Kind.DIGEST_REPLY else r.kind} #{r.id} "
            f"from {r.sender or '(no From)'}",
            f"{r.reason or 'waits for a person'} (handoff triage show {r.id})",
        )
        for r in waiting
    ]
    return found, [r.id for r in waiting[:TRIAGE_SHOWN]]
