"""`handoff webhooks add|list|remove|pause|resume|test|deliveries|redeliver`: where every change
goes as a signed webhook (bot/webhooks/)."""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from bot.cli import UsageError

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from bot.cli import Commands
    from bot.config import Settings


def add(commands: Commands) -> None:
    """`handoff webhooks` and its actions."""
    hooks = commands.add_parser(
        "webhooks",
        help="send every change to your endpoints, signed (Standard Webhooks)",
        description="Every referral change is POSTed to each endpoint as JSON, signed as the "
        "Standard Webhooks specification says (webhook-id, webhook-timestamp, "
        "webhook-signature). `handoff serve` delivers them; see README, CRM.",
    )
    actions = hooks.add_subparsers(dest="action", metavar="ACTION", required=True)
    new = actions.add_parser("add", help="register an endpoint; prints its signing secret once")
    new.set_defaults(run=add_endpoint)
    new.add_argument("url", metavar="URL", help="https URL (http only to loopback)")
    new.add_argument(
        "--events",
        default="*",
        metavar="PATTERN,…",
        help="event types to send, with * as wildcard, e.g. 'referral.*,partner.created' "
        "(default: all)",
    )
    new.add_argument("--description", metavar="TEXT", help="what the endpoint is, for people")
    new.add_argument("--json", action="store_true", help="print JSON")
    listing = actions.add_parser("list", help="endpoints, their state and delivery counts")
    listing.set_defaults(run=list_endpoints)
    listing.add_argument("--json", action="store_true", help="print JSON")
    for name, run, text in (
        ("remove", remove_endpoint, "remove an endpoint; its pending deliveries are cancelled"),
        ("pause", pause_endpoint, "hold an endpoint's deliveries (kept) until resumed"),
        ("resume", resume_endpoint, "deliver to a paused endpoint again, held deliveries first"),
        ("test", test_endpoint, "send the endpoint a `ping` now and say how it answered"),
    ):
        action = actions.add_parser(name, help=text)
        action.set_defaults(run=run)
        action.add_argument("id", metavar="ID", type=int, help="the endpoint's id (webhooks list)")
    shown = actions.add_parser("deliveries", help="the latest deliveries, newest first")
    shown.set_defaults(run=list_deliveries)
    shown.add_argument("id", metavar="ID", type=int, nargs="?", help="of this endpoint only")
    shown.add_argument("--failed", action="store_true", help="only those that failed")
    shown.add_argument("--limit", type=int, default=50, metavar="N", help="at most N (50)")
    shown.add_argument("--json", action="store_true", help="print JSON")
    again = actions.add_parser("redeliver", help="send a delivery again (same webhook-id and body)")
    again.set_defaults(run=redeliver)
    again.add_argument("delivery", metavar="DELIVERY_ID", type=int, help="from webhooks deliveries")


async def add_endpoint(args: argparse.Namespace, engine: AsyncEngine, settings: Settings) -> int:
    from bot.models import utcnow
    from bot.webhooks import endpoints

    try:
        added = await endpoints.add(
            engine, url=args.url, events=args.events, description=args.description, at=utcnow()
        )
    except endpoints.WebhookError as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        print(
            json.dumps(
                {"id": added.id, "url": added.url, "events": added.events, "secret": added.secret}
            )
        )
        return 0
    print(f"webhook endpoint {added.id}: {added.url} ({added.events})")
    print(f"signing secret (shown once; give it to the receiver): {added.secret}")
    print(f"try it: handoff webhooks test {added.id}")
    return 0


async def list_endpoints(args: argparse.Namespace, engine: AsyncEngine, settings: Settings) -> int:
    from bot.webhooks import endpoints

    found = await endpoints.listed(engine)
    if args.json:
        print(json.dumps(found, indent=2))
        return 0
    if not found:
        print("no webhook endpoints: handoff webhooks add https://…")
    for e in found:
        counts = f"{e['delivered']} delivered, {e['pending']} pending, {e['failed']} failed"
        print(f"{e['id']:>3}  {e['state']:<7}  {e['url']}  [{e['events']}]  {counts}")
        if e["description"]:
            print(f"     {e['description']}")
        if e["state"] == "paused":
            print(
                f"     paused {e['paused_at']}: {e['pause_reason']}; "
                f"handoff webhooks resume {e['id']}"
            )
        elif e["state"] == "failing":
            print(f"     failing since {e['failing_since']} ({e['failures']} attempts in a row)")
    return 0


@contextmanager
def _said() -> Iterator[None]:
    """An endpoint error as the command's one-line usage error."""
    from bot.webhooks.endpoints import WebhookError

    try:
        yield
    except WebhookError as exc:
        raise UsageError(str(exc)) from None


