"""Noise: out-of-office replies, bulk newsletters, bounces (DSNs), intros to an unknown plus tag."""

from __future__ import annotations

import binascii
import re
from datetime import UTC, timedelta
from typing import TYPE_CHECKING

from .cast import MBOX_DOMAIN, MBOX_LOCAL, OURS, PARTNER_CAST, PARTNER_MAILBOX, REPS, TZS, Person
from .formats import (
    address,
    boundary,
    date_header,
    date_header_named,
    fold,
    message_id,
    random_b64,
    random_hex,
    subject_header,
)
from .html_mail import esc, render_html
from .intros import intro_mail, new_intro
from .mime import content
from .names import FIRST, email_local, phone_number
from .phrases import NEWSLETTER_BLURBS, PAINS
from .sending import Mail, compose, sender_relay

if TYPE_CHECKING:
    from .generator import Generator


def noise(g: Generator) -> bool:
    """One message that is not an intro nor a reply to one."""
    r = g.r
    kind = r.choices(["ooo", "newsletter", "dsn", "nosuch"], [35, 30, 20, 15])[0]
    g.detail(f"noise.{kind}")
    KINDS[kind](g)
    return True


def out_of_office(g: Generator) -> None:
    """An automatic reply to a recent intro's thread."""
    r = g.r
    it = g.intros[-1 - int(r.expovariate(1 / 30.0)) % len(g.intros)] if g.intros else None
    if it is not None:
        who = r.choice([it.prospects[0], it.contact, it.rep or r.choice(REPS)])
        slug = PARTNER_CAST[it.partner][0]
        subj0 = it.subject
    else:
        who, slug, subj0 = r.choice(REPS), PARTNER_CAST[0][0], "Intro"
    target = f"{MBOX_LOCAL}+{slug}@{MBOX_DOMAIN}" if r.random() < 0.6 else PARTNER_MAILBOX
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
    back = (g.now + timedelta(days=r.randint(2, 14))).astimezone(who.tz)
    deputy_domain = who.domain
    text = (
        f"Thank you for your message. I am out of the office until {back:%A, %B} {back.day} "
        f"with limited access to email. For urgent matters please contact "
        f"{r.choice(FIRST).lower()}@{deputy_domain}."
        f"\n\nBest regards,\n{who.name}\n"
    )
    hb = render_html(who.client, [text], []) if r.random() < 0.5 else None
    ctl, body = content(r, who.client, text, hb)
    extra = ["Auto-Submitted: auto-replied"]
    if who.client == "outlook":
        extra += [
            "X-Auto-Response-Suppress: All",
            "X-MS-Exchange-Inbox-Rules-Loop: " + who.email,
        ]
    if r.random() < 0.3:
        extra.append("Precedence: bulk")
    irt = it.msgid if (it is not None and r.random() < 0.6) else None
    dt = g.local_time(who)
    relay = sender_relay(r, who)
    core = compose(
        r,
        who,
        dt,
        subj,
        [address(None, r, target)],
        [],
        message_id(who.client, r, who.domain),
        ctl,
        body,
        target,
        irt=irt,
        refs=irt,
        extra=extra,
        relay=relay,
    )
    final = target if "+" in target else PARTNER_MAILBOX
    g.emit(
        Mail(core, who.email, target, final, who, dt, relay),
        g.now + timedelta(seconds=r.randint(1, 20)),
    )


