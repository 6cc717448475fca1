"""Intros: a partner's contact introduces a prospect to us, Cc (or Bcc) the partner address.

Also conflicts: another partner introduces a prospect someone already introduced.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from .cast import OURS, PARTNER_CAST, PARTNER_MAILBOX, REPS, Person
from .formats import address, message_id, wrap_text
from .html_mail import render_html
from .mime import content
from .phrases import (
    ASIDES,
    BACKGROUND,
    CITIES,
    DAYS,
    DISCLAIMER,
    DRIVERS,
    EVENTS,
    FUNCS,
    HANDOFFS,
    HANDOFFS_NO_REP,
    MONTHS,
    OPENINGS,
    OPENINGS_NO_REP,
    PAINS,
    PROJECTS,
    SIGNOFFS,
    SITUATIONS,
    TOOLS,
)
from .sending import Mail, compose, sender_relay

if TYPE_CHECKING:
    from .generator import Generator


class Intro:
    """What later messages (replies, forwards, conflicts) need to know of an intro."""

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
        contact: Person,
        prospects: list[Person],
        company: str,
        rep: Person | None,
        paddr: str,
        bcc: bool,
        seed: int,
    ) -> None:
        self.msgid = msgid
        self.subject = subject
        self.date = date  # in the introducer's time zone
        self.partner = partner  # index into PARTNER_CAST / PARTNERS
        self.contact = contact
        self.prospects = prospects
        self.company = company
        self.rep = rep
        self.paddr = paddr  # partner address the intro was sent to
        self.bcc = bcc
        self.seed = seed  # regenerates the body (see intro_parts)
        self.last_id: str | None = None
        self.owner: Person | None = None  # rep who picks up a thread whose intro named none


def intro_parts(it: Intro) -> tuple[list[str], list[str]]:
    """(blocks, signature lines) of an intro, regenerated from its seed."""
    r = random.Random(it.seed)
    c, p = it.contact, it.prospects[0]
    rep = it.rep
    pname = c.org or PARTNER_CAST[it.partner][1]
    rf = rep.first if rep else f"{OURS} team"
    ctx = {
        "pf": p.first,
        "pfull": p.name,
        "company": it.company,
        "ours": OURS,
        "rf": rf,
        "rfull": rep.name if rep else f"the team at {OURS}",
        "func": r.choice(FUNCS),
        "pain": r.choice(PAINS),
        "situation": r.choice(SITUATIONS),
        "ptitle": p.title,
        "day": r.choice(DAYS),
        "years": r.randint(2, 12),
        "project": r.choice(PROJECTS),
        "count": r.choice([40, 85, 120, 250, 600, 1400, 5000]),
        "regions": r.randint(2, 9),
        "pname": pname,
        "year": r.randint(2014, 2025),
        "tool1": r.choice(TOOLS),
        "tool2": r.choice(TOOLS),
        "hours": r.randint(5, 40),
        "driver1": r.choice(DRIVERS),
        "driver2": r.choice(DRIVERS),
        "quarter": r.randint(1, 4),
        "month": r.choice(MONTHS),
        "phone": p.phone,
        "city": r.choice(CITIES),
        "event": r.choice(EVENTS),
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
    blocks = [greet, r.choice(OPENINGS if rep else OPENINGS_NO_REP).format(**ctx)]
    pools = [BACKGROUND, HANDOFFS if rep else HANDOFFS_NO_REP, ASIDES]
    for k in range(npara - 1):
        blocks.append(r.choice(pools[min(k, 2)]).format(**ctx))
    blocks.append(f"{r.choice(SIGNOFFS)}\n{c.first}")
    sig = [c.name, f"{c.title} | {c.org or pname}", c.phone, f"www.{c.domain}"]
    if c.client == "outlook" and r.random() < 0.6:
        sig.append("")
        sig.append(DISCLAIMER)
    return blocks, sig


def plain_text(blocks: list[str], sig: list[str], client: str, wrap: bool) -> str:
    """A text/plain body: paragraphs, then the signature."""
    body = "\n\n".join(blocks)
    if wrap:
        body = wrap_text(body)
    sig_txt = "\n".join(wrap_text(s) if wrap else s for s in sig)
    delim = "-- \n" if client != "outlook" else "\n"
    return f"{body}\n\n{delim}{sig_txt}\n"


def intro_subject(r: random.Random, it: Intro) -> str:
    """An intro's subject line."""
    p = it.prospects[0]
    rf = it.rep.first if it.rep else OURS
    pname = PARTNER_CAST[it.partner][1]
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


