"""`handoff partners add|list`: register partners, their addresses and contacts, and list them."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from bot.cli import UsageError

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from bot.cli import Commands
    from bot.config import Settings


def add(commands: Commands) -> None:
    """`handoff partners` and its actions."""
    partners = commands.add_parser("partners", help="register and list partners")
    actions = partners.add_subparsers(dest="action", metavar="ACTION", required=True)
    new = actions.add_parser(
        "add",
        help="register a partner, or add addresses to one",
        description="Register a partner. Run again with the same SLUG to add addresses.",
    )
    new.set_defaults(run=add_partner)
    new.add_argument("slug", metavar="SLUG", help="short name, e.g. acme (refs become ACME-1 …)")
    new.add_argument("--name", help="display name (required for a new partner)")
    new.add_argument(
        "--address",
        action="append",
        default=[],
        metavar="ADDR",
        help="one of our addresses that belongs to the partner, e.g. "
        "acme-intros@ours.example (repeatable)",
    )
    new.add_argument(
        "--contact",
        action="append",
        default=[],
        metavar="EMAIL",
        help="a person at the partner allowed to send intros (repeatable)",
    )
    new.add_argument(
        "--domain",
        action="append",
        default=[],
        metavar="DOMAIN",
        help="the partner's own email domain (repeatable)",
    )
    new.add_argument(
        "--slack-channel",
        metavar="CHANNEL",
        help="post this partner's intros there instead of HANDOFF_SLACK_CHANNEL (id or name)",
    )
    new.add_argument(
        "--first-response-sla",
        metavar="DURATION",
        help="this partner's first-response deadline after a claim, e.g. 4h "
        "(default HANDOFF_FIRST_RESPONSE_SLA)",
    )
    new.add_argument(
        "--digest",
        metavar="CRON",
        help="when its status digest goes out, as a cron line in its time zone, e.g. "
        "'0 9 * * mon' (default HANDOFF_DIGEST_SCHEDULE), or 'off'",
    )
    new.add_argument(
        "--timezone",
        metavar="ZONE",
        help="its time zone for digests, e.g. Europe/Berlin (default HANDOFF_TIMEZONE)",
    )
    new.add_argument(
        "--stage-emails",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="email its contacts at once when a referral gets a meeting, is won or lost",
    )
    new.add_argument(
        "--protection",
        metavar="DAYS",
        help="how long its referrals are protected from a second partner's intro of the same "
        "prospect, e.g. 60d (default HANDOFF_PROTECTION_DAYS)",
    )
    new.add_argument(
        "--receipts",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="email its contacts at once when an intro of theirs is registered (or was "
        "registered by another partner first) and when a rep claims it (default: on)",
    )
    listing = actions.add_parser("list", help="list partners")
    listing.set_defaults(run=list_partners)
    listing.add_argument("--json", action="store_true", help="print JSON")


async def add_partner(args: argparse.Namespace, engine: AsyncEngine, settings: Settings) -> int:
    """Register the partner or add to it; say which, and which intros are now its."""
    from bot.db import session_factory
    from bot.referrals import partners

    try:
        async with session_factory(engine)() as session:
            partner, created = await partners.add_partner(
                session=session,
                slug=args.slug,
                name=args.name,
                addresses=args.address,
                contacts=args.contact,
                domains=args.domain,
                slack_channel=args.slack_channel,
                first_response_sla=args.first_response_sla,
                digest=args.digest,
                timezone=args.timezone,
                stage_emails=args.stage_emails,
                protection=args.protection,
                receipts=args.receipts,
            )
            await session.commit()
    except partners.PartnerError as exc:
        raise UsageError(str(exc)) from None
    verb = "registered" if created else "updated"
    hint = ""
    if settings.partner_mailbox:
        local, _, domain = settings.partner_mailbox.partition("@")
        hint = f"; intros to {local}+{partner.slug}@{domain} are its"
    print(f"{verb} partner {partner.slug} ({partner.name}){hint}")
    return 0


async def list_partners(args: argparse.Namespace, engine: AsyncEngine, settings: Settings) -> int:
    """One line per partner (its addresses, and the contacts no mail goes to), or JSON."""
    from bot.db import session_factory
    from bot.referrals import partners

    async with session_factory(engine)() as session:
        views = await partners.list_partners(session=session)
    if args.json:
        print(json.dumps([v.as_json() for v in views], indent=2))
        return 0
    if not views:
        print("no partners yet: handoff partners add SLUG --name NAME")
    for v in views:
        addresses = ", ".join(v.addresses + v.contacts + [f"@{d}" for d in v.domains]) or "-"
        print(f"{v.slug:<16} {v.name:<28} {v.referrals:>5} referrals  {addresses}")
        for contact, why in (v.not_mailed or {}).items():
            print(f"{'':<16} no mail to {contact}: {why}")
    return 0
