"""`handoff digest preview|send SLUG`, and the digest lines `handoff jobs run digests` prints."""

from __future__ import annotations

import argparse
import contextlib
import sys
from datetime import UTC
from typing import TYPE_CHECKING, TextIO

from bot.cli import instant

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from bot.cli import Commands
    from bot.config import Settings
    from bot.digests.sweep import DigestRun, Planned
    from bot.outbox import Outbox

# The partner emails besides the digest (bot/digests/partner_mail.PREVIEWS; kept here so that
# `--help` imports no feature).
PREVIEWS = ("receipt", "disputed", "claimed", "confirm", "expiry")
DELIVERY_SECONDS = 60.0  # how long a command waits for what it sends before it exits


def add(commands: Commands) -> None:
    """`handoff digest` and its actions."""
    digest = commands.add_parser(
        "digest",
        help="partner status digests: preview one, send one now",
        description="The status digest a partner gets on its schedule (see partners add "
        "--digest). Sending one by hand records it like a scheduled one: the next digest "
        "covers what happened after it.",
    )
    actions = digest.add_subparsers(dest="action", metavar="ACTION", required=True)
    preview = actions.add_parser(
        "preview",
        help="print the digest (or another partner email) the partner would get now; "
        "nothing is sent",
    )
    preview.set_defaults(run=preview_digest)
    preview.add_argument("slug", metavar="SLUG", help="the partner, e.g. acme")
    preview.add_argument(
        "--kind",
        choices=("digest", *PREVIEWS),
        default="digest",
        help="which email: the digest (default); receipt (an intro registered), disputed "
        '(registered by another partner first), claimed (who owns it), confirm ("did you '
        'introduce …?" about a referral logged in Slack), expiry ("still active?")',
    )
    preview.add_argument(
        "--ref", metavar="REF", help="the referral the email is about (default: the latest)"
    )
    preview.add_argument("--html", action="store_true", help="print the HTML version")
    preview.add_argument("--now", metavar="ISO-8601", type=instant, help="as of this instant")
    send = actions.add_parser(
        "send", help="send the partner's digest now to each of its contacts, and wait for it"
    )
    send.set_defaults(run=send_digest)
    send.add_argument("slug", metavar="SLUG", help="the partner, e.g. acme")
    send.add_argument(
        "--always", action="store_true", help="send it even when nothing is new since the last"
    )
    send.add_argument("--now", metavar="ISO-8601", type=instant, help="as of this instant")


async def preview_digest(args: argparse.Namespace, engine: AsyncEngine, settings: Settings) -> int:
    """The digest as it would go out now (text with its subject, or --html); nothing recorded."""
    from bot.digests.sweep import Digests
    from bot.slack.app import web_client
    from bot.slack.people import People

    # Owners named as Slack names them, when a token is set (users.info, read-only).
    client = web_client(settings) if settings.slack_bot_token is not None else None
    names = People(engine, client, None)
    if args.kind != "digest":
        from bot.digests.partner_mail import PartnerMail

        letters = PartnerMail(engine, settings, names)
        rendered = await letters.preview(args.slug, args.kind, args.ref)
    else:
        rendered = await Digests(engine, settings, names).preview(args.slug, as_of=args.now)
    out = sys.stdout
    if args.html:
        out.write(rendered.html)
    else:
        out.write(f"Subject: {rendered.subject}\n\n{rendered.text}")
    if not rendered.text.endswith("\n"):
        out.write("\n")
    return 0


async def send_digest(args: argparse.Namespace, engine: AsyncEngine, settings: Settings) -> int:
    """Record the partner's digest now and deliver it; 1 if some is not delivered."""
    from bot.digests.sweep import Digests
    from bot.outboxes import wire_outbox

    settings.mail_ready()
    async with contextlib.aclosing(wire_outbox(settings, engine, slack=False)) as wires:
        digests = Digests(engine, settings, wires.people)
        result = await digests.send(args.slug, as_of=args.now, always=args.always)
        return await print_digests(result, wires.outbox, sys.stdout)


def describe_digest(planned: Planned) -> str:
    """One line: the partner's period and who its digest goes to, or why it does not."""
    when = planned.period_end.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    if planned.why_not:
        return f"{planned.partner:<17} period to {when}: not sent ({planned.why_not})"
    return f"{planned.partner:<17} period to {when}: {planned.items} referral(s) -> " + ", ".join(
        planned.recipients
    )


async def print_digests(result: DigestRun, outbox: Outbox | None, out: TextIO) -> int:
    """Print each digest of a run, then deliver its mail through the outbox (unless None);
    1 if some is not delivered yet or was refused."""
    for warning in result.warnings:
        out.write(f"warning: {warning}\n")
    for planned in result.planned:
        out.write(("would record " if result.dry_run else "") + describe_digest(planned) + "\n")
    stamp = result.as_of.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    verb = "would send" if result.dry_run else "queued"
    summary = (
        f"digests as of {stamp}: {verb} {result.messages} email(s) for "
        f"{sum(1 for p in result.planned if p.recipients)} partner(s), in {result.seconds:.2f}s"
    )
    if outbox is None or not result.job_ids:
        out.write(summary + "\n")
        return 0
    waiting, refused = await deliver(outbox, result.job_ids)
    for line in refused:
        out.write(f"not sent to {line}\n")
    if not waiting and not refused:
        out.write(f"{summary}; delivered\n")
        return 0
    if refused and not waiting:
        out.write(f"{summary}; {len(refused)} not delivered, and not sent again (see above)\n")
        return 1
    out.write(
        f"{summary}; {len(waiting)} not delivered yet ({waiting[0]}): they stay in the "
        "outbox and `handoff serve` retries them\n"
    )
    return 1


async def deliver(outbox: Outbox, job_ids: list[int]) -> tuple[list[str], list[str]]:
    """Send these jobs' mail: the errors of those not sent yet, and the refusals for good."""
    import sqlalchemy as sa

    from bot.models import Mail, OutboxJob
    from bot.vocabulary import MailStatus

    mail: sa.Table = Mail.__table__  # type: ignore[attr-defined]
    jobs: sa.Table = OutboxJob.__table__  # type: ignore[attr-defined]
    await outbox.drain(within=DELIVERY_SECONDS, only=job_ids)
    async with outbox.engine.connect() as conn:
        refused = await conn.execute(
            sa.select(mail.c.recipient, mail.c.status, mail.c.error)
            .join(jobs, jobs.c.mail_id == mail.c.id)
            .where(
                jobs.c.id.in_(job_ids),
                mail.c.status.in_(
                    [str(MailStatus.REFUSED), str(MailStatus.SKIPPED), str(MailStatus.UNKNOWN)]
                ),
            )
            .order_by(mail.c.id)
        )
        lines = [f"{r.recipient}: {r.status}: {r.error}" for r in refused]
    return await outbox.unfinished(job_ids), lines
