"""The generator's state: the clock, the random source, and what earlier messages left to reply to.

Each kind of message (intros, forwards, replies, ...) is a function of a Generator; it draws from
`r` in a fixed order, so that a seed always gives the same mbox byte for byte.
"""

from __future__ import annotations

import random
from collections import deque
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, BinaryIO

from .cast import MBOX_DOMAIN, MBOX_LOCAL, PARTNER_CAST, TZS, Person
from .delivery import entry
from .names import (
    COMPANY_BASES,
    COMPANY_SUFFIX,
    FIRST,
    INTL,
    LAST,
    PROSPECT_TITLES,
    email_local,
    phone_number,
)
from .sending import Mail

if TYPE_CHECKING:
    from .intros import Intro


class Generator:
    """The state one mbox is generated with; kinds of message draw from `r`."""

    def __init__(self, fh: BinaryIO, messages: int, seed: int) -> None:
        self.fh = fh
        self.r = random.Random(seed)
        self.details: dict[str, int] = {}
        self.intros: list[Intro] = []
        self.prospects: list[tuple[Person, str, int]] = []  # (person, company, partner index)
        self.prospect_emails: set[str] = set()
        self.companies: list[tuple[str, str]] = []  # (name, domain)
        self.company_domains: set[str] = set()
        self.recent: deque[Mail] = deque(maxlen=300)
        start = datetime(2026, 9, 22, 7, 0, tzinfo=UTC)
        self.end = datetime(2026, 11, 21, 9, 15, tzinfo=UTC)
        self.now = start
        self.step = (self.end - start).total_seconds() / max(messages, 1)

    # ---- bookkeeping -------------------------------------------------------------------------

    def detail(self, key: str) -> None:
        self.details[key] = self.details.get(key, 0) + 1

    def tick(self) -> None:
        self.now += timedelta(seconds=self.step * self.r.uniform(0.1, 1.9))
        if self.now > self.end:
            self.now = self.end

    def emit(self, mail: Mail, deliver: datetime, variant: int = 0) -> None:
        self.fh.write(entry(self.r, mail, deliver, variant))

    def register(self, it: Intro, mail: Mail | None, reply_target: bool = True) -> None:
        for p in it.prospects:
            self.prospects.append((p, it.company, it.partner))
        if reply_target and it.msgid:
            self.intros.append(it)
        if mail is not None:
            self.recent.append(mail)

    # ---- people & companies -----------------------------------------------------------------

    def person_name(self) -> tuple[str, str]:
        r = self.r
        if r.random() < 0.12:
            return r.choice(INTL)
        return r.choice(FIRST), r.choice(LAST)

    def company(self, reuse: float = 0.3) -> tuple[str, str]:
        r = self.r
        if self.companies and r.random() < reuse:
            return r.choice(self.companies)
        while True:
            base = r.choice(COMPANY_BASES)
            dom = f"{base}-{r.randint(1, 999)}.example"
            if dom not in self.company_domains:
                break
        self.company_domains.add(dom)
        name = base.replace("-", " ").title().replace(" ", "" if r.random() < 0.3 else " ")
        c = (name + r.choice(COMPANY_SUFFIX), dom)
        self.companies.append(c)
        return c

    def prospect(self, company: tuple[str, str]) -> Person:
        r = self.r
        for attempt in range(20):
            first, last = self.person_name()
            if r.random() < 0.1:
                local = f"{email_local(first, last, r.randrange(5))}{r.randint(1, 99)}"
                email = f"{local}@gmail.com"
                client = "gmail"
            else:
                local = email_local(first, last, r.randrange(5) if r.random() < 0.5 else 0)
                email = f"{local}@{company[1]}"
                client = r.choice(["gmail", "outlook", "outlook", "apple"])
            if attempt > 10:
                email = email.replace("@", f"{attempt}@")
            if email not in self.prospect_emails:
                break
        self.prospect_emails.add(email)
        p = Person(
            first,
            last,
            email,
            client,
            r.choice(TZS),
            r.choice(PROSPECT_TITLES),
            phone_number(r),
            company[0],
        )
        p.outlook_name = client == "outlook" and r.random() < 0.3
        return p

    def partner(self, exclude: int | None = None) -> int:
        """A partner's index; low indexes are the busier partners."""
        r = self.r
        while True:
            # mildly skewed activity: low indexes are busier partners
            i = (
                min(int(r.expovariate(1 / 7.0)), len(PARTNER_CAST) - 1)
                if r.random() < 0.6
                else r.randrange(len(PARTNER_CAST))
            )
            if i != exclude:
                return i

    def partner_address(self, pi: int) -> str:
        """The address a partner's contacts write to: its alias or partners+slug."""
        slug, _, _, alias = PARTNER_CAST[pi]
        if alias and self.r.random() < 0.9:
            return alias
        return f"{MBOX_LOCAL}+{slug}@{MBOX_DOMAIN}"

    def local_time(self, p: Person, dt: datetime | None = None) -> datetime:
        return (dt or self.now).astimezone(p.tz)
