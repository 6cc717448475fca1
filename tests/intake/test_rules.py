"""The pure steps: parse, forwards, noise, partner and prospect rules, on bytes, no database."""

from __future__ import annotations

import pytest

from bot.email.forwards import find_forward_block
from bot.email.headers import decode
from bot.email.html import html_to_text
from bot.email.parse import parse
from bot.intake.rules import company_from_domain, find_partner, noise
from bot.referrals.directory import Directory, PartnerInfo
from tests.support.messages import message

ACME = PartnerInfo(
    id=1,
    slug="acme",
    name="Acme",
    contacts=frozenset({"dana@acme.example"}),
    domains=frozenset({"acme.example"}),
    aliases=frozenset({"acme@ours.example"}),
)
DIRECTORY = Directory(
    internal_domains=frozenset({"ours.example"}),
    mailbox="partners@ours.example",
    partners={1: ACME},
)


@pytest.mark.parametrize(
    ("domain", "company"),
    [
        ("hooli.example", "Hooli"),
        ("wayne-enterprises.example", "Wayne Enterprises"),
        ("mail.stark.co.uk", "Stark"),
        ("gmail.com", None),
        ("proton.me", None),
    ],
)
def test_company_from_domain(domain: str, company: str | None) -> None:
    assert company_from_domain(domain) == company


@pytest.mark.parametrize(
    ("encoded", "text"),
    [
        ("=?iso-8859-1?Q?Jos=E9_M=FCller?=", "José Müller"),
        ("=?UTF-8?B?55Sw5LitIOe+juWSsg==?=", "田中 美咲"),
        ("=?x-unknown?Q?Caf=C3=A9?=", "Café"),
        ("=?broken", "=?broken"),
    ],
)
def test_header_decoding_never_fails(encoded: str, text: str) -> None:
    assert decode(encoded) == text


@pytest.mark.parametrize(
    ("headers", "subject", "kind"),
    [
        ({"Auto-Submitted": "auto-replied"}, "Re: intro", "auto_reply"),
        ({"Auto-Submitted": "no"}, "Re: intro", None),
        ({"Precedence": "bulk"}, "Newsletter", "auto_reply"),
        ({"X-Autoreply": "yes"}, "Re: intro", "auto_reply"),
        ({}, "Automatic reply: Intro", "auto_reply"),
        ({}, "Out of Office: back Monday", "auto_reply"),
        ({}, "Abwesenheitsnotiz: Intro", "auto_reply"),
        ({}, "Intro: Jane <> Sam", None),
    ],
)
def test_noise(headers: dict[str, str], subject: str, kind: str | None) -> None:
    found = noise(
        parse(message(sender="Jane <jane@hooli.example>", subject=subject, headers=headers)),
        DIRECTORY,
    )
    assert (found[0] if found else None) == kind


def test_partner_from_plus_tag_alias_and_bcc() -> None:
    def partner_of(**kw: object) -> str | None:
        match = find_partner(parse(message(**kw)), DIRECTORY)  # type: ignore[arg-type]
        return match.partner.slug if match.partner else match.unknown_tag

    assert partner_of(cc="PARTNERS+ACME@ours.example") == "acme"
    assert partner_of(cc="acme@ours.example") == "acme"
    assert partner_of(cc=None, headers={"Delivered-To": "partners+acme@ours.example"}) == "acme"
    assert partner_of(cc=None, headers={"X-Original-To": "acme@ours.example"}) == "acme"
    assert partner_of(cc=None, headers={"Envelope-To": "partners+acme@ours.example"}) == "acme"
    # A Google Workspace alias or catch-all keeps the original recipient here.
    assert partner_of(cc=None, headers={"X-Gm-Original-To": "acme@ours.example"}) == "acme"
    assert partner_of(cc="partners+nosuch@ours.example") == "nosuch"
    assert partner_of(cc="partners@ours.example") is None
    # Reply-To names nothing: it is never an address a message was delivered to.
    assert partner_of(cc=None, headers={"Reply-To": "partners+acme@ours.example"}) is None


@pytest.mark.parametrize(
    ("marker", "labels"),
    [
        ("---------- Forwarded message ---------", ("From", "Date", "Subject", "To", "Cc")),
        ("________________________________", ("From", "Sent", "To", "Cc", "Subject")),
        ("-----Original Message-----", ("From", "Sent", "To", "Cc", "Subject")),
        ("Begin forwarded message:\n", ("From", "Subject", "Date", "To", "Cc")),
        ("-------- Forwarded Message --------", ("Subject", "Date", "From", "To", "CC")),
        ("-------- Message transféré --------", ("Objet", "Date", "De", "À", "Copie")),
        ("---------- Weitergeleitete Nachricht ---------", ("Von", "Datum", "Betreff", "An", "Cc")),
    ],
)
def test_forward_blocks(marker: str, labels: tuple[str, ...]) -> None:
    values = {
        "from": "Dana Scully <dana@acme.example>",
        "date": "Mon, 16 Nov 2026",
        "subject": "Intro",
        "to": "Sam <sam@ours.example>",
        "cc": "Jane Doe [mailto:jane@hooli.example]; Bob <bob@hooli.example>",
    }
    keys = ("from", "date", "subject", "to", "cc")
    order = {
        "Sent": "date",
        "Objet": "subject",
        "De": "from",
        "À": "to",
        "Copie": "cc",
        "Von": "from",
        "Datum": "date",
        "Betreff": "subject",
        "An": "to",
        "CC": "cc",
    }
    lines = [f"{label}: {values[order.get(label, label.lower())]}" for label in labels]
    text = f"FYI, see below.\n\n{marker}\n" + "\n".join(lines) + "\n\nSam, meet Jane."
    block = find_forward_block(text)
    assert block is not None
    assert block.headers["from"] == ["Dana Scully <dana@acme.example>"]
    assert "jane@hooli.example" in " ".join(block.headers["cc"])
    assert block.text == "Sam, meet Jane."
    assert set(keys) <= set(block.headers)


def test_a_reply_quote_is_not_a_forward() -> None:
    assert find_forward_block("Thanks!\n\nOn Mon, Jane <jane@hooli.example> wrote:\n> hi") is None


def test_html_keeps_mailto_addresses() -> None:
    html = (
        '<div><b>From:</b> <a href="mailto:dana@acme.example">Dana Scully</a><br>'
        "<b>To:</b> Sam<script>alert(1)</script></div><p>Hello&nbsp;there</p>"
    )
    assert html_to_text(html) == "From: Dana Scully <dana@acme.example>\nTo: Sam\n\nHello there"


def test_forwarded_rfc822_attachment_and_message_id_missing() -> None:
    inner = message(sender="Dana <dana@acme.example>", to="jane@hooli.example", cc=None)
    outer = (
        b"From: sam@ours.example\r\nTo: partners+acme@ours.example\r\nSubject: Fwd: Intro\r\n"
        b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="x"\r\n\r\n'
        b"--x\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--x\r\n"
        b"Content-Type: message/rfc822\r\n\r\n" + inner + b"\r\n--x--\r\n"
    )
    parsed = parse(outer)
    assert parsed.message_id is None and parsed.dedupe_key.startswith("sha256:")
    assert parsed.forwarded is not None and parsed.forwarded.via == "rfc822"
    assert (
        parsed.forwarded.sender is not None and parsed.forwarded.sender.email == "dana@acme.example"
    )
    # The same message delivered again with other delivery headers hashes the same.
    assert parse(b"Delivered-To: x@ours.example\r\n" + outer).dedupe_key == parsed.dedupe_key
