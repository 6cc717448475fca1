"""Replies to earlier intros: from our rep, the prospect or the partner, quoting the intro."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from .cast import MBOX_DOMAIN, MBOX_LOCAL, OURS, PARTNER_CAST, PARTNER_MAILBOX, REPS
from .formats import address, ampm, message_id, plain_address
from .html_mail import render_html
from .intros import intro_parts, plain_text
from .mime import content
from .phrases import (
    DAYS,
    FUNCS,
    PAINS,
    REPLY_PARTNER,
    REPLY_PROSPECT,
    REPLY_REP,
    SITUATIONS,
    TOOLS,
)
from .sending import Mail, compose, sender_relay

if TYPE_CHECKING:
    from .generator import Generator


def reply(g: Generator) -> bool:
    """Our rep, the prospect or the partner replies to an earlier intro, quoting it."""
    r = g.r
    if not g.intros:
        return False
    it = g.intros[max(0, len(g.intros) - 1 - int(r.expovariate(1 / 250.0)))]
    slug = PARTNER_CAST[it.partner][0]
    paddr = it.paddr if not it.bcc else f"{MBOX_LOCAL}+{slug}@{MBOX_DOMAIN}"
    if it.rep is None and it.owner is None:
        it.owner = r.choice(REPS)
    rep = it.rep or it.owner
    assert rep is not None
    p = it.prospects[0]
    c = it.contact
    kind = r.choices(["rep", "prospect", "partner"], [40, 35, 25])[0]
    days = r.sample(DAYS, 2)
    ctx = {
        "cf": c.first,
        "pf": p.first,
        "rf": rep.first,
        "company": it.company,
        "day": days[0],
        "day2": days[1],
        "pain": r.choice(PAINS),
        "tool1": r.choice(TOOLS),
        "tool2": r.choice(TOOLS),
        "situation": r.choice(SITUATIONS),
        "func": r.choice(FUNCS),
    }
    if kind == "rep":
        sender, text = rep, r.choice(REPLY_REP)
        to = [address(p, r)] + ([] if r.random() < 0.5 else [address(c, r)])
        cc = [address(None, r, paddr)]
        sig = [rep.name, f"{rep.title} | {OURS}", rep.phone]
    elif kind == "prospect":
        sender, text = p, r.choice(REPLY_PROSPECT)
        to = [address(c, r), address(rep, r)]
        cc = [address(None, r, paddr)]
        sig = [p.name, p.title, p.org]
    else:
        sender, text = c, r.choice(REPLY_PARTNER)
        to = [address(p, r)]
        cc = [address(rep, r), address(None, r, paddr)]
        sig = [c.name, f"{c.title} | {PARTNER_CAST[it.partner][1]}", c.phone]
    text = text.format(**ctx)
    client = sender.client
    dt = g.local_time(sender)
    # quoted history: the intro
    iblocks, isig = intro_parts(it)
    qsrc = plain_text(iblocks, isig, c.client, wrap=True).rstrip("\n").split("\n")
    d = it.date
    if client == "apple":
        attribution = f"On {d:%b} {d.day}, {d:%Y}, at {d:%H:%M}, {plain_address(c)} wrote:"
    elif client == "outlook" and r.random() < 0.5:
        attribution = f"On {d:%A, %B} {d.day}, {d:%Y} {ampm(d)}, {c.name} <{c.email}> wrote:"
    else:
        attribution = f"On {d:%a, %b} {d.day}, {d:%Y} at {ampm(d)} {c.name} <{c.email}> wrote:"
    qp = ">" if r.random() < 0.1 else "> "
    quoted = "\n".join(qp + x if x else ">" for x in qsrc)
    wrap = client == "apple"
    mine = plain_text([text], sig, client, wrap).rstrip("\n")
    plain = f"{mine}\n\n{attribution}\n\n{quoted}\n"
    if client == "apple":
        plain = f"{mine}\n\n> {attribution}\n> \n{quoted}\n"
    hb = None
    if r.random() < 0.55:
        hb = render_html(client, text.split("\n\n"), sig, qsrc, attribution)
    ctl, body = content(r, client, plain, hb)
    subject = ("RE: " if client == "outlook" else "Re: ") + it.subject
    irt: str | None
    refs: str | None
    if it.last_id and r.random() < 0.35:
        irt, refs = it.last_id, f"{it.msgid}\n {it.last_id}"
        g.detail("reply.chained")
    else:
        irt, refs = it.msgid, it.msgid
    msgid = message_id(client, r, sender.domain)
    relay = sender_relay(r, sender)
    core = compose(
        r, sender, dt, subject, to, cc, msgid, ctl, body, paddr, irt=irt, refs=refs, relay=relay
    )
    it.last_id = msgid
    final = paddr if "+" in paddr else PARTNER_MAILBOX
    mail = Mail(core, sender.email, paddr, final, sender, dt, relay)
    g.recent.append(mail)
    g.detail(f"reply.{kind}")
    g.emit(mail, g.now + timedelta(seconds=r.randint(1, 60)))
    return True
