#!/usr/bin/env python3
"""Generate a realistic, deterministic mbox of partner-referral mail for benchmarking Handoff.

    python bench/make_mbox.py OUT.mbox [--messages 10000] [--seed 1]

The file is mboxrd-style: every message starts with a ``From <envelope-sender> <asctime>`` line,
body lines matching ``^>*From `` get one more ``>``, and a blank line separates messages.
Line endings are LF. Messages are written one at a time; only small per-intro records (and a
bounded ring of recent messages for re-delivery duplicates) are kept in memory.

Mix (exact counts after rounding, shuffled; the first few messages are always intros):
  intro      45%  partner contact -> prospect, Cc (or Bcc) the partner address
  forward    10%  internal person forwards a partner's intro (Gmail/Outlook/Apple, some rfc822)
  reply      20%  replies to earlier intros (In-Reply-To/References), quoted history
  duplicate   8%  an earlier message re-delivered: same Message-ID, new delivery headers
  conflict    5%  another partner introduces an already-introduced prospect
  noise       7%  out-of-office, bulk newsletters, DSN bounces, unknown plus tag
  awkward     5%  no Message-ID, big base64 attachment, unknown charset, missing final boundary

API for the benchmark runner:
  PARTNERS           list of {"slug", "name", "contacts", "contact_names", "domains", "addresses"}
                     contacts: e-mail addresses; domains: ["<slug>.example"]; addresses: the
                     partner's alias at ours.example (["<slug>-intros@ours.example"] for the 5
                     alias partners, [] otherwise: partners+<slug>@ needs no registration)
  INTERNAL_DOMAINS   ["ours.example"]
  PARTNER_MAILBOX    "partners@ours.example"
  write_mbox(path, messages=10000, seed=1) -> dict   counts per category (sums to `messages`)
  generate(path, messages=10000, seed=1) -> (counts, details)   details: per sub-kind counts

All domains are .example, except freemail prospects at gmail.com (and Gmail-style Message-IDs
@mail.gmail.com). Standard library only.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import html
import os
import random
import re
import sys
import time
import unicodedata
from collections import deque
from datetime import UTC, datetime, timedelta, timezone
from email.charset import QP, Charset
from email.header import Header

INTERNAL_DOMAINS = ["ours.example"]
PARTNER_MAILBOX = "partners@ours.example"
OURS = "Ours"  # our company's display name in bodies
_MBOX_LOCAL, _, _MBOX_DOMAIN = PARTNER_MAILBOX.partition("@")

CATEGORIES = ("intro", "forward", "reply", "duplicate", "conflict", "noise", "awkward")
WEIGHTS = {
    "intro": 0.45,
    "forward": 0.10,
    "reply": 0.20,
    "duplicate": 0.08,
    "conflict": 0.05,
    "noise": 0.07,
    "awkward": 0.05,
}

# --------------------------------------------------------------------------------------------
# Name pools
# --------------------------------------------------------------------------------------------

_FIRST = (  # noqa: SIM905
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara "
    "Richard Susan Joseph Jessica Thomas Sarah Charles Karen Daniel Lisa Matthew Nancy Anthony "
    "Betty Mark Sandra Steven Ashley Paul Emily Andrew Donna Joshua Michelle Kevin Carol Brian "
    "Amanda George Melissa Timothy Deborah Ryan Stephanie Jacob Rebecca Gary Laura Nicholas "
    "Sharon Eric Cynthia Jonathan Kathleen Samir Aisha Wei Mei Ravi Ananya Omar Fatima Diego "
    "Lucia Noah Olivia Liam Emma Ethan Ava Mason Harper Logan Ella Caleb Nora Owen Hazel Ian "
    "Ruby Grace Leo Iris Max Quinn"
).split()
_LAST = (  # noqa: SIM905
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
    "Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris "
    "Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill "
    "Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Patel Shah Chen "
    "Wang Kim Park Singh Kumar Okafor Mensah Novak Kowalski Jensen Larsen Bauer Fischer Weber "
    "Rossi Ferrari Moreau Laurent Dubois Silva Santos Costa Murphy Kelly Sullivan Byrne"
).split()
# Non-ASCII names; the first group is Latin-1 encodable, the second is not.
_INTL = [
    ("José", "García"),
    ("Zoë", "Müller"),
    ("François", "Lefèvre"),
    ("Søren", "Kierkegård"),
    ("Björn", "Åström"),
    ("Ana", "Gonçalves"),
    ("Jürgen", "Schäfer"),
    ("Inés", "Muñoz"),
    ("Chloé", "Durand"),
    ("Renée", "Østergaard"),
    ("Noël", "Frère"),
    ("Åsa", "Lindström"),
    ("Mónica", "Peña"),
    ("Dagný", "Jónsdóttir"),
    ("André", "Côté"),
    ("Hélène", "Gérard"),
    ("Łukasz", "Wiśniewski"),
    ("Dvořák", "Tomáš"),
    ("Ştefan", "Popescu"),
    ("Zoltán", "Kovács"),
    ("Anıl", "Yılmaz"),
    ("Đorđe", "Petrović"),
    ("Mikuláš", "Černý"),
    ("Agnieszka", "Wójcik"),
]

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

_COMPANY_BASES = (  # noqa: SIM905
    "hooli initrode fabrikam northwind tailspin wingtip litware proseware woodgrove lucerne "
    "fourth-coffee alpine blue-yonder coho margie trey contoso adatum relecloud lamna "
    "wide-world vanarsdel southridge humongous nod-publishers fineartschool datum bellows "
    "graphic-design school-of-fine-art consolidated-messenger city-power treyresearch "
    "tasmanian-traders pinnacle summit cascade redwood ironclad brightline"
).split()
_COMPANY_SUFFIX = ["", "", "", " Inc.", " Labs", " GmbH", " Ltd", " Group", " Health", " Logistics"]

_TZS = [
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
_TZ_NAMES = {
    -480: "PST",
    -420: "MST",
    -360: "CST",
    -300: "EST",
    -240: "EDT",
    0: "UTC",
    60: "CET",
    120: "EET",
    330: "IST",
    540: "JST",
    600: "AEST",
}
_UTC = UTC

_PROSPECT_TITLES = [
    "VP of Operations",
    "Head of IT",
    "Director of Revenue Operations",
    "CTO",
    "COO",
    "Head of Customer Success",
    "VP Engineering",
    "Director of Finance",
    "Procurement Lead",
    "Head of Partnerships",
    "Chief of Staff",
    "Director of Data",
    "VP Sales",
    "CFO",
    "Founder",
]
_PARTNER_TITLES = [
    "Partner Manager",
    "Managing Partner",
    "Principal",
    "Senior Consultant",
    "Alliances Lead",
    "Director, Strategic Partnerships",
    "Account Executive",
    "Practice Lead",
    "Founder & CEO",
]
_REP_TITLES = [
    "Account Executive",
    "Partner Sales",
    "Senior AE",
    "Head of Partnerships",
    "Solutions Consultant",
    "Enterprise AE",
]

_PAINS = [
    "consolidate their vendor stack",
    "cut onboarding time for new customers",
    "get a handle on their partner pipeline",
    "replace a homegrown CRM integration",
    "automate contract renewals",
    "clean up their data warehouse",
    "roll out SSO across their subsidiaries",
    "scale support without tripling headcount",
    "get SOC 2 ready before their next round",
    "move forecasting off spreadsheets",
    "expand into the EU market",
    "modernize their billing stack",
    "untangle their quote-to-cash process",
    "reduce churn in their mid-market segment",
    "centralize reporting for the board",
    "migrate off a legacy ERP",
]
_FUNCS = [
    "revenue operations",
    "IT",
    "customer success",
    "partnerships",
    "engineering",
    "finance",
    "procurement",
    "sales",
    "marketing operations",
    "data & analytics",
    "operations",
    "the platform team",
]
_SITUATIONS = [
    "evaluating vendors this quarter",
    "about to kick off a platform migration",
    "growing fast and feeling the pain on reporting",
    "budgeting for next year",
    "in the middle of a re-org",
    "running an RFP in January",
    "consolidating three acquisitions onto one system",
    "hiring their first ops team",
    "unhappy with their current provider",
    "preparing for an IPO readiness review",
]
_TOOLS = [
    "Salesforce",
    "HubSpot",
    "NetSuite",
    "Excel",
    "Google Sheets",
    "Zendesk",
    "Jira",
    "SAP",
    "a homegrown Rails app",
    "QuickBooks",
    "Snowflake",
    "Airtable",
]
_DRIVERS = [
    "cost",
    "audit pressure",
    "a new CFO",
    "customer complaints",
    "speed of reporting",
    "the upcoming renewal of their current contract",
    "headcount limits",
    "data quality issues",
    "a board mandate",
]
_CITIES = [
    "Austin",
    "Chicago",
    "Denver",
    "Berlin",
    "London",
    "Toronto",
    "Lisbon",
    "Seattle",
    "Boston",
    "Amsterdam",
    "Singapore",
    "Sydney",
    "Atlanta",
    "Dublin",
]
_EVENTS = [
    "SaaStr",
    "Web Summit",
    "the Gartner summit",
    "Dreamforce",
    "re:Invent",
    "the regional partner day",
    "SXSW",
    "our annual client dinner",
]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
_MONTHS = ["December", "January", "February", "March"]
_PROJECTS = [
    "their data platform rebuild",
    "the ERP rollout",
    "a pricing overhaul",
    "their Series B diligence",
    "a customer portal relaunch",
    "the APAC expansion",
]

_P1 = [
    "I'd like to introduce you to {rfull} from {ours}. {pf} leads {func} at {company} and has "
    "been trying to {pain}. I think {ours} could be a great fit, so I wanted to connect you two "
    "directly.",
    "As promised, I'm connecting you with {rfull} at {ours}. {pf}, {rf} is the person I "
    "mentioned when we spoke on {day} -- {rf} and the team have helped a number of our clients "
    "{pain}.",
    "From our conversation last week, it sounds like {company} is {situation}. {ours} is one of "
    "the partners we trust most for this, and {rf} is the best person there to talk to.",
    "Meet {rf}! {rf} works with partners like us at {ours}. {pf} is {ptitle} at {company} and "
    "they're {situation}.",
    "Hope you're both well. Quick intro: {pfull} ({company}) meet {rfull} ({ours}). {company} "
    "wants to {pain}, and I know {ours} has done exactly that for teams of a similar size.",
    "Following up on our call -- I promised {pf} an introduction to {ours}, so here it is. "
    "{rf}, {pf} is {ptitle} at {company}; they're {situation} and want to {pain}.",
]
_P1_NOREP = [
    "I'd like to introduce you to the team at {ours}. {pf} leads {func} at {company} and has "
    "been trying to {pain}. I think {ours} could be a great fit, so I wanted to connect you "
    "directly.",
    "From our conversation last week, it sounds like {company} is {situation}. {ours} is one of "
    "the partners we trust most for this, so I'm connecting you with their team.",
    "Hope you're well. Quick intro: {pfull} ({company}), meet {ours}. {company} wants to {pain}, "
    "and I know {ours} has done exactly that for teams of a similar size.",
    "As promised, {pf}, I'm connecting you with {ours}. They've helped a number of our clients "
    "{pain}, and I think they'd be a great fit for {company}.",
]
_P2 = [
    "{pf} and I have worked together for {years} years, most recently on {project}. {company} "
    "has about {count} employees across {regions} offices and has been a {pname} client since "
    "{year}.",
    "For context: {company} currently runs a mix of {tool1} and {tool2}, with a lot of manual "
    "work in between. {pf}'s team spends roughly {hours} hours a week reconciling data, which "
    "is exactly the problem {ours} solves.",
    "From what {pf} told me, the main drivers are {driver1} and {driver2}. Timing-wise they'd "
    "like to have something in place by Q{quarter}, so there's some urgency here.",
    "{ours} came highly recommended by two of our other clients, and I've been impressed with "
    "how quickly they get teams up and running. No pressure either way -- I just think it's "
    "worth a conversation.",
    "We've been helping {company} with {project} and this came up a few times in our steering "
    "meetings. {pf} has budget approved and is looking for a partner that can start in "
    "{month}.",
]
_P3 = [
    "Would you two be open to a 30-minute call next week? {rf}, I'll let you take it from here "
    "and suggest a few times.",
    "{pf}, {rf} will reach out with a couple of times that work. Feel free to loop me back in if "
    "I can help with anything.",
    "I'll step back and let you two find a time. {pf} mentioned {day} afternoons are usually "
    "the easiest.",
    "Happy to join the first call if useful, otherwise I'll get out of the way. Let me know how "
    "it goes!",
]
_P3_NOREP = [
    "Could someone on the {ours} side reach out to {pf} with a few times next week?",
    "{pf}, someone from {ours} will be in touch shortly. Feel free to loop me back in if I can "
    "help with anything.",
    "I'll step back and let you find a time. {pf} mentioned {day} afternoons are usually the "
    "easiest.",
]
_P4 = [
    "{pf}'s direct line is {phone} if that's easier. They're based in {city}.",
    "P.S. {pf} will be at {event} in {month} -- might be a good chance to meet in person.",
    "One more thing: {company} has a procurement review for anything over ${amount}k, so it's "
    "probably worth looping in their procurement team early.",
    "I've attached nothing, but {pf} has a short overview deck they can share once you've spoken.",
]
_SIGNOFFS = [
    "Best,",
    "Cheers,",
    "Thanks!",
    "Warm regards,",
    "Best regards,",
    "Thanks,",
    "All the best,",
]
_DISCLAIMER = (
    "CONFIDENTIALITY NOTICE: This e-mail message, including any attachments, is for the sole use "
    "of the intended recipient(s) and may contain confidential and privileged information. Any "
    "unauthorized review, use, disclosure or distribution is prohibited. If you are not the "
    "intended recipient, please contact the sender by reply e-mail and destroy all copies of the "
    "original message."
)

_REPLY_REP = [
    "Thanks {cf} for the intro (moving you to bcc to spare your inbox)!\n\n{pf}, great to meet "
    "you. I'd love to learn more about what {company} is working on. Would {day} at 10am or "
    "{day2} at 2pm your time work for a quick call?",
    "Thank you {cf}, much appreciated!\n\nHi {pf} -- nice to e-meet you. I've sent over a "
    "calendar invite for {day}; happy to move it if that doesn't work. In the meantime, here's "
    "a short overview of how we've helped teams {pain}.",
    "{cf}, thanks so much for connecting us.\n\n{pf}, looking forward to chatting. Could you "
    "share a bit about your current setup ({tool1}? {tool2}?) so I can tailor the conversation?",
]
_REPLY_PROSPECT = [
    "Thanks {cf}!\n\n{rf}, happy to connect. {day} or {day2} afternoon works well for me -- "
    "feel free to send an invite.",
    "Thanks for the intro, {cf}.\n\nHi {rf}, nice to meet you. We're {situation}, so the timing "
    "is good. Can you send over some times next week?",
    "Appreciate it {cf}. {rf} -- I'm travelling this week but free from {day} onwards. Looping "
    "in my colleague who runs {func} as well.",
]
_REPLY_PARTNER = [
    "Just bumping this to the top of your inbox, {pf} -- {rf} would love to find a time.",
    "Hi both, checking in to see whether you managed to connect? Happy to help coordinate.",
    "{rf}, {pf} mentioned they're {situation}; worth prioritizing this one. Thanks!",
]
_FWD_NOTES = [
    "Looping in the partners inbox so this gets tracked.",
    "FYI -- intro from {pname} below.",
    "",
    "Adding partners@ for tracking. {pname} sent this one directly to me.",
    "Forwarding for the record -- I'll follow up with {pf} today.",
    "fyi",
]


# --------------------------------------------------------------------------------------------
# People
# --------------------------------------------------------------------------------------------


class _Person:
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


_FOLD = str.maketrans(
    {
        "ł": "l",
        "Ł": "L",
        "ø": "o",
        "Ø": "O",
        "ß": "ss",
        "æ": "ae",
        "Æ": "Ae",
        "đ": "d",
        "Đ": "D",
        "ı": "i",
    }
)


def _ascii(s: str) -> str:
    s = unicodedata.normalize("NFKD", s.translate(_FOLD))
    return s.encode("ascii", "ignore").decode("ascii")


def _local(first: str, last: str, style: int) -> str:
    f, l_ = _ascii(first).lower(), _ascii(last).lower().replace(" ", "")
    return (f"{f}.{l_}", f, f"{f[0]}{l_}", f"{f}_{l_}", f"{f}{l_[0]}")[style % 5]


def _phone(r: random.Random) -> str:
    if r.random() < 0.75:
        return f"+1 (555) 01{r.randint(0, 99):02d}"
    return f"+44 20 7946 0{r.randint(0, 999):03d}"


def _build_partners():
    r = random.Random(20261121)
    public, runtime = [], []
    for i, (slug, name) in enumerate(_PARTNER_DEFS):
        domain = f"{slug}.example"
        contacts = []
        used = set()
        for _ in range(1 + (i * 7 + 3) % 3):
            while True:
                if r.random() < 0.15:
                    first, last = r.choice(_INTL)
                else:
                    first, last = r.choice(_FIRST), r.choice(_LAST)
                local = _local(first, last, r.randrange(5) if r.random() < 0.4 else 0)
                if local not in used:
                    used.add(local)
                    break
            client = r.choice(["gmail", "gmail", "outlook", "outlook", "apple"])
            p = _Person(
                first,
                last,
                f"{local}@{domain}",
                client,
                r.choice(_TZS),
                r.choice(_PARTNER_TITLES),
                _phone(r),
                name,
            )
            p.outlook_name = client == "outlook" and r.random() < 0.4
            contacts.append(p)
        alias = f"{slug}-intros@{_MBOX_DOMAIN}" if slug in _ALIAS_SLUGS else None
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
            _Person(
                first,
                last,
                f"{_ascii(first).lower()}@{_MBOX_DOMAIN}",
                client,
                r.choice(_TZS[:6]),
                r.choice(_REP_TITLES),
                _phone(r),
                OURS,
            )
        )
    others = [
        _Person(
            f,
            l_,
            f"{loc}@{_MBOX_DOMAIN}",
            r.choice(["gmail", "outlook"]),
            r.choice(_TZS[:6]),
            "Operations",
            _phone(r),
            OURS,
        )
        for f, l_, loc in _OTHER_INTERNAL
    ]
    return public, runtime, reps, others


PARTNERS, _PARTNER_RT, _REPS, _OTHER_STAFF = _build_partners()

# --------------------------------------------------------------------------------------------
# Small formatting helpers
# --------------------------------------------------------------------------------------------

_QP_UTF8 = Charset("utf-8")
_QP_UTF8.header_encoding = QP
_NEEDS_QUOTE = re.compile(r'[()<>@,;:\\".\[\]]')
_FROM_LINE = re.compile(rb"^(>*From )", re.MULTILINE)
_B64 = str.maketrans("/", "_")


def _datehdr(dt: datetime) -> str:
    off = dt.utcoffset() or timedelta(0)
    mins = int(off.total_seconds() // 60)
    sign = "+" if mins >= 0 else "-"
    mins = abs(mins)
    return f"{dt:%a}, {dt.day} {dt:%b %Y %H:%M:%S} {sign}{mins // 60:02d}{mins % 60:02d}"


def _datehdr_c(dt: datetime) -> str:
    name = _TZ_NAMES.get(int((dt.utcoffset() or timedelta(0)).total_seconds() // 60))
    return _datehdr(dt) + (f" ({name})" if name else "")


def _asctime(dt: datetime) -> str:
    dt = dt.astimezone(_UTC)
    return f"{dt:%a %b} {dt.day:2d} {dt:%H:%M:%S %Y}"


def _b64(r: random.Random, n: int) -> str:
    return base64.b64encode(r.randbytes(n)).decode("ascii")


def _hex(r: random.Random, n: int) -> str:
    return r.randbytes((n + 1) // 2).hex()[:n]


def _fold(s: str, width: int, sep: str = "\n\t ") -> str:
    return sep.join(s[i : i + width] for i in range(0, len(s), width))


def _wrap(text: str, width: int = 72) -> str:
    out = []
    for line in text.split("\n"):
        if len(line) <= width:
            out.append(line)
            continue
        cur = ""
        for w in line.split(" "):
            if cur and len(cur) + 1 + len(w) > width:
                out.append(cur)
                cur = w
            else:
                cur = f"{cur} {w}" if cur else w
        out.append(cur)
    return "\n".join(out)


def _display(name: str, r: random.Random) -> str:
    if not name:
        return ""
    if not name.isascii():
        x = r.random()
        try:
            name.encode("latin-1")
            latin = True
        except UnicodeEncodeError:
            latin = False
        if latin and x < 0.35:
            return Header(name, "iso-8859-1").encode()
        if x < 0.75:
            return Header(name, "utf-8").encode()
        return Header(name, _QP_UTF8).encode()
    if _NEEDS_QUOTE.search(name) or r.random() < 0.3:
        return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return name


def _addr(
    p: _Person | None, r: random.Random, email: str | None = None, name: str | None = None
) -> str:
    if p is not None:
        email = email or p.email
        name = p.name if name is None else name
        if p.outlook_name and name == p.name and p.last:
            name = f"{p.last}, {p.first}"
    assert email is not None
    if not name:
        return email if r.random() < 0.5 else f"<{email}>"
    return f"{_display(name, r)} <{email}>"


def _addr_hdr(field: str, addrs: list[str]) -> str:
    line = f"{field}: " + ", ".join(addrs)
    if len(line) <= 78 and "\n" not in line:
        return line
    return f"{field}: " + ",\n\t".join(addrs)


def _subject_hdr(subject: str, field: str = "Subject") -> str:
    if subject.isascii():
        return f"{field}: {subject}"
    return f"{field}: " + Header(subject, "utf-8", header_name=field).encode()


def _msgid(kind: str, r: random.Random, domain: str) -> str:
    if kind == "gmail":
        core = _b64(r, 33).translate(_B64).replace("+", "-")
        if r.random() < 0.5:
            core = core[:20] + "=" + core[21:]
        return f"<CA{r.choice('BFHJKLMNOP+')}{core}@mail.gmail.com>"
    if kind == "outlook":
        srv = (
            f"{r.choice(['DM6PR', 'BN8PR', 'SA1PR', 'PH0PR', 'CH2PR', 'AM9PR'])}"
            f"{r.randint(10, 19)}MB{r.randint(1000, 9999)}"
        )
        return f"<{srv}{_hex(r, 32).upper()}@{srv}.namprd{r.randint(10, 19)}.prod.outlook.example>"
    if kind == "apple":
        h = _hex(r, 32).upper()
        return f"<{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}@{domain}>"
    if kind == "ses":
        return (
            f"<0100018{_hex(r, 9)}-{_hex(r, 8)}-{_hex(r, 4)}-{_hex(r, 4)}-{_hex(r, 4)}-"
            f"{_hex(r, 12)}-000000@email.amazonses.example>"
        )
    return f"<{r.randint(20260101000000, 20261231235959)}.{_hex(r, 10).upper()}@{domain}>"


def _boundary(client: str, r: random.Random) -> str:
    if client == "gmail":
        return "000000000000" + _hex(r, 16)
    if client == "outlook":
        return (
            f"_000_{r.choice(['DM6PR', 'BN8PR', 'SA1PR'])}{r.randint(10, 19)}MB"
            f"{r.randint(1000, 9999)}{_hex(r, 20).upper()}namprd12prodoutlookcom_"
        )
    if client == "apple":
        h = _hex(r, 32).upper()
        return f"Apple-Mail=_{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
    return f"=_{_hex(r, 24)}"


# --------------------------------------------------------------------------------------------
# HTML renderers
# --------------------------------------------------------------------------------------------

_OUTLOOK_HEAD = (
    '<html xmlns:v="urn:schemas-microsoft-com:vml" '
    'xmlns:o="urn:schemas-microsoft-com:office:office" '
    'xmlns:w="urn:schemas-microsoft-com:office:word" '
    'xmlns:m="http://schemas.microsoft.com/office/2004/12/omml" '
    'xmlns="http://www.w3.org/TR/REC-html40">\n<head>\n'
    '<meta http-equiv="Content-Type" content="text/html; charset={cs}">\n'
    '<meta name="Generator" content="Microsoft Word 15 (filtered medium)">\n'
    '<style><!--\n/* Font Definitions */\n@font-face\n\t{{font-family:"Cambria Math";\n'
    "\tpanose-1:2 4 5 3 5 4 6 3 2 4;}}\n@font-face\n\t{{font-family:Calibri;\n"
    "\tpanose-1:2 15 5 2 2 2 4 3 2 4;}}\n/* Style Definitions */\n"
    "p.MsoNormal, li.MsoNormal, div.MsoNormal\n\t{{margin:0in;\n\tfont-size:11.0pt;\n"
    '\tfont-family:"Calibri",sans-serif;}}\na:link, span.MsoHyperlink\n\t{{mso-style-priority:99;\n'
    "\tcolor:#0563C1;\n\ttext-decoration:underline;}}\nspan.EmailStyle17\n"
    '\t{{mso-style-type:personal-compose;\n\tfont-family:"Calibri",sans-serif;\n'
    "\tcolor:windowtext;}}\n.MsoChpDefault\n\t{{mso-style-type:export-only;\n"
    '\tfont-family:"Calibri",sans-serif;}}\n@page WordSection1\n'
    "\t{{size:8.5in 11.0in;\n\tmargin:1.0in 1.0in 1.0in 1.0in;}}\ndiv.WordSection1\n"
    "\t{{page:WordSection1;}}\n--></style>\n</head>\n"
    '<body lang="EN-US" link="#0563C1" vlink="#954F72" style="word-wrap:break-word">\n'
    '<div class="WordSection1">\n'
)


def _esc(s: str) -> str:
    return html.escape(s, quote=False)


def _html(
    client: str,
    blocks: list[str],
    sig: list[str],
    quote: list[str] | None = None,
    attribution: str = "",
    cs: str = "utf-8",
) -> str:
    """blocks: paragraphs (may contain newlines); sig: signature lines; quote: quoted lines."""
    if client == "outlook":
        out = [_OUTLOOK_HEAD.format(cs=cs)]
        for b in blocks:
            out.append(
                '<p class="MsoNormal">'
                + "<br>\n".join(_esc(x) for x in b.split("\n"))
                + '<o:p></o:p></p>\n<p class="MsoNormal"><o:p>&nbsp;</o:p></p>\n'
            )
        for s in sig:
            out.append(
                f'<p class="MsoNormal"><span style="font-size:10.0pt;color:#595959">'
                f"{_esc(s)}</span><o:p></o:p></p>\n"
            )
        if quote is not None:
            out.append(
                '<div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0in '
                '0in 0in">\n<p class="MsoNormal">' + _esc(attribution) + "<o:p></o:p></p>\n"
                "</div>\n"
            )
            out.append(
                '<p class="MsoNormal">'
                + "<br>\n".join(_esc(x) for x in quote)
                + "<o:p></o:p></p>\n"
            )
        out.append("</div>\n</body>\n</html>\n")
        return "".join(out)
    if client == "apple":
        out = [
            '<html aria-label="message body"><head><meta http-equiv="content-type" '
            'content="text/html; charset=utf-8"></head><body style="overflow-wrap: '
            'break-word; -webkit-nbsp-mode: space; line-break: after-white-space;">'
        ]
        for b in blocks:
            out.append(
                "<div>" + "<br>".join(_esc(x) for x in b.split("\n")) + "</div>\n<div><br></div>"
            )
        out.append("<div>" + "<br>".join(_esc(s) for s in sig) + "</div>\n")
        if quote is not None:
            out.append('<div><br><blockquote type="cite"><div>' + _esc(attribution) + "</div>\n")
            out.append(
                "<div>" + "<br>\n".join(_esc(x) for x in quote) + "</div></blockquote></div>"
            )
        out.append("</body></html>\n")
        return "".join(out)
    out = ['<div dir="ltr">']
    for b in blocks:
        out.append(
            "<div>" + "<br>".join(_esc(x) for x in b.split("\n")) + "</div>\n<div><br></div>"
        )
    if sig:
        out.append(
            '<span class="gmail_signature_prefix">-- </span><br>\n<div dir="ltr" '
            'class="gmail_signature" data-smartmail="gmail_signature"><div dir="ltr">'
        )
        out.append("".join(f"<div>{_esc(s)}</div>" for s in sig) + "</div></div>")
    out.append("</div>\n")
    if quote is not None:
        out.append(
            '<br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">'
            + _esc(attribution)
            + '<br></div>\n<blockquote class="gmail_quote" '
            'style="margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204);'
            'padding-left:1ex">\n'
        )
        out.append("<br>\n".join(_esc(x) for x in quote) + "\n</blockquote></div>\n")
    return "".join(out)


# --------------------------------------------------------------------------------------------
# Records kept across messages
# --------------------------------------------------------------------------------------------


class _Intro:
    __slots__ = (
        "msgid",
        "subject",
        "date",
        "partner",
        "contact",
        "prospects",
        "company",
        "rep",
        "paddr",
        "bcc",
        "seed",
        "last_id",
        "owner",
    )

    def __init__(
        self,
        *,
        msgid: str | None,
        subject: str,
        date: datetime,
        partner: int,
        contact: _Person,
        prospects: list[_Person],
        company: str,
        rep: _Person | None,
        paddr: str,
        bcc: bool,
        seed: int,
    ) -> None:
        self.msgid = msgid
        self.subject = subject
        self.date = date  # in the introducer's time zone
        self.partner = partner  # index into _PARTNER_RT / PARTNERS
        self.contact = contact
        self.prospects = prospects
        self.company = company
        self.rep = rep
        self.paddr = paddr  # partner address the intro was sent to
        self.bcc = bcc
        self.seed = seed  # regenerates the body (see _intro_parts)
        self.last_id: str | None = None
        self.owner: _Person | None = None  # rep who picks up a thread whose intro named none


class _Mail:
    """A message as it leaves the sender: core bytes plus what delivery needs."""

    __slots__ = ("core", "env_from", "orig_rcpt", "final_rcpt", "sender", "date", "relay", "hidden")

    def __init__(self, core, env_from, orig_rcpt, final_rcpt, sender, date, relay, hidden=False):
        self.hidden = hidden  # Bcc: the recipient shows only in Delivered-To / X-Original-To
        self.core = core
        self.env_from = env_from
        self.orig_rcpt = orig_rcpt
        self.final_rcpt = final_rcpt
        self.sender = sender
        self.date = date
        self.relay = relay


# --------------------------------------------------------------------------------------------
# Generator
# --------------------------------------------------------------------------------------------


class _Gen:
    def __init__(self, fh, messages: int, seed: int):
        self.fh = fh
        self.n = messages
        self.r = random.Random(seed)
        self.seed = seed
        self.counts = {c: 0 for c in CATEGORIES}
        self.details: dict[str, int] = {}
        self.intros: list[_Intro] = []
        self.prospects: list[tuple[_Person, str, int]] = []  # (person, company, partner index)
        self.prospect_emails: set[str] = set()
        self.companies: list[tuple[str, str]] = []  # (name, domain)
        self.company_domains: set[str] = set()
        self.recent: deque[_Mail] = deque(maxlen=300)
        start = datetime(2026, 9, 22, 7, 0, tzinfo=_UTC)
        self.end = datetime(2026, 11, 21, 9, 15, tzinfo=_UTC)
        self.now = start
        self.step = (self.end - start).total_seconds() / max(messages, 1)

    # ---- bookkeeping -------------------------------------------------------------------------

    def _detail(self, key: str) -> None:
        self.details[key] = self.details.get(key, 0) + 1

    def _tick(self) -> None:
        self.now += timedelta(seconds=self.step * self.r.uniform(0.1, 1.9))
        if self.now > self.end:
            self.now = self.end

    def _emit(self, mail: _Mail, deliver: datetime, variant: int = 0) -> None:
        hdrs = self._delivery(mail, deliver, variant)
        data = hdrs.encode("ascii") + mail.core
        if not data.endswith(b"\n"):
            data += b"\n"
        data = _FROM_LINE.sub(rb">\1", data)
        env = mail.env_from or "MAILER-DAEMON"
        self.fh.write(f"From {env} {_asctime(deliver)}\n".encode("ascii"))
        self.fh.write(data)
        self.fh.write(b"\n")

    # ---- people & companies -----------------------------------------------------------------

    def _name(self) -> tuple[str, str]:
        r = self.r
        if r.random() < 0.12:
            return r.choice(_INTL)
        return r.choice(_FIRST), r.choice(_LAST)

    def _company(self, reuse: float = 0.3) -> tuple[str, str]:
        r = self.r
        if self.companies and r.random() < reuse:
            return r.choice(self.companies)
        while True:
            base = r.choice(_COMPANY_BASES)
            dom = f"{base}-{r.randint(1, 999)}.example"
            if dom not in self.company_domains:
                break
        self.company_domains.add(dom)
        name = base.replace("-", " ").title().replace(" ", "" if r.random() < 0.3 else " ")
        c = (name + r.choice(_COMPANY_SUFFIX), dom)
        self.companies.append(c)
        return c

    def _prospect(self, company: tuple[str, str]) -> _Person:
        r = self.r
        for attempt in range(20):
            first, last = self._name()
            if r.random() < 0.1:
                local = f"{_local(first, last, r.randrange(5))}{r.randint(1, 99)}"
                email = f"{local}@gmail.com"
                client = "gmail"
            else:
                email = (
                    f"{_local(first, last, r.randrange(5) if r.random() < 0.5 else 0)}@{company[1]}"
                )
                client = r.choice(["gmail", "outlook", "outlook", "apple"])
            if attempt > 10:
                email = email.replace("@", f"{attempt}@")
            if email not in self.prospect_emails:
                break
        self.prospect_emails.add(email)
        p = _Person(
            first,
            last,
            email,
            client,
            r.choice(_TZS),
            r.choice(_PROSPECT_TITLES),
            _phone(r),
            company[0],
        )
        p.outlook_name = client == "outlook" and r.random() < 0.3
        return p

    def _partner(self, exclude: int | None = None) -> int:
        r = self.r
        while True:
            # mildly skewed activity: low indexes are busier partners
            i = (
                min(int(r.expovariate(1 / 7.0)), len(_PARTNER_RT) - 1)
                if r.random() < 0.6
                else r.randrange(len(_PARTNER_RT))
            )
            if i != exclude:
                return i

    def _paddr(self, pi: int) -> str:
        slug, _, _, alias = _PARTNER_RT[pi]
        if alias and self.r.random() < 0.9:
            return alias
        return f"{_MBOX_LOCAL}+{slug}@{_MBOX_DOMAIN}"

    def _local_dt(self, p: _Person, dt: datetime | None = None) -> datetime:
        return (dt or self.now).astimezone(p.tz)

    # ---- sender side trace & delivery headers ------------------------------------------------

    def _relay(self, p: _Person) -> tuple[str, str]:
        r = self.r
        if p.domain == _MBOX_DOMAIN:
            return f"mail.{_MBOX_DOMAIN}", f"10.20.0.{r.randint(5, 9)}"
        if p.client == "gmail":
            pool = r.choice(["yw1", "ej1", "pl1", "qk1", "lf1", "wm1"])
            h = f"mail-{pool}-f{r.randint(40, 199)}.google.example"
            return h, f"198.51.100.{r.randint(1, 254)}"
        if p.client == "outlook":
            h = (
                f"mail-{r.choice(['dm6', 'bn8', 'sa1', 'co1'])}nam{r.randint(10, 12)}"
                f"on2{r.randint(100, 999)}"
                ".outbound.protection.outlook.example"
            )
            return h, f"203.0.113.{r.randint(1, 254)}"
        return f"smtp.{p.domain}", f"192.0.2.{r.randint(1, 254)}"

    def _trace(
        self, p: _Person, dt: datetime, rcpt: str | None, relay: tuple[str, str]
    ) -> list[str]:
        """Sender-side Received/DKIM headers (part of the message core)."""
        r = self.r
        out = []
        d = _datehdr(dt)
        if p.domain == _MBOX_DOMAIN:
            out.append(
                f"Received: from [10.30.{r.randint(0, 9)}.{r.randint(2, 250)}] "
                f"(vpn-{r.randint(10, 99)}.{_MBOX_DOMAIN} [10.30.0.1])\n\tby {relay[0]} "
                f"(Postfix) with ESMTPSA id {_hex(r, 11).upper()}{_for(rcpt)}; {d}"
            )
            sel, hs = "mail", "from:to:cc:subject:date:message-id:in-reply-to:references"
        elif p.client == "gmail":
            out.append(
                f"Received: by {relay[0]} with SMTP id {_hex(r, 8)}-{_hex(r, 12)}so"
                f"{r.randint(1000000, 9999999)}.{r.randint(1, 9)}{_for(rcpt)}; {d}"
            )
            out.append(f"X-Google-Smtp-Source: AGHT+I{_b64(r, 60)[:78]}")
            out.append(
                f"X-Received: by 2002:a05:{r.randint(6000, 6999)}:{_hex(r, 4)}:b0:"
                f"{_hex(r, 3)}:{_hex(r, 4)} with SMTP id {_hex(r, 12)}mr"
                f"{r.randint(1000000, 9999999)}{_hex(r, 3)}.{r.randint(1, 40)}."
                f"{r.randint(1000000000000, 9999999999999)};\n\t {d}"
            )
            out.append(f"X-Gm-Message-State: AOJu0Y{_fold(_b64(r, 60), 72)}")
            sel = "20230601" if p.domain == "gmail.com" else "google"
            hs = "cc:to:subject:message-id:date:from:in-reply-to:references:mime-version:from:to:cc"
        elif p.client == "outlook":
            host = (
                f"{r.choice(['DM6PR', 'BN8PR', 'SA1PR'])}{r.randint(10, 19)}MB"
                f"{r.randint(1000, 9999)}"
                f".namprd{r.randint(10, 19)}.prod.outlook.example"
            )
            out.append(
                f"Received: from {host} ([fe80::{_hex(r, 4)}:{_hex(r, 4)}:{_hex(r, 4)}:"
                f"{_hex(r, 4)}]) by {host}\n ([fe80::{_hex(r, 4)}:{_hex(r, 4)}:{_hex(r, 4)}:"
                f"{_hex(r, 4)}%{r.randint(3, 7)}])"
                f" with mapi id 15.20.{r.randint(7000, 8200)}.{r.randint(1, 40):03d}; {d}"
            )
            out.append(
                "ARC-Seal: i=1; a=rsa-sha256; s=arcselector10001; d=microsoft.example; cv=none;\n"
                f" b={_fold(_b64(r, 256), 72, chr(10) + ' ')}"
            )
            sel = "selector1"
            hs = (
                "From:Date:Subject:Message-ID:Content-Type:MIME-Version:X-MS-Exchange-SenderADCheck"
            )
        else:
            out.append(
                f"Received: from smtpclient.apple ([192.0.2.{r.randint(1, 254)}])\n\tby {relay[0]} "
                f"(Postfix) with ESMTPSA id {_hex(r, 11).upper()}{_for(rcpt)}; {d}"
            )
            sel = "mail"
            hs = "from:content-type:mime-version:subject:message-id:date:to"
        out.append(
            f"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\n\td={p.domain}; s={sel}; "
            f"t={int(dt.timestamp())}; x={int(dt.timestamp()) + 604800};\n\th={hs};\n"
            f"\tbh={_b64(r, 32)};\n\tb={_fold(_b64(r, 256), 70)}"
        )
        return out

    def _delivery(self, mail: _Mail, when: datetime, variant: int) -> str:
        r = self.r
        w = _datehdr_c(when.astimezone(_UTC))
        orig, final = mail.orig_rcpt, mail.final_rcpt
        extra = ""
        if variant == 1:  # re-delivered through the plain mailbox
            final = PARTNER_MAILBOX
        elif variant == 2:  # came back via a rep's forwarding rule
            rep = r.choice(_REPS)
            extra = f"X-Forwarded-To: {orig}\nX-Forwarded-For: {rep.email} {orig}\n"
            orig = rep.email
        elif variant == 3:  # re-delivered after a queue retry
            extra = f"X-Redelivered: {r.randint(1, 3)}\n"
        sender = mail.sender
        sdom = sender.domain if sender else "unknown.example"
        env = mail.env_from or ""
        lines = [
            f"Return-Path: <{env}>",
            f"X-Original-To: {orig}",
            f"Delivered-To: {final}",
            f"Received: from mx1.{_MBOX_DOMAIN} (mx1.{_MBOX_DOMAIN} [10.20.0.11])\n\tby "
            f"mail.{_MBOX_DOMAIN} (Postfix) with LMTP id {_hex(r, 12).upper()}"
            f"{_for(None if mail.hidden else final)}; {w}",
        ]
        if sender is not None and sender.domain != _MBOX_DOMAIN:
            spam = round(r.uniform(-3.5, 2.5), 1)
            lines.append(
                f"Authentication-Results: mx1.{_MBOX_DOMAIN};\n"
                "\tdkim=pass (2048-bit key; unprotected) "
                f'header.d={sdom} header.i=@{sdom} header.b="{_b64(r, 6)}";\n\tspf=pass '
                f"(mx1.{_MBOX_DOMAIN}: domain of {env} designates {mail.relay[1]} "
                f"as permitted sender) smtp.mailfrom={env or 'postmaster@' + sdom};\n"
                "\tdmarc=pass (p=quarantine dis=none) "
                f"header.from={sdom}"
            )
            lines.append(
                f"X-Spam-Status: No, score={spam} required=5.0 tests=DKIM_SIGNED,DKIM_VALID,"
                f"\n\tDKIM_VALID_AU,HTML_MESSAGE,RCVD_IN_DNSWL_NONE,SPF_HELO_NONE,SPF_PASS"
                f"\n\tautolearn=ham autolearn_force=no version=3.4.6"
            )
        lines.append(
            f"Received: from {mail.relay[0]} ({mail.relay[0]} [{mail.relay[1]}])\n"
            f"\tby mx1.{_MBOX_DOMAIN} (Postfix) with ESMTPS id "
            f"4{_b64(r, 9).translate(_B64).replace('+', 'x')}"
            f"{_for(None if mail.hidden else orig)}; "
            f"{_datehdr_c((mail.date + timedelta(seconds=r.randint(1, 40))).astimezone(_UTC))}"
        )
        return "\n".join(lines) + "\n" + extra

    # ---- content assembly -------------------------------------------------------------------

    def _text_part(
        self,
        client: str,
        text: str,
        ctype: str,
        force_cte: str | None = None,
        charset: str | None = None,
    ) -> tuple[list[str], str]:
        r = self.r
        is_ascii = text.isascii()
        if charset is None:
            if is_ascii:
                charset = {"gmail": '"UTF-8"', "outlook": '"us-ascii"', "apple": "us-ascii"}.get(
                    client, "us-ascii"
                )
            elif client == "outlook" and r.random() < 0.5:
                try:
                    text.encode("iso-8859-1")
                    charset = '"iso-8859-1"'
                except UnicodeEncodeError:
                    charset = '"utf-8"'
            else:
                charset = '"UTF-8"' if client == "gmail" else "utf-8"
        codec = charset.strip('"').lower()
        longest = max(len(x) for x in text.split("\n"))
        cte = force_cte
        if cte is None:
            if client == "outlook" or not is_ascii or longest > 900:
                cte = "8bit" if (not is_ascii and r.random() < 0.15) else "quoted-printable"
            elif client == "apple" or r.random() < 0.3:
                cte = "7bit"
            else:
                cte = ""
        hdrs = [f"Content-Type: {ctype}; charset={charset}"]
        if cte:
            hdrs.append(f"Content-Transfer-Encoding: {cte}")
        if cte == "quoted-printable":
            payload = binascii.b2a_qp(text.encode(codec)).decode("ascii")
        elif cte == "base64":
            payload = base64.encodebytes(text.encode(codec)).decode("ascii")
        else:
            payload = text
        return hdrs, payload

    def _content(
        self,
        client: str,
        plain: str,
        html_body: str | None,
        *,
        attach=None,
        no_close: bool = False,
        unknown_charset: bool = False,
    ) -> tuple[list[str], str]:
        """Returns (Content-Type related header lines, body)."""
        r = self.r
        if unknown_charset:
            cs = r.choice(
                ["x-unknown", "unknown-8bit", "x-user-defined", "windows-1259", "klingon"]
            )
            return (
                [f'Content-Type: text/plain; charset="{cs}"', "Content-Transfer-Encoding: 8bit"],
                plain,
            )
        if html_body is not None:
            b = _boundary(client, r)
            ph, pp = self._text_part(client, plain, "text/plain")
            hh, hp = self._text_part(client, html_body, "text/html")
            parts = [
                f"--{b}\n" + "\n".join(ph) + "\n\n" + pp.rstrip("\n") + "\n",
                f"--{b}\n" + "\n".join(hh) + "\n\n" + hp.rstrip("\n") + "\n",
            ]
            body = "\n".join(parts) + ("" if no_close else f"\n--{b}--\n")
            if client == "outlook":
                ctl = [f'Content-Type: multipart/alternative;\n\tboundary="{b}"']
            else:
                ctl = [f'Content-Type: multipart/alternative; boundary="{b}"']
            inner = (ctl, body)
        else:
            inner = self._text_part(client, plain, "text/plain")
        if attach is None:
            return inner
        b = _boundary(client, r)
        first = "\n".join(inner[0]) + "\n\n" + inner[1].rstrip("\n") + "\n"
        parts = [f"--{b}\n{first}"]
        for ahdrs, apayload in attach:
            parts.append(f"--{b}\n" + "\n".join(ahdrs) + "\n\n" + apayload.rstrip("\n") + "\n")
        body = "\n".join(parts) + ("" if no_close else f"\n--{b}--\n")
        return [f'Content-Type: multipart/mixed; boundary="{b}"'], body

    def _compose(
        self,
        sender: _Person,
        dt: datetime,
        subject: str,
        to: list[str],
        cc: list[str],
        msgid: str | None,
        ctype_lines: list[str],
        body: str,
        rcpt: str | None,
        irt: str | None = None,
        refs: str | None = None,
        extra: list[str] | None = None,
        encoding: str = "utf-8",
        trace: bool = True,
        relay=None,
    ) -> bytes:
        r = self.r
        client = sender.client
        relay = relay or ("", "")
        h = self._trace(sender, dt, rcpt, relay) if trace else []
        frm = f"From: {_addr(sender, r)}"
        date = f"Date: {_datehdr(dt)}"
        subj = _subject_hdr(subject)
        to_h = _addr_hdr("To", to) if to else None
        cc_h = _addr_hdr("Cc" if client != "outlook" else "CC", cc) if cc else None
        mid = f"Message-ID: {msgid}" if msgid else None
        mv = "MIME-Version: 1.0"
        extra = extra or []
        if client == "gmail":
            seq = [
                mv,
                f"References: {refs}" if refs else None,
                f"In-Reply-To: {irt}" if irt else None,
                frm,
                date,
                mid,
                subj,
                to_h,
                cc_h,
                *extra,
                *ctype_lines,
            ]
        elif client == "outlook":
            topic = re.sub(r"^((re|fw|fwd|aw|wg): ?)+", "", subject, flags=re.I)
            seq = [
                frm,
                to_h,
                cc_h,
                subj,
                _subject_hdr(topic, "Thread-Topic"),
                f"Thread-Index: A{_b64(r, 21 + 6 * r.randint(0, 3))}",
                date,
                mid,
                f"References: {refs}" if refs else None,
                f"In-Reply-To: {irt}" if irt else None,
                "Accept-Language: en-US",
                "Content-Language: en-US",
                f"X-MS-Has-Attach: {'yes' if 'mixed' in ctype_lines[0] else ''}",
                "X-MS-TNEF-Correlator:",
                f"X-MS-Exchange-Organization-SCL: {r.choice(['-1', '1'])}",
                *extra,
                *ctype_lines,
                mv,
            ]
        else:
            mid_a = f"Message-Id: {msgid}" if msgid else None
            seq = [
                *ctype_lines,
                "Mime-Version: 1.0 (Mac OS X Mail 16.0 \\(3774.600.62\\))",
                subj,
                frm,
                f"In-Reply-To: {irt}" if irt else None,
                date,
                cc_h,
                to_h,
                f"References: {refs}" if refs else None,
                mid_a,
                *extra,
                "X-Mailer: Apple Mail (2.3774.600.62)",
            ]
        head = "\n".join(x for x in h + seq if x)
        return (head + "\n\n" + body).encode(encoding)

    # ---- intro body -------------------------------------------------------------------------

    def _intro_parts(self, it: _Intro) -> tuple[list[str], list[str]]:
        """(blocks, signature lines) of an intro, regenerated from its seed."""
        r = random.Random(it.seed)
        c, p = it.contact, it.prospects[0]
        rep = it.rep
        pname = c.org or _PARTNER_RT[it.partner][1]
        rf = rep.first if rep else f"{OURS} team"
        ctx = {
            "pf": p.first,
            "pfull": p.name,
            "company": it.company,
            "ours": OURS,
            "rf": rf,
            "rfull": rep.name if rep else f"the team at {OURS}",
            "func": r.choice(_FUNCS),
            "pain": r.choice(_PAINS),
            "situation": r.choice(_SITUATIONS),
            "ptitle": p.title,
            "day": r.choice(_DAYS),
            "years": r.randint(2, 12),
            "project": r.choice(_PROJECTS),
            "count": r.choice([40, 85, 120, 250, 600, 1400, 5000]),
            "regions": r.randint(2, 9),
            "pname": pname,
            "year": r.randint(2014, 2025),
            "tool1": r.choice(_TOOLS),
            "tool2": r.choice(_TOOLS),
            "hours": r.randint(5, 40),
            "driver1": r.choice(_DRIVERS),
            "driver2": r.choice(_DRIVERS),
            "quarter": r.randint(1, 4),
            "month": r.choice(_MONTHS),
            "phone": p.phone,
            "city": r.choice(_CITIES),
            "event": r.choice(_EVENTS),
            "amount": r.choice([25, 50, 100, 250]),
        }
        names = p.first if len(it.prospects) == 1 else f"{p.first} and {it.prospects[1].first}"
        greet = r.choice(
            [
                f"Hi {names} and {rf},",
                f"Hi {names},",
                f"Hello {names} & {rf} --",
                f"{names}, {rf} -- meet each other!",
                "Hi all,",
                f"Dear {names},",
            ]
        )
        npara = r.choice([1, 2, 2, 3, 3, 3, 4, 4])
        blocks = [greet, r.choice(_P1 if rep else _P1_NOREP).format(**ctx)]
        pools = [_P2, _P3 if rep else _P3_NOREP, _P4]
        for k in range(npara - 1):
            blocks.append(r.choice(pools[min(k, 2)]).format(**ctx))
        blocks.append(f"{r.choice(_SIGNOFFS)}\n{c.first}")
        sig = [c.name, f"{c.title} | {c.org or pname}", c.phone, f"www.{c.domain}"]
        if c.client == "outlook" and r.random() < 0.6:
            sig.append("")
            sig.append(_DISCLAIMER)
        return blocks, sig

    @staticmethod
    def _plain(blocks: list[str], sig: list[str], client: str, wrap: bool) -> str:
        body = "\n\n".join(blocks)
        if wrap:
            body = _wrap(body)
        sig_txt = "\n".join(_wrap(s) if wrap else s for s in sig)
        delim = "-- \n" if client != "outlook" else "\n"
        return f"{body}\n\n{delim}{sig_txt}\n"

    def _intro_subject(self, it: _Intro) -> str:
        r = self.r
        p = it.prospects[0]
        rf = it.rep.first if it.rep else OURS
        pname = _PARTNER_RT[it.partner][1]
        choices = [
            f"Intro: {p.name} ({it.company}) <> {rf}",
            f"Introduction: {it.company} <> {OURS}",
            f"{it.company} / {OURS} intro",
            f"Connecting {p.first} and {rf}",
            f"Intro - {p.first} @ {it.company}",
            f"Quick intro: {it.company} x {OURS}",
            f"{pname} intro: {p.name}, {it.company}",
            f"Introduction \u2013 {p.name} / {OURS}",
        ]
        if it.rep:
            choices.append(f"Meet {rf} ({OURS})")
        return r.choice(choices)

    def _new_intro(
        self,
        pi: int | None = None,
        prospect: _Person | None = None,
        company: str | None = None,
        rep_cc: bool | None = None,
    ) -> _Intro:
        r = self.r
        pi = self._partner() if pi is None else pi
        slug, pname, contacts, alias = _PARTNER_RT[pi]
        contact = r.choice(contacts)
        if prospect is None:
            comp = self._company()
            company = comp[0]
            prospects = [self._prospect(comp)]
            if r.random() < 0.12 and prospects[0].domain != "gmail.com":
                prospects.append(self._prospect(comp))
        else:
            prospects = [prospect]
        if rep_cc is None:
            rep_cc = r.random() < 0.35
        rep = r.choice(_REPS) if (rep_cc or r.random() < 0.3) else None
        it = _Intro(
            msgid=None,
            subject="",
            date=self.now.astimezone(contact.tz),
            partner=pi,
            contact=contact,
            prospects=prospects,
            company=company or "",
            rep=rep,
            paddr=self._paddr(pi),
            bcc=False,
            seed=r.getrandbits(64),
        )
        it.subject = self._intro_subject(it)
        return it

    def _intro_mail(
        self,
        it: _Intro,
        *,
        rep_in_cc: bool,
        bcc: bool,
        partner_cc: bool = True,
        msgid: bool = True,
        attach=None,
        no_close: bool = False,
        unknown_charset: bool = False,
        paddr: str | None = None,
        force_mp: bool | None = None,
    ) -> _Mail:
        r = self.r
        c = it.contact
        paddr = paddr or it.paddr
        it.bcc = bcc
        to = [_addr(p, r) for p in it.prospects]
        cc = []
        if partner_cc and not bcc:
            pname = r.choice(["", "", f"{OURS} Partners", "Partners", f"{OURS} Partnerships"])
            cc.append(_addr(None, r, paddr, pname))
        if rep_in_cc and it.rep:
            cc.insert(r.randint(0, len(cc)), _addr(it.rep, r))
        if not to:
            to = [_addr(None, r, paddr)]
        if msgid:
            it.msgid = _msgid(c.client, r, c.domain)
        blocks, sig = self._intro_parts(it)
        wrap = c.client == "apple" or (c.client == "gmail" and r.random() < 0.2)
        plain = self._plain(blocks, sig, c.client, wrap)
        mp = (r.random() < 0.5) if force_mp is None else force_mp
        enc = "utf-8"
        if unknown_charset:
            plain = (
                plain.replace("Hi ", "Hi ", 1) + "\nMerci beaucoup, à bientôt -- Grüße aus Köln!\n"
            )
            enc = "latin-1"
            plain = plain.encode("latin-1", "replace").decode("latin-1")
            mp = False
        hb = _html(c.client, blocks, sig) if mp else None
        ctl, body = self._content(
            c.client, plain, hb, attach=attach, no_close=no_close, unknown_charset=unknown_charset
        )
        relay = self._relay(c)
        core = self._compose(
            c,
            it.date,
            it.subject,
            to,
            cc,
            it.msgid if msgid else None,
            ctl,
            body,
            None if bcc else paddr,
            encoding=enc,
            relay=relay,
        )
        final = paddr if "+" in paddr else PARTNER_MAILBOX
        return _Mail(core, c.email, paddr, final, c, it.date, relay, hidden=bcc)

    # ---- categories -------------------------------------------------------------------------

    def _register(self, it: _Intro, mail: _Mail | None, reply_target: bool = True) -> None:
        for p in it.prospects:
            self.prospects.append((p, it.company, it.partner))
        if reply_target and it.msgid:
            self.intros.append(it)
        if mail is not None:
            self.recent.append(mail)

    def cat_intro(self) -> None:
        r = self.r
        it = self._new_intro()
        bcc = r.random() < 0.10
        mail = self._intro_mail(it, rep_in_cc=it.rep is not None and r.random() < 0.8, bcc=bcc)
        self._detail(
            "intro.bcc" if bcc else ("intro.alias" if "-intros@" in it.paddr else "intro.plus")
        )
        self._register(it, mail)
        self._emit(mail, self.now + timedelta(seconds=r.randint(2, 90)))

    def cat_conflict(self) -> bool:
        r = self.r
        if not self.prospects:
            return False
        p, company, prev_pi = self.prospects[
            min(len(self.prospects) - 1, int(r.random() ** 2 * len(self.prospects)))
        ]
        pi = self._partner(exclude=prev_pi)
        q = p
        if r.random() < 0.2:  # same mailbox, different spelling
            local, _, dom = p.email.partition("@")
            q = _Person(
                p.first,
                p.last,
                f"{local.title()}@{dom.capitalize()}" if r.random() < 0.5 else p.email.upper(),
                p.client,
                p.tz,
                p.title,
                p.phone,
                p.org,
            )
        it = self._new_intro(pi, prospect=q, company=company)
        bcc = r.random() < 0.10
        mail = self._intro_mail(it, rep_in_cc=it.rep is not None and r.random() < 0.8, bcc=bcc)
        self._detail("conflict.case" if q is not p else "conflict.same")
        self._register(it, mail)
        self._emit(mail, self.now + timedelta(seconds=r.randint(2, 90)))
        return True

    def _fwd_block(self, style: str, it: _Intro, to: list[str], cc: list[str]) -> list[str]:
        c = it.contact
        d = it.date
        frm = _addr_plain(c)
        if style == "gmail":
            return [
                "---------- Forwarded message ---------",
                f"From: {frm}",
                f"Date: {d:%a, %b} {d.day}, {d:%Y} at {_ampm(d)}",
                f"Subject: {it.subject}",
                f"To: {', '.join(to)}",
            ] + ([f"Cc: {', '.join(cc)}"] if cc else [])
        if style == "outlook":
            return (
                [
                    "________________________________",
                    f"From: {frm}",
                    f"Sent: {d:%A, %B} {d.day}, {d:%Y} {_ampm(d)}",
                    f"To: {'; '.join(to)}",
                ]
                + ([f"Cc: {'; '.join(cc)}"] if cc else [])
                + [f"Subject: {it.subject}"]
            )
        tzn = _TZ_NAMES.get(int((d.utcoffset() or timedelta(0)).total_seconds() // 60), "UTC")
        return [
            "Begin forwarded message:",
            "",
            f"From: {frm}",
            f"Subject: {it.subject}",
            f"Date: {d:%B} {d.day}, {d:%Y} at {_ampm(d, True)} {tzn}",
            f"To: {', '.join(to)}",
        ] + ([f"Cc: {', '.join(cc)}"] if cc else [])

    def cat_forward(self) -> None:
        r = self.r
        fwd = r.choice(_REPS + _REPS + _OTHER_STAFF)
        if self.intros and r.random() < 0.2:
            it = r.choice(self.intros[-500:])
            fresh = False
        else:
            it = self._new_intro(rep_cc=False)
            it.rep = fwd if fwd in _REPS else r.choice(_REPS)
            it.subject = self._intro_subject(it)
            it.date = (self.now - timedelta(minutes=r.randint(5, 4000))).astimezone(it.contact.tz)
            fresh = True
        slug = _PARTNER_RT[it.partner][0]
        target = f"{_MBOX_LOCAL}+{slug}@{_MBOX_DOMAIN}" if r.random() < 0.6 else PARTNER_MAILBOX
        dt = self._local_dt(fwd)
        note = r.choice(_FWD_NOTES).format(
            pname=_PARTNER_RT[it.partner][1], pf=it.prospects[0].first
        )
        fsig = [fwd.name, f"{fwd.title}, {OURS}", fwd.phone]
        to_plain = [_addr_plain(p) for p in it.prospects]
        cc_plain = [_addr_plain(it.rep)] if it.rep and fresh else []
        style = fwd.client
        prefix = {"gmail": "Fwd: ", "outlook": "FW: ", "apple": "Fwd: "}[style]
        subject = prefix + it.subject
        msgid = _msgid(fwd.client, r, fwd.domain)
        relay = self._relay(fwd)
        blocks, sig = self._intro_parts(it)
        as_rfc822 = r.random() < 0.15
        if as_rfc822:
            if fresh:
                inner_mail = self._intro_mail(
                    it, rep_in_cc=True, bcc=False, partner_cc=False, paddr=fwd.email
                )
            else:
                # same intro, as it sat in the forwarder's mailbox
                inner_mail = self._intro_mail(it, rep_in_cc=True, bcc=False, paddr=fwd.email)
            inner = inner_mail.core.decode("utf-8")
            note = note or "See attached."
            plain = f"{note}\n\n-- \n" + "\n".join(fsig) + "\n"
            fname = re.sub(r"[^A-Za-z0-9 _.-]+", "", it.subject)[:60] or "message"
            attach = [
                (
                    [
                        f'Content-Type: message/rfc822; name="{fname}.eml"',
                        f'Content-Disposition: attachment; filename="{fname}.eml"',
                    ],
                    inner,
                )
            ]
            ctl, body = self._content(fwd.client, plain, None, attach=attach)
            self._detail("forward.rfc822")
        else:
            fblock = self._fwd_block(style, it, to_plain, cc_plain)
            inner_plain = self._plain(blocks, sig, it.contact.client, wrap=False)
            plain = (
                (f"{note}\n\n" if note else "\n")
                + "-- \n"
                + "\n".join(fsig)
                + "\n\n"
                + "\n".join(fblock)
                + "\n\n\n"
                + inner_plain
            )
            if style == "outlook":
                plain = (
                    (f"{note}\n\n" if note else "")
                    + "\n".join(fsig)
                    + "\n\n"
                    + "\n".join(fblock)
                    + "\n\n"
                    + inner_plain
                )
            hb = None
            if r.random() < 0.6:
                hb = _html(
                    style, ([note] if note else []) + ["\n".join(fblock)] + blocks, fsig + sig
                )
            ctl, body = self._content(fwd.client, plain, hb)
            self._detail(f"forward.{style}")
        if not fresh:
            self._detail("forward.of_earlier")
        core = self._compose(
            fwd,
            dt,
            subject,
            [_addr(None, r, target, r.choice(["", "Partners"]))],
            [],
            msgid,
            ctl,
            body,
            target,
            relay=relay,
        )
        final = target if "+" in target else PARTNER_MAILBOX
        mail = _Mail(core, fwd.email, target, final, fwd, dt, relay)
        if fresh:
            it.bcc = True  # the mailbox never saw the original
            self._register(it, None, reply_target=False)
        self.recent.append(mail)
        self._emit(mail, self.now + timedelta(seconds=r.randint(1, 30)))

    def cat_reply(self) -> bool:
        r = self.r
        if not self.intros:
            return False
        it = self.intros[max(0, len(self.intros) - 1 - int(r.expovariate(1 / 250.0)))]
        slug = _PARTNER_RT[it.partner][0]
        paddr = it.paddr if not it.bcc else f"{_MBOX_LOCAL}+{slug}@{_MBOX_DOMAIN}"
        if it.rep is None and it.owner is None:
            it.owner = r.choice(_REPS)
        rep = it.rep or it.owner
        assert rep is not None
        p = it.prospects[0]
        c = it.contact
        kind = r.choices(["rep", "prospect", "partner"], [40, 35, 25])[0]
        days = r.sample(_DAYS, 2)
        ctx = {
            "cf": c.first,
            "pf": p.first,
            "rf": rep.first,
            "company": it.company,
            "day": days[0],
            "day2": days[1],
            "pain": r.choice(_PAINS),
            "tool1": r.choice(_TOOLS),
            "tool2": r.choice(_TOOLS),
            "situation": r.choice(_SITUATIONS),
            "func": r.choice(_FUNCS),
        }
        if kind == "rep":
            sender, text = rep, r.choice(_REPLY_REP)
            to = [_addr(p, r)] + ([] if r.random() < 0.5 else [_addr(c, r)])
            cc = [_addr(None, r, paddr)]
            sig = [rep.name, f"{rep.title} | {OURS}", rep.phone]
        elif kind == "prospect":
            sender, text = p, r.choice(_REPLY_PROSPECT)
            to = [_addr(c, r), _addr(rep, r)]
            cc = [_addr(None, r, paddr)]
            sig = [p.name, p.title, p.org]
        else:
            sender, text = c, r.choice(_REPLY_PARTNER)
            to = [_addr(p, r)]
            cc = [_addr(rep, r), _addr(None, r, paddr)]
            sig = [c.name, f"{c.title} | {_PARTNER_RT[it.partner][1]}", c.phone]
        text = text.format(**ctx)
        client = sender.client
        dt = self._local_dt(sender)
        # quoted history: the intro
        iblocks, isig = self._intro_parts(it)
        qsrc = self._plain(iblocks, isig, c.client, wrap=True).rstrip("\n").split("\n")
        d = it.date
        if client == "apple":
            attribution = f"On {d:%b} {d.day}, {d:%Y}, at {d:%H:%M}, {_addr_plain(c)} wrote:"
        elif client == "outlook" and r.random() < 0.5:
            attribution = f"On {d:%A, %B} {d.day}, {d:%Y} {_ampm(d)}, {c.name} <{c.email}> wrote:"
        else:
            attribution = f"On {d:%a, %b} {d.day}, {d:%Y} at {_ampm(d)} {c.name} <{c.email}> wrote:"
        qp = ">" if r.random() < 0.1 else "> "
        quoted = "\n".join(qp + x if x else ">" for x in qsrc)
        wrap = client == "apple"
        mine = self._plain([text], sig, client, wrap).rstrip("\n")
        plain = f"{mine}\n\n{attribution}\n\n{quoted}\n"
        if client == "apple":
            plain = f"{mine}\n\n> {attribution}\n> \n{quoted}\n"
        hb = None
        if r.random() < 0.55:
            hb = _html(client, text.split("\n\n"), sig, qsrc, attribution)
        ctl, body = self._content(client, plain, hb)
        subject = ("RE: " if client == "outlook" else "Re: ") + it.subject
        irt: str | None
        refs: str | None
        if it.last_id and r.random() < 0.35:
            irt, refs = it.last_id, f"{it.msgid}\n {it.last_id}"
            self._detail("reply.chained")
        else:
            irt, refs = it.msgid, it.msgid
        msgid = _msgid(client, r, sender.domain)
        relay = self._relay(sender)
        core = self._compose(
            sender, dt, subject, to, cc, msgid, ctl, body, paddr, irt=irt, refs=refs, relay=relay
        )
        it.last_id = msgid
        final = paddr if "+" in paddr else PARTNER_MAILBOX
        mail = _Mail(core, sender.email, paddr, final, sender, dt, relay)
        self.recent.append(mail)
        self._detail(f"reply.{kind}")
        self._emit(mail, self.now + timedelta(seconds=r.randint(1, 60)))
        return True

    def cat_duplicate(self) -> bool:
        r = self.r
        if not self.recent:
            return False
        k = len(self.recent) - 1 - min(int(r.expovariate(1 / 40.0)), len(self.recent) - 1)
        mail = self.recent[k]
        variant = r.choice([0, 1, 1, 2, 3])
        if variant == 2 and mail.hidden:  # a Bcc'd copy never went through a rep's mailbox
            variant = 3
        self._detail(f"duplicate.v{variant}")
        self._emit(mail, self.now + timedelta(seconds=r.randint(1, 60)), variant)
        return True

    def cat_noise(self) -> None:
        r = self.r
        kind = r.choices(["ooo", "newsletter", "dsn", "nosuch"], [35, 30, 20, 15])[0]
        self._detail(f"noise.{kind}")
        getattr(self, f"_noise_{kind}")()

    def _noise_ooo(self) -> None:
        r = self.r
        it = (
            self.intros[-1 - int(r.expovariate(1 / 30.0)) % len(self.intros)]
            if self.intros
            else None
        )
        if it is not None:
            who = r.choice([it.prospects[0], it.contact, it.rep or r.choice(_REPS)])
            slug = _PARTNER_RT[it.partner][0]
            subj0 = it.subject
        else:
            who, slug, subj0 = r.choice(_REPS), _PARTNER_RT[0][0], "Intro"
        target = f"{_MBOX_LOCAL}+{slug}@{_MBOX_DOMAIN}" if r.random() < 0.6 else PARTNER_MAILBOX
        subj = r.choice(
            [
                f"Automatic reply: {subj0}",
                f"Out of Office: {subj0}",
                f"Abwesenheitsnotiz: {subj0}",
                "Out of office",
                f"Re: {subj0} [Auto-Reply]",
                f"Réponse automatique : {subj0}",
            ]
        )
        back = (self.now + timedelta(days=r.randint(2, 14))).astimezone(who.tz)
        deputy_domain = who.domain
        text = (
            f"Thank you for your message. I am out of the office until {back:%A, %B} {back.day} "
            f"with limited access to email. For urgent matters please contact "
            f"{r.choice(_FIRST).lower()}@{deputy_domain}."
            f"\n\nBest regards,\n{who.name}\n"
        )
        hb = _html(who.client, [text], []) if r.random() < 0.5 else None
        ctl, body = self._content(who.client, text, hb)
        extra = ["Auto-Submitted: auto-replied"]
        if who.client == "outlook":
            extra += [
                "X-Auto-Response-Suppress: All",
                "X-MS-Exchange-Inbox-Rules-Loop: " + who.email,
            ]
        if r.random() < 0.3:
            extra.append("Precedence: bulk")
        irt = it.msgid if (it is not None and r.random() < 0.6) else None
        dt = self._local_dt(who)
        relay = self._relay(who)
        core = self._compose(
            who,
            dt,
            subj,
            [_addr(None, r, target)],
            [],
            _msgid(who.client, r, who.domain),
            ctl,
            body,
            target,
            irt=irt,
            refs=irt,
            extra=extra,
            relay=relay,
        )
        final = target if "+" in target else PARTNER_MAILBOX
        self._emit(
            _Mail(core, who.email, target, final, who, dt, relay),
            self.now + timedelta(seconds=r.randint(1, 20)),
        )

    def _noise_newsletter(self) -> None:
        r = self.r
        if r.random() < 0.4:
            slug, pname, _, _ = _PARTNER_RT[self._partner()]
            dom, org = f"{slug}.example", pname
        else:
            org = r.choice(
                ["SaaS Weekly", "Partner Ecosystem Digest", "RevOps Roundup", "Channel Insider"]
            )
            dom = re.sub(r"[^a-z]", "", org.lower()) + ".example"
        sender = _Person("", "", f"news@{dom}", "newsletter", _TZS[3], org=org)
        sender.name = org
        dt = self.now.astimezone(_TZS[3])
        items = [
            f"{r.choice(_PAINS).capitalize()}: what {r.randint(3, 12)} operators learned"
            for _ in range(r.randint(3, 6))
        ]
        plain = (
            f"{org} -- {dt:%B} {dt.day} edition\n\n"
            + "\n\n".join(f"* {x}\n  Read more: https://{dom}/p/{_hex(r, 10)}" for x in items)
            + f"\n\nYou are receiving this because {PARTNER_MAILBOX} subscribed.\n"
            f"Unsubscribe: https://{dom}/u/{_hex(r, 24)}\n"
        )
        rows = "".join(
            '<tr><td style="padding:16px 24px;font-family:Helvetica,Arial,sans-serif;'
            'font-size:15px;line-height:22px;color:#333333">'
            f'<h2 style="margin:0 0 8px 0;font-size:18px">{_esc(x)}</h2>'
            f'<p style="margin:0">{_esc(r.choice(_NL_BLURBS))}</p>\n<a href="https://{dom}/p/'
            f'{_hex(r, 10)}?utm_source=newsletter&amp;utm_medium=email" style="color:#1a73e8">'
            "Read more"
            f"</a></td></tr>\n"
            for x in items
        )
        hb = (
            f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{_esc(org)}</title></head>'
            f'<body style="margin:0;padding:0;background:#f4f4f4">\n<table role="presentation" '
            f'width="100%" cellpadding="0" cellspacing="0" border="0" style="background:#f4f4f4">'
            f'<tr><td align="center"><table width="600" cellpadding="0" cellspacing="0" '
            f'style="background:#ffffff">\n{rows}<tr><td style="font-size:11px;color:#999999;'
            f'padding:24px">You are receiving this because {PARTNER_MAILBOX} subscribed. '
            f'<a href="https://{dom}/u/{_hex(r, 24)}">Unsubscribe</a></td></tr></table></td></tr>'
            f'</table><img src="https://{dom}/o/{_hex(r, 32)}.gif" width="1" height="1" alt="">'
            f"</body></html>\n"
        )
        b = _boundary("other", r)
        ph = binascii.b2a_qp(plain.encode()).decode()
        hp = binascii.b2a_qp(hb.encode()).decode()
        body = (
            f"--{b}\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: "
            f"quoted-printable\n\n{ph}\n--{b}\nContent-Type: text/html; charset=utf-8\n"
            f"Content-Transfer-Encoding: quoted-printable\n\n{hp}\n--{b}--\n"
        )
        relay = (
            f"a{r.randint(10, 99)}-{r.randint(1, 250)}.smtp-out.amazonses.example",
            f"203.0.113.{r.randint(1, 254)}",
        )
        bounce = f"bounces+{_hex(r, 12)}@{dom}"
        head = [
            f"DKIM-Signature: v=1; a=rsa-sha256; q=dns/txt; c=relaxed/simple; s=ses1; d={dom};\n\t"
            f"t={int(dt.timestamp())}; h=From:To:Subject:List-Unsubscribe:List-Id;\n"
            f"\tbh={_b64(r, 32)};"
            f"\n\tb={_fold(_b64(r, 256), 70)}",
            f"From: {org} <news@{dom}>",
            f"To: {PARTNER_MAILBOX}",
            _subject_hdr(f"{org}: {items[0]}"),
            f"Date: {_datehdr(dt)}",
            f"Message-ID: {_msgid('ses', r, dom)}",
            "MIME-Version: 1.0",
            "Precedence: bulk",
            f"List-Id: {org} <news.{dom}>",
            f"List-Unsubscribe: <mailto:unsubscribe@{dom}?subject=unsub>,\n"
            f" <https://{dom}/u/{_hex(r, 24)}>",
            "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
            f"Feedback-ID: {r.randint(100, 999)}:{r.randint(1000, 9999)}:{dom}:newsletter",
            f'Content-Type: multipart/alternative; boundary="{b}"',
        ]
        core = ("\n".join(head) + "\n\n" + body).encode()
        self._emit(
            _Mail(core, bounce, PARTNER_MAILBOX, PARTNER_MAILBOX, sender, dt, relay),
            self.now + timedelta(seconds=r.randint(1, 20)),
        )

    def _noise_dsn(self) -> None:
        r = self.r
        dt = self.now.astimezone(_UTC)
        if self.prospects and r.random() < 0.8:
            p = self.prospects[-1 - int(r.expovariate(1 / 50.0)) % len(self.prospects)][0]
            bad = (
                p.email.replace("@", f"{r.choice(['', '.old', 'x'])}@", 1)
                if r.random() < 0.5
                else p.email
            )
        else:
            bad = f"nobody{r.randint(1, 999)}@{self._company()[1]}"
        qid = _hex(r, 10).upper()
        b = f"{qid}.{int(dt.timestamp())}/mx1.{_MBOX_DOMAIN}"
        orig_id = (
            f"<{dt - timedelta(minutes=30):%Y%m%d%H%M%S}.{_hex(r, 10).upper()}@{_MBOX_DOMAIN}>"
        )
        odate = _datehdr(dt - timedelta(minutes=r.randint(1, 30)))
        text = (
            f"This is the mail system at host mx1.{_MBOX_DOMAIN}.\n\nI'm sorry to have to inform "
            f"you that your message could not\nbe delivered to one or more recipients. It's "
            f"attached below.\n\nFor further assistance, please send mail to postmaster.\n\nIf you "
            f"do so, please include this problem report. You can\ndelete your own text from the "
            f"attached returned message.\n\n                   The mail system\n\n<{bad}>: host "
            f"mx.{bad.rpartition('@')[2]}[192.0.2.{r.randint(1, 254)}] said: 550 5.1.1\n"
            f"    <{bad}>: "
            f"Recipient address rejected: User unknown in virtual mailbox\n    table (in reply "
            f"to RCPT TO command)\n"
        )
        status = (
            f"Reporting-MTA: dns; mx1.{_MBOX_DOMAIN}\nX-Postfix-Queue-ID: {qid}\nX-Postfix-Sender: "
            f"rfc822; {PARTNER_MAILBOX}\nArrival-Date: {odate}\n\nFinal-Recipient: rfc822; {bad}\n"
            f"Original-Recipient: rfc822;{bad}\nAction: failed\nStatus: 5.1.1\nRemote-MTA: dns; "
            f"mx.{bad.rpartition('@')[2]}\nDiagnostic-Code: smtp; 550 5.1.1 <{bad}>: Recipient "
            f"address rejected: User unknown in virtual mailbox table\n"
        )
        ohead = (
            f"Return-Path: <{PARTNER_MAILBOX}>\n"
            f"Received: by mail.{_MBOX_DOMAIN} (Postfix, from userid "
            f"1001)\n\tid {qid}; {odate}\nFrom: {OURS} Partners <{PARTNER_MAILBOX}>\nTo: <{bad}>\n"
            f"Subject: Thanks for the introduction\nDate: {odate}\nMessage-ID: {orig_id}\n"
            f"MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
        )
        body = (
            f"This is a MIME-encapsulated message.\n\n--{b}\nContent-Description: Notification\n"
            f"Content-Type: text/plain; charset=us-ascii\n\n{text}\n--{b}\nContent-Description: "
            f"Delivery report\nContent-Type: message/delivery-status\n\n{status}\n--{b}\n"
            "Content-Description: Undelivered Message Headers\n"
            "Content-Type: text/rfc822-headers\n\n"
            f"{ohead}\n--{b}--\n"
        )
        head = [
            f"Received: by mx1.{_MBOX_DOMAIN} (Postfix)\n"
            f"\tid {_hex(r, 10).upper()}; {_datehdr_c(dt)}",
            f"Date: {_datehdr_c(dt)}",
            f"From: MAILER-DAEMON@mx1.{_MBOX_DOMAIN} (Mail Delivery System)",
            "Subject: Undelivered Mail Returned to Sender",
            f"To: {PARTNER_MAILBOX}",
            "Auto-Submitted: auto-replied",
            "MIME-Version: 1.0",
            f'Content-Type: multipart/report; report-type=delivery-status;\n\tboundary="{b}"',
            "Content-Transfer-Encoding: 8bit",
            f"Message-Id: <{dt:%Y%m%d%H%M%S}.{_hex(r, 10).upper()}@mx1.{_MBOX_DOMAIN}>",
        ]
        core = ("\n".join(head) + "\n\n" + body).encode()
        self._emit(
            _Mail(
                core,
                "",
                PARTNER_MAILBOX,
                PARTNER_MAILBOX,
                None,
                dt,
                (f"mail.{_MBOX_DOMAIN}", "10.20.0.5"),
            ),
            self.now + timedelta(seconds=r.randint(1, 5)),
        )

    def _noise_nosuch(self) -> None:
        r = self.r
        it = self._new_intro()
        if r.random() < 0.5:  # a sender no partner owns
            comp = self._company(reuse=0.0)
            first, last = self._name()
            stranger = _Person(
                first,
                last,
                f"{_local(first, last, 0)}@{comp[1]}",
                r.choice(["gmail", "outlook", "apple"]),
                r.choice(_TZS),
                "Consultant",
                _phone(r),
                comp[0],
            )
            it.contact = stranger
            it.date = self.now.astimezone(stranger.tz)
        addr = f"{_MBOX_LOCAL}+nosuch@{_MBOX_DOMAIN}"
        mail = self._intro_mail(it, rep_in_cc=it.rep is not None, bcc=False, paddr=addr)
        self._emit(mail, self.now + timedelta(seconds=r.randint(2, 60)))

    def cat_awkward(self) -> None:
        r = self.r
        kind = r.choices(
            ["no_msgid", "attachment", "unknown_charset", "no_final_boundary"], [33, 10, 28, 29]
        )[0]
        self._detail(f"awkward.{kind}")
        it = self._new_intro()
        bcc = r.random() < 0.1
        rep_cc = it.rep is not None and r.random() < 0.8
        if kind == "no_msgid":
            mail = self._intro_mail(it, rep_in_cc=rep_cc, bcc=bcc, msgid=False)
        elif kind == "attachment":
            size = int(r.triangular(50_000, 200_000, 70_000))
            pdf = (
                b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
                + r.randbytes(size - 120)
                + b"\n%%EOF\n"
            )
            fname = f"{re.sub(r'[^A-Za-z0-9]+', '_', it.company)}_overview.pdf"
            b64 = base64.encodebytes(pdf).decode("ascii")
            att = [
                (
                    [
                        f'Content-Type: application/pdf; name="{fname}"',
                        f'Content-Disposition: attachment; filename="{fname}"; size={len(pdf)}',
                        "Content-Transfer-Encoding: base64",
                        f"Content-ID: <f_{_hex(r, 10)}>",
                    ],
                    b64,
                )
            ]
            mail = self._intro_mail(it, rep_in_cc=rep_cc, bcc=bcc, attach=att)
        elif kind == "unknown_charset":
            mail = self._intro_mail(it, rep_in_cc=rep_cc, bcc=bcc, unknown_charset=True)
        else:
            mail = self._intro_mail(it, rep_in_cc=rep_cc, bcc=bcc, no_close=True, force_mp=True)
        self._register(it, mail if kind != "no_msgid" else None)
        self._emit(mail, self.now + timedelta(seconds=r.randint(2, 90)))

    # ---- driver -----------------------------------------------------------------------------

    def run(self) -> None:
        r = self.r
        n = self.n
        target = {c: int(round(WEIGHTS[c] * n)) for c in CATEGORIES}
        target["intro"] += n - sum(target.values())
        if target["intro"] < 0:  # tiny n: rounding overshoot
            for c in CATEGORIES[::-1]:
                while target["intro"] < 0 and target[c] > 0 and c != "intro":
                    target[c] -= 1
                    target["intro"] += 1
        sched = [c for c in CATEGORIES for _ in range(target[c])]
        r.shuffle(sched)
        warm = min(15, n)
        for i in range(warm):  # start with some intros so replies/duplicates have history
            if sched[i] != "intro":
                for j in range(warm, n):
                    if sched[j] == "intro":
                        sched[i], sched[j] = sched[j], sched[i]
                        break
        for cat in sched:
            self._tick()
            done = True
            if cat == "reply":
                done = self.cat_reply()
            elif cat == "duplicate":
                done = self.cat_duplicate()
            elif cat == "conflict":
                done = self.cat_conflict()
            elif cat == "intro":
                self.cat_intro()
            elif cat == "forward":
                self.cat_forward()
            elif cat == "noise":
                self.cat_noise()
            else:
                self.cat_awkward()
            if not done:
                cat = "intro"
                self.cat_intro()
            self.counts[cat] += 1


_NL_BLURBS = [
    "We asked a dozen partner leaders how they structure referral fees, co-selling and deal "
    "registration. The answers were more varied than we expected.",
    "Most teams still track introductions in a spreadsheet. Here is what changes when you "
    "don't, and what it costs to get there.",
    "A short case study on moving from ad-hoc intros to a repeatable partner motion, with the "
    "templates the team actually used.",
    "Our quarterly benchmark is out: win rates on partner-sourced deals, time to first meeting, "
    "and the metrics boards keep asking about.",
]


def _for(rcpt: str | None) -> str:
    return f"\n\tfor <{rcpt}>" if rcpt else ""


def _addr_plain(p: _Person) -> str:
    return f"{p.name} <{p.email}>"


def _ampm(d: datetime, seconds: bool = False) -> str:
    h = d.hour % 12 or 12
    s = f":{d.second:02d}" if seconds else ""
    return f"{h}:{d.minute:02d}{s} {'AM' if d.hour < 12 else 'PM'}"


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def generate(path: str | os.PathLike, messages: int = 10000, seed: int = 1) -> tuple[dict, dict]:
    """Write the mbox; return (counts per category, counts per sub-kind)."""
    with open(path, "wb", buffering=1 << 20) as fh:
        g = _Gen(fh, messages, seed)
        g.run()
    return dict(g.counts), dict(sorted(g.details.items()))


def write_mbox(path: str | os.PathLike, messages: int = 10000, seed: int = 1) -> dict:
    """Write `messages` messages to `path` (mboxrd, LF); return counts per category."""
    return generate(path, messages, seed)[0]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", help="output mbox path")
    ap.add_argument("--messages", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    counts, details = generate(a.out, a.messages, a.seed)
    dt = time.perf_counter() - t0
    size = os.path.getsize(a.out)
    for k, v in counts.items():
        print(f"{k:10} {v:6}")
    print("details:", ", ".join(f"{k}={v}" for k, v in details.items()))
    print(
        f"wrote {a.messages} messages, {size / 1e6:.1f} MB ({size / max(a.messages, 1) / 1024:.1f} "
        f"KiB/msg) to {a.out} in {dt:.1f}s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
