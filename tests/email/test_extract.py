"""What a partner's reply becomes in Slack: only the text they wrote, whatever client sent it.

The corpus cases read the public reply corpora beside the project (../shared/corpora/reply) and
compare with the labels in tests/fixtures/replies/ (see its README for where each came from).
"""

from __future__ import annotations

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
        # Outlook on the web in French: a no-break space before each colon.
        "De\u00a0: Dana Reed <dana@ours.example>\nEnvoyé\u00a0: mardi 12 mars 2024 10:04\n"
        "À\u00a0: Sam Lee <sam@acme.example>\nObjet\u00a0: RE: Intro ACME-12",
        "Fra: Dana Reed <dana@ours.example>\nSendt: 12. marts 2024 10:04\n"
        "Til: Sam Lee <sam@acme.example>\nEmne: SV: Intro ACME-12",
        "Fra: Dana Reed <dana@ours.example>\nDato: tirsdag, 12. marts 2024 kl. 10.04\n"
        "Til: Sam Lee <sam@acme.example>\nEmne: SV: Intro ACME-12",
        "Da: Dana Reed <dana@ours.example>\nInviato: martedì 12 marzo 2024 10:04\n"
        "A: Sam Lee <sam@acme.example>\nOggetto: R: Intro ACME-12",
        # A long name pushes the address onto a line of its own.
        "From: Dana Reed (Ours Partnerships, Referral Programme)\n<dana@ours.example>\n"
        "Sent: Tuesday, March 12, 2024 10:04 AM\nTo: Sam Lee <sam@acme.example>\n"
        "Subject: RE: Intro ACME-12",
    ],
    ids=["en", "de", "fr", "nl", "fr-nbsp", "da", "da-mac", "it", "wrapped-from"],
)
def test_outlook_header_block_cuts_unmarked_history(block: str) -> None:
    # Outlook top-posts without ">": everything from the header block on is history.
    body = f"We met them on Monday, going well.\n\n{block}\n\nHi Sam,\nAny news on ACME-12?\nDana\n"
    split = split_reply(body)
    assert split.text == "We met them on Monday, going well."
    assert [p.kind for p in split.parts] == ["new", "header", "quote"]
    assert "Any news" in split.parts[2].text


@pytest.mark.parametrize(
    "header",
    [
        # Zoho Mail
        "---- On Tue, 12 Mar 2024 10:04:09 +0100 Dana Reed <dana@ours.example> wrote ----",
        # Gmail until 2016
        "2024-03-12 10:04 GMT+01:00 Dana Reed <dana@ours.example>:",
        # no date: Thunderbird's short attribution, with an address or not
        "Dana Reed <dana@ours.example> wrote:",
        "Dana Reed <\ndana@ours.example> wrote:",
        "On Tuesday, Dana Reed <dana@ours.example>\nwrote:",
    ],
    ids=["zoho", "gmail-2016", "no-date", "no-date-wrapped", "no-date-wrapped-wrote"],
)
@pytest.mark.parametrize("history", [QUOTE, "Hi Sam,\nAny news on ACME-12?\nDana"])
def test_more_attribution_forms(header: str, history: str) -> None:
    body = f"Yes, confirmed: they signed today.\n\n{header}\n\n{history}\n"
    split = split_reply(body)
    assert split.text == "Yes, confirmed: they signed today."
    assert split.parts[1] == Part("header", header)


@pytest.mark.parametrize(
    "header",
    ["Dana wrote:", "Dana Reed a écrit :", "On Mar 12, 2024, Dana Reed wrote", "Dana schrieb"],
)
def test_attribution_without_date_or_address_above_a_quote(header: str) -> None:
    assert new_text(f"Yes, confirmed.\n\n{header}\n{QUOTE}") == "Yes, confirmed."


def test_sentence_ending_in_wrote_stays() -> None:
    # No name, no date, no address: a sentence introducing the quote, which the sender wrote.
    assert new_text("I told him what you wrote:\n" + QUOTE) == "I told him what you wrote:"
    unmarked = "Dana Reed wrote:\n\nHi Sam,\nAny news?"
    assert new_text(unmarked) == unmarked


