"""`handoff hubspot setup|status|sync`: referrals as HubSpot deals, both ways (bot/hubspot/)."""

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
    """`handoff hubspot` and its actions."""
    hub = commands.add_parser(
        "hubspot",
        help="referrals as HubSpot deals, both ways (HANDOFF_HUBSPOT_TOKEN)",
        description="A claimed referral becomes a HubSpot deal with Handoff's fields; the deal's "
        "stage and amount come back. `handoff serve` does both as things change; see README, CRM.",
    )
    actions = hub.add_subparsers(dest="action", metavar="ACTION", required=True)
    setup = actions.add_parser(
        "setup", help='create the deal properties (group "Handoff") and turn the sync on'
    )
    setup.set_defaults(run=set_up)
    setup.add_argument(
        "--existing",
        action="store_true",
        help="also make deals for the referrals claimed before the sync was set up",
    )
    status = actions.add_parser("status", help="what is synced, pending and failing")
    status.set_defaults(run=show_status)
    status.add_argument("--json", action="store_true", help="print JSON")
    sync = actions.add_parser(
        "sync", help="write pending deal updates and read HubSpot's changes now"
    )
    sync.set_defaults(run=sync_now)


async def set_up(args: argparse.Namespace, engine: AsyncEngine, settings: Settings) -> int:
    from bot.crm import records
    from bot.hubspot import setup
    from bot.hubspot.api import HubSpotRefused
    from bot.models import utcnow
    from bot.outboxes import hubspot_api, stage_map

    api, stages = hubspot_api(settings), stage_map(settings)
    try:
        for line in await setup.set_up(api, stages, settings.hubspot_pipeline):
            print(line)
    except HubSpotRefused as exc:
        raise UsageError(str(exc)) from None
    new = await records.mark_set_up(engine, utcnow())
    print("sync: on" + ("" if new else " (already)") + ": a claimed referral becomes a deal")
    if args.existing:
        queued = await records.queue_claimed(engine)
        print(f"{queued} referral(s) claimed before: their deals follow (handoff hubspot sync)")
    return 0


async def show_status(args: argparse.Namespace, engine: AsyncEngine, settings: Settings) -> int:
    from bot.crm import records
    from bot.referrals.snapshot import iso

    row = await records.sync_row(engine)
    found = await records.status(engine)
    found |= {
        "set_up": row is not None,
        "token": settings.hubspot_token is not None,
        "last_read_at": iso(row.pulled_at) if row else None,
        "read_through": iso(row.cursor) if row else None,
        "read_error": row.last_error if row else None,
    }
    if args.json:
        print(json.dumps(found, indent=2))
        return 0
    if not found["token"]:
        print("HANDOFF_HUBSPOT_TOKEN is not set: nothing is synced")
    if row is None:
        print("not set up: handoff hubspot setup")
        return 0
    print(f"deals synced: {found['synced']}")
    print(f"waiting to be written: {len(found['pending'])}")
    print(f"failing: {len(found['failing'])}")
    for f in found["failing"]:
        print(f"  {f['referral']}: {f['attempts']} attempt(s): {f['error']}")
    print(
        f"read back: last {found['last_read_at'] or 'never'}, "
        f"changes through {found['read_through']}"
    )
    if found["read_error"]:
        print(f"  last read failed: {found['read_error']}")
    for e in found["crm_existing"]:
        print(f"  {e['referral']}: {e['crm_existing']}")
    return 0


async def sync_now(args: argparse.Namespace, engine: AsyncEngine, settings: Settings) -> int:
    from bot.crm import records
    from bot.hubspot.pull import Puller
    from bot.outboxes import wire_outbox

    if await records.sync_row(engine) is None:
        raise UsageError("HubSpot is not set up here: run handoff hubspot setup first")
    if settings.hubspot_token is None:
        raise UsageError("HANDOFF_HUBSPOT_TOKEN: not set (the private app's access token)")
    wires = wire_outbox(settings, engine, slack=True, mail=False)
    assert wires.crm is not None and wires.hubspot is not None and wires.stages is not None
    try:
        pushed = await wires.crm.drain(within=120)
        puller = Puller(
            engine,
            wires.hubspot,
            wires.stages,
            every=settings.hubspot_sync_every,
            currency=settings.currency,
        )
        result = await puller.once()
    finally:
        await wires.aclose()
    left = await wires.crm.pending()
    print(f"deal updates tried: {pushed}; waiting: {left}")
    print(f"deals read back: {result.deals}")
    for line in result.applied:
        print(f"  {line}")
    if result.error:
        print(f"reading failed: {result.error}")
        return 1
    return 1 if left else 0
