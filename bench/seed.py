#!/usr/bin/env python3
"""Seed a realistic data set: partners, two years of their referrals, and each one's events.

    uv run python -m bench.seed [--referrals 100000] [--partners 50] [--database-url URL]
        [--now 2026-11-23T12:00:00+00:00] [--seed 7] [--replace]

The database is HANDOFF_DATABASE_URL unless --database-url says otherwise; it is migrated first.
One that already has partners or referrals is refused (exit 2) unless --replace, which deletes
every row of every table first. The same --seed and --now give the same data set.

What it looks like, as of --now (default: the current time):
- partners registered over the 3 years before; a few in the last weeks, still quiet. A few big
  partners and a long tail (Zipf weights), each with contacts, a domain and a team of reps;
- referrals over the 2 years before, more each month, on working days and hours; ~85% claimed
  (minutes to days after receipt); roles as claimed: sourced 45%, influenced 25%, assisted
  close, attached, unattributed 5% each; 3% disputed (a later intro of a prospect that another
  partner introduced within 90 days, pointing at it); ~1% set by a manager;
- ~75% of the claimed ones answered (hours to days), then contacted, meeting, opportunity, won
  (amount lognormal, 5k-200k) or lost or disqualified, with met_at and opportunity_at as the
  stage changes record them; open ones often have a next joint step, some overdue;
- each referral's events as the bot writes them (intro, conflict, claim, role change, first
  response, replies, stage changes, next steps, overrides): about six per referral;
- the time zones and names of the 50 reps (slack_user), so no Slack call is needed.

Rows go in with bulk inserts (executemany), 5,000 referrals and their events per transaction.
Target (issue 7): 100,000 referrals in well under 2 minutes on SQLite and PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import math
import random
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # also runs as `python bench/seed.py`

from bench.common import analyze, progress, scaled  # noqa: E402
from bot.config import ConfigError, load_settings  # noqa: E402
from bot.db import open_database  # noqa: E402
from bot.models import Event, Partner, PartnerAddress, Referral, SlackUser  # noqa: E402
from bot.vocabulary import ROLE_LABELS, EventKind, Role  # noqa: E402

partner: sa.Table = Partner.__table__  # type: ignore[attr-defined]
partner_address: sa.Table = PartnerAddress.__table__  # type: ignore[attr-defined]
referral: sa.Table = Referral.__table__  # type: ignore[attr-defined]
event: sa.Table = Event.__table__  # type: ignore[attr-defined]
slack_user: sa.Table = SlackUser.__table__  # type: ignore[attr-defined]

CHUNK = 5_000  # referrals per transaction, with their events
DAY = 86_400.0
REPS = [f"U0REP{n:02d}" for n in range(1, 51)]
MANAGER = "UMGR1"
CHANNEL = "C0INTROS"
MAILBOX = "partners+{slug}@ours.example"


def _words(text: str) -> list[str]:
    return text.split()


ZONES = _words("""America/New_York America/Chicago America/Los_Angeles Europe/London Europe/Berlin
    Europe/Paris Asia/Singapore Australia/Sydney""")
FIRST = _words("""Ana Ben Chloe Dev Elena Farid Grace Hugo Ines Jonas Kira Liam Maya Noah Olga Priya
    Quinn Rosa Sam Tariq Uma Victor Wendy Xavier Yara Zane Aiko Bruno Carmen Dmitri Emma Felix""")
LAST = _words("""Silva Chen Okafor Muller Rossi Novak Haddad Jensen Kowalski Tanaka Garcia Dubois
    Patel Larsen Moreau Schmidt Costa Nguyen Ivanova Brennan Fischer Santos Kim Weber Hughes""")
BRANDS = _words("""northwind contoso fabrikam globex initech umbrella hooli vandelay wayne stark
    tyrell cyberdyne soylent wonka gringotts aperture blackmesa dunder sterling pied oscorp massive
    nakatomi monarch octan virtucon zorg acme bluth prestige duff krusty gekko ollivander paper
    tessier ingen kaneda gallifrey weyland rekall yoyodyne abstergo shinra vehement spacely
    cogswell oceanic dharma lacuna mooby nordberg sirius tricell veidt wernham""")
KINDS = _words("Consulting Partners Advisors Group Digital Solutions Labs")
WORDS = _words("""Alpine Beacon Cedar Delta Ember Falcon Granite Harbor Indigo Juniper Keystone
    Lumen Meridian Nimbus Orchid Pinnacle Quarry Redwood Summit Tidal Union Vertex Willow Zenith
    Atlas Borealis Cobalt Drift Evergreen Fjord Glacier Horizon Ironwood Jade""")
TRADES = _words("""Logistics Health Foods Energy Bank Retail Robotics Media Insurance Pharma Motors
    Telecom Analytics Security Travel""")
STEPS = [
    "Joint demo with {partner}",
    "Discovery call with {first}",
    "Send proposal to {company}",
    "Security review with {company}",
    "Pricing call with {first} and {partner}",
    "Workshop at {company}",
]
REASONS = [
    "the partner confirmed they brought the deal",
    "already in our pipeline before the intro",
    "the partner only joined the final call",
    "agreed at the partner review",
]
# The role a rep settles on, among the claimed ones: sourced 45%, influenced 25%, 5% each other.
CLAIMED_ROLES = [
    Role.SOURCED,
    Role.INFLUENCED,
    Role.ASSISTED_CLOSE,
    Role.ATTACHED,
    Role.UNATTRIBUTED,
]
ROLE_WEIGHTS = (45, 25, 5, 5, 5)
# Where a stage leads: (next stage or None to stay, chance, median days to get there).
NEXT = {
    "answered": (("contacted", 0.85, 1), ("meeting", 0.10, 5), ("disqualified", 0.05, 7)),
    "claimed": (("lost", 0.25, 20), ("disqualified", 0.25, 20), (None, 0.5, 0)),
    "contacted": (("meeting", 0.55, 8), ("lost", 0.15, 15), ("disqualified", 0.10, 10)),
    "meeting": (("opportunity", 0.6, 12), ("lost", 0.25, 20)),
    "opportunity": (("won", 0.45, 35), ("lost", 0.45, 30)),
}
CLOSED = ("won", "lost", "disqualified")
STEP_STAGES = ("contacted", "meeting", "opportunity")  # where a next joint step is set
# A referral's columns that only what happens after the intro fills in.
LATER = _words("""owner claimed_at first_response_at next_step next_step_due amount met_at
    opportunity_at role_overridden_at response_snoozed_until step_snoozed_until""")


class NotEmpty(Exception):
    """The database already has partners or referrals."""


@dataclass
class Plan:
    """One partner, as planned: who they are, how much they refer, who works with them."""

    id: int
    slug: str
    name: str
    domain: str
    created_at: float
    weight: float  # share of the referrals; 0 for the quiet ones
    starts: float  # their first referral, at the earliest
    contacts: list[str] = field(default_factory=list)
    team: list[str] = field(default_factory=list)
    seq: int = 0


@dataclass
class Story:
    """One referral being written: its row, its events, and who acted on it when."""

    row: dict[str, Any]
    partner: Plan
    first: str  # the prospect's first name
    company: str
    subject: str
    events: list[dict[str, Any]] = field(default_factory=list)
    owner: str | None = None  # who claimed it
    handed: float = math.inf  # when a manager gave it to row["owner"], if ever

    def add(
        self, kind: str, actor: str, at: float, detail: str, mid: str | None = None, on: int = 0
    ) -> None:
        said = {"referral_id": on or self.row["id"], "kind": kind, "actor": actor, "at": _dt(at)}
        self.events.append(said | {"message_id": mid, "detail": detail})

    def actor(self, at: float) -> str:
        """The owner at that moment, as the events name a Slack user."""
        return f"slack:{self.row['owner'] if at > self.handed else self.owner}"


def _dt(seconds: float) -> datetime:
    return datetime.fromtimestamp(round(seconds), UTC)


def _person(rng: random.Random) -> tuple[str, str]:
    return rng.choice(FIRST), rng.choice(LAST)


class Seeder:
    """Plans the partners and when each referral arrives, then tells each referral's story."""

    def __init__(self, *, referrals: int, partners: int, now: datetime, seed: int) -> None:
        self.rng = random.Random(seed)
        self.count = referrals
        self.now = now.timestamp()
        self.reps = {rep: _person(self.rng) for rep in REPS}
        self.partners = self._partners(partners)
        self.received, self.by = self._arrivals()
        self.prospects: list[tuple[str, str, str, str]] = []  # email, name, company, domain
        self.emails: set[str] = set()
        self.refs: list[str] = []
        self.closed_at: list[float] = []  # when each referral closed (inf: still open)
        self.involved: set[int] = set()  # in a dispute already, on either side
        self.facts = dict.fromkeys(("claimed", "disputed", "overridden", "won", "overdue_steps"), 0)

    def _partners(self, count: int) -> list[Plan]:
        rng = self.rng
        slugs = rng.sample(BRANDS, min(count, len(BRANDS)))
        slugs += [f"{rng.choice(BRANDS)}{n}" for n in range(len(slugs) + 1, count + 1)]
        quiet = max(1, count // 12) if count > 2 else 0  # registered lately, nothing sent yet
        plans = []
        for n, slug in enumerate(slugs):
            if n < quiet:
                created = self.now - rng.uniform(3, 45) * DAY
            else:
                created = self.now - rng.uniform(60, 3 * 365) * DAY
            rank = n - quiet + 1
            plans.append(
                Plan(
                    id=n + 1,
                    slug=slug,
                    name=f"{slug.capitalize()} {rng.choice(KINDS)}",
                    domain=f"{slug}.example",
                    created_at=created,
                    weight=0.0 if n < quiet else rank**-1.1,  # a few big ones, a long tail
                    starts=max(self.now - 730 * DAY, created + rng.uniform(2, 60) * DAY),
                    team=rng.sample(REPS, rng.randint(3, 6)),
                )
            )
            people = {_person(rng) for _ in range(rng.randint(1, 3))}
            plans[-1].contacts = sorted(f"{f}.{last}@{slug}.example".lower() for f, last in people)
        rng.shuffle(plans)  # the ranks are not in registration order
        return plans

    def _arrivals(self) -> tuple[list[float], list[int]]:
        """Sorted arrival times over two years, growing, and whose partner each one is."""
        rng, growth, span = self.rng, 1.5, 730 * DAY
        times: list[float] = []
        while len(times) < self.count:
            u = rng.random()  # density 1 + growth * t over t in [0, 1]: inverse of its CDF
            t = (math.sqrt(1 + 2 * growth * u * (1 + growth / 2)) - 1) / growth
            day = math.floor(t * 730)
            at = self.now - span + day * DAY
            weekday = datetime.fromtimestamp(at, UTC).weekday()
            if weekday >= 5 and rng.random() < 0.85:  # few intros at weekends
                at += (7 - weekday) * DAY if rng.random() < 0.5 else (4 - weekday) * DAY
            at += min(max(rng.gauss(13.5, 3), 0), 23.9) * 3600  # working hours, UTC-ish
            if at < self.now:
                times.append(at)
        times.sort()
        active = sorted((p for p in self.partners if p.weight > 0), key=lambda p: p.starts)
        starts = [p.starts for p in active]
        cumulative = []
        total = 0.0
        for p in active:
            total += p.weight
            cumulative.append(total)
        index = {id(p): n for n, p in enumerate(self.partners)}
        by = []
        for at in times:
            eligible = max(1, bisect.bisect_right(starts, at))
            pick = bisect.bisect_right(cumulative, rng.random() * cumulative[eligible - 1])
            by.append(index[id(active[min(pick, eligible - 1)])])
        return times, by

    # --- one referral ---------------------------------------------------------------------------

    def story(self, i: int) -> Story:
        """Referral i (id i + 1) as it stands at `now`, and the events that brought it there."""
        rng, now = self.rng, self.now
        p = self.partners[self.by[i]]
        p.seq += 1
        ref, received = f"{p.slug.upper()}-{p.seq}", self.received[i]
        self.refs.append(ref)
        rival = self._rival(i) if rng.random() < 0.031 else None
        email, name, company, domain = self._prospect(rival)
        first = name.split()[0]
        intro = self._message_id(p.domain)
        sender = rng.choice(p.contacts)
        via = f"{rng.choice(('to', 'to', 'cc'))}: {MAILBOX.format(slug=p.slug)}"
        if rng.random() < 0.05:  # a rep forwarded the partner's intro
            rep = self._email(rng.choice(p.team))
            via, sender = f"{via}; forwarded (gmail) by {rep}", rep
        subject = rng.choice(
            (
                f"Intro: {name} ({company})",
                f"{p.name} <> {company}: introduction",
                f"Introducing {first} from {company}",
                f"Connecting you with {first} at {company}",
            )
        )
        row: dict[str, Any] = dict.fromkeys(LATER) | {
            "id": i + 1,
            "ref": ref,
            "partner_id": p.id,
            "seq": p.seq,
            "dedupe_key": intro,
            "prospect_email": email,
            "prospect_name": name,
            "prospect_company": company,
            "prospect_domain": domain,
            "subject": subject,
            "intro_excerpt": f"Hi both, meet {first} from {company}, who is looking at us.",
            "intro_message_id": intro,
            "sender": sender,
            "received_at": _dt(received),
            "role": None,
            "stage": "new",
            "slack_channel": CHANNEL,
            "slack_ts": f"{int(received) + 2}.{i % 1_000_000:06d}",  # posted when received
            "conflict_with_id": rival + 1 if rival is not None else None,
            "created_at": _dt(received),
        }
        s = Story(row, p, first, company, subject)
        s.add(EventKind.INTRO_RECEIVED, f"email:{sender}", received, via, intro)
        if rival is not None:  # intake: first in wins, the later one is disputed
            row["role"], other = str(Role.DISPUTED), self.refs[rival]
            note = f"{ref} and {other} introduce {email}; {other} came first, {ref} is disputed"
            for target in (i + 1, rival + 1):
                s.add(EventKind.CONFLICT, "system", received, note, intro, on=target)
            self.facts["disputed"] += 1
        closed = math.inf
        claimed = received + min(max(rng.lognormvariate(math.log(45 * 60), 1.6), 60), 10 * DAY)
        if rng.random() >= 0.86 or claimed > now:  # unclaimed: most old ones marked not a fit
            dropped = received + rng.lognormvariate(math.log(DAY), 1.0)
            if now - received > 3 * DAY and dropped < now and rng.random() < 0.75:
                s.add(
                    EventKind.NOT_A_FIT, f"slack:{rng.choice(p.team)}", dropped, "marked not a fit"
                )
                row["stage"], closed = "disqualified", dropped
        else:
            self._claim(s, claimed)
            closed = self._stages(s, claimed)
            if row["first_response_at"] is not None:
                self._replies(s, row["first_response_at"].timestamp(), closed, email)
        self.closed_at.append(closed)
        s.events.sort(key=lambda e: e["at"])
        return s

    def _claim(self, s: Story, claimed: float) -> None:
        """The claim, maybe a manager's reassignment, and the role as it ended up."""
        rng, now, row = self.rng, self.now, s.row
        self.facts["claimed"] += 1
        s.owner = rng.choice(s.partner.team) if rng.random() < 0.8 else rng.choice(REPS)
        disputed = row["role"] == Role.DISPUTED  # it stays so until a manager settles it
        final = rng.choices(CLAIMED_ROLES, ROLE_WEIGHTS)[0]
        overridden = not disputed and rng.random() < 0.012
        changed = not disputed and not overridden and rng.random() < 0.08
        role = final
        if disputed or overridden or changed:
            role = rng.choice([r for r in (Role.SOURCED, Role.INFLUENCED) if r != final])
        detail = f"claimed as {ROLE_LABELS[role]}"
        if disputed:
            detail += " (the partner's role stays disputed until a manager settles it)"
        s.add(EventKind.CLAIMED, f"slack:{s.owner}", claimed, detail)
        row.update(owner=s.owner, stage="claimed", claimed_at=_dt(claimed))
        row["role"] = str(Role.DISPUTED) if disputed else str(role)
        handed = claimed + rng.uniform(1, 120) * 3600
        if rng.random() < 0.02 and handed < now:
            other = rng.choice([r for r in REPS if r != s.owner])
            detail = f"reassigned from {s.owner} to {other}"
            s.add(EventKind.REASSIGNED, f"slack:{MANAGER}", handed, detail)
            row["owner"], s.handed = other, handed
        at = claimed + rng.uniform(600, 3 * DAY)
        if changed and at < now:
            detail = f"role {ROLE_LABELS[role]} → {ROLE_LABELS[final]}"
            s.add(EventKind.ROLE_CHANGED, s.actor(at), at, detail)
            row["role"] = str(final)
        at = claimed + rng.uniform(1, 60) * DAY
        if overridden and at < now:
            detail = f"role {ROLE_LABELS[role]} → {ROLE_LABELS[final]}, set by a manager"
            s.add(
                EventKind.ROLE_OVERRIDDEN,
                f"slack:{MANAGER}",
                at,
                f"{detail}: {rng.choice(REASONS)}",
            )
            row.update(role=str(final), role_overridden_at=_dt(at))
            self.facts["overridden"] += 1

    def _stages(self, s: Story, claimed: float) -> float:
        """First response, then the stages as the owner moved them; when it closed (inf: open)."""
        rng, now, row = self.rng, self.now, s.row
        answered = claimed + min(max(rng.lognormvariate(math.log(5 * 3600), 1.3), 300), 14 * DAY)
        stage, at = "claimed", claimed
        if rng.random() < 0.75 and answered < now:
            row["first_response_at"] = _dt(answered)
            if rng.random() < 0.7:  # a reply-all in the intro's thread, else marked in Slack
                rep = self._email(s.actor(answered).removeprefix("slack:"))
                detail = f"internal reply: Re: {s.subject}"
                mid = self._message_id("ours.example")
                s.add(EventKind.FIRST_RESPONSE, f"email:{rep}", answered, detail, mid)
            else:
                s.add(EventKind.FIRST_RESPONSE, s.actor(answered), answered, "marked in Slack")
            stage, at = "answered", answered
        step_at = -math.inf
        while stage in NEXT:
            planned = stage in STEP_STAGES and rng.random() < 0.45
            if planned and self._next_step(s, at + rng.uniform(60, 2 * DAY), 2):
                step_at = s.events[-1]["at"].timestamp()
            choices = NEXT[stage]
            stay = 1 - sum(c for _, c, _ in choices)
            options = [*choices, (None, stay, 0)] if stay > 1e-9 else list(choices)
            nxt, _, days = rng.choices(options, [c for _, c, _ in options])[0]
            if nxt is None:
                break
            moved = at + min(max(rng.lognormvariate(math.log(days * DAY), 0.8), 600), 200 * DAY)
            moved = max(moved, step_at + 3600)  # the step was set in this stage
            if moved > now:
                break
            detail = f"stage {'claimed' if stage == 'answered' else stage} → {nxt}"
            if nxt == "won":
                amount = min(max(rng.lognormvariate(math.log(25_000), 0.9), 5_000), 200_000)
                row["amount"] = round(amount, -2)
                detail += f" (amount {row['amount']:,.2f})"
                self.facts["won"] += 1
            s.add(EventKind.STAGE_CHANGED, s.actor(moved), moved, detail)
            if nxt in ("meeting", "opportunity", "won") and row["met_at"] is None:
                row["met_at"] = _dt(moved)
            if nxt in ("opportunity", "won") and row["opportunity_at"] is None:
                row["opportunity_at"] = _dt(moved)
            if row["next_step"] is not None and rng.random() < 0.6:
                s.add(EventKind.STEP_DONE, s.actor(moved), moved - 60, f"done: {row['next_step']}")
                row["next_step"], row["next_step_due"] = None, None
            stage, at = nxt, moved
        stage = "claimed" if stage == "answered" else stage
        if stage not in CLOSED:  # still open: closed when long idle, else planned afresh
            gone, plan_at = at + rng.uniform(45, 90) * DAY, now - rng.uniform(0, 14) * DAY
            if now - at > 90 * DAY and gone < now and rng.random() < 0.8:
                end = rng.choice(("lost", "disqualified"))
                s.add(EventKind.STAGE_CHANGED, s.actor(gone), gone, f"stage {stage} → {end}")
                stage, at = end, gone
            elif stage in STEP_STAGES and plan_at > max(at, step_at) and rng.random() < 0.75:
                self._next_step(s, plan_at, 3)
        row["stage"] = stage
        if stage in CLOSED:
            return at
        if row["next_step_due"] is not None:
            self.facts["overdue_steps"] += row["next_step_due"].timestamp() + DAY <= now
        return math.inf

    def _next_step(self, s: Story, at: float, soonest: float) -> bool:
        """A next joint step set at `at`, due `soonest` to 21 days later (unless `at` is ahead)."""
        if at >= self.now:
            return False
        step = self.rng.choice(STEPS).format(
            partner=s.partner.name, first=s.first, company=s.company
        )
        due = _dt(at + self.rng.uniform(soonest, 21) * DAY).date()
        s.add(EventKind.NEXT_STEP, s.actor(at), at, f"next joint step: {step} (due {due})")
        s.row["next_step"] = step
        s.row["next_step_due"] = datetime.combine(due, datetime.min.time(), UTC)
        return True

    def _replies(self, s: Story, answered: float, closed: float, email: str) -> None:
        """The prospect and the partner writing back in the thread, after the first response."""
        for _ in range(self.rng.choice((0, 0, 0, 1, 1, 2))):
            said = self.rng.uniform(answered, min(closed, self.now))
            if self.rng.random() < 0.7:
                who, what = email, "prospect reply"
            else:
                who, what = self.rng.choice(s.partner.contacts), "partner reply"
            detail, mid = f"{what}: Re: {s.subject}", self._message_id(who.partition("@")[2])
            s.add(EventKind.ACTIVITY, f"email:{who}", said, detail, mid)

    def _rival(self, i: int) -> int | None:
        """An earlier referral, of another partner, open and inside the 90-day protection."""
        earliest = bisect.bisect_left(self.received, self.received[i] - 90 * DAY)
        for _ in range(8 if earliest < i else 0):
            j = self.rng.randrange(earliest, i)
            if (
                j not in self.involved
                and self.by[j] != self.by[i]
                and self.closed_at[j] > self.received[i]
            ):
                self.involved |= {i, j}
                return j
        return None

    def _prospect(self, rival: int | None) -> tuple[str, str, str, str]:
        if rival is not None:
            prospect = self.prospects[rival]
        else:
            first, last = _person(self.rng)
            company = f"{self.rng.choice(WORDS)} {self.rng.choice(TRADES)}"
            domain = company.lower().replace(" ", "") + ".example"
            email, n = f"{first}.{last}@{domain}".lower(), 1
            while email in self.emails:
                n += 1
                email = f"{first}.{last}{n}@{domain}".lower()
            self.emails.add(email)
            prospect = (email, f"{first} {last}", company, domain)
        self.prospects.append(prospect)
        return prospect

    def _email(self, rep: str) -> str:
        first, last = self.reps[rep]
        return f"{first}.{last}@ours.example".lower()

    def _message_id(self, domain: str) -> str:
        return f"<{self.rng.getrandbits(80):020x}@mail.{domain}>"

    # --- the fixed rows -------------------------------------------------------------------------

    def partner_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "id": p.id,
                "slug": p.slug,
                "name": p.name,
                "created_at": _dt(p.created_at),
                "slack_channel": None,
                "first_response_sla_seconds": None,
                "digest_cron": None,
                "timezone": None,
                "stage_emails": False,
            }
            for p in sorted(self.partners, key=lambda p: p.id)
        ]

    def address_rows(self) -> list[dict[str, Any]]:
        rows = []
        for p in sorted(self.partners, key=lambda p: p.id):
            rows.append({"partner_id": p.id, "kind": "domain", "value": p.domain})
            rows += [{"partner_id": p.id, "kind": "contact", "value": c} for c in p.contacts]
        return [
            r | {"unsubscribed_at": None, "bounced_at": None, "bounce_reason": None} for r in rows
        ]

    def rep_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "id": rep,
                "tz": ZONES[n % len(ZONES)],
                "name": f"{f} {last}",
                "checked_at": _dt(self.now),
            }
            for n, (rep, (f, last)) in enumerate(self.reps.items())
        ]


