"""What a partner sees in the digest and stage-notice emails, in plain text and HTML."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from urllib.parse import quote, unquote
from zoneinfo import ZoneInfo

from bot.digests.content import Digest, Item, StageNotice, digest, stage_notice

BERLIN = ZoneInfo("Europe/Berlin")
START = datetime(2026, 11, 16, 8, tzinfo=UTC)
END = datetime(2026, 11, 23, 8, tzinfo=UTC)
HOSTILE = ("<script>alert(1)</script>", '"><img src=x>', "Smith & Sons")


def item(ref: str = "ACME-12", **changes: object) -> Item:
    fields: dict[str, object] = {
        "ref": ref,
        "prospect": "Jane Doe",
        "company": "Wayne Enterprises",
        "owner": "Sam Rivera",
        "stage": "meeting",
        "received_at": datetime(2026, 11, 17, 9, 30, tzinfo=UTC),
        "first_response": timedelta(hours=2, minutes=5),
        "next_step": "Demo with their CTO",
        "next_step_due": datetime(2026, 11, 24, tzinfo=UTC),  # a day: its UTC midnight
        "changes": ("Stage: contacted → meeting",),
        "new": True,
        "reply_to": f"partners+r-{ref.lower()}.Kx9fQ2@ours.example",
    }
    fields.update(changes)
    return Item(**fields)  # type: ignore[arg-type]


def make_digest(*items: Item, **changes: object) -> Digest:
    d = Digest(
        partner="Acme Consulting",
        sender="Ours Inc. partnerships",
        period_start=START,
        period_end=END,
        tz=BERLIN,
        items=items,
        reply_to="partners+r-digest.Zz@ours.example",
        unsubscribe="partners+u-acme.Qq@ours.example",
    )
    return replace(d, **changes)  # type: ignore[arg-type]


def notice(old: str, new: str, **changes: object) -> StageNotice:
    it = item(stage=new, **changes)
    return StageNotice(
        partner="Acme Consulting",
        sender="Ours Inc. partnerships",
        tz=BERLIN,
        item=it,
        old_stage=old,
        new_stage=new,
        reply_to=it.reply_to,
        unsubscribe="partners+u-acme.Qq@ours.example",
    )


def hrefs(page: str) -> list[str]:
    """The href of every link, as a mail client reads it (entities decoded)."""

    class Links(HTMLParser):
        found: list[str] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            self.found += [v or "" for k, v in attrs if tag == "a" and k == "href"]

    parser = Links()
    parser.found = []
    parser.feed(page)
    return parser.found


def visible(page: str) -> str:
    """The HTML's text as a reader sees it, whitespace collapsed."""

    class Text(HTMLParser):
        parts: list[str] = []

        def handle_data(self, data: str) -> None:
            self.parts.append(data)

    parser = Text()
    parser.parts = []
    parser.feed(page)
    return " ".join(" ".join(parser.parts).split())


def several() -> Digest:
    return make_digest(
        item("ACME-12"),
        item(
            "ACME-13",
            prospect="bruce@wayne.example",
            company=None,
            owner=None,
            stage="new",
            first_response=None,
            next_step=None,
            next_step_due=None,
            changes=(),
        ),
        item(
            "ACME-9",
            new=False,
            stage="opportunity",
            next_step="Send the security questionnaire",
            next_step_due=datetime(2026, 11, 20, tzinfo=UTC),
            changes=(),
        ),
    )


def test_subject_counts_new_and_open_referrals() -> None:
    empty = digest(make_digest())
    assert empty.subject == "Acme Consulting: no open referrals — since Mon 2026-11-16"
    one = digest(make_digest(item(), item("ACME-9", new=False)))
    assert one.subject == "Acme Consulting: 1 new referral, 2 open — since Mon 2026-11-16"
    assert digest(several()).subject.startswith("Acme Consulting: 2 new referrals, 3 open")
    none_new = digest(make_digest(item(new=False)))
    assert none_new.subject.startswith("Acme Consulting: no new referrals, 1 open")
    first = digest(make_digest(item(), period_start=None))
    assert first.subject.endswith("— as of Mon 2026-11-23")


def test_subject_is_one_line_whatever_the_partner_name() -> None:
    r = digest(make_digest(item(), partner="Acme\r\nBcc: victim@example.com"))
    assert "\n" not in r.subject and "\r" not in r.subject
    assert "\n" not in stage_notice(notice("contacted", "won", company="A\nB")).subject


def test_empty_digest_says_no_open_referrals() -> None:
    r = digest(make_digest())
    assert "No open referrals." in r.text
    assert "No open referrals." in visible(r.html)
    assert "partners+u-acme.Qq@ours.example" in r.text