async def remove_endpoint(args: argparse.Namespace, engine: AsyncEngine, settings: Settings) -> int:
    from bot.models import utcnow
    from bot.webhooks import endpoints

    with _said():
        url, cancelled = await endpoints.remove(engine, args.id, at=utcnow())
    print(f"removed webhook endpoint {args.id} ({url}); {cancelled} pending deliveries cancelled")
    return 0


async def pause_endpoint(args: argparse.Namespace, engine: AsyncEngine, settings: Settings) -> int:
    from bot.models import utcnow
    from bot.webhooks import endpoints

    with _said():
        url = await endpoints.pause(engine, args.id, at=utcnow())
    print(f"paused webhook endpoint {args.id} ({url}): deliveries wait, kept, until resumed")
    return 0


async def resume_endpoint(args: argparse.Namespace, engine: AsyncEngine, settings: Settings) -> int:
    from bot.models import utcnow
    from bot.webhooks import endpoints

    with _said():
        url, held = await endpoints.resume(engine, args.id, at=utcnow())
    print(f"resumed webhook endpoint {args.id} ({url}); {held} held deliveries go now")
    return 0


async def _send_now(engine: AsyncEngine, settings: Settings, delivery_id: int) -> dict[str, object]:
    """Carry one delivery out in this process and return it as it stands after the attempt."""
    from datetime import timedelta

    from bot.webhooks import endpoints
    from bot.webhooks.sending import Policy, Sender

    sender = Sender(engine, Policy.of(settings))
    lane = sender.lane(lease=timedelta(seconds=settings.outbox_lease_seconds), workers=1)
    lane.eligible = None  # this one, whatever waits before it
    try:
        await lane.drain(
            within=settings.webhook_timeout_seconds + 30,
            only=[await endpoints.job_of(engine, delivery_id)],
        )
    finally:
        await sender.aclose()
    row = await endpoints.one(engine, delivery_id)
    # A running `handoff serve` may have taken it first: wait for its attempt to be recorded.
    deadline = asyncio.get_running_loop().time() + settings.webhook_timeout_seconds + 30
    while row["status"] == "pending" and not row["attempts"]:
        if asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.1)
        row = await endpoints.one(engine, delivery_id)
    return row


async def test_endpoint(args: argparse.Namespace, engine: AsyncEngine, settings: Settings) -> int:
    from bot.models import utcnow
    from bot.webhooks import endpoints

    try:
        delivery_id = await endpoints.ping(engine, args.id, at=utcnow())
    except endpoints.WebhookError as exc:
        raise UsageError(str(exc)) from None
    row = await _send_now(engine, settings, delivery_id)
    if row["status"] == "delivered":
        print(
            f"ping {row['webhook_id']} delivered to endpoint {args.id}: "
            f"HTTP {row['response_status']}"
        )
        return 0
    print(f"ping {row['webhook_id']} to endpoint {args.id} failed: {row['error']}")
    return 1


async def list_deliveries(args: argparse.Namespace, engine: AsyncEngine, settings: Settings) -> int:
    from bot.webhooks import endpoints

    if args.limit < 1:
        raise UsageError("--limit must be at least 1")
    found = await endpoints.deliveries(
        engine, endpoint_id=args.id, failed=args.failed, limit=args.limit
    )
    if args.json:
        print(json.dumps(found, indent=2))
        return 0
    if not found:
        print("no deliveries" + (" failed" if args.failed else ""))
    for d in found:
        answer = f"HTTP {d['response_status']}" if d["response_status"] else "-"
        print(
            f"{d['id']:>6}  {d['status']:<9}  endpoint {d['endpoint']}  {d['type']:<26}  "
            f"{d['webhook_id']}  {d['attempts']} attempt(s)  {answer}  {d['created_at']}"
        )
        if d["error"] and d["status"] != "delivered":
            print(f"        {d['error']}")
    return 0


async def redeliver(args: argparse.Namespace, engine: AsyncEngine, settings: Settings) -> int:
    from bot.models import utcnow
    from bot.webhooks import endpoints

    try:
        new_id = await endpoints.redeliver(engine, args.delivery, at=utcnow())
    except endpoints.WebhookError as exc:
        raise UsageError(str(exc)) from None
    row = await _send_now(engine, settings, new_id)
    if row["status"] == "delivered":
        print(f"delivery {new_id} ({row['webhook_id']}) delivered: HTTP {row['response_status']}")
        return 0
    if row["status"] == "pending":
        print(
            f"delivery {new_id} ({row['webhook_id']}) failed for now ({row['error']}); "
            "handoff serve retries it"
        )
        return 1
    print(f"delivery {new_id} ({row['webhook_id']}) failed: {row['error']}")
    return 1