# --- writing -------------------------------------------------------------------------------------


async def existing(engine: AsyncEngine) -> tuple[int, int]:
    """How many partners and referrals the database has."""
    async with engine.connect() as conn:
        partners = await conn.scalar(sa.select(sa.func.count()).select_from(partner))
        referrals = await conn.scalar(sa.select(sa.func.count()).select_from(referral))
    return int(partners or 0), int(referrals or 0)


async def clear(engine: AsyncEngine) -> None:
    """Delete every row of every table (the schema and its revision stay)."""
    async with engine.connect() as conn:
        present = set(await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names()))
        tables = [t for t in reversed(SQLModel.metadata.sorted_tables) if t.name in present]
        if conn.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            await conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            await conn.commit()
            return
        # With foreign keys on, SQLite checks each deleted referral against the unindexed
        # referral.conflict_with_id and mail.referral_id: quadratic. Off (outside a transaction,
        # as SQLite requires), whole tables are dropped at once; everything goes, so nothing
        # is left dangling.
        await conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        try:
            for table in tables:
                await conn.execute(table.delete())
            await conn.commit()
        finally:
            await conn.exec_driver_sql("PRAGMA foreign_keys=ON")


async def seed(
    engine: AsyncEngine, *, referrals: int, partners: int, now: datetime, seed: int
) -> dict[str, int]:
    """Write the data set into an empty, migrated database; counts of what was written."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if any(await existing(engine)):
        raise NotEmpty("the database already has partners or referrals")
    started = time.perf_counter()
    plan = Seeder(referrals=referrals, partners=partners, now=now, seed=seed)
    counts = {"partners": partners, "referrals": 0, "events": 0}
    async with engine.begin() as conn:
        await conn.execute(sa.insert(partner), plan.partner_rows())
        addresses = plan.address_rows()
        await conn.execute(sa.insert(partner_address), addresses)
        reps = plan.rep_rows()
        await conn.execute(sa.insert(slack_user), reps)
    counts |= {"partner_addresses": len(addresses), "slack_users": len(reps)}
    progress(
        f"  seed: {partners} partners, {len(reps)} reps ({time.perf_counter() - started:.1f} s)"
    )
    step = max(1, referrals // 10)
    for low in range(0, referrals, CHUNK):
        rows: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        for i in range(low, min(low + CHUNK, referrals)):
            story = plan.story(i)
            rows.append(story.row)
            events += story.events
        async with engine.begin() as conn:
            await conn.execute(sa.insert(referral), rows)
            await conn.execute(sa.insert(event), events)
        before = counts["referrals"]
        counts["referrals"] += len(rows)
        counts["events"] += len(events)
        if counts["referrals"] // step > before // step or counts["referrals"] == referrals:
            progress(
                f"  seed: {counts['referrals']:,} / {referrals:,} referrals, "
                f"{counts['events']:,} events ({time.perf_counter() - started:.1f} s)"
            )
    if engine.dialect.name == "postgresql":
        async with engine.begin() as conn:
            # The ids were given here: the sequences carry on after them for the bot's inserts.
            for table in ("partner", "referral"):
                await conn.execute(
                    sa.text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)"
                    )
                )
    return counts | plan.facts


def _instant(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 instant") from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no UTC offset (e.g. +00:00)")
    return value.astimezone(UTC)


async def run(args: argparse.Namespace) -> None:
    url = args.database_url or load_settings().database_url
    async with open_database(url, migrate=True) as engine:
        partners, referrals = await existing(engine)
        if partners or referrals:
            if not args.replace:
                raise NotEmpty(
                    f"the database already has {partners:,} partners and {referrals:,} "
                    "referrals; --replace deletes every row first"
                )
            progress(
                f"  seed: deleting {partners:,} partners, {referrals:,} referrals and the rest"
            )
            await clear(engine)
        started = time.perf_counter()
        counts = await seed(
            engine, referrals=args.referrals, partners=args.partners, now=args.now, seed=args.seed
        )
        await analyze(engine)  # PostgreSQL: as autovacuum would after a bulk load
        seconds = time.perf_counter() - started
    backend = "PostgreSQL" if engine.dialect.name == "postgresql" else "SQLite"
    print(
        f"seeded {backend} as of {args.now:%Y-%m-%d %H:%M} UTC (seed {args.seed}): "
        + ", ".join(f"{value:,} {name.replace('_', ' ')}" for name, value in counts.items())
        + f" in {seconds:.1f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--referrals",
        type=lambda text: scaled(int(text)),
        default=scaled(100_000),
        help="default: 100,000; either times HANDOFF_BENCH_SCALE (the tests run it at 0.01)",
    )
    parser.add_argument("--partners", type=int, default=50)
    parser.add_argument("--database-url", help="default: HANDOFF_DATABASE_URL")
    parser.add_argument(
        "--now",
        type=_instant,
        default=datetime.now(UTC).replace(microsecond=0),
        help="the data set's present, e.g. 2026-11-23T12:00:00+00:00 (default: now)",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--replace", action="store_true", help="delete every row first")
    args = parser.parse_args()
    if args.referrals < 0 or args.partners < 1:
        parser.error("--referrals must be at least 0 and --partners at least 1")
    try:
        asyncio.run(run(args))
    except (NotEmpty, ConfigError) as exc:
        print(f"bench.seed: {exc}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