def test_summary_period_and_sections() -> None:
    won = item("ACME-7", new=False, stage="won", changes=("Stage: opportunity → won",))
    r = digest(make_digest(*several().items, won))
    for shown in (r.text, visible(r.html)):
        assert "Mon 2026-11-16 – Mon 2026-11-23" in shown
        assert "This period: 2 new, 1 won. Open now: 3." in shown
    text = r.text
    assert text.index("NEW REFERRALS (2)") < text.index("ACME-12 ·") < text.index("ACME-13 ·")
    assert text.index("ACME-13 ·") < text.index("OPEN REFERRALS (1)") < text.index("ACME-9 ·")
    assert text.index("ACME-9 ·") < text.index("CLOSED THIS PERIOD (1)") < text.index("ACME-7 ·")


def test_every_field_of_every_item_in_text_and_html() -> None:
    r = digest(several())
    for shown in (r.text, visible(r.html)):
        assert "ACME-12 · Jane Doe (Wayne Enterprises) · Meeting" in shown
        assert "Sam Rivera" in shown
        assert "2h 05m" in shown
        assert "Demo with their CTO — due Tue 2026-11-24" in shown
        assert "Stage: contacted → meeting" in shown
        assert "ACME-13 · bruce@wayne.example · New" in shown
        assert "not claimed yet" in shown
        assert "none set yet" in shown
        assert "Received" in shown and "Tue 2026-11-17" in shown
    assert "Reply about ACME-12: partners+r-acme-12.Kx9fQ2@ours.example" in r.text
    assert "Reply about ACME-13" in visible(r.html)


def test_dates_are_in_the_partner_time_zone() -> None:
    received = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)  # already Tuesday in Berlin
    d = make_digest(
        item(received_at=received, next_step_due=None),
        period_end=datetime(2026, 11, 24, 8, tzinfo=UTC),
    )
    r = digest(d)
    assert "Received: Tue 2026-11-24" in r.text and "Tue 2026-11-24" in visible(r.html)
    assert "Received: Mon 2026-11-23" in digest(replace(d, tz=ZoneInfo("America/New_York"))).text


def test_a_next_step_is_due_on_its_day_wherever_the_partner_is() -> None:
    # A due day is kept as its UTC midnight; west of Greenwich that instant is the day before.
    due = datetime(2026, 11, 25, tzinfo=UTC)
    for zone in ("America/Los_Angeles", "Europe/Berlin", "Pacific/Auckland"):
        d = make_digest(item(next_step_due=due), period_end=datetime(2026, 11, 23, 14, tzinfo=UTC))
        r = digest(replace(d, tz=ZoneInfo(zone)))
        assert "Demo with their CTO — due Wed 2026-11-25" in " ".join(r.text.split()), zone
        assert "(overdue)" not in r.text, zone
    # The morning after the due day, where the partner is, it is overdue.
    late = make_digest(item(next_step_due=due), period_end=datetime(2026, 11, 26, 17, tzinfo=UTC))
    r = digest(replace(late, tz=ZoneInfo("America/Los_Angeles")))
    assert "was due Wed 2026-11-25 (overdue)" in " ".join(r.text.split())


def test_overdue_next_step() -> None:
    r = digest(several())
    line = "Send the security questionnaire — was due Fri 2026-11-20 (overdue)"
    assert line in " ".join(r.text.split())
    assert line in visible(r.html)
    assert r.text.count("(overdue)") == 1  # ACME-12 is due after the period ends


def test_awaiting_first_response_says_since_when() -> None:
    r = digest(several())
    # Received Tue 09:30 UTC, period ends Mon 08:00 UTC.
    assert "awaiting first response (intro 5d 22h ago)" in r.text
    assert "awaiting first response (intro 5d 22h ago)" in visible(r.html)


def test_hostile_text_is_escaped_in_html() -> None:
    evil = item(
        prospect=HOSTILE[0],
        company=HOSTILE[1],
        owner=HOSTILE[2],
        next_step=HOSTILE[0],
        changes=(HOSTILE[1], HOSTILE[2]),
    )
    r = digest(make_digest(evil, partner=HOSTILE[1]))
    for raw in HOSTILE:
        assert raw not in r.html
        assert raw in visible(r.html)  # shown to the reader as the literal text
    assert "&lt;script&gt;" in r.html and "&amp; Sons" in r.html and "&quot;&gt;" in r.html
    n = stage_notice(notice("contacted", "won", prospect=HOSTILE[0], company=HOSTILE[1]))
    assert HOSTILE[0] not in n.html and HOSTILE[1] not in n.html


