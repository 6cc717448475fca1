"""Digest replies answered inline: each answer lands on the referral quoted above it.

The digest goes out through a real SMTP server (aiosmtpd); the partner's answer comes back
through intake, as a mail client composes it: the digest quoted line by line, with the
partner's words under the lines they answer.
"""

from __future__ import annotations

import html
import json
import re

import pytest

from bot.db import session_factory
from bot.demo.standin.smtp import Delivered
from bot.email.extract import split_reply
from bot.referrals.lookup import triage
from tests.support.digests import ATTRIBUTION, DANA, World, answered, reply, sent_digest
from tests.support.paths import FIXTURES


async def danas_digest(world: World) -> Delivered:
    """Monday's digest, sent over SMTP, as Dana received it."""
    await sent_digest(world)
    return world.smtp.inbox.to(DANA)[0]


async def test_each_answer_lands_on_the_referral_quoted_above_it(world: World) -> None:
    digest = await danas_digest(world)
    body = answered(
        digest,
        {
            "ACME-2 ·": "She signed the NDA yesterday!",
            "Next step: Demo": "The CTO can do Thursday at 3pm.\n\nShould I invite their CFO too?",
        },
        end="Sent from my iPhone",
    )
    result = await world.ingest(reply(digest, body, quote=False))
    assert (result.kind, result.reason) == ("digest_reply", None)
    assert result.answers == [
        {"referral": "ACME-2", "text": "She signed the NDA yesterday!"},
        {
            "referral": "ACME-1",
            "text": "The CTO can do Thursday at 3pm.\n\nShould I invite their CFO too?",
        },
    ]
    assert await world.events() == [
        ("ACME-2", "She signed the NDA yesterday!"),
        ("ACME-1", "The CTO can do Thursday at 3pm.\n\nShould I invite their CFO too?"),
    ]
    shown = result.as_json()
    assert shown["text"] == (
        "She signed the NDA yesterday!\n\n"
        "The CTO can do Thursday at 3pm.\n\nShould I invite their CFO too?"
    )
    assert json.loads(json.dumps(shown))["answers"] == result.answers
    # Delivered again, nothing is applied twice.
    again = await world.ingest(reply(digest, body, quote=False))
    assert again.kind == "duplicate"
    assert len(await world.events()) == 2


async def test_an_answer_under_a_referrals_reply_line_or_its_fields_is_still_about_it(
    world: World,
) -> None:
    digest = await danas_digest(world)
    body = answered(
        digest, {"Reply about ACME-2": "Not a fit after all.", "Owner: Sam": "Sam was great."}
    )
    result = await world.ingest(reply(digest, body, quote=False))
    assert await world.events() == [
        ("ACME-2", "Not a fit after all."),
        ("ACME-1", "Sam was great."),
    ]
    assert result.referral == "ACME-2"


async def test_text_above_the_quotes_goes_to_the_refs_it_names(world: World) -> None:
    digest = await danas_digest(world)
    body = answered(digest, {"ACME-1 ·": "Demo went well."}, top="ACME-2 is on hold until May.")
    result = await world.ingest(reply(digest, body, quote=False))
    assert result.reason is None
    assert await world.events() == [
        ("ACME-2", "ACME-2 is on hold until May."),
        ("ACME-1", "Demo went well."),
    ]


async def test_an_answer_that_names_another_ref_reaches_it_too(world: World) -> None:
    digest = await danas_digest(world)
    body = answered(digest, {"ACME-1 ·": "Same as ACME-2: they merged, talk to Bruce."})
    await world.ingest(reply(digest, body, quote=False))
    text = "Same as ACME-2: they merged, talk to Bruce."
    assert await world.events() == [("ACME-1", text), ("ACME-2", text)]


async def test_unplaced_text_waits_for_a_manager_while_the_answers_land(world: World) -> None:
    digest = await danas_digest(world)
    # Above the quotes, naming nothing, in a digest of two: only a person can place it. So is
    # a note under the whole digest (below our footer), which answers no one referral.
    body = answered(
        digest,
        {"ACME-2 ·": "Meeting booked for Monday."},
        top="Hi team, answers inline. Can we talk about Q1 targets?",
        end="Also: we are moving offices next week.",
    )
    result = await world.ingest(reply(digest, body, quote=False))
    assert await world.events() == [("ACME-2", "Meeting booked for Monday.")]
    assert result.reason == (
        "answers landed on ACME-2; the rest names no referral and the digest covers several: "
        "for a manager to place"
    )
    async with session_factory(world.engine)() as session:
        waiting = await triage(session=session)
    assert [(t["kind"], t["reason"]) for t in waiting] == [("digest_reply", result.reason)]
    # Tried again (a re-ingest of the mailbox), the answers do not land twice.
    again = await world.ingest(reply(digest, body, quote=False))
    assert again.kind == "duplicate"
    assert len(await world.events()) == 1


