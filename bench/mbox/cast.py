"""Who writes the mail: our mailbox, the 20 partners and their contacts, our reps and staff.

The cast is fixed (its own seed), whatever seed the mbox is generated with, so that a benchmark
can register the same partners before it ingests any mbox.
"""

from __future__ import annotations

import random
from datetime import timedelta, timezone

from .names import (
    FIRST,
    INTL,
    LAST,
    PARTNER_TITLES,
    REP_TITLES,
    ascii_fold,
    email_local,
    phone_number,
)

INTERNAL_DOMAINS = ["ours.example"]
PARTNER_MAILBOX = "partners@ours.example"
OURS = "Ours"  # our company's display name in bodies
MBOX_LOCAL, _, MBOX_DOMAIN = PARTNER_MAILBOX.partition("@")


_PARTNER_DEFS = [
    ("acme", "Acme Corp"),
    ("globex", "Globex Corporation"),
    ("initech", "Initech"),
    ("umbrella-partners", "Umbrella Partners"),
    ("soylent", "Soylent Solutions"),
    ("stark-advisory", "Stark Advisory"),
    ("wayne-ventures", "Wayne Ventures"),
    ("wonka-labs", "Wonka Labs"),
    ("tyrell", "Tyrell Systems"),
    ("cyberdyne", "Cyberdyne Consulting"),
    ("aperture", "Aperture Partners"),
    ("vandelay", "Vandelay Industries"),
    ("massive-dynamic", "Massive Dynamic"),
    ("oscorp", "Oscorp Digital"),
    ("dunder-mifflin", "Dunder Mifflin"),
    ("sterling-cooper", "Sterling Cooper"),
    ("prestige-worldwide", "Prestige Worldwide"),
    ("bluth", "Bluth Company"),
    ("pawnee-growth", "Pawnee Growth"),
    ("monarch", "Monarch Solutions"),
]

_ALIAS_SLUGS = ("globex", "tyrell", "vandelay", "bluth", "monarch")


_REP_DEFS = [
    ("Dana", "Whitfield", "gmail"),
    ("Miguel", "Ortega", "gmail"),
    ("Priya", "Raman", "outlook"),
    ("Tom", "Becker", "apple"),
    ("Sofia", "Lindqvist", "gmail"),
    ("Kenji", "Watanabe", "outlook"),
    ("Amara", "Okafor", "gmail"),
    ("Lukáš", "Novák", "apple"),
    ("Chloé", "Marchand", "outlook"),
]

_OTHER_INTERNAL = [
    ("Jordan", "Blake", "jordan.blake"),
    ("Alex", "Kim", "alex.kim"),
    ("Sam", "Reyes", "sam"),
]


TZS = [
    timezone(timedelta(hours=h, minutes=m))
    for h, m in [
        (-8, 0),
        (-7, 0),
        (-6, 0),
        (-5, 0),
        (-5, 0),
        (-4, 0),
        (0, 0),
        (1, 0),
        (1, 0),
        (2, 0),
        (5, 30),
        (9, 0),
        (10, 0),
    ]
]


class Person:
    """Someone who writes or receives the mail, with the client they write it in."""

    __slots__ = (
        "first",
        "last",
        "name",
        "email",
        "client",
        "tz",
        "title",
        "phone",
        "org",
        "domain",
        "outlook_name",
    )

    def __init__(self, first, last, email, client, tz, title="", phone="", org=""):
        self.first = first
        self.last = last
        self.name = f"{first} {last}".strip()
        self.email = email
        self.client = client
        self.tz = tz
        self.title = title
        self.phone = phone
        self.org = org
        self.domain = email.rpartition("@")[2]
        self.outlook_name = False  # "Last, First" display name


def _build_partners():
    """PARTNERS as the benchmark registers them, and the people behind them."""
    r = random.Random(20261121)
    public, runtime = [], []
    for i, (slug, name) in enumerate(_PARTNER_DEFS):
        domain = f"{slug}.example"
        contacts = []
        used = set()
        for _ in range(1 + (i * 7 + 3) % 3):
            while True:
                if r.random() < 0.15:
                    first, last = r.choice(INTL)
                else:
                    first, last = r.choice(FIRST), r.choice(LAST)
                local = email_local(first, last, r.randrange(5) if r.random() < 0.4 else 0)
                if local not in used:
                    used.add(local)
                    break
            client = r.choice(["gmail", "gmail", "outlook", "outlook", "apple"])
            p = Person(
                first,
                last,
                f"{local}@{domain}",
                client,
                r.choice(TZS),
                r.choice(PARTNER_TITLES),
                phone_number(r),
                name,
            )
            p.outlook_name = client == "outlook" and r.random() < 0.4
            contacts.append(p)
        alias = f"{slug}-intros@{MBOX_DOMAIN}" if slug in _ALIAS_SLUGS else None
        public.append(
            {
                "slug": slug,
                "name": name,
                "contacts": [c.email for c in contacts],
                "contact_names": [c.name for c in contacts],
                "domains": [domain],
                "addresses": [alias] if alias else [],
            }
        )
        runtime.append((slug, name, contacts, alias))
    reps = []
    for first, last, client in _REP_DEFS:
        reps.append(
            Person(
                first,
                last,
                f"{ascii_fold(first).lower()}@{MBOX_DOMAIN}",
                client,
                r.choice(TZS[:6]),
                r.choice(REP_TITLES),
                phone_number(r),
                OURS,
            )
        )
    others = [
        Person(
            f,
            l_,
            f"{loc}@{MBOX_DOMAIN}",
            r.choice(["gmail", "outlook"]),
            r.choice(TZS[:6]),
            "Operations",
            phone_number(r),
            OURS,
        )
        for f, l_, loc in _OTHER_INTERNAL
    ]
    return public, runtime, reps, others


# PARTNER_CAST: (slug, name, contacts, alias or None) per partner, in PARTNERS' order.

PARTNERS, PARTNER_CAST, REPS, OTHER_STAFF = _build_partners()