def newsletter(g: Generator) -> None:
    """A bulk newsletter (from a partner or a publisher) to the mailbox."""
    r = g.r
    if r.random() < 0.4:
        slug, pname, _, _ = PARTNER_CAST[g.partner()]
        dom, org = f"{slug}.example", pname
    else:
        org = r.choice(
            ["SaaS Weekly", "Partner Ecosystem Digest", "RevOps Roundup", "Channel Insider"]
        )
        dom = re.sub(r"[^a-z]", "", org.lower()) + ".example"
    sender = Person("", "", f"news@{dom}", "newsletter", TZS[3], org=org)
    sender.name = org
    dt = g.now.astimezone(TZS[3])
    items = [
        f"{r.choice(PAINS).capitalize()}: what {r.randint(3, 12)} operators learned"
        for _ in range(r.randint(3, 6))
    ]
    plain = (
        f"{org} -- {dt:%B} {dt.day} edition\n\n"
        + "\n\n".join(f"* {x}\n  Read more: https://{dom}/p/{random_hex(r, 10)}" for x in items)
        + f"\n\nYou are receiving this because {PARTNER_MAILBOX} subscribed.\n"
        f"Unsubscribe: https://{dom}/u/{random_hex(r, 24)}\n"
    )
    rows = "".join(
        '<tr><td style="padding:16px 24px;font-family:Helvetica,Arial,sans-serif;'
        'font-size:15px;line-height:22px;color:#333333">'
        f'<h2 style="margin:0 0 8px 0;font-size:18px">{esc(x)}</h2>'
        f'<p style="margin:0">{esc(r.choice(NEWSLETTER_BLURBS))}</p>\n<a href="https://{dom}/p/'
        f'{random_hex(r, 10)}?utm_source=newsletter&amp;utm_medium=email" style="color:#1a73e8">'
        "Read more"
        f"</a></td></tr>\n"
        for x in items
    )
    hb = (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{esc(org)}</title></head>'
        f'<body style="margin:0;padding:0;background:#f4f4f4">\n<table role="presentation" '
        f'width="100%" cellpadding="0" cellspacing="0" border="0" style="background:#f4f4f4">'
        f'<tr><td align="center"><table width="600" cellpadding="0" cellspacing="0" '
        f'style="background:#ffffff">\n{rows}<tr><td style="font-size:11px;color:#999999;'
        f'padding:24px">You are receiving this because {PARTNER_MAILBOX} subscribed. '
        f'<a href="https://{dom}/u/{random_hex(r, 24)}">Unsubscribe</a></td></tr></table></td></tr>'
        f'</table><img src="https://{dom}/o/{random_hex(r, 32)}.gif" width="1" height="1" alt="">'
        f"</body></html>\n"
    )
    b = boundary("other", r)
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
    bounce = f"bounces+{random_hex(r, 12)}@{dom}"
    head = [
        f"DKIM-Signature: v=1; a=rsa-sha256; q=dns/txt; c=relaxed/simple; s=ses1; d={dom};\n\t"
        f"t={int(dt.timestamp())}; h=From:To:Subject:List-Unsubscribe:List-Id;\n"
        f"\tbh={random_b64(r, 32)};"
        f"\n\tb={fold(random_b64(r, 256), 70)}",
        f"From: {org} <news@{dom}>",
        f"To: {PARTNER_MAILBOX}",
        subject_header(f"{org}: {items[0]}"),
        f"Date: {date_header(dt)}",
        f"Message-ID: {message_id('ses', r, dom)}",
        "MIME-Version: 1.0",
        "Precedence: bulk",
        f"List-Id: {org} <news.{dom}>",
        f"List-Unsubscribe: <mailto:unsubscribe@{dom}?subject=unsub>,\n"
        f" <https://{dom}/u/{random_hex(r, 24)}>",
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
        f"Feedback-ID: {r.randint(100, 999)}:{r.randint(1000, 9999)}:{dom}:newsletter",
        f'Content-Type: multipart/alternative; boundary="{b}"',
    ]
    core = ("\n".join(head) + "\n\n" + body).encode()
    g.emit(
        Mail(core, bounce, PARTNER_MAILBOX, PARTNER_MAILBOX, sender, dt, relay),
        g.now + timedelta(seconds=r.randint(1, 20)),
    )


