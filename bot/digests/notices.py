"""Instant notices: a stage change the partner asked to hear about at once becomes its emails.

Queued by the stage change itself (bot/referrals/actions.py) and recorded by this outbox
handler, with the same addresses, signing and unsubscribe as the digests.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Settings
from bot.digests import content, mailing
from bot.digests import view as partner_view
from bot.digests.mailing import Addresses
from bot.digests.sweep import schedule, sender_name
from bot.digests.view import Names
from bot.models import Event, Mail, Partner, Referral, utcnow
from bot.outbox import Handler, Job
from bot.vocabulary import NOTICE_STAGES, EventKind, JobKind, MailKind

partner: sa.Table = Partner.__table__  # type: ignore[attr-defined]
event: sa.Table = Event.__table__  # type: ignore[attr-defined]
referral: sa.Table = Referral.__table__  # type: ignore[attr-defined]
mail: sa.Table = Mail.__table__  # type: ignore[attr-defined]


class Notices:
    """The outbox's handler that turns a stage change into the partner's emails (if it wants)."""

    def __init__(self, engine: AsyncEngine, settings: Settings, names: Names) -> None:
        self.engine = engine
        self.settings = settings
        self.names = names

    def handlers(self) -> dict[str, Handler]:
        return {JobKind.STAGE_NOTICE: self.record}

    async def record(self, job: Job) -> str | None:
        async with self.engine.connect() as conn:
            found = (
                await conn.execute(
                    sa.select(
                        event.c.id,
                        event.c.detail,
                        event.c.referral_id,
                        partner.c.id.label("partner_id"),
                        partner.c.name,
                        partner.c.timezone,
                        partner.c.digest_cron,
                        partner.c.stage_emails,
                    )
                    .join(referral, referral.c.id == event.c.referral_id)
                    .join(partner, partner.c.id == referral.c.partner_id)
                    .where(event.c.id == job.event_id, event.c.kind == str(EventKind.STAGE_CHANGED))
                )
            ).first()
            if found is None or not found.stage_emails:
                return None
            change = partner_view.STAGE_CHANGE.match(found.detail or "")
            if change is None or change.group(2) not in NOTICE_STAGES:
                return None
            rows = await partner_view.rows(
                conn,
                partner_id=found.partner_id,
                start=None,
                end=utcnow() + timedelta(days=1),
                only=[found.referral_id],
            )
        if not rows:
            return None
        names = await self.names.names(rows[0].users)
        _, zone = schedule(found, self.settings)

        def render(addresses: Addresses) -> content.Rendered:
            item = partner_view.item(rows[0], names, addresses.about(found.referral_id))
            return content.stage_notice(
                content.StageNotice(
                    partner=found.name,
                    sender=sender_name(self.settings),
                    tz=zone,
                    item=item,
                    old_stage=change.group(1),
                    new_stage=change.group(2),
                    reply_to=addresses.about(found.referral_id),
                    unsubscribe=addresses.unsubscribe,
                    at=utcnow(),
                )
            )

        async with self.engine.begin() as conn:
            sent = await mailing.record_for_event(
                conn,
                settings=self.settings,
                kind=MailKind.STAGE,
                partner_id=found.partner_id,
                referral_id=found.referral_id,
                event_id=found.id,
                render=render,
                at=utcnow(),
            )
        if sent is None:
            return None  # a retried job: its emails are recorded already
        return f"mail: stage notice ({change.group(2)}) queued for {sent} contact(s)"
