"""Delivery into our mailbox: the receiving side's headers, the mbox entry, re-deliveries."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from .cast import MBOX_DOMAIN, PARTNER_MAILBOX, REPS
from .formats import SLASHLESS, asctime, date_header_named, random_b64, random_hex, received_for
from .sending import Mail

if TYPE_CHECKING:
    from .generator import Generator

_FROM_LINE = re.compile(rb"^(>*From )", re.MULTILINE)


def delivery_headers(r: random.Random, mail: Mail, when: datetime, variant: int) -> str:
    """The headers our MX and LMTP add on delivery; `variant` > 0 is a re-delivery."""
    w = date_header_named(when.astimezone(UTC))
    orig, final = mail.orig_rcpt, mail.final_rcpt
    extra = ""
    if variant == 1:  # re-delivered through the plain mailbox
        final = PARTNER_MAILBOX
    elif variant == 2:  # came back via a rep's forwarding rule
        rep = r.choice(REPS)
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
        f"Received: from mx1.{MBOX_DOMAIN} (mx1.{MBOX_DOMAIN} [10.20.0.11])\n\tby "
        f"mail.{MBOX_DOMAIN} (Postfix) with LMTP id {random_hex(r, 12).upper()}"
        f"{received_for(None if mail.hidden else final)}; {w}",
    ]
    if sender is not None and sender.domain != MBOX_DOMAIN:
        spam = round(r.uniform(-3.5, 2.5), 1)
        lines.append(
            f"Authentication-Results: mx1.{MBOX_DOMAIN};\n"
            "\tdkim=pass (2048-bit key; unprotected) "
            f'header.d={sdom} header.i=@{sdom} header.b="{random_b64(r, 6)}";\n\tspf=pass '
            f"(mx1.{MBOX_DOMAIN}: domain of {env} designates {mail.relay[1]} "
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
        f"\tby mx1.{MBOX_DOMAIN} (Postfix) with ESMTPS id "
        f"4{random_b64(r, 9).translate(SLASHLESS).replace('+', 'x')}"
        f"{received_for(None if mail.hidden else orig)}; "
        f"{date_header_named((mail.date + timedelta(seconds=r.randint(1, 40))).astimezone(UTC))}"
    )
    return "\n".join(lines) + "\n" + extra


def entry(r: random.Random, mail: Mail, deliver: datetime, variant: int = 0) -> bytes:
    """The mbox entry for one delivery of `mail`: envelope line, headers, body, blank line."""
    hdrs = delivery_headers(r, mail, deliver, variant)
    data = hdrs.encode("ascii") + mail.core
    if not data.endswith(b"\n"):
        data += b"\n"
    # mboxrd: a body line that could be read as an envelope gets one more ">"
    data = _FROM_LINE.sub(rb">\1", data)
    env = mail.env_from or "MAILER-DAEMON"
    return f"From {env} {asctime(deliver)}\n".encode("ascii") + data + b"\n"


def duplicate(g: Generator) -> bool:
    """Re-deliver a recent message: same Message-ID, new delivery headers."""
    r = g.r
    if not g.recent:
        return False
    k = len(g.recent) - 1 - min(int(r.expovariate(1 / 40.0)), len(g.recent) - 1)
    mail = g.recent[k]
    variant = r.choice([0, 1, 1, 2, 3])
    if variant == 2 and mail.hidden:  # a Bcc'd copy never went through a rep's mailbox
        variant = 3
    g.detail(f"duplicate.v{variant}")
    g.emit(mail, g.now + timedelta(seconds=r.randint(1, 60)), variant)
    return True
