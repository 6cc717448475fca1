"""Registering partners: slug, name, aliases, contacts, domains."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.models import Partner, PartnerAddress, Referral, utcnow
from bot.referrals.directory import DIGEST_TAG_PREFIX, FREEMAIL, SLUG, UNSUBSCRIBE_TAG_PREFIX
from bot.text import format_duration, parse_cron, parse_duration, zone_named
from bot.vocabulary import AddressKind
from bot.webhooks import emit as webhooks

EMAIL = re.compile(r"^[^@\s<>,;]+@[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?\.[a-z0-9-]{2,}$")
_DOMAIN = re.compile(r"^[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?\.[a-z0-9-]{2,}$")


class PartnerError(Exception):
    """A partner registration that cannot be applied; the message says why in one line."""


@dataclass(frozen=True)
class PartnerView:
    slug: str
    name: str
    addresses: list[str]
    contacts: list[str]
    domains: list[str]
    created_at: str
    referrals: int
    slack_channel: str | None = None
    first_response_sla: str | None = None  # e.g. "4h"; None: HANDOFF_FIRST_RESPONSE_SLA
    digest: str | None = None  # its cron line, or "off"; None: HANDOFF_DIGEST_SCHEDULE
    timezone: str | None = None  # None: HANDOFF_TIMEZONE
    stage_emails: bool = False
    protection: str | None = None  # e.g. "60d"; None: HANDOFF_PROTECTION_DAYS
    receipts: bool = True  # its contacts hear at once of each intro registered and claimed
    # Contacts that get no mail, and why: {"dana@…": "unsubscribed 2026-11-20", …}
    not_mailed: dict[str, str] | None = None

    def as_json(self) -> dict[str, object]:
        return self.__dict__.copy()


def check_slug(slug: str) -> str:
    slug = slug.strip().lower()
    if not SLUG.match(slug):
        raise PartnerError(f"slug {slug!r}: use 1-40 lower-case letters, digits and dashes")
    if slug.startswith((DIGEST_TAG_PREFIX, UNSUBSCRIBE_TAG_PREFIX)):
        raise PartnerError(
            f"slug {slug!r}: 'r-' and 'u-' are reserved for digest reply and unsubscribe addresses"
        )
    return slug


def _checked(values: list[str], pattern: re.Pattern[str], what: str) -> list[str]:
    cleaned = []
    for value in values:
        text = (
            value.strip().lower().removeprefix("@")
            if what == "--domain"
            else (value.strip().lower())
        )
        if not pattern.match(text):
            raise PartnerError(f"{what} {value!r} is not a valid {what[2:]}")
        cleaned.append(text)
    return list(dict.fromkeys(cleaned))


MAX_PROTECTION_DAYS = 3650


def protection_days(text: str) -> int:
    """`--protection 60d` (or 8w, or a plain number of days) as whole days."""
    value = text.strip().lower()
    try:
        days = int(value) if value.isdigit() else parse_duration(value).total_seconds() / 86400
    except ValueError as exc:
        raise PartnerError(f"--protection: {exc}") from None
    if days != int(days) or not 0 <= days <= MAX_PROTECTION_DAYS:
        raise PartnerError(
            f"--protection {text!r}: a whole number of days from 0 to {MAX_PROTECTION_DAYS}, "
            "e.g. 60d"
        )
    return int(days)


async def add_partner(
    *,
    session: AsyncSession,
    slug: str,
    name: str | None,
    addresses: list[str],
    contacts: list[str],
    domains: list[str],
    slack_channel: str | None = None,
    first_response_sla: str | None = None,
    digest: str | None = None,
    timezone: str | None = None,
    stage_emails: bool | None = None,
    protection: str | None = None,
    receipts: bool | None = None,
) -> tuple[Partner, bool]:
    """Create the partner, or add to an existing one; returns (partner, created)."""
    slug = check_slug(slug)
    channel = (slack_channel or "").strip().lstrip("#")
    if slack_channel is not None and (
        not channel or len(channel) > 80 or any(c.isspace() for c in channel)
    ):
        raise PartnerError(f"--slack-channel {slack_channel!r} is not a channel id or name")
    wanted = (
        [(AddressKind.ALIAS, a) for a in _checked(addresses, EMAIL, "--address")]
        + [(AddressKind.CONTACT, c) for c in _checked(contacts, EMAIL, "--contact")]
        + [(AddressKind.DOMAIN, d) for d in _checked(domains, _DOMAIN, "--domain")]
    )
    freemail = [value for kind, value in wanted if kind == AddressKind.DOMAIN and value in FREEMAIL]
    if freemail:
        raise PartnerError(
            f"--domain {freemail[0]} is a freemail domain: register the partner's people there "
            "with --contact instead"
        )
    partner = (await session.exec(select(Partner).where(Partner.slug == slug))).first()
    created = partner is None
    if partner is None:
        if not name or not name.strip():
            raise PartnerError(f"partner {slug!r} is new: give it a --name")
        partner = Partner(slug=slug, name=name.strip())
        session.add(partner)
        await session.flush()
    elif name and name.strip():
        partner.name = name.strip()
    if channel:
        partner.slack_channel = channel
    if first_response_sla is not None:
        try:
            partner.first_response_sla_seconds = int(
                parse_duration(first_response_sla).total_seconds()
            )
        except ValueError as exc:
            raise PartnerError(f"--first-response-sla: {exc}") from None
    if timezone is not None:
        try:
            partner.timezone = str(zone_named(timezone))
        except ValueError as exc:
            raise PartnerError(f"--timezone: {exc}") from None
    if digest is not None:
        text = " ".join(digest.split())
        if text.lower() != "off":
            try:
                parse_cron(text, zone_named(partner.timezone or "UTC"))
            except ValueError as exc:
                raise PartnerError(f"--digest: {exc}") from None
        partner.digest_cron = text.lower() if text.lower() == "off" else text
    if stage_emails is not None:
        partner.stage_emails = stage_emails
    if protection is not None:
        partner.protection_days = protection_days(protection)
    if receipts is not None:
        partner.receipts = receipts
    assert partner.id is not None  # flushed above
    for kind, value in wanted:
        owner = (
            await session.exec(
                select(PartnerAddress, Partner.slug)
                .join(Partner, col(Partner.id) == PartnerAddress.partner_id)
                .where(PartnerAddress.kind == kind, PartnerAddress.value == value)
            )
        ).first()
        if owner is None:
            session.add(PartnerAddress(partner_id=partner.id, kind=kind, value=value))
        elif owner[1] != slug:
            raise PartnerError(f"{kind} {value} already belongs to partner {owner[1]}")
        else:
            # Added again: whoever unsubscribed or bounced gets mail again (an operator's say).
            owner[0].unsubscribed_at = owner[0].bounced_at = owner[0].bounce_reason = None
    await session.flush()
    if created:
        await webhooks.partner_created(await session.connection(), partner.id, utcnow())
    return partner, created


async def list_partners(*, session: AsyncSession) -> list[PartnerView]:
    """Every partner with its addresses and how many referrals it has brought."""
    partners = (await session.exec(select(Partner).order_by(col(Partner.slug)))).all()
    rows = (await session.exec(select(PartnerAddress).order_by(col(PartnerAddress.value)))).all()
    counted = await session.exec(
        select(Referral.partner_id, func.count()).group_by(col(Referral.partner_id))
    )
    counts = dict(counted.all())
    views = []
    for p in partners:
        mine = [r for r in rows if r.partner_id == p.id]
        views.append(
            PartnerView(
                slug=p.slug,
                name=p.name,
                addresses=[r.value for r in mine if r.kind == AddressKind.ALIAS],
                contacts=[r.value for r in mine if r.kind == AddressKind.CONTACT],
                domains=[r.value for r in mine if r.kind == AddressKind.DOMAIN],
                created_at=p.created_at.isoformat(),
                referrals=counts.get(p.id or 0, 0),
                slack_channel=p.slack_channel,
                first_response_sla=format_duration(timedelta(seconds=p.first_response_sla_seconds))
                if p.first_response_sla_seconds
                else None,
                digest=p.digest_cron,
                timezone=p.timezone,
                stage_emails=p.stage_emails,
                protection=f"{p.protection_days}d" if p.protection_days is not None else None,
                receipts=p.receipts,
                not_mailed={
                    r.value: (
                        f"unsubscribed {r.unsubscribed_at:%Y-%m-%d}"
                        if r.unsubscribed_at
                        else f"{r.bounce_reason or 'bounced'} ({r.bounced_at:%Y-%m-%d})"
                    )
                    for r in mine
                    if r.kind == AddressKind.CONTACT and (r.unsubscribed_at or r.bounced_at)
                }
                or None,
            )
        )
    return views
