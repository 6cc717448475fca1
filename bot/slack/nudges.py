"""Nudges in Slack: the Block Kit of each (the thread nudge, the owner's reminders, the managers'
notes), and the outbox's handler that posts one to one place unless its cause is gone by then.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import sqlalchemy as sa
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    SectionBlock,
)
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.config import Settings
from bot.models import Nudge, Partner, Referral, utcnow
from bot.nudges.due import gone
from bot.outbox import Defer, Handler, Job
from bot.referrals import cards
from bot.referrals.acting import Refused
from bot.referrals.cards import Card
from bot.slack import once
from bot.slack.blocks import (
    FALLBACK_TEXT,
    SECTION_TEXT,
    Post,
    _md,
    escape,
    fit,
    mention,
    one_line,
    who,
)
from bot.slack.calls import slack_call
from bot.slack.roster import Roster
from bot.text import day, duration, format_duration
from bot.vocabulary import JobKind, NudgeKind

# Action ids of the reminders' buttons (bot/slack/listeners/reminders.py).
RESPONDED = "nudge_responded"
SNOOZE_RESPONSE = "nudge_snooze_response"
STEP_DONE = "step_done"
STEP_SNOOZE = "step_snooze"
STEP_RESCHEDULE = "step_reschedule"


@dataclass(frozen=True)
class Quiet:
    """A partner in the weekly note: no referral since `last` (None: never, since registered)."""

    name: str
    slug: str
    last: datetime | None
    registered: datetime


def nudge_post(
    kind: str,
    level: int,
    card: Card,
    *,
    now: datetime,
    channel: str | None = None,
    rep_group: str | None = None,
    overdue_every: str | None = None,
) -> Post:
    """The message of one nudge about one referral, as of `now`."""
    ref = f"*{escape(card.ref)}*"
    about = f"{ref} · {who(card)} · from {escape(one_line(card.partner_name))}"
    where = f" in <#{channel}>" if channel else ""
    buttons: list[ButtonElement] = []
    if kind == NudgeKind.UNCLAIMED and level == 1:
        waited = duration(now - card.received_at)
        group = f"<!subteam^{rep_group}> " if rep_group and rep_group.startswith("S") else ""
        text = (
            f":hourglass_flowing_sand: {group}{ref} has waited {waited} for an owner. "
            "Claim it above, or mark it Not a fit."
        )
    elif kind == NudgeKind.UNCLAIMED:
        waited = duration(now - card.received_at)
        text = f":rotating_light: Still unclaimed after {waited}{where}: {about}"
    elif kind == NudgeKind.FIRST_RESPONSE and level == 1:
        since = duration(now - card.claimed_at) if card.claimed_at else "a while"
        text = (
            f":alarm_clock: You claimed {about} {since} ago, and no first response is recorded "
            "yet. Reply-all to the intro so that Handoff sees it, or tell Handoff here."
        )
        buttons = [
            ButtonElement(action_id=RESPONDED, text="Responded", value=card.ref, style="primary"),
            ButtonElement(action_id=SNOOZE_RESPONSE, text="Snooze 1 day", value=card.ref),
        ]
    elif kind == NudgeKind.FIRST_RESPONSE:
        since = duration(now - card.claimed_at) if card.claimed_at else "a while"
        owner = mention(card.owner) if card.owner else "Nobody"
        text = (
            f":rotating_light: No first response yet: {owner} claimed {about} {since} ago{where}."
        )
    elif kind == NudgeKind.NEXT_STEP:
        step = fit(escape(one_line(card.next_step or "next joint step")), 1500)
        due = card.next_step_due
        if due is not None and now.astimezone(UTC).date() > due:
            late = duration(now - datetime.combine(due, datetime.min.time(), tzinfo=UTC))
            head = f":warning: Overdue since {day(due)} ({late})"
        else:
            head = ":calendar: Due today"
        text = f"{head}, next joint step on {about}:\n> {step}"
        if overdue_every and due is not None and now.astimezone(UTC).date() > due:
            text += f"\n_Reminded every {overdue_every} until it is done or moved._"
        buttons = [
            ButtonElement(action_id=STEP_DONE, text="Done", value=card.ref, style="primary"),
            ButtonElement(action_id=STEP_SNOOZE, text="Snooze 1 day", value=card.ref),
            ButtonElement(action_id=STEP_RESCHEDULE, text="Reschedule", value=card.ref),
        ]
    elif kind == NudgeKind.EXPIRING:
        until = day(card.protected_until.date()) if card.protected_until else "soon"
        text = (
            f":hourglass: The partner's protection of {about} ends {until}, and its stage has not "
            f"moved since it came in. {escape(one_line(card.partner_name))} was asked by email "
            "whether it is still active; their answer will show in the thread. Move the stage "
            "if it is, or close it."
        )
    elif kind == NudgeKind.UNCONFIRMED:
        text = (
            f":grey_question: {escape(one_line(card.partner_name))} has not confirmed {about}, "
            "which was logged in Slack, since they were asked by email. Check with them, or "
            "keep it as logged (reports show it unconfirmed)."
        )
    else:
        raise ValueError(f"no message for a {kind} nudge of level {level}")
    blocks: list[Block] = [SectionBlock(text=_md(fit(text, SECTION_TEXT)))]
    if buttons:
        blocks.append(ActionsBlock(elements=buttons))
    fallback = fit(_plain(text), FALLBACK_TEXT)
    return Post(text=fallback, blocks=[b.to_dict() for b in blocks])


def inactive_post(partners: list[Quiet], *, now: datetime, after: str) -> Post:
    """The weekly note to managers: partners with no referral for `after` (e.g. 60d)."""
    lines = []
    for p in partners:
        name = f"*{escape(one_line(p.name))}* ({escape(p.slug)})"
        if p.last is None:
            lines.append(f"• {name}: no referral yet, registered {day(p.registered.date())}")
        else:
            lines.append(
                f"• {name}: last referral {day(p.last.date())}, {duration(now - p.last)} ago"
            )
    head = f":zzz: Partners with no referral in {after}:"
    blocks: list[Block] = []
    chunk = head
    for line in lines:  # one section per 3,000 characters, as Slack allows
        if len(chunk) + 1 + len(line) > SECTION_TEXT:
            blocks.append(SectionBlock(text=_md(chunk)))
            chunk = ""
        chunk = f"{chunk}\n{line}" if chunk else line
    blocks.append(SectionBlock(text=_md(fit(chunk, SECTION_TEXT))))
    blocks = blocks[:49]
    blocks.append(
        ContextBlock(elements=[_md("Attached but inactive: worth a call before they forget you.")])
    )
    text = f"{len(partners)} partner(s) with no referral in {after}"
    return Post(text=text, blocks=[b.to_dict() for b in blocks])


def answered(message: dict[str, Any], line: str) -> list[dict[str, Any]]:
    """A reminder's blocks once acted on: its buttons replaced by what was done."""
    kept = [b for b in message.get("blocks") or () if b.get("type") != "actions"]
    return [*kept, ContextBlock(elements=[_md(fit(line, 2000))]).to_dict()]


