"""Hostile, odd and racing input: each case a reviewer reproduced, as a user would meet it."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import create_engine
from bot.email.html import html_to_text
from bot.email.parse import parse
from bot.intake import rules
from bot.intake.pipeline import Intake
from bot.models import OutboxJob, Referral
from bot.referrals.directory import Directory
from tests.support.messages import message, write

outbox: sa.Table = OutboxJob.__table__  # type: ignore[attr-defined]
referral: sa.Table = Referral.__table__  # type: ignore[attr-defined]


def test_escape_codecs_and_lone_surrogates_do_not_stop_a_run(scenario, tmp_path) -> None:  # type: ignore[no-untyped-def]
    evil_subject = message(subject="=?unicode_escape?q?Intro=5Cud800?=")
    evil_body = (
        message(message_id="<body@x>")
        .replace(b'charset="UTF-8"', b'charset="unicode_escape"')
        .replace(b"Sam, meet", b"\\ud800 Sam, meet")
    )
    fine = message(to="Bob <bob@stark.example>")
    results = scenario.ingest(
        write(tmp_path, "1.eml", evil_subject),
        write(tmp_path, "2.eml", evil_body),
        write(tmp_path, "3.eml", fine),
    )
    assert [r["kind"] for r in results] == ["new_intro", "duplicate", "new_intro"]
    assert results[2]["prospect"]["email"] == "bob@stark.example"
    assert "\ud800" not in scenario.json("referrals", "show", "ACME-1")["subject"]


@pytest.mark.parametrize(
    "text",
    [
        "---------- Forwarded message ---------\n" + " " * 200_000 + "\nFrom: x",
        "From:" + " " * 200_000,
        "*" * 200_000,
        " >" * 100_000,
    ],
    ids=["spaces-after-marker", "spaces-after-label", "stars", "quotes"],
)
def test_hostile_bodies_parse(text: str) -> None:
    raw = message(subject="Fwd: intro", body=text)
    assert parse(raw).sender is not None  # returns (quadratic patterns would not, for hours)


_MB4 = 4 * 1024 * 1024


@pytest.mark.timeout(60)  # fails on a hang only; bench/hostile.py measures the time (< 1 s)
@pytest.mark.parametrize(
    "text",
    [
        "---------- Forwarded message ---------\nFrom: a@b.example\n"
        + "To: c@d.example\n" * (_MB4 // 16),
        "----- Forwarded Message ----- From: a@b.example" + " To: c@d.example" * (_MB4 // 16),
        "From: a@b.example\n\n\n" * (_MB4 // 20),
        "On Mon, a@b.example wrote\n" * (_MB4 // 26),
        "> " * (_MB4 // 2),
        "Begin forwarded message:\n" * (_MB4 // 25),
    ],
    ids=["long-block", "one-line-block", "blank-lines", "attributions", "quotes", "markers"],
)
def test_a_4_mb_header_block_parses(text: str) -> None:
    raw = message(subject="FW: intro", body=text)
    parsed = parse(raw)
    assert parsed.sender is not None and len(parsed.forwards) <= 5


@pytest.mark.parametrize(
    "html", ["<a " * 300_000, '<a b="x>"' * 100_000, "<!--" * 200_000, "<style" * 100_000]
)
def test_hostile_html_converts(html: str) -> None:
    assert isinstance(html_to_text(html), str)


def test_html_conversion_keeps_text_and_links() -> None:
    html = (
        "<html><head><title>T</title><style>p{}</style></head><body><!-- a < b -->"
        "<p>Hi <b>Jane</b> &amp; co</p><div><headline>News</headline></div>"
        '<a href="mailto:dana@x.example">Dana</a></body></html>'
    )
    assert html_to_text(html) == "Hi Jane & co\n\nNews\nDana <dana@x.example>"


def test_raw_utf8_headers_read_as_written() -> None:
    # RFC 6532: with SMTPUTF8, headers carry UTF-8 as is; Latin-1 bytes are still read.
    raw = (
        "From: Jürgen Groß <j@acme.example>\r\nSubject: Re: 1 new — since Mon\r\n\r\nHi\r\n"
    ).encode()
    parsed = parse(raw)
    assert parsed.subject == "Re: 1 new — since Mon"
    assert parsed.sender is not None and parsed.sender.name == "Jürgen Groß"
    assert parse(b"Subject: Caf\xe9\r\n\r\nHi\r\n").subject == "Café"
    mixed = "Subject: café =?utf-8?q?caf=C3=A9?= ok\r\n\r\nHi\r\n".encode()
    assert parse(mixed).subject == "café café ok"  # an encoded-word beside raw UTF-8


@pytest.mark.parametrize(
    ("header", "value"),
    [("Date", "Mon, 16 Nov 99999999999999999999 10:00:00 +0000"), ("Resent-To", "(" * 100_000)],
    ids=["date-overflow", "nested-comments"],
)
def test_unreadable_headers_still_make_the_referral(
    scenario, tmp_path, header: str, value: str
) -> None:  # type: ignore[no-untyped-def]
    [result] = scenario.ingest(write(tmp_path, "x.eml", message(headers={header: value})))
    assert (result["kind"], result["referral"]) == ("new_intro", "ACME-1")


def test_mime_nested_too_deep_keeps_the_headers(scenario, tmp_path) -> None:  # type: ignore[no-untyped-def]
    body = "".join(
        f'--b{i}\r\nContent-Type: multipart/mixed; boundary="b{i + 1}"\r\n\r\n' for i in range(3000)
    )
    raw = message(body=body).replace(
        b'Content-Type: text/plain; charset="UTF-8"',
        b'Content-Type: multipart/mixed; boundary="b0"',
    )
    [result] = scenario.ingest(write(tmp_path, "deep.eml", raw))
    assert (result["kind"], result["referral"]) == ("new_intro", "ACME-1")


def test_overlong_fields_fit_every_database(scenario, tmp_path) -> None:  # type: ignore[no-untyped-def]
    long_name = "Tony " + "Stark" * 100
    [result] = scenario.ingest(
        write(tmp_path, "l.eml", message(to=f"{long_name} <tony@stark.example>"))
    )
    assert result["kind"] == "new_intro"
    assert scenario.json("referrals", "show", "ACME-1")["prospect"]["name"] == long_name[:300]


def test_freemail_contact_does_not_adopt_the_domain(scenario, tmp_path) -> None:  # type: ignore[no-untyped-def]
    scenario(
        "partners", "add", "solo", "--name", "Jo Freelance", "--contact", "jo.freelance@gmail.com"
    )
    jo = message(
        sender="Jo <jo.freelance@gmail.com>",
        to="Wade <wade.wilson@gmail.com>",
        cc="partners+solo@ours.example",
    )
    stranger = message(
        sender="Stranger <stranger@gmail.com>",
        to="Peter <peter@parker.example>",
        cc="partners+solo@ours.example",
    )
    first, second = scenario.ingest(
        write(tmp_path, "jo.eml", jo), write(tmp_path, "s.eml", stranger)
    )
    assert (first["kind"], first["prospect"]["email"]) == ("new_intro", "wade.wilson@gmail.com")
    assert second["kind"] == "rejected" and "stranger@gmail.com" in second["reason"]
    scenario("partners", "add", "solo", "--domain", "gmail.com", expect=2)
    assert "freemail" in scenario.err


@pytest.mark.parametrize(
    ("subject", "headers"),
    [
        ("Absence management rollout - intro to Jean", {}),
        ("OOO planning tool - intro Scott", {}),
        ("Intro Selina", {"Precedence": "list", "List-Id": "<partners.ours.example>"}),
    ],
)
def test_weak_noise_signs_do_not_hide_a_known_senders_intro(
    scenario, tmp_path, subject: str, headers: dict[str, str]
) -> None:  # type: ignore[no-untyped-def]
    [result] = scenario.ingest(write(tmp_path, "i.eml", message(subject=subject, headers=headers)))
    assert (result["kind"], result["referral"]) == ("new_intro", "ACME-1")


def test_first_response_must_reach_the_prospect(scenario, tmp_path) -> None:  # type: ignore[no-untyped-def]
    intro = message(message_id="<intro@x>")
    thread = {"In-Reply-To": "<intro@x>", "References": "<intro@x>"}
    to_partner = message(
        sender="sam.rivera@ours.example",
        to="dana@acmeconsulting.example",
        cc=None,
        subject="Re: Intro",
        message_id="<r1@x>",
        headers=thread,
    )
    forward = message(
        sender="priya@ours.example",
        to="globex-intros@ours.example",
        cc=None,
        subject="FW: Intro",
        message_id="<r2@x>",
        headers=thread,
    )
    reply_all = message(
        sender="sam.rivera@ours.example",
        to="jane.doe@hooli.example",
        subject="Re: Intro",
        message_id="<r3@x>",
        headers=thread,
    )
    results = scenario.ingest(
        *(
            write(tmp_path, f"{i}.eml", m)
            for i, m in enumerate([intro, to_partner, forward, reply_all])
        )
    )
    assert [(r["kind"], r["first_response"]) for r in results] == [
        ("new_intro", False),
        ("thread_reply", False),
        ("thread_reply", False),
        ("thread_reply", True),
    ]


def test_outlook_forward_with_names_only_in_plain_text(scenario, tmp_path) -> None:  # type: ignore[no-untyped-def]
    plain = (
        "FYI\r\n\r\n________________________________\r\nFrom: Dana Scully\r\n"
        "Sent: Monday, November 16, 2026 10:00 AM\r\nTo: Sam Rivera\r\n"
        "Cc: Wanda Maximoff\r\nSubject: Introduction - Wanda\r\n\r\nSam, meet Wanda.\r\n"
    )
    html = (
        '<p>FYI</p><hr><b>From:</b> <a href="mailto:dana@acmeconsulting.example">Dana Scully'
        '</a><br><b>Sent:</b> Monday<br><b>To:</b> <a href="mailto:sam.rivera@ours.example">'
        'Sam Rivera</a><br><b>Cc:</b> <a href="mailto:wanda@westview.example">Wanda Maximoff'
        "</a><br><b>Subject:</b> Introduction - Wanda<p>Sam, meet Wanda.</p>"
    )
    body = (
        f"--alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{plain}\r\n"
        f"--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n--alt--\r\n"
    )
    raw = message(
        sender="Sam Rivera <sam.rivera@ours.example>",
        to="partners+acme@ours.example",
        cc=None,
        subject="FW: Introduction - Wanda",
        body=body,
    ).replace(
        b'Content-Type: text/plain; charset="UTF-8"',
        b'Content-Type: multipart/alternative; boundary="alt"',
    )
    [result] = scenario.ingest(write(tmp_path, "fw.eml", raw))
    assert result["prospect"] == {
        "email": "wanda@westview.example",
        "name": "Wanda Maximoff",
        "company": "Westview",
    }


def test_rep_forwards_the_prospects_own_email(scenario, tmp_path) -> None:  # type: ignore[no-untyped-def]
    body = (
        "See below, Dana sent her our way.\r\n\r\n---------- Forwarded message ---------\r\n"
        "From: Kara Danvers <kara@catco.example>\r\nDate: Mon, 16 Nov 2026 at 09:00\r\n"
        "Subject: Dana from Acme said to reach out\r\nTo: Sam Rivera <sam.rivera@ours.example>"
        "\r\n\r\nHi Sam, Dana suggested I contact you about a pilot.\r\n"
    )
    raw = message(
        sender="Sam Rivera <sam.rivera@ours.example>",
        to="partners+acme@ours.example",
        cc=None,
        subject="Fwd: Dana from Acme said to reach out",
        body=body,
    )
    [result] = scenario.ingest(write(tmp_path, "k.eml", raw))
    assert (result["kind"], result["prospect"]["email"]) == ("new_intro", "kara@catco.example")


def test_failure_in_intake_keeps_the_message_and_the_run_goes_on(
    scenario, tmp_path, monkeypatch, db_url
) -> None:  # type: ignore[no-untyped-def]
    real = rules.find_prospect

    def flaky(msg, partner, directory):  # type: ignore[no-untyped-def]
        if "boom" in msg.subject:
            raise RuntimeError("boom in a rule")
        return real(msg, partner, directory)

    monkeypatch.setattr(rules, "find_prospect", flaky)
    paths = [
        write(tmp_path, "1.eml", message()),
        write(tmp_path, "2.eml", message(subject="boom", to="x@stark.example")),
        write(tmp_path, "3.eml", message(to="Bob <bob@stark.example>")),
    ]
    dry = scenario.ingest(*paths, dry_run=True)
    assert [r["kind"] for r in dry] == ["new_intro", "rejected", "new_intro"]
    assert scenario.json("referrals", "list") == [] and scenario.json("triage") == []
    real_run = scenario.ingest(*paths)
    assert [r["kind"] for r in real_run] == ["new_intro", "rejected", "new_intro"]
    assert "internal error: RuntimeError: boom in a rule" in real_run[1]["reason"]
    [kept] = scenario.json("triage")
    assert kept["subject"] == "boom"
    # The batch was tried whole first and rolled back: each landed intro's side effects are
    # queued once, in order, and the rejected message queued none.
    assert slack_jobs(db_url) == [("ACME-1", "slack_post"), ("ACME-2", "slack_post")]


def slack_jobs(db_url: str) -> list[tuple[str, str]]:
    """(referral, kind) of every Slack job in the outbox, in the order they were queued."""

    async def read() -> list[tuple[str, str]]:
        engine = create_engine(db_url)
        try:
            async with engine.connect() as conn:
                rows = await conn.execute(
                    sa.select(referral.c.ref, outbox.c.kind)
                    .join(referral, referral.c.id == outbox.c.referral_id)
                    .where(outbox.c.kind.startswith("slack"))
                    .order_by(outbox.c.id)
                )
                return [(ref, kind) for ref, kind in rows]
        finally:
            await engine.dispose()

    return asyncio.run(read())


async def test_two_partners_racing_for_one_prospect(
    engine: AsyncEngine, db_url: str, directory: Directory
) -> None:
    """Acme's and Globex's intros of one prospect at the same instant: exactly one disputed."""
    other = create_engine(db_url)
    try:
        for round_ in range(5):
            prospect = f"Pat <pat{round_}@race.example>"
            acme = message(to=prospect)
            globex = message(
                sender="Hank <hank@globexpartners.example>",
                to=prospect,
                cc="globex-intros@ours.example",
            )
            async with contextlib.AsyncExitStack() as stack:
                a, b = [
                    await stack.enter_async_context(
                        Intake.open(engine=e, directory=directory, protection=timedelta(days=90))
                    )
                    for e in (engine, other)
                ]
                results = await asyncio.gather(a.ingest(acme), b.ingest(globex))
            assert sorted(r.conflict_with is not None for r in results) == [False, True]
    finally:
        await other.dispose()
