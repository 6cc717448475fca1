"""What a partner's reply becomes in Slack: only the text they wrote, whatever client sent it.

The corpus cases read the public reply corpora beside the project (../shared/corpora/reply) and
compare with the labels in tests/fixtures/replies/ (see its README for where each came from).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bot.email.extract import Part, new_text, split_reply
from bot.email.parse import parse
from tests.support.paths import CORPORA, FIXTURES, IN_CI

REPLIES = CORPORA / "reply"
LABELS = FIXTURES / "replies"
LABELLED = sorted(LABELS.rglob("*.txt"))


def _source(label: Path) -> Path | None:
    if (own := label.with_suffix(".eml")).is_file():  # tests/fixtures/replies/own: ours
        return own
    stem = REPLIES / label.relative_to(LABELS).with_suffix("")
    return next((p for s in (".txt", ".eml", ".html") if (p := Path(f"{stem}{s}")).is_file()), None)


def test_corpora_are_there() -> None:
    missing = [label for label in LABELLED if _source(label) is None]
    if len(LABELLED) >= 90 and not missing:
        return
    if IN_CI:
        pytest.fail(f"expected the reply corpora under {REPLIES} (CI=true): {missing[:3]}")
    pytest.skip(f"{REPLIES} not checked out beside the project")


@pytest.mark.parametrize("label", LABELLED, ids=lambda p: p.relative_to(LABELS).as_posix())
def test_corpus_reply(label: Path) -> None:
    source = _source(label)
    if source is None:
        if IN_CI:
            pytest.fail(f"corpus file for {label} missing (CI=true)")
        pytest.skip("corpus missing")
    raw = source.read_bytes()
    if source.parent == label.parent:  # our own cases, read as intake reads them
        parsed = parse(raw)
        got = new_text(parsed.text, parsed.html or None)
    elif source.suffix == ".eml":
        got = new_text(parse(raw).text)
    elif source.suffix == ".html":
        got = new_text("", raw.decode("utf-8"))
    else:
        got = new_text(raw.decode("utf-8"))
    assert got == label.read_text(encoding="utf-8").strip("\n")


QUOTE = "> Can you confirm the intro for ACME-12?\n> Thanks"


@pytest.mark.parametrize(
    "header",
    [
        "On Tue, Mar 12, 2024 at 10:04 AM Dana Reed <dana@ours.example> wrote:",
        "Am Di., 12. März 2024 um 10:04 Uhr schrieb Dana Reed <dana@ours.example>:",
        "Le mar. 12 mars 2024 à 10:04, Dana Reed <dana@ours.example> a écrit :",
        "El mar, 12 mar 2024 a las 10:04, Dana Reed (<dana@ours.example>) escribió:",
        "Em ter., 12 de mar. de 2024 às 10:04, Dana Reed <dana@ours.example> escreveu:",
        "Il giorno mar 12 mar 2024 alle ore 10:04 Dana Reed <dana@ours.example> ha scritto:",
        "Op di 12 mrt. 2024 om 10:04 schreef Dana Reed <dana@ours.example>:",
        "Den tis 12 mars 2024 kl 10:04 skrev Dana Reed <dana@ours.example>:",
        "2024年3月12日(火) 10:04 Dana Reed <dana@ours.example>:",
    ],
    ids=["en", "de", "fr", "es", "pt", "it", "nl", "sv", "ja"],
)
def test_wrote_header_in_each_language(header: str) -> None:
    body = f"Yes, confirmed: they signed today.\n\n{header}\n\n{QUOTE}\n"
    assert new_text(body) == "Yes, confirmed: they signed today."


def test_header_wrapped_over_two_lines() -> None:
    body = (
        "Confirmed.\n\nOn Tue, Mar 12, 2024 at 10:04 AM Dana Reed <\n"
        "dana@ours.example> wrote:\n\n" + QUOTE
    )
    assert new_text(body) == "Confirmed."
    body = (
        "Confirmed.\n\nOn 12 Mar 2024, at 10:04, Dana Reed <dana@ours.example>\nwrote:\n\n" + QUOTE
    )
    assert new_text(body) == "Confirmed."


@pytest.mark.parametrize(
    "block",
    [
        "From: Dana Reed <dana@ours.example>\nSent: Tuesday, March 12, 2024 10:04 AM\n"
        "To: Sam Lee <sam@acme.example>\nSubject: RE: Intro ACME-12",
        "Von: Dana Reed <dana@ours.example>\nGesendet: Dienstag, 12. März 2024 10:04\n"
        "An: Sam Lee <sam@acme.example>\nBetreff: AW: Intro ACME-12",
        "De : Dana Reed <dana@ours.example>\nEnvoyé : mardi 12 mars 2024 10:04\n"
        "À : Sam Lee <sam@acme.example>\nObjet : RE: Intro ACME-12",
        "Van: Dana Reed <dana@ours.example>\nVerzonden: dinsdag 12 maart 2024 10:04\n"
        "Aan: Sam Lee <sam@acme.example>\nOnderwerp: RE: Intro ACME-12",
    ],
    ids=["en", "de", "fr", "nl"],
)
def test_outlook_header_block_cuts_unmarked_history(block: str) -> None:
    # Outlook top-posts without ">": everything from the header block on is history.
    body = f"We met them on Monday, going well.\n\n{block}\n\nHi Sam,\nAny news on ACME-12?\nDana\n"
    split = split_reply(body)
    assert split.text == "We met them on Monday, going well."
    assert [p.kind for p in split.parts] == ["new", "header", "quote"]
    assert "Any news" in split.parts[2].text


def test_original_message_separator() -> None:
    body = "Done.\n\n-----Original Message-----\nFrom: Dana\nSent: today\n\nPlease confirm.\n"
    assert new_text(body) == "Done."


def test_dash_dash_signature() -> None:
    body = "Will call them tomorrow.\n\n-- \nSam Lee\nPartner Manager, Acme\n+1 555 0100\n"
    split = split_reply(body)
    assert split.text == "Will call them tomorrow."
    assert split.parts[-1] == Part("signature", "--\nSam Lee\nPartner Manager, Acme\n+1 555 0100")


@pytest.mark.parametrize(
    "signature", ["Sent from my iPhone", "Get Outlook for iOS<https://aka.ms/o0ukef>"]
)
def test_mobile_signature(signature: str) -> None:
    body = f"Deal closed for ACME-12.\n\n{signature}\n\nOn Tue, Mar 12, 2024, Dana wrote:\n{QUOTE}"
    assert new_text(body) == "Deal closed for ACME-12."


def test_sentence_starting_like_a_mobile_signature_stays() -> None:
    body = "Sent from my desk, which is easier than my phone, the contract is attached."
    assert new_text(body) == body


def test_gmail_html_only() -> None:
    html = (
        '<div dir="ltr">Signed today, see ACME-12.</div><br><div class="gmail_quote">'
        '<div class="gmail_attr">On Tue, Mar 12, 2024 at 10:04 AM Dana &lt;dana@ours.example&gt;'
        ' wrote:<br></div><blockquote class="gmail_quote">Any news?</blockquote></div>'
    )
    split = split_reply("", html)
    assert split.text == "Signed today, see ACME-12."
    assert split.parts[-1].kind == "quote" and "Any news?" in split.parts[-1].text


def test_outlook_html_only() -> None:
    html = (
        "<html><body><div>Signed today.</div><div><br></div>"
        '<hr style="display:inline-block;width:98%" tabindex="-1">'
        '<div id="divRplyFwdMsg" dir="ltr"><b>From:</b> Dana &lt;dana@ours.example&gt;<br>'
        "<b>Sent:</b> Tuesday, March 12, 2024 10:04 AM<br><b>To:</b> Sam<br>"
        "<b>Subject:</b> ACME-12</div><div>Any news?</div></body></html>"
    )
    assert new_text("", html) == "Signed today."


def test_apple_html_only() -> None:
    html = (
        '<html><body><div>Signed today.</div><div><br><blockquote type="cite">'
        "<div>On 12 Mar 2024, at 10:04, Dana &lt;dana@ours.example&gt; wrote:</div>"
        "<div>Any news?</div></blockquote></div></body></html>"
    )
    assert new_text("", html) == "Signed today."


def test_plain_part_rendered_from_html_uses_the_html() -> None:
    html = (
        '<div>Signed today.</div><div class="moz-cite-prefix">On 12.03.2024 10:04, Dana wrote:'
        '</div><blockquote type="cite">Any news?</blockquote>'
    )
    text = "Signed today.\nOn 12.03.2024 10:04, Dana wrote:\nAny news?"
    assert new_text(text, html) == "Signed today."


def test_inline_answers_are_kept_in_order() -> None:
    body = (
        "On Tue, Mar 12, 2024 at 10:04 AM Dana <dana@ours.example> wrote:\n"
        "> Did they sign?\n\nYes, on Monday.\n\n> And ACME-12?\n\nStill open.\n"
    )
    split = split_reply(body)
    assert split.text == "Yes, on Monday.\n\nStill open."
    assert [p.kind for p in split.parts] == ["header", "quote", "new", "quote", "new"]


def test_an_inline_answer_ending_in_a_capitalised_word_keeps_it() -> None:
    # A bare name signs a message where it ends, not an answer between two quotes.
    body = "> ACME-1 · Jane\n\nThe demo moved to\nFriday\n\n> ACME-2 · Bruce\n\nSigned.\nDana\n"
    assert new_text(body) == "The demo moved to\nFriday\n\nSigned."


def test_reference_in_new_text_survives() -> None:
    body = "ACME-12\n\nOn Tue, Mar 12, 2024 at 10:04 AM Dana <dana@ours.example> wrote:\n" + QUOTE
    assert new_text(body) == "ACME-12"
    assert new_text("Please move ACME-12 to won.\n\nThanks,\nSam") == "Please move ACME-12 to won."


@pytest.mark.parametrize(
    "body",
    [
        "> " * 10 + "\n" + ">\n" * 200_000,
        "On " * 70_000 + "\n",
        "On On On wrote\n" * 15_000,
        "From: x\n" * 30_000,
        "-" * 200_000,
        "Hi\n" + "\n" * 100_000 + "> q\n",
        "<p>hello</p><a" + "b" * 500_000,
    ],
    ids=["quote-lines", "on-on-on", "on-lines", "from-lines", "dashes", "blank-lines", "open-tag"],
)
def test_hostile_input_returns_quickly(body: str) -> None:
    started = time.perf_counter()
    split_reply(body)
    split_reply("", "<div>" + body.replace("\n", "<br>") + "<blockquote>" * 5_000)
    assert time.perf_counter() - started < 2


def test_nothing_in_nothing_out() -> None:
    assert new_text("") == ""
    assert new_text("", "") == ""
    assert split_reply("   \n\n").parts == ()