def test_text_above_a_dated_attribution_is_not_joined_to_it() -> None:
    body = "Call me at 10\n2024-03-12 10:04 GMT+01:00 Dana Reed <dana@ours.example>:\n" + QUOTE
    assert new_text(body) == "Call me at 10"


def test_answer_under_an_attribution_at_the_top() -> None:
    # Some mobile clients leave the cursor under the attribution: the answer sits below it.
    body = (
        "On Tue, Mar 12, 2024 at 10:04 AM Dana <dana@ours.example> wrote:\n"
        "Hooli said no, please close ACME-12.\n\n" + QUOTE
    )
    split = split_reply(body)
    assert split.text == "Hooli said no, please close ACME-12."
    assert [p.kind for p in split.parts] == ["header", "new", "quote"]


def test_history_under_an_attribution_at_the_top_is_not_new_text() -> None:
    # With no ">" quote below it, what follows the attribution is the history itself.
    body = "On Tue, Mar 12, 2024 at 10:04 AM Dana <dana@ours.example> wrote:\nAny news?\n"
    assert new_text(body) == ""


@pytest.mark.parametrize(
    "forward",
    [
        "---------- Forwarded message ---------\nFrom: Bruce Li <bruce@hooli.example>\n"
        "Date: Tue, Mar 12, 2024 at 10:04 AM\nSubject: Intro\nTo: Dana <dana@acme.example>\n\n\n"
        "Hi Dana,\n\nHappy to take a call in January.\n\nBest,\nBruce\n",
        # Apple Mail on iOS, its footer above, the forwarded message quoted
        "\nSent from my iPhone\n\nBegin forwarded message:\n\n"
        "> From: Bruce Li <bruce@hooli.example>\n> Date: 12 March 2024 at 10:04:09 CET\n"
        "> To: Dana <dana@acme.example>\n> Subject: Intro\n>\n> Hi Dana,\n>\n"
        "> Happy to take a call in January.\n",
        # Outlook: only a signature above the header block
        "-- \nDana Scully\n\nFrom: Bruce Li <bruce@hooli.example>\nSent: Tuesday, March 12, 2024\n"
        "To: Dana <dana@acme.example>\nSubject: Intro\n\n"
        "Hi Dana,\n\nHappy to take a call in January.",
    ],
    ids=["gmail", "apple", "outlook"],
)
def test_bare_forward_keeps_what_was_forwarded(forward: str) -> None:
    # Nothing was written above it: what the partner forwarded is all there is to read.
    assert new_text(forward) == "Hi Dana,\n\nHappy to take a call in January."


def test_original_message_separator() -> None:
    body = "Done.\n\n-----Original Message-----\nFrom: Dana\nSent: today\n\nPlease confirm.\n"
    assert new_text(body) == "Done."


def test_dash_dash_signature() -> None:
    body = "Will call them tomorrow.\n\n-- \nSam Lee\nPartner Manager, Acme\n+1 555 0100\n"
    split = split_reply(body)
    assert split.text == "Will call them tomorrow."
    assert split.parts[-1] == Part("signature", "--\nSam Lee\nPartner Manager, Acme\n+1 555 0100")


