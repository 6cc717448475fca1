"""Forwards: one of us forwards a partner's intro to the mailbox, as each mail client writes one.

Inline under Gmail's, Outlook's or Apple Mail's own separator, or attached as message/rfc822.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING

from .cast import MBOX_DOMAIN, MBOX_LOCAL, OTHER_STAFF, OURS, PARTNER_CAST, PARTNER_MAILBOX, REPS
from .formats import TZ_NAMES, address, ampm, message_id, plain_address
from .html_mail import render_html
from .intros import Intro, intro_mail, intro_parts, intro_subject, new_intro, plain_text
from .mime import content
from .phrases import FORWARD_NOTES
from .sending import Mail, compose, sender_relay

if TYPE_CHECKING:
    from .generator import Generator


def forward_block(style: str, it: Intro, to: list[str], cc: list[str]) -> list[str]:
    """The header block the client writes above a forwarded message."""
    c = it.contact
    d = it.date
    frm = plain_address(c)
    if style == "gmail":
        return [
            "---------- Forwarded message ---------",
            f"From: {frm}",
            f"Date: {d:%a, %b} {d.day}, {d:%Y} at {ampm(d)}",
            f"Subject: {it.subject}",
            f"To: {', '.join(to)}",
        ] + ([f"Cc: {', '.join(cc)}"] if cc else [])
    if style == "outlook":
        return (
            [
                "________________________________",
                f"From: {frm}",
                f"Sent: {d:%A, %B} {d.day}, {d:%Y} {ampm(d)}",
                f"To: {'; '.join(to)}",
            ]
            + ([f"Cc: {'; '.join(cc)}"] if cc else [])
            + [f"Subject: {it.subject}"]
        )
    tzn = TZ_NAMES.get(int((d.utcoffset() or timedelta(0)).total_seconds() // 60), "UTC")
    return [
        "Begin forwarded message:",
        "",
        f"From: {frm}",
        f"Subject: {it.subject}",
        f"Date: {d:%B} {d.day}, {d:%Y} at {ampm(d, True)} {tzn}",
        f"To: {', '.join(to)}",
    ] + ([f"Cc: {', '.join(cc)}"] if cc else [])


def forward(g: Generator) -> bool:
    """One of us forwards a partner's intro (fresh or earlier) to the mailbox."""
    r = g.r
    fwd = r.choice(REPS + REPS + OTHER_STAFF)
    if g.intros and r.random() < 0.2:
        it = r.choice(g.intros[-500:])
        fresh = False
    else:
        it = new_intro(g, rep_cc=False)
        it.rep = fwd if fwd in REPS else r.choice(REPS)
        it.subject = intro_subject(r, it)
        it.date = (g.now - timedelta(minutes=r.randint(5, 4000))).astimezone(it.contact.tz)
        fresh = True
    slug = PARTNER_CAST[it.partner][0]
    target = f"{MBOX_LOCAL}+{slug}@{MBOX_DOMAIN}" if r.random() < 0.6 else PARTNER_MAILBOX
    dt = g.local_time(fwd)
    note = r.choice(FORWARD_NOTES).format(
        pname=PARTNER_CAST[it.partner][1], pf=it.prospects[0].first
    )
    fsig = [fwd.name, f"{fwd.title}, {OURS}", fwd.phone]
    to_plain = [plain_address(p) for p in it.prospects]
    cc_plain = [plain_address(it.rep)] if it.rep and fresh else []
    style = fwd.client
    prefix = {"gmail": "Fwd: ", "outlook": "FW: ", "apple": "Fwd: "}[style]
    subject = prefix + it.subject
    msgid = message_id(fwd.client, r, fwd.domain)
    relay = sender_relay(r, fwd)
    blocks, sig = intro_parts(it)
    as_rfc822 = r.random() < 0.15
    if as_rfc822:
        if fresh:
            inner_mail = intro_mail(
                g, it, rep_in_cc=True, bcc=False, partner_cc=False, paddr=fwd.email
            )
        else:
            # same intro, as it sat in the forwarder's mailbox
            inner_mail = intro_mail(g, it, rep_in_cc=True, bcc=False, paddr=fwd.email)
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
        ctl, body = content(r, fwd.client, plain, None, attach=attach)
        g.detail("forward.rfc822")
    else:
        fblock = forward_block(style, it, to_plain, cc_plain)
        inner_plain = plain_text(blocks, sig, it.contact.client, wrap=False)
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
            hb = render_html(
                style, ([note] if note else []) + ["\n".join(fblock)] + blocks, fsig + sig
            )
        ctl, body = content(r, fwd.client, plain, hb)
        g.detail(f"forward.{style}")
    if not fresh:
        g.detail("forward.of_earlier")
    core = compose(
        r,
        fwd,
        dt,
        subject,
        [address(None, r, target, r.choice(["", "Partners"]))],
        [],
        msgid,
        ctl,
        body,
        target,
        relay=relay,
    )
    final = target if "+" in target else PARTNER_MAILBOX
    mail = Mail(core, fwd.email, target, final, fwd, dt, relay)
    if fresh:
        it.bcc = True  # the mailbox never saw the original
        g.register(it, None, reply_target=False)
    g.recent.append(mail)
    g.emit(mail, g.now + timedelta(seconds=r.randint(1, 30)))
    return True
