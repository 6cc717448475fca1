"""The partner's emails about one event, at once: receipts, "did you introduce …?", "still
active?" (bot/digests/letters.py).

Queued (JobKind.PARTNER_MAIL) in the transaction of the event, and recorded here, one email per
contact, with the digests' signed reply address (a reply lands on the referral), Auto-Submitted
and unsubscribe. A retried job finds its emails recorded already and records none again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.config import ConfigError, Settings
from bot.digests import letters, mailing
from bot.digests.content import Rendered
from bot.digests.mailing import Addresses
from bot.digests.sweep import _partner, schedule, sender_name
from bot.digests.view import Names
from bot.models import Event, Mail, Partner, Referral, utcnow
from bot.outbox import Handler, Job, Retry
from bot.vocabulary import EventKind, JobKind, MailKind

partner: sa.Table = Partner.__table__  # type: ignore[attr-defined]
event: sa.Table = Event.__table__  # type: ignore[attr-defined]
referral: sa.Table = Referral.__table__  # type: ignore[attr-defined]
mail: sa.Table = Mail.__table__  # type: ignore[attr-defined]

# A claim's email waits this many attempts, this far apart, for the rep's name from Slack.
NAME_ATTEMPTS = 4
NAME_WAIT = 5.0
# What `handoff digest preview --kind` shows: each kind of partner email.
PREVIEWS = ("receipt", "disputed", "claimed", "confirm", "expiry")


async def no_mail(job: Job) -> str:
    """The handler when partner email is not set up: the job is done, and says why."""
    return "mail: partner email is off (HANDOFF_SMTP_URL is not set); nothing sent"


class PartnerMail:
    """The outbox's handler that records the partner's emails about one event."""

    def __init__(self, engine: AsyncEngine, settings: Settings, names: Names) -> None:
        self.engine = engine
        self.settings = settings
        self.names = names

    def handlers(self) -> dict[str, Handler]:
        return {JobKind.PARTNER_MAIL: self.record}

    async def record(self, job: Job) -> str | None:
        async with self.engine.connect() as conn:
            found = await _found(conn, job.event_id)
        if found is None:
            return None
        letter = await self._letter(found, job.attempts)
        if letter is None:
            return None
        kind, render = letter
        async with self.engine.begin() as conn:
            sent = await mailing.record_for_event(
                conn,
                settings=self.settings,
                kind=kind,
                partner_id=found.partner_id,
                referral_id=found.referral_id,
                event_id=found.id,
                render=render,
                at=utcnow(),
            )
            if sent and found.kind == EventKind.LOGGED:
                asked = sa.func.coalesce(referral.c.confirm_asked_at, utcnow())
                await conn.execute(
                    sa.update(referral)
                    .where(referral.c.id == found.referral_id)
                    .values(confirm_asked_at=asked)
                )
        if sent is None:
            return None  # a retried job: its emails are recorded already
        return f"mail: {kind} about {found.ref} queued for {sent} contact(s)"

    async def preview(self, slug: str, kind: str, ref: str | None = None) -> Rendered:
        """One kind of partner email about the partner's latest referral (or `ref`, or an
        example when it has none), as its first contact would get it; nothing is recorded."""
        if kind not in PREVIEWS:
            raise ConfigError(f"--kind {kind}: not a partner email (one of {', '.join(PREVIEWS)})")
        if self.settings.partner_mailbox is None:
            raise ConfigError("HANDOFF_PARTNER_MAILBOX: not set; reply addresses are made from it")
        async with self.engine.connect() as conn:
            sample = await _sample(conn, slug, ref)
            contacts = await mailing.active_contacts(conn, sample["partner_id"])
        sample |= {"id": 0, "kind": str(_PREVIEWED[kind])}
        if kind == "disputed":
            sample["rival_received_at"] = sample["rival_received_at"] or sample["received_at"]
        elif kind == "receipt":
            sample["rival_received_at"] = None
        if kind == "confirm":
            sample["action_type"] = sample["action_type"] or "intro_call"
            sample["action_at"] = sample["action_at"] or sample["received_at"]
        if kind == "claimed" and not sample["owner"]:
            sample["owner"] = _EXAMPLE_OWNER
        letter = await self._letter(_Row(sample))
        assert letter is not None
        addresses = mailing.preview_addresses(
            self.settings, partner_id=sample["partner_id"], contacts=contacts, digest_id=None
        )
        return letter[1](addresses)

    async def _letter(
        self, f: Any, attempts: int = NAME_ATTEMPTS
    ) -> tuple[str, Callable[[Addresses], Rendered]] | None:
        _, zone = schedule(f, self.settings)
        owner = None
        if f.owner == _EXAMPLE_OWNER:
            owner = "Sam Rivera"
        elif f.owner:
            owner = (await self.names.names({f.owner})).get(f.owner)
        kind = EventKind(f.kind)
        if kind in (EventKind.CLAIMED, EventKind.REASSIGNED):
            if not f.owner:
                return None  # released since: nothing worth saying
            if owner is None and attempts < NAME_ATTEMPTS:
                # Slack did not say the rep's name (an outage): "Sam Rivera owns it" is worth
                # a little wait; after that, the email says the team does.
                raise Retry(f"{f.ref}: the owner's name is not known yet", after=NAME_WAIT)

        def about(addresses: Addresses) -> letters.About:
            return letters.About(
                partner=f.name,
                sender=sender_name(self.settings),
                tz=zone,
                ref=f.ref,
                prospect=f.prospect_name or f.prospect_email,
                company=f.prospect_company,
                reply_to=addresses.about(f.referral_id),
                unsubscribe=addresses.unsubscribe,
            )

        def render(addresses: Addresses) -> Rendered:
            a = about(addresses)
            if kind == EventKind.INTRO_RECEIVED:
                # It came after another partner's (conflict_with_id is kept once settled: the
                # receipt says what the intro found when it arrived).
                if f.rival_received_at is not None:
                    return letters.already_registered(a, registered_at=f.rival_received_at)
                return letters.receipt(
                    a, received_at=f.received_at, protected_until=f.protected_until
                )
            if kind == EventKind.LOGGED:
                # A day, kept as its UTC midnight: the same day wherever the partner is.
                happened = f.action_at.astimezone(UTC).date() if f.action_at else None
                return letters.confirm_ask(a, action=f.action_type, happened_on=happened, rep=owner)
            if kind == EventKind.EXPIRY_NOTICE:
                until = f.protected_until or f.received_at
                return letters.expiry_ask(a, protected_until=until, owner=owner)
            return letters.owned(a, owner=owner)

        mail_kind = {
            EventKind.LOGGED: MailKind.CONFIRM,
            EventKind.EXPIRY_NOTICE: MailKind.EXPIRY,
        }.get(kind, MailKind.RECEIPT)
        return str(mail_kind), render


_PREVIEWED = {
    "receipt": EventKind.INTRO_RECEIVED,
    "disputed": EventKind.INTRO_RECEIVED,
    "claimed": EventKind.CLAIMED,
    "confirm": EventKind.LOGGED,
    "expiry": EventKind.EXPIRY_NOTICE,
}
_EXAMPLE_OWNER = "(example)"


class _Row:
    """A dict read as a row (the preview's sample)."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


def _columns() -> list[Any]:
    rival = referral.alias("rival")
    return [
        referral.c.id.label("referral_id"),
        referral.c.ref,
        referral.c.prospect_email,
        referral.c.prospect_name,
        referral.c.prospect_company,
        referral.c.received_at,
        referral.c.protected_until,
        referral.c.owner,
        referral.c.role,
        referral.c.action_type,
        referral.c.action_at,
        partner.c.id.label("partner_id"),
        partner.c.name,
        partner.c.timezone,
        partner.c.digest_cron,
        sa.select(rival.c.received_at)
        .where(rival.c.id == referral.c.conflict_with_id)
        .scalar_subquery()
        .label("rival_received_at"),
    ]


async def _found(conn: AsyncConnection, event_id: int | None) -> Any:
    return (
        await conn.execute(
            sa.select(event.c.id, event.c.kind, *_columns())
            .join(referral, referral.c.id == event.c.referral_id)
            .join(partner, partner.c.id == referral.c.partner_id)
            .where(event.c.id == event_id)
        )
    ).first()


async def _sample(conn: AsyncConnection, slug: str, ref: str | None) -> dict[str, Any]:
    """The partner's latest referral (or `ref`) as the letter's row; an example if it has none."""
    row = await _partner(conn, slug)
    query = (
        sa.select(*_columns())
        .join(partner, partner.c.id == referral.c.partner_id)
        .where(partner.c.id == row.id)
        .order_by(referral.c.received_at.desc(), referral.c.id.desc())
        .limit(1)
    )
    if ref is not None:
        query = query.where(referral.c.ref == ref.strip().upper())
    found = (await conn.execute(query)).first()
    if found is not None:
        return dict(found._mapping)
    if ref is not None:
        raise ConfigError(f"{ref}: no such referral of partner {row.slug}")
    now = utcnow()
    return {
        "referral_id": 0,
        "ref": f"{row.slug.upper()}-1",
        "prospect_email": "jane@hooli.example",
        "prospect_name": "Jane Doe",
        "prospect_company": "Hooli",
        "received_at": now,
        "protected_until": now + timedelta(days=row.protection_days or 90),
        "owner": None,
        "role": None,
        "action_type": None,
        "action_at": None,
        "partner_id": row.id,
        "name": row.name,
        "timezone": row.timezone,
        "digest_cron": row.digest_cron,
        "rival_received_at": None,
    }