@pytest.mark.parametrize(
    "signature",
    [
        "Sent from my iPhone",
        "Get Outlook for iOS<https://aka.ms/o0ukef>",
        "Gesendet von Outlook für Android<https://aka.ms/AAb9ysg>",
        "Obtenez Outlook pour iOS<https://aka.ms/o0ukef>",
        "Télécharger Outlook pour iOS",
        "Descargar Outlook para Android",
        "Ottieni Outlook per iOS",
        "Baixe o Outlook para Android",
        "Outlook voor iOS downloaden",
        "Pobierz aplikację Outlook dla systemu Android",
        "Hent Outlook til iOS",
        "Envoyé de mon iPhone",
        "Von meinem iPhone gesendet",
        "Gesendet von meinem iPhone",
        "Enviado desde mi iPhone",
        "Enviado do meu iPhone",
        "Inviato da iPhone",
        "Inviato dal mio iPhone",
        "Verzonden vanaf mijn iPhone",
        "Sendt fra min iPhone",
        "Skickat från min iPhone",
        "Wysłane z iPhone'a",
        "Отправлено с iPhone",
        "iPhoneから送信",
        "Saadetud minu iPhone'ist",
        "Lähetetty iPhonesta",
        "Odesláno z iPhonu",
        "Trimis de pe iPhone-ul meu",
        "iPhone'umdan gönderildi",
        "Надіслано з iPhone",
        "Изпратено от моя iPhone",
        "Στάλθηκε από το iPhone μου",
        "iPhone에서 보냄",
        "发自我的iPhone",
        "Enviat des del meu iPhone",
        "Отправлено из мобильной Почты Mail.ru",
    ],
)
def test_mobile_signature(signature: str) -> None:
    body = f"Deal closed for ACME-12.\n\n{signature}\n\nOn Tue, Mar 12, 2024, Dana wrote:\n{QUOTE}"
    assert new_text(body) == "Deal closed for ACME-12."


def test_sentence_starting_like_a_mobile_signature_stays() -> None:
    body = "Sent from my desk, which is easier than my phone, the contract is attached."
    assert new_text(body) == body


def test_a_footers_first_words_in_a_sentence_stay() -> None:
    body = "Hi Sam, update below.\n\nVon meinem Team kommt morgen Feedback"
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


def test_quoted_line_wrapped_by_the_client_stays_quote() -> None:
    # Outlook wraps "> " lines at 76 characters and the tail lands without its ">".
    body = (
        "Both still open.\n\nOn Tue, Mar 12, 2024, Dana <dana@ours.example> wrote:\n"
        "> Reply to this email to send a note to the team. To write about one\n"
        "referral,\n> reply to its own address.\n"
    )
    split = split_reply(body)
    assert split.text == "Both still open."
    assert [p.kind for p in split.parts] == ["new", "header", "quote"]


def test_answer_between_quoted_lines_without_blank_lines_stays() -> None:
    body = "> Did they sign the order form for the forty seats we talked about\nYes\n> And ACME-2?"
    assert new_text(body) == "Yes"
    body = "> Did they sign?\nyes, on Monday\n> And ACME-2?\nnot yet"
    assert new_text(body) == "yes, on Monday\n\nnot yet"


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


def test_closing_with_text_above_is_cut() -> None:
    assert new_text("Signed today.\n\nThanks,\nJohn\nAcme Consulting") == "Signed today."


def test_closing_alone_is_the_answer() -> None:
    # A closing cuts only below other text: "Thanks!" on its own is what the partner said.
    assert new_text("Thanks!") == "Thanks!"
    assert new_text("Thanks,\nJohn") == "Thanks,"
    assert new_text("Many thanks!\n\nSent from my iPhone\n\n" + QUOTE) == "Many thanks!"


def test_closing_followed_by_a_long_line_is_not_cut() -> None:
    body = (
        "Yes, see below.\n\nThanks,\n"
        "we will call them on Monday once their CTO is back from his trip, around ten."
    )
    assert new_text(body) == body


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
@pytest.mark.timeout(60)  # a quadratic pass takes hours here; bench/hostile.py has the times
def test_hostile_input_returns_quickly(body: str) -> None:
    plain = split_reply(body)
    html = split_reply("", "<div>" + body.replace("\n", "<br>") + "<blockquote>" * 5_000)
    # Whatever it keeps comes from the message, nothing else.
    assert set(plain.text.split()) <= set(body.split())
    assert set(html.text.split()) <= set(body.replace("<", " ").replace(">", " ").split()) | {">"}


def test_nothing_in_nothing_out() -> None:
    assert new_text("") == ""
    assert new_text("", "") == ""
    assert split_reply("   \n\n").parts == ()