def _plain(text: str) -> str:
    return one_line(text.replace("*", ""))


log = logging.getLogger("handoff.slack")
nudge: sa.Table = Nudge.__table__  # type: ignore[attr-defined]
referral: sa.Table = Referral.__table__  # type: ignore[attr-defined]
partner: sa.Table = Partner.__table__  # type: ignore[attr-defined]


class Nudger:
    """Sends recorded nudges; checks the cause again at sending time."""

    def __init__(
        self,
        engine: AsyncEngine,
        client: AsyncWebClient,
        settings: Settings,
        *,
        roster: Roster | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.client = client
        self.settings = settings
        self.roster = roster
        self.clock = clock

    async def _rep_group(self) -> str | None:
        """HANDOFF_REP_GROUP as the id a mention needs: a handle (@reps) is looked up."""
        group = self.settings.rep_group
        if not group or self.roster is None:
            return group
        try:
            return await self.roster.group_id(group)
        except (Refused, SlackApiError, OSError, TimeoutError) as exc:
            log.warning("slack: the unclaimed nudge mentions no group: %s", exc)
            return None

    def handlers(self) -> dict[str, Handler]:
        return {JobKind.SLACK_NUDGE: self.send}

    async def send(self, job: Job) -> str | None:
        now = self.clock()
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(nudge).where(nudge.c.id == job.nudge_id))).first()
            if row is None:
                return None
            if row.kind == NudgeKind.INACTIVE_PARTNERS:
                # As of the sweep's own instant (`jobs run --now` may name another than the
                # wall clock's): the note then says what the job counted, less any partner
                # whose referral came in since.
                as_of = row.created_at
                quiet = await self._still_quiet(conn, row.detail, as_of)
                if not quiet:
                    return f"slack: weekly partner note #{row.id} dropped: every partner is active"
                post = inactive_post(
                    quiet, now=as_of, after=format_duration(self.settings.inactive_after)
                )
                place = None
            else:
                state = (
                    await conn.execute(sa.select(referral).where(referral.c.id == row.referral_id))
                ).first()
                why = gone(
                    row.kind, cycle_at=row.cycle_at, level=row.level, target=job.target, row=state
                )
                if why:
                    return f"slack: {row.kind} nudge #{row.id} dropped: {why}"
                placed = await cards.placed(conn, referral_id=row.referral_id)
                assert placed is not None
                post = nudge_post(
                    row.kind,
                    row.level,
                    placed.card,
                    now=now,
                    channel=placed.channel,
                    rep_group=await self._rep_group(),
                    overdue_every=format_duration(self.settings.overdue_every),
                )
                place = placed
        if job.target is None:
            assert place is not None
            if not place.channel or not place.ts:
                raise Defer(f"{place.card.ref} is not posted yet")
            channel, thread_ts = place.channel, place.ts
        else:
            channel, thread_ts = job.target, None
        key = {"nudge": row.id, "to": job.target or "thread"}
        if job.uncertain or job.attempts > 1:
            # An earlier attempt may have been posted although its answer went wrong.
            if thread_ts is None:
                opened = await slack_call(
                    f"opening a DM with {channel}",
                    partial(self.client.conversations_open, users=channel),
                )
                channel = str((opened.get("channel") or {}).get("id"))
            if await once.earlier(
                self.client,
                channel=channel,
                thread_ts=thread_ts,
                key=key,
                since=job.created_at or now - timedelta(days=1),
                what=f"{row.kind} nudge #{row.id}",
                event_type=once.NUDGE_TYPE,
            ):
                return f"slack: {row.kind} nudge #{row.id} was sent before"
        what = f"sending a {row.kind} nudge to {job.target or 'the thread'}"
        await slack_call(
            what,
            lambda: self.client.chat_postMessage(
                channel=channel,
                thread_ts=thread_ts,
                text=post.text,
                blocks=post.blocks,
                metadata=once.metadata(key, once.NUDGE_TYPE),
                unfurl_links=False,
                unfurl_media=False,
            ),
        )
        ref = place.card.ref if place else "partners"
        return (
            f"slack: {row.kind} nudge (level {row.level}) on {ref} sent to {job.target or 'thread'}"
        )

    async def _still_quiet(
        self, conn: AsyncConnection, detail: str | None, now: datetime
    ) -> list[Quiet]:
        listed = json.loads(detail or "[]")
        ids = [p["id"] for p in listed]
        threshold = now - self.settings.inactive_after
        recent = set(
            (
                await conn.execute(
                    sa.select(referral.c.partner_id)
                    .where(referral.c.partner_id.in_(ids), referral.c.received_at > threshold)
                    .distinct()
                )
            ).scalars()
        )
        return [
            Quiet(
                name=p["name"],
                slug=p["slug"],
                last=datetime.fromisoformat(p["last"]) if p["last"] else None,
                registered=datetime.fromisoformat(p["registered"]),
            )
            for p in listed
            if p["id"] not in recent
        ]