async def test_a_reply_to_a_one_referral_notice_answers_it_wherever_written(
    world: World,
) -> None:
    digest = await danas_digest(world)
    about = next(
        line.split(": ", 1)[1]
        for line in digest.part("plain").splitlines()
        if line.strip().startswith("Reply about ACME-1")
    )
    body = answered(digest, {"ACME-2 ·": "Bruce is on leave."}, top="Budget approved!")
    await world.ingest(reply(digest, body, quote=False, to=about))
    # The address is ACME-1's: the text above the quotes is about it, the answer about ACME-2.
    assert await world.events() == [
        ("ACME-1", "Budget approved!"),
        ("ACME-2", "Bruce is on leave."),
    ]


async def test_a_bottom_posted_reply_is_not_taken_for_the_last_referral(world: World) -> None:
    digest = await danas_digest(world)
    body = answered(digest, {}, end="ACME-2 signed, thanks all!")
    result = await world.ingest(reply(digest, body, quote=False))
    assert (result.answers, result.reason) == (None, None)
    assert await world.events() == [("ACME-2", "ACME-2 signed, thanks all!")]


def _gmail_inline(digest: Delivered, answer_2: str, answer_1: str) -> str:
    """Gmail's HTML for inline answers: the quote split around each answer, in div.gmail_quote."""
    page = digest.part("html")
    body = page[page.index("<body") : page.index("</body>")]
    cut = body.rfind("<tr", 0, body.index("Open referrals ("))  # after ACME-2's block
    end = body.rfind("<tr", 0, body.index("Reply to this email"))  # our footer
    quote = '<blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex">{}</blockquote>'
    return (
        '<div dir="ltr">Hi, answers below.</div><br><div class="gmail_quote">'
        f'<div dir="ltr" class="gmail_attr">{html.escape(ATTRIBUTION)}<br></div>'
        f"{quote.format(body[:cut])}<div>{html.escape(answer_2)}</div>"
        f"{quote.format(body[cut:end])}<div>{html.escape(answer_1)}</div>"
        f"{quote.format(body[end:])}</div>"
    )


async def test_html_only_inline_answers_from_gmail(world: World) -> None:
    digest = await danas_digest(world)
    body = _gmail_inline(digest, "Call booked with Bruce.", "Demo moved to Friday.")
    split = split_reply("", body)
    assert "Call booked with Bruce." in split.text
    result = await world.ingest(reply(digest, body, quote=False, content_type="text/html"))
    assert result.answers == [
        {"referral": "ACME-2", "text": "Call booked with Bruce."},
        {"referral": "ACME-1", "text": "Demo moved to Friday."},
    ]
    # "Hi, answers below." names nothing in a digest of two: kept for a manager.
    assert "for a manager to place" in (result.reason or "")


async def test_html_only_inline_answers_from_apple_mail(world: World) -> None:
    digest = await danas_digest(world)
    plain = digest.part("plain").splitlines()
    cut = next(i for i, line in enumerate(plain) if line.startswith("OPEN REFERRALS"))

    def cite(lines: list[str]) -> str:
        inner = "".join(f"<div>{html.escape(line) or '<br>'}</div>" for line in lines)
        return f'<blockquote type="cite">{inner}</blockquote>'

    body = (
        "<html><body><div><br>"
        f'<blockquote type="cite"><div>{html.escape(ATTRIBUTION)}</div></blockquote>'
        f"{cite(plain[:cut])}<div>Bruce wants pricing first.</div><div><br></div>"
        f"{cite(plain[cut:])}<div>Von meinem iPhone gesendet</div></div></body></html>"
    )
    result = await world.ingest(reply(digest, body, quote=False, content_type="text/html"))
    assert (result.reason, result.answers) == (
        None,
        [{"referral": "ACME-2", "text": "Bruce wants pricing first."}],
    )


OWN = FIXTURES / "replies" / "own"
CASES = json.loads((OWN / "answers.json").read_text(encoding="utf-8"))
REF = re.compile(r"\bACME-\d+\b")


def readdressed(raw: bytes, digest: Delivered) -> bytes:
    """A fixture reply, sent to this digest: its To and In-Reply-To/References replaced."""
    head, sep, body = raw.partition(b"\r\n\r\n") if b"\r\n\r\n" in raw else raw.partition(b"\n\n")
    ours = {
        b"to": f"To: {digest.message['Reply-To']}".encode(),
        b"in-reply-to": f"In-Reply-To: {digest.message['Message-ID']}".encode(),
        b"references": f"References: {digest.message['Message-ID']}".encode(),
    }
    lines = [
        ours.get(line.split(b":", 1)[0].strip().lower(), line)
        for line in head.splitlines()
        if not line[:1].isspace() or not line.strip()  # these fixtures fold no such header
    ]
    return b"\r\n".join(lines) + sep + body


