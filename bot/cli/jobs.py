"""`handoff jobs run NAME` and `handoff digest …`: by hand, printed, delivered before exiting."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TextIO

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import ConfigError, Settings
from bot.digests.sweep import DIGESTS, DigestRun, Digests
from bot.digests.sweep import Planned as DigestPlanned
from bot.mail.outgoing import Postman
from bot.mail.smtp import Mailer
from bot.models import Mail, MailStatus, NudgeKind, OutboxJob
from bot.nudges.due import To
from bot.nudges.sweeps import Planned, Sweeper
from bot.outbox import Outbox

DELIVERY_SECONDS = 60.0
mail: sa.Table = Mail.__table__  # type: ignore[attr-defined]
outbox_table: sa.Table = OutboxJob.__table__  # type: ignore[attr-defined]


def describe(planned: Planned) -> str:
    """One line: what the nudge is about and where it goes."""
    due = planned.due
    if due.kind == NudgeKind.INACTIVE_PARTNERS:
        slugs = [p["slug"] for p in json.loads(due.detail or "[]")]
        about = f"{len(slugs)} inactive partner(s): {', '.join(slugs[:10])}"
        about += " …" if len(slugs) > 10 else ""
    else:
        about = f"{due.ref} level {due.level}"
    if due.to == To.THREAD:
        where = "its post's thread"
    elif due.to == To.OWNER:
        where = f"DM to the owner {due.owner}"
    else:
        where = f"DM to managers {', '.join(t or '' for t in planned.targets) or '(none)'}"
    return f"{due.kind:<17} {about}  (due {due.due_at:%Y-%m-%d %H:%M} UTC) -> {where}"


async def run_job(
    engine: AsyncEngine,
    settings: Settings,
    name: str,
    *,
    as_of: datetime | None,
    dry_run: bool,
    out: TextIO,
) -> int:
    """Run the sweep, print each nudge, deliver them; 1 if some could not be delivered yet."""
    from bot.slack.app import web_client
    from bot.slack.nudger import Nudger
    from bot.slack.people import People
    from bot.slack.poster import Poster
    from bot.slack.roster import Roster

    if name == DIGESTS:
        client = web_client(settings) if settings.slack_bot_token is not None else None
        digests = Digests(engine, settings, People(engine, client, None))
        run = await digests.sweep(as_of=as_of, dry_run=dry_run, sending=not dry_run)
        return await _report(run, None if dry_run else Delivery(engine, settings), out)
    outbox = None
    if settings.slack_bot_token is not None:
        client = web_client(settings)
        roster = Roster(client, rep_group=settings.rep_group, managers=settings.managers)
        people = People(engine, client, roster)
        poster = Poster(engine, client, channel=settings.slack_channel)
        nudger = Nudger(engine, client, settings)
        outbox = Outbox(
            engine,
            poster.handlers() | nudger.handlers(),
            lease=timedelta(seconds=settings.outbox_lease_seconds),
        )
    elif dry_run:
        people = People(engine, None, None)
    else:
        raise ConfigError(
            "SLACK_BOT_TOKEN: not set, and nudges are sent to Slack (--dry-run shows them)"
        )
    result = await Sweeper(engine, settings, people).run(name, as_of=as_of, dry_run=dry_run)
    stamp = result.as_of.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    for warning in result.warnings:
        out.write(f"warning: {warning}\n")
    for planned in result.planned:
        out.write(("would send " if dry_run else "") + describe(planned) + "\n")
    verb = "would send" if dry_run else "sent"
    summary = (
        f"{name} as of {stamp}: {verb} {len(result.planned)} nudge(s), "
        f"{result.messages} Slack message(s), in {result.seconds:.2f}s"
    )
    if dry_run or outbox is None or not result.job_ids:
        out.write(summary + "\n")
        return 0
    await outbox.drain(within=DELIVERY_SECONDS, only=result.job_ids)
    waiting = await outbox.unfinished(result.job_ids)
    if not waiting:
        out.write(f"{summary}; delivered\n")
        return 0
    out.write(
        f"{summary}; {len(waiting)} not delivered yet ({waiting[0]}): they stay in the "
        "outbox and `handoff serve` retries them\n"
    )
    return 1


class Delivery:
    """An outbox that only sends email, for commands that deliver before they exit."""

    def __init__(self, engine: AsyncEngine, settings: Settings) -> None:
        settings.mail_ready()
        assert settings.smtp is not None
        self.mailer = Mailer(settings.smtp)
        postman = Postman(engine, self.mailer, settings)
        lease = timedelta(seconds=settings.outbox_lease_seconds)
        self.outbox = Outbox(engine, postman.handlers(), lease=lease)

    async def deliver(self, job_ids: list[int]) -> tuple[list[str], list[str]]:
        """Send these jobs' mail: the errors of those not sent yet, and the refusals for good."""
        try:
            await self.outbox.drain(within=DELIVERY_SECONDS, only=job_ids)
        finally:
            await self.mailer.close()
        async with self.outbox.engine.connect() as conn:
            refused = await conn.execute(
                sa.select(mail.c.recipient, mail.c.status, mail.c.error)
                .join(outbox_table, outbox_table.c.mail_id == mail.c.id)
                .where(
                    outbox_table.c.id.in_(job_ids),
                    mail.c.status.in_([str(MailStatus.REFUSED), str(MailStatus.SKIPPED)]),
                )
                .order_by(mail.c.id)
            )
            lines = [f"{r.recipient}: {r.status}: {r.error}" for r in refused]
        return await self.outbox.unfinished(job_ids), lines


