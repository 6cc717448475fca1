"""A message as it leaves the sender: headers in its client's order, its server's trace."""

from __future__ import annotations

import random
import re
from datetime import datetime

from .cast import MBOX_DOMAIN, Person
from .formats import (
    address,
    address_header,
    date_header,
    fold,
    random_b64,
    random_hex,
    received_for,
    subject_header,
)


class Mail:
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


def sender_relay(r: random.Random, p: Person) -> tuple[str, str]:
    """The sending server (name, IP) for a person's mail."""
    if p.domain == MBOX_DOMAIN:
        return f"mail.{MBOX_DOMAIN}", f"10.20.0.{r.randint(5, 9)}"
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


def sender_trace(
    r: random.Random, p: Person, dt: datetime, rcpt: str | None, relay: tuple[str, str]
) -> list[str]:
    """Sender-side Received/DKIM headers (part of the message core)."""
    out = []
    d = date_header(dt)
    if p.domain == MBOX_DOMAIN:
        out.append(
            f"Received: from [10.30.{r.randint(0, 9)}.{r.randint(2, 250)}] "
            f"(vpn-{r.randint(10, 99)}.{MBOX_DOMAIN} [10.30.0.1])\n\tby {relay[0]} "
            f"(Postfix) with ESMTPSA id {random_hex(r, 11).upper()}{received_for(rcpt)}; {d}"
        )
        sel, hs = "mail", "from:to:cc:subject:date:message-id:in-reply-to:references"
    elif p.client == "gmail":
        out.append(
            f"Received: by {relay[0]} with SMTP id {random_hex(r, 8)}-{random_hex(r, 12)}so"
            f"{r.randint(1000000, 9999999)}.{r.randint(1, 9)}{received_for(rcpt)}; {d}"
        )
        out.append(f"X-Google-Smtp-Source: AGHT+I{random_b64(r, 60)[:78]}")
        out.append(
            f"X-Received: by 2002:a05:{r.randint(6000, 6999)}:{random_hex(r, 4)}:b0:"
            f"{random_hex(r, 3)}:{random_hex(r, 4)} with SMTP id {random_hex(r, 12)}mr"
            f"{r.randint(1000000, 9999999)}{random_hex(r, 3)}.{r.randint(1, 40)}."
            f"{r.randint(1000000000000, 9999999999999)};\n\t {d}"
        )
        out.append(f"X-Gm-Message-State: AOJu0Y{fold(random_b64(r, 60), 72)}")
        sel = "20230601" if p.domain == "gmail.com" else "google"
        hs = "cc:to:subject:message-id:date:from:in-reply-to:references:mime-version:from:to:cc"
    elif p.client == "outlook":
        host = (
            f"{r.choice(['DM6PR', 'BN8PR', 'SA1PR'])}{r.randint(10, 19)}MB"
            f"{r.randint(1000, 9999)}"
            f".namprd{r.randint(10, 19)}.prod.outlook.example"
        )
        out.append(
            f"Received: from {host} ([fe80::{random_hex(r, 4)}:{random_hex(r, 4)}:"
            f"{random_hex(r, 4)}:{random_hex(r, 4)}]) by {host}\n ([fe80::{random_hex(r, 4)}:"
            f"{random_hex(r, 4)}:{random_hex(r, 4)}:{random_hex(r, 4)}%{r.randint(3, 7)}])"
            f" with mapi id 15.20.{r.randint(7000, 8200)}.{r.randint(1, 40):03d}; {d}"
        )
        out.append(
            "ARC-Seal: i=1; a=rsa-sha256; s=arcselector10001; d=microsoft.example; cv=none;\n"
            f" b={fold(random_b64(r, 256), 72, chr(10) + ' ')}"
        )
        sel = "selector1"
        hs = "From:Date:Subject:Message-ID:Content-Type:MIME-Version:X-MS-Exchange-SenderADCheck"
    else:
        out.append(
            f"Received: from smtpclient.apple ([192.0.2.{r.randint(1, 254)}])\n\tby {relay[0]} "
            f"(Postfix) with ESMTPSA id {random_hex(r, 11).upper()}{received_for(rcpt)}; {d}"
        )
        sel = "mail"
        hs = "from:content-type:mime-version:subject:message-id:date:to"
    out.append(
        f"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\n\td={p.domain}; s={sel}; "
        f"t={int(dt.timestamp())}; x={int(dt.timestamp()) + 604800};\n\th={hs};\n"
        f"\tbh={random_b64(r, 32)};\n\tb={fold(random_b64(r, 256), 70)}"
    )
    return out


def compose(
    r: random.Random,
    sender: Person,
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
    """The message as the sender's client writes it: headers in its order, then body."""
    client = sender.client
    relay = relay or ("", "")
    h = sender_trace(r, sender, dt, rcpt, relay) if trace else []
    frm = f"From: {address(sender, r)}"
    date = f"Date: {date_header(dt)}"
    subj = subject_header(subject)
    to_h = address_header("To", to) if to else None
    cc_h = address_header("Cc" if client != "outlook" else "CC", cc) if cc else None
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
            subject_header(topic, "Thread-Topic"),
            f"Thread-Index: A{random_b64(r, 21 + 6 * r.randint(0, 3))}",
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