@pytest.mark.parametrize("case", sorted(CASES), ids=str)
async def test_inline_answers_in_each_language_and_client(world: World, case: str) -> None:
    """The own reply cases (tests/fixtures/replies/own): each language's client, inline."""
    digest = await danas_digest(world)
    expected = CASES[case]
    want: dict[str, list[str]] = {}
    loose = expected["loose"]
    for ref in REF.findall(loose):
        want.setdefault(ref, []).append(loose)
    for answer in expected["answers"]:
        for ref in dict.fromkeys([answer["referral"], *REF.findall(answer["text"])]):
            want.setdefault(ref, []).append(answer["text"])
    result = await world.ingest(readdressed((OWN / f"{case}.eml").read_bytes(), digest))
    assert result.kind == "digest_reply"
    got = {a["referral"]: a["text"] for a in result.answers or []}
    assert got == {ref: "\n\n".join(texts) for ref, texts in want.items()}
    unplaced = bool(loose) and not REF.search(loose)
    assert ("for a manager to place" in (result.reason or "")) == unplaced
    assert sorted(await world.events()) == sorted(got.items())


OUTLOOK_HEADER = (
    "From: Ours Partnerships <partners@ours.example>\n"
    "Sent: Monday, November 30, 2026 10:00 AM\n"
    f"To: Dana Scully <{DANA}>\n"
    "Subject: Acme Consulting: 1 new referral, 2 open"
)


async def test_outlook_inline_answers_inside_the_unmarked_history(world: World) -> None:
    # Outlook quotes nothing: the partner types (in red) between the digest's own lines.
    digest = await danas_digest(world)
    history = answered(digest, {"Reply about ACME-2": "Bruce signed on Friday."}).splitlines()
    history = [line.removeprefix(">").removeprefix(" ") for line in history[1:]]
    body = "\n".join(["Hi Sam, answers in red below.", "", "_" * 32, OUTLOOK_HEADER, "", *history])
    result = await world.ingest(reply(digest, body, quote=False))
    assert result.answers == [{"referral": "ACME-2", "text": "Bruce signed on Friday."}]
    assert await world.events() == [("ACME-2", "Bruce signed on Friday.")]
    assert "for a manager to place" in (result.reason or "")  # the greeting names nothing


async def test_outlook_html_inline_answers_and_a_plain_outlook_reply_without_any(
    world: World,
) -> None:
    digest = await danas_digest(world)
    page = digest.part("html")
    ours = page[page.index("<body") : page.index("</body>")]
    cut = ours.rfind("<tr", 0, ours.index("Open referrals ("))  # after ACME-2's block
    header = "<br>".join(
        f"<b>{k}:</b> {html.escape(v)}"
        for k, v in (line.split(": ", 1) for line in OUTLOOK_HEADER.splitlines())
    )
    body = (
        "<html><body><div>Hi Sam, see inline.</div><hr>"
        f'<div id="divRplyFwdMsg">{header}</div><div>{ours[:cut]}'
        '<p style="color:red">Bruce wants a call on Thursday.</p>'
        f"{ours[cut:]}</div></body></html>"
    )
    result = await world.ingest(reply(digest, body, quote=False, content_type="text/html"))
    assert result.answers == [{"referral": "ACME-2", "text": "Bruce wants a call on Thursday."}]
    # The same client's reply with nothing inside the history answers nothing inline.
    plain = "\n".join(
        ["ACME-1: the demo is confirmed.", "", OUTLOOK_HEADER, "", digest.part("plain")]
    )
    top = await world.ingest(reply(digest, plain, quote=False))
    assert (top.answers, top.referral, top.text) == (
        None,
        "ACME-1",
        "ACME-1: the demo is confirmed.",
    )


def unquoted(digest: Delivered, answers: dict[str, str]) -> list[str]:
    """The digest's text as Outlook leaves it in the history (no ">"), answers typed in."""
    return [
        line.removeprefix("> ").removeprefix(">")
        for line in answered(digest, answers).splitlines()[1:]
    ]


async def test_an_answer_under_a_section_title_is_about_no_one_referral(world: World) -> None:
    digest = await danas_digest(world)
    body = answered(digest, {"OPEN REFERRALS": "None of the open ones moved: review them Friday?"})
    result = await world.ingest(reply(digest, body, quote=False))
    assert (result.answers, result.referral) == (None, None)
    assert "for a manager to place" in (result.reason or "")