def describe_digest(planned: DigestPlanned) -> str:
    when = planned.period_end.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    if planned.why_not:
        return f"{planned.partner:<17} period to {when}: not sent ({planned.why_not})"
    return f"{planned.partner:<17} period to {when}: {planned.items} referral(s) -> " + ", ".join(
        planned.recipients
    )


async def _report(result: DigestRun, delivery: Delivery | None, out: TextIO) -> int:
    """Print each digest of a run, then deliver its mail; 1 if some is not delivered yet."""
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
    if delivery is None or not result.job_ids:
        out.write(summary + "\n")
        return 0
    waiting, refused = await delivery.deliver(result.job_ids)
    for line in refused:
        out.write(f"not sent to {line}\n")
    if not waiting and not refused:
        out.write(f"{summary}; delivered\n")
        return 0
    if refused and not waiting:
        out.write(f"{summary}; {len(refused)} refused for good (the contact is marked)\n")
        return 1
    out.write(
        f"{summary}; {len(waiting)} not delivered yet ({waiting[0]}): they stay in the "
        "outbox and `handoff serve` retries them\n"
    )
    return 1


async def send_digest(
    engine: AsyncEngine,
    settings: Settings,
    slug: str,
    *,
    always: bool,
    as_of: datetime | None,
    out: TextIO,
) -> int:
    """`handoff digest send SLUG`: record the partner's digest now and deliver it."""
    from bot.slack.people import People

    settings.mail_ready()
    digests = Digests(engine, settings, People(engine, None, None))
    result = await digests.send(slug, as_of=as_of, always=always)
    return await _report(result, Delivery(engine, settings), out)


async def preview_digest(
    engine: AsyncEngine,
    settings: Settings,
    slug: str,
    *,
    html: bool,
    as_of: datetime | None,
    out: TextIO,
) -> int:
    """`handoff digest preview SLUG`: the digest as it would go out now; nothing recorded."""
    from bot.slack.people import People

    rendered = await Digests(engine, settings, People(engine, None, None)).preview(
        slug, as_of=as_of
    )
    if html:
        out.write(rendered.html)
    else:
        out.write(f"Subject: {rendered.subject}\n\n{rendered.text}")
    if not rendered.text.endswith("\n"):
        out.write("\n")
    return 0
