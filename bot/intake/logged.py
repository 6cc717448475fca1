"""Referrals that did not come by email (issue 23, part 2): an intro made on a call, at an event,
on a shared account or in a co-selling meeting, logged by a rep in Slack.

It becomes a referral through the same rules as an emailed intro (one per prospect and partner,
the later of two partners' disputed, another person at the same company a possible overlap),
with the Slack message's permalink as its proof, and its partner is asked by email whether it
made the introduction (bot/digests/partner_mail.py): the answer confirms it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.config import Settings
from bot.intake import outcomes
from bot.intake import queries as q
from bot.intake.rules import Prospect, company_from_domain
from bot.models import Referral
from bot.referrals import timeline
from bot.referrals.acting import Actor, Outcome, Refused, first_time
from bot.referrals.directory import FREEMAIL, settings_directory
from bot.referrals.partners import EMAIL
from bot.vocabulary import (
    ACTION_LABELS,
    ROLE_LABELS,
    ActionType,
    EventKind,
    Role,
    Stage,
)

referral: sa.Table = Referral.__table__  # type: ignore[attr-defined]

# What a rep may say the partner did; the intro email is what email intake records itself.
ACTIONS = tuple(a for a in ActionType if a != ActionType.INTRO_EMAIL)
CLAIM_ROLES = (Role.SOURCED, Role.INFLUENCED, Role.ASSISTED_CLOSE)


@dataclass(frozen=True)
class Logged:
    """A referral as a rep tells it."""

    partner: str  # its slug
    email: str
    name: str | None
    company: str | None
    action: ActionType
    happened_on: date
    note: str = ""
    proof_url: str | None = None  # the Slack message it was logged from
    claim_as: Role | None = None  # claim it for the rep who logged it, with this role


def problems(*, email: str, happened_on: date | None, today: date) -> dict[str, str]:
    """What the modal must ask again, by field: the address, the day (not in the future)."""
    found = {}
    if not EMAIL.match(email.strip().lower()):
        found["email"] = "Enter the prospect's email address, e.g. jane@hooli.example."
    if happened_on is None:
        found["when"] = "Pick the day the partner made the introduction."
    elif happened_on > today + timedelta(days=1):  # the rep's day may run ahead of UTC's
        found["when"] = "Pick a day that has passed: the introduction happened already."
    return found


async def log_referral(
    *,
    engine: AsyncEngine,
    actor: Actor,
    at: datetime,
    request: str,
    logged: Logged,
    settings: Settings,
) -> Outcome:
    """The referral the rep logged (or the one the partner already has for this prospect)."""
    if not (actor.may_claim or actor.manager):
        raise Refused("Only reps and partner managers can log partner referrals.")
    email = logged.email.strip().lower()
    if not EMAIL.match(email):
        raise Refused(f"{logged.email!r} is not an email address.")
    directory = await settings_directory(engine, settings)
    partner = directory.by_slug.get(logged.partner.strip().lower())
    if partner is None:
        raise Refused(f"There is no partner {logged.partner!r} (see: handoff partners list).")
    domain = email.rpartition("@")[2]
    prospect = Prospect(
        email,
        (logged.name or "").strip()[:300] or None,
        (logged.company or "").strip()[:300] or company_from_domain(domain),
        domain,
    )
    default = timedelta(days=settings.protection_days)
    window = directory.protection_of(partner.id, default)
    happened = datetime.combine(logged.happened_on, time(), tzinfo=UTC)
    key = f"slack-log:{request}"
    async with engine.begin() as conn:
        if not await first_time(conn, request, at):
            ref = await conn.scalar(sa.select(referral.c.ref).where(referral.c.dedupe_key == key))
            return Outcome(ref or "", applied=False)
        if conn.dialect.name != "sqlite":  # SQLite's transaction holds the write lock already
            await conn.execute(q.LOCK_KEY, {"key": email})
        widest = directory.widest(default)
        rows = (
            await conn.execute(
                q.FACTS_NO_THREAD,
                {
                    "key": key,
                    "size": -1,
                    "email": email,
                    "domain": domain if domain not in FREEMAIL else None,
                    "since": at - widest,
                    "until": at + widest,
                },
            )
        ).all()
        near = [
            r
            for r in rows
            if r.what in ("open", "company")
            and abs(at - r.received_at) <= directory.protection_of(r.partner_id, default)
        ]
        near.sort(key=lambda r: (r.received_at, r.row_id))
        existing = [r for r in near if r.what == "open"]
        same = next((r for r in existing if r.partner_id == partner.id), None)
        if same is not None:
            detail = f"logged again in Slack: {_said(logged)}"
            await timeline.record(
                conn, same.row_id, EventKind.REINTRODUCED, actor=actor.name, at=at, detail=detail
            )
            return Outcome(
                same.ref,
                applied=True,
                note=f"{partner.name} already has {email} as {same.ref}; your note is on it.",
            )
        overlap = next(
            (r for r in near if r.what == "company" and r.partner_id != partner.id), None
        )

        rep = actor.name

        async def record(
            referral_id: int,
            kind: EventKind,
            detail: str,
            actor: str | None = None,
            receipts: bool | None = None,
        ) -> None:
            await timeline.record(
                conn,
                referral_id,
                kind,
                actor=actor or rep,
                at=at,
                detail=detail[:2000],
                threaded=kind != EventKind.LOGGED,
            )

        label = ACTION_LABELS[logged.action]
        referral_id, ref, rival = await outcomes.register(
            conn,
            partner=partner,
            prospect=prospect,
            arrival=at,
            existing=existing,
            overlap=overlap,
            protection=window,
            values={
                "dedupe_key": key,
                "subject": f"{label} ({logged.happened_on.isoformat()}), logged in Slack",
                "intro_excerpt": outcomes.excerpt(logged.note),
                "intro_message_id": None,
                "sender": None,
                "action_type": str(logged.action),
                "action_at": happened,
                "proof_url": logged.proof_url,
                "logged_by": actor.user,
                "partner_action_at": min(happened, at),
            },
            first=(EventKind.LOGGED, _said(logged)),
            record=record,
        )
        note = None
        if logged.claim_as is not None:
            note = await _claim(conn, referral_id, ref, actor, logged.claim_as, at)
    conflict = (
        f" {rival.ref} introduced this prospect first: a manager settles it." if rival else ""
    )
    return Outcome(ref, applied=True, note=(note or f"Logged as {ref}.") + conflict)


async def _claim(
    conn: AsyncConnection,
    referral_id: int,
    ref: str,
    actor: Actor,
    role: Role,
    at: datetime,
) -> str:
    """The rep who logged it owns it, as they asked (a disputed referral keeps that role)."""
    if not actor.may_claim:
        return f"Logged as {ref}; only members of the reps' user group can claim it."
    await conn.execute(
        sa.update(referral)
        .where(referral.c.id == referral_id)
        .values(
            owner=actor.user,
            role=sa.case((referral.c.role == str(Role.DISPUTED), referral.c.role), else_=role),
            stage=str(Stage.CLAIMED),
            claimed_at=at,
        )
    )
    # The partner hears "did you introduce …?" now; who owns it is in their answer's thread.
    await timeline.record(
        conn,
        referral_id,
        EventKind.CLAIMED,
        actor=actor.name,
        at=at,
        detail=f"claimed as {ROLE_LABELS[role]} when logged",
        receipts=False,
    )
    return f"Logged as {ref}, and it is yours ({ROLE_LABELS[role]})."


def _said(logged: Logged) -> str:
    said = f"{ACTION_LABELS[logged.action].lower()} on {logged.happened_on.isoformat()}"
    note = " ".join(logged.note.split())
    return f"{said}: {note}" if note else said