async def test_a_quote_trimmed_to_the_reply_about_lines_still_places_each_answer(
    world: World,
) -> None:
    digest = await danas_digest(world)
    about = [line for line in digest.part("plain").splitlines() if "Reply about ACME-" in line]
    body = "\n".join(
        [
            ATTRIBUTION,
            f"> {about[0]}",
            "",
            "NDA signed yesterday.",
            "",
            f"> {about[1]}",
            "",
            "Demo moved.",
        ]
    )
    result = await world.ingest(reply(digest, body, quote=False))
    assert result.answers == [
        {"referral": "ACME-2", "text": "NDA signed yesterday."},
        {"referral": "ACME-1", "text": "Demo moved."},
    ]


async def test_our_mail_pasted_unmarked_keeps_the_answers_typed_into_it(world: World) -> None:
    # No header, no ">": the client appended the digest as it was; "no" is an answer too.
    digest = await danas_digest(world)
    copy = unquoted(digest, {"ACME-2 ·": "no", "Next step: Demo": "The CTO cancelled."})
    body = "\n".join(["ACME-2 did not answer yet. Answers below.", "", *copy])
    result = await world.ingest(reply(digest, body, quote=False))
    assert result.answers == [
        {"referral": "ACME-2", "text": "ACME-2 did not answer yet. Answers below.\n\nno"},
        {"referral": "ACME-1", "text": "The CTO cancelled."},
    ]


async def test_a_colleagues_answer_to_an_outlook_reply_does_not_apply_it_again(
    world: World,
) -> None:
    digest = await danas_digest(world)
    danas = [
        "See my answers inline.",
        "",
        OUTLOOK_HEADER,
        "",
        *unquoted(digest, {"ACME-2 ·": "NDA is signed."}),
    ]
    await world.ingest(reply(digest, "\n".join(danas), quote=False))
    lees = [
        "Adding: I will join the ACME-1 call.",
        "",
        "-----Original Message-----",
        f"From: Dana Scully <{DANA}>",
        "Sent: Monday, November 30, 2026 11:00 AM",
        f"To: {digest.message['Reply-To']}",
        "Subject: RE: Acme Consulting",
        "",
        *danas,
    ]
    lee = "Lee <lee@acmeconsulting.example>"
    result = await world.ingest(reply(digest, "\n".join(lees), quote=False, sender=lee))
    assert (result.answers, result.referral) == (None, "ACME-1")
    assert await world.events() == [
        ("ACME-2", "NDA is signed."),
        ("ACME-1", "Adding: I will join the ACME-1 call."),
    ]


async def test_outlooks_plain_part_with_link_targets_adds_nothing_of_ours(world: World) -> None:
    # Outlook's text/plain shows our links as "Reply about ACME-2<mailto:…>": still our words.
    digest = await danas_digest(world)
    lines = []
    for line in unquoted(digest, {"Reply about ACME-2": "Bruce wants a call on Thursday."}):
        if "Reply about ACME-" in line:
            line = line.replace(": partners", "<mailto:partners") + "?subject=Re%3A%20x>"
        lines.append(line)
    body = "\n".join(["ACME-1: the demo is on.", "", "_" * 32, OUTLOOK_HEADER, "", *lines])
    result = await world.ingest(reply(digest, body, quote=False))
    assert (result.reason, result.answers) == (
        None,
        [
            {"referral": "ACME-1", "text": "ACME-1: the demo is on."},
            {"referral": "ACME-2", "text": "Bruce wants a call on Thursday."},
        ],
    )


async def test_a_reply_below_the_whole_digest_without_its_footer_is_about_none(
    world: World,
) -> None:
    # Thunderbird drops a "-- " signature (our footer) from the quote: the last referral then
    # stands right above a reply written under the whole digest.
    digest = await danas_digest(world)
    plain = digest.part("plain")
    quoted = [f"> {line}".rstrip() for line in plain[: plain.index("\n-- ")].splitlines()]
    body = "\n".join([ATTRIBUTION, *quoted, "", "Thanks, all good here. Call next week?"])
    result = await world.ingest(reply(digest, body, quote=False))
    assert (result.answers, result.referral) == (None, None)
    assert "for a manager to place" in (result.reason or "")
    # An answer under the last referral among answers to others is still about it.
    answers = {"ACME-2 ·": "Signed.", "Reply about ACME-1": "Demo on Friday."}
    both = await world.ingest(reply(digest, answered(digest, answers), quote=False))
    assert [a["referral"] for a in both.answers or []] == ["ACME-2", "ACME-1"]
