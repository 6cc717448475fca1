"""Who is in the demo: the sample partners, the people in Slack, where and when it happens."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

SAMPLES = Path(__file__).parent.parent / "samples"
INTERNAL_DOMAINS = frozenset({"ours.example"})
MAILBOX = "partners@ours.example"


@dataclass(frozen=True)
class SamplePartner:
    slug: str
    name: str
    addresses: tuple[str, ...] = ()
    contacts: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()


# The partners the samples (and tests/fixtures/intake) were written for.
PARTNERS = (
    SamplePartner(
        "acme",
        "Acme Consulting",
        contacts=("dana@acmeconsulting.example",),
        domains=("acmeconsulting.example",),
    ),
    SamplePartner(
        "globex",
        "Globex Partners",
        addresses=("globex-intros@ours.example",),
        contacts=("hank@globexpartners.example",),
        domains=("globexpartners.example",),
    ),
    SamplePartner(
        "initech",
        "Initech Advisory",
        addresses=("initech@ours.example",),
        contacts=("bill@initech.example",),
    ),
)


@dataclass(frozen=True)
class Person:
    """Someone in the demo's Slack workspace."""

    user: str
    handle: str
    name: str


SAM = Person("U0SAM", "sam", "Sam Rivera")  # a rep; sam.rivera@ours.example in the samples
PRIYA = Person("U0PRIYA", "priya", "Priya Nair")  # a rep; priya@ours.example
MORGAN = Person("U0MORGAN", "morgan", "Morgan Lee")  # the partner manager
PEOPLE = (SAM, PRIYA, MORGAN)
ZONE = ZoneInfo("America/New_York")  # the team's, and the partners' digests'