def test_reply_links_are_mailtos_with_encoded_subject() -> None:
    r = digest(several())
    links = hrefs(r.html)
    ref_link = next(h for h in links if "acme-12" in h)
    assert ref_link == (
        "mailto:partners+r-acme-12.Kx9fQ2@ours.example"
        "?subject=" + quote("Re: ACME-12 Jane Doe (Wayne Enterprises)", safe="")
    )
    assert " " not in ref_link
    assert unquote(ref_link.split("subject=")[1]) == "Re: ACME-12 Jane Doe (Wayne Enterprises)"
    for it in several().items:
        assert any(h.startswith(f"mailto:{it.reply_to}?subject=Re%3A%20{it.ref}%20") for h in links)
    assert "mailto:partners+u-acme.Qq@ours.example?subject=unsubscribe" in links


def test_hostile_text_cannot_break_out_of_the_mailto() -> None:
    r = digest(make_digest(item(prospect='x" onclick="alert(1)&cc=boss@example.com')))
    link = next(h for h in hrefs(r.html) if "acme-12" in h)
    assert link.count("?") == 1 and "&" not in link and '"' not in link


def test_each_text_block_starts_with_its_ref_at_column_zero() -> None:
    # Hostile text can't start a line with a ref: everything but the header is indented.
    sneaky = item("ACME-9", new=False, next_step="x " * 30 + "ACME-13 · fake", changes=())
    r = digest(make_digest(*several().items[:2], sneaky))
    headers = [line for line in r.text.splitlines() if re.match(r"[A-Z]+-\d+", line)]
    assert [h.split(" ·")[0] for h in headers] == ["ACME-12", "ACME-13", "ACME-9"]
    for block in r.text.split("\n\n"):
        first = block.lstrip("\n").splitlines()[0] if block.strip() else ""
        if "Owner:" in block:
            assert re.match(r"ACME-\d+ · ", first), block


def test_plain_text_lines_fit_in_78_columns() -> None:
    long = item(
        "ACME-12",
        prospect="Maximilian Alexander von Hohenzollern-Sigmaringen",
        company="Wayne Enterprises International Holdings and Subsidiaries",
        next_step="Joint workshop with their platform, security and procurement teams " * 3,
        changes=("Next step set: " + "a rather long sentence about what changed " * 4,),
        reply_to="partners+r-" + "k" * 80 + "@ours.example",
    )
    r = digest(make_digest(long, item("ACME-13"), reply_to="r@ours.example"))
    for line in r.text.splitlines():
        assert len(line) <= 78 or " " not in line.strip(), line
    assert "partners+r-" + "k" * 80 + "@ours.example" in r.text  # addresses are not broken


def test_html_is_self_contained_and_inline_styled() -> None:
    r = digest(make_digest(*several().items))
    page = r.html.lower()
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")
    for banned in ("<style", "<script", "<img", "http://", "https://", "<link", "src="):
        assert banned not in page
    assert 'role="presentation"' in page and "max-width:600px" in page
    assert all(len(line) < 998 for line in r.html.splitlines())  # RFC 5322 §2.1.1


def test_same_input_same_email() -> None:
    assert digest(several()) == digest(several())


def test_closing_explains_how_to_reply_and_unsubscribe() -> None:
    r = digest(several())
    for shown in (" ".join(r.text.split()), visible(r.html)):
        assert "Reply to this email to send a note to the team." in shown
        assert "Reply about" in shown
        assert "partners+u-acme.Qq@ours.example" in shown
    assert "To stop these emails, write to partners+u-acme.Qq@ours.example." in r.text


def test_stage_notices() -> None:
    meeting = stage_notice(notice("contacted", "meeting"))
    assert meeting.subject == "ACME-12 Wayne Enterprises: meeting booked"
    assert "A meeting is booked.\nStage: Contacted → Meeting." in meeting.text
    won = stage_notice(notice("opportunity", "won"))
    assert won.subject == "ACME-12 Wayne Enterprises: won"
    assert "Thank you for the introduction!" in visible(won.html)
    lost = stage_notice(notice("opportunity", "lost", company=None))
    assert lost.subject == "ACME-12 Jane Doe: lost"
    assert "Stage: Opportunity → Lost" in lost.text and "Stage: Opportunity → Lost" in lost.html
    for r in (meeting, won, lost):
        assert r.text.startswith("Hello Acme Consulting,")
        assert re.search(r"^ACME-12 · Jane Doe", r.text, re.M)
        assert "Reply about ACME-12: partners+r-acme-12.Kx9fQ2@ours.example" in r.text
        assert any(h.startswith("mailto:partners+r-acme-12") for h in hrefs(r.html))
        assert "<style" not in r.html and "<script" not in r.html


def test_stage_notice_overdue_only_with_a_time() -> None:
    late = notice("contacted", "meeting", next_step_due=datetime(2026, 11, 20, tzinfo=UTC))
    assert "(overdue)" not in stage_notice(late).text
    at = replace(late, at=datetime(2026, 11, 21, tzinfo=UTC))
    assert "(overdue)" in stage_notice(at).text