def bounce(g: Generator) -> None:
    """A Postfix DSN: mail from the mailbox to a prospect bounced."""
    r = g.r
    dt = g.now.astimezone(UTC)
    if g.prospects and r.random() < 0.8:
        p = g.prospects[-1 - int(r.expovariate(1 / 50.0)) % len(g.prospects)][0]
        bad = (
            p.email.replace("@", f"{r.choice(['', '.old', 'x'])}@", 1)
            if r.random() < 0.5
            else p.email
        )
    else:
        bad = f"nobody{r.randint(1, 999)}@{g.company()[1]}"
    qid = random_hex(r, 10).upper()
    b = f"{qid}.{int(dt.timestamp())}/mx1.{MBOX_DOMAIN}"
    orig_id = (
        f"<{dt - timedelta(minutes=30):%Y%m%d%H%M%S}.{random_hex(r, 10).upper()}@{MBOX_DOMAIN}>"
    )
    odate = date_header(dt - timedelta(minutes=r.randint(1, 30)))
    text = (
        f"This is the mail system at host mx1.{MBOX_DOMAIN}.\n\nI'm sorry to have to inform "
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
        f"Reporting-MTA: dns; mx1.{MBOX_DOMAIN}\nX-Postfix-Queue-ID: {qid}\nX-Postfix-Sender: "
        f"rfc822; {PARTNER_MAILBOX}\nArrival-Date: {odate}\n\nFinal-Recipient: rfc822; {bad}\n"
        f"Original-Recipient: rfc822;{bad}\nAction: failed\nStatus: 5.1.1\nRemote-MTA: dns; "
        f"mx.{bad.rpartition('@')[2]}\nDiagnostic-Code: smtp; 550 5.1.1 <{bad}>: Recipient "
        f"address rejected: User unknown in virtual mailbox table\n"
    )
    ohead = (
        f"Return-Path: <{PARTNER_MAILBOX}>\n"
        f"Received: by mail.{MBOX_DOMAIN} (Postfix, from userid "
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
        f"Received: by mx1.{MBOX_DOMAIN} (Postfix)\n"
        f"\tid {random_hex(r, 10).upper()}; {date_header_named(dt)}",
        f"Date: {date_header_named(dt)}",
        f"From: MAILER-DAEMON@mx1.{MBOX_DOMAIN} (Mail Delivery System)",
        "Subject: Undelivered Mail Returned to Sender",
        f"To: {PARTNER_MAILBOX}",
        "Auto-Submitted: auto-replied",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/report; report-type=delivery-status;\n\tboundary="{b}"',
        "Content-Transfer-Encoding: 8bit",
        f"Message-Id: <{dt:%Y%m%d%H%M%S}.{random_hex(r, 10).upper()}@mx1.{MBOX_DOMAIN}>",
    ]
    core = ("\n".join(head) + "\n\n" + body).encode()
    g.emit(
        Mail(
            core,
            "",
            PARTNER_MAILBOX,
            PARTNER_MAILBOX,
            None,
            dt,
            (f"mail.{MBOX_DOMAIN}", "10.20.0.5"),
        ),
        g.now + timedelta(seconds=r.randint(1, 5)),
    )


def unknown_tag(g: Generator) -> None:
    """An intro to partners+nosuch@, a plus tag no partner has."""
    r = g.r
    it = new_intro(g)
    if r.random() < 0.5:  # a sender no partner owns
        comp = g.company(reuse=0.0)
        first, last = g.person_name()
        stranger = Person(
            first,
            last,
            f"{email_local(first, last, 0)}@{comp[1]}",
            r.choice(["gmail", "outlook", "apple"]),
            r.choice(TZS),
            "Consultant",
            phone_number(r),
            comp[0],
        )
        it.contact = stranger
        it.date = g.now.astimezone(stranger.tz)
    addr = f"{MBOX_LOCAL}+nosuch@{MBOX_DOMAIN}"
    mail = intro_mail(g, it, rep_in_cc=it.rep is not None, bcc=False, paddr=addr)
    g.emit(mail, g.now + timedelta(seconds=r.randint(2, 60)))


KINDS = {"ooo": out_of_office, "newsletter": newsletter, "dsn": bounce, "nosuch": unknown_tag}