def new_intro(
    g: Generator,
    pi: int | None = None,
    prospect: Person | None = None,
    company: str | None = None,
    rep_cc: bool | None = None,
) -> Intro:
    """A new intro from partner `pi` (default: any), of a new prospect unless given."""
    r = g.r
    pi = g.partner() if pi is None else pi
    slug, pname, contacts, alias = PARTNER_CAST[pi]
    contact = r.choice(contacts)
    if prospect is None:
        comp = g.company()
        company = comp[0]
        prospects = [g.prospect(comp)]
        if r.random() < 0.12 and prospects[0].domain != "gmail.com":
            prospects.append(g.prospect(comp))
    else:
        prospects = [prospect]
    if rep_cc is None:
        rep_cc = r.random() < 0.35
    rep = r.choice(REPS) if (rep_cc or r.random() < 0.3) else None
    it = Intro(
        msgid=None,
        subject="",
        date=g.now.astimezone(contact.tz),
        partner=pi,
        contact=contact,
        prospects=prospects,
        company=company or "",
        rep=rep,
        paddr=g.partner_address(pi),
        bcc=False,
        seed=r.getrandbits(64),
    )
    it.subject = intro_subject(r, it)
    return it


def intro_mail(
    g: Generator,
    it: Intro,
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
) -> Mail:
    """The intro as its contact's client sends it."""
    r = g.r
    c = it.contact
    paddr = paddr or it.paddr
    it.bcc = bcc
    to = [address(p, r) for p in it.prospects]
    cc = []
    if partner_cc and not bcc:
        pname = r.choice(["", "", f"{OURS} Partners", "Partners", f"{OURS} Partnerships"])
        cc.append(address(None, r, paddr, pname))
    if rep_in_cc and it.rep:
        cc.insert(r.randint(0, len(cc)), address(it.rep, r))
    if not to:
        to = [address(None, r, paddr)]
    if msgid:
        it.msgid = message_id(c.client, r, c.domain)
    blocks, sig = intro_parts(it)
    wrap = c.client == "apple" or (c.client == "gmail" and r.random() < 0.2)
    plain = plain_text(blocks, sig, c.client, wrap)
    mp = (r.random() < 0.5) if force_mp is None else force_mp
    enc = "utf-8"
    if unknown_charset:
        plain = plain.replace("Hi ", "Hi ", 1) + "\nMerci beaucoup, à bientôt -- Grüße aus Köln!\n"
        enc = "latin-1"
        plain = plain.encode("latin-1", "replace").decode("latin-1")
        mp = False
    hb = render_html(c.client, blocks, sig) if mp else None
    ctl, body = content(
        r, c.client, plain, hb, attach=attach, no_close=no_close, unknown_charset=unknown_charset
    )
    relay = sender_relay(r, c)
    core = compose(
        r,
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
    return Mail(core, c.email, paddr, final, c, it.date, relay, hidden=bcc)


def intro(g: Generator) -> bool:
    """A partner's contact introduces a new prospect."""
    r = g.r
    it = new_intro(g)
    bcc = r.random() < 0.10
    mail = intro_mail(g, it, rep_in_cc=it.rep is not None and r.random() < 0.8, bcc=bcc)
    g.detail("intro.bcc" if bcc else ("intro.alias" if "-intros@" in it.paddr else "intro.plus"))
    g.register(it, mail)
    g.emit(mail, g.now + timedelta(seconds=r.randint(2, 90)))
    return True


def conflict(g: Generator) -> bool:
    """Another partner introduces a prospect already introduced."""
    r = g.r
    if not g.prospects:
        return False
    p, company, prev_pi = g.prospects[
        min(len(g.prospects) - 1, int(r.random() ** 2 * len(g.prospects)))
    ]
    pi = g.partner(exclude=prev_pi)
    q = p
    if r.random() < 0.2:  # same mailbox, different spelling
        local, _, dom = p.email.partition("@")
        q = Person(
            p.first,
            p.last,
            f"{local.title()}@{dom.capitalize()}" if r.random() < 0.5 else p.email.upper(),
            p.client,
            p.tz,
            p.title,
            p.phone,
            p.org,
        )
    it = new_intro(g, pi, prospect=q, company=company)
    bcc = r.random() < 0.10
    mail = intro_mail(g, it, rep_in_cc=it.rep is not None and r.random() < 0.8, bcc=bcc)
    g.detail("conflict.case" if q is not p else "conflict.same")
    g.register(it, mail)
    g.emit(mail, g.now + timedelta(seconds=r.randint(2, 90)))
    return True
