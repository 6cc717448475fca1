"""What a Slack user sees of a referral: the post, its thread, the modals and the App Home."""

from __future__ import annotations

import html
import json
import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.referrals.cards import Card
from bot.slack.blocks import (
    CHANGE_ROLE,
    CLAIM_INFLUENCED,
    CLAIM_SOURCED,
    CLAIMED_MORE,
    FIRST_RESPONSE,
    INTRO_MORE,
    NEXT_STEP,
    NEXT_STEP_MODAL,
    REASSIGN_MODAL,
    STAGE_MODAL,
    UPDATE_STAGE,
    Post,
    action_value,
    escape,
    fit,
    intro_post,
    parse_value,
)
from bot.slack.thread import thread_line
from bot.slack.views import home_view, next_step_modal, reassign_modal, stage_modal
from bot.text import duration

RECEIVED = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
NOW = datetime(2024, 5, 2, 9, 0, tzinfo=UTC)
HOSTILE = [
    "<!channel> hi",
    "<!here>",
    "<!everyone>",
    "<@U999>",
    "<#C1>",
    "<!subteam^S1>",
    "<http://evil.example|https://bank.example>",
]
# The only <…> sequences Handoff writes itself: mentions of known users and dates.
OURS = re.compile(r"<@U[A-Z0-9]+>|<!date\^\d+\^\{date_short_pretty\} at \{time\}\|[^<>]*>")


def card(**changes: Any) -> Card:
    base = Card(
        ref="ACME-12",
        partner_slug="acme",
        partner_name="Acme Corp",
        prospect_email="jane@initech.example",
        prospect_name="Jane Doe",
        prospect_company="Initech",
        subject="Intro: Jane at Initech",
        excerpt="Hi team,\n\nmeet Jane, who runs ops at Initech.",
        received_at=RECEIVED,
        stage="new",
        role=None,
        owner=None,
        claimed_at=None,
        first_response_at=None,
        next_step=None,
        next_step_due=None,
        amount=None,
    )
    return replace(base, **changes)


def claimed(**changes: Any) -> Card:
    fields: dict[str, Any] = {
        "stage": "claimed",
        "role": "sourced",
        "owner": "U0123",
        "claimed_at": RECEIVED + timedelta(hours=2, minutes=5),
    }
    return card(**(fields | changes))


def elements(blocks: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for b in blocks if b["type"] == kind for e in b["elements"]]


def texts(blocks: list[dict[str, Any]], kind: str) -> list[str]:
    """The mrkdwn a reader sees in blocks of one kind, top to bottom."""
    found: list[str] = []
    for block in (b for b in blocks if b["type"] == kind):
        found += [f["text"] for f in block.get("fields", [])]
        found += [block["text"]["text"]] if "text" in block else []
        found += [e["text"] for e in block.get("elements", []) if "text" in e]
    return found


def assert_valid(post: Post) -> None:
    """Slack's own limits, through slack_sdk's models and the ones it does not check."""
    assert 0 < len(post.text) <= 4000
    for block in post.blocks:
        model = Block.parse(block)
        assert model is not None
        assert model.to_dict() == block  # to_dict validates, recursively
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150
        for field in block.get("fields", []):
            assert len(field["text"]) <= 2000
        for element in block.get("elements", []):
            if block["type"] == "context":
                assert len(element["text"]) <= 2000
            if element["type"] == "button":
                assert len(element["text"]["text"]) <= 75
            for option in element.get("options", []):
                assert len(option["text"]["text"]) <= 75
                assert len(option["value"]) <= 150
    # Every mrkdwn text that can carry email text is verbatim: no automatic links or mentions.
    serialized = json.dumps(post.blocks)
    assert '"type": "mrkdwn"' not in serialized.replace('"type": "mrkdwn", "verbatim": true', "")


# --- escaping -----------------------------------------------------------------------------


def test_escape_writes_the_three_entities_in_order() -> None:
    assert escape("R&D <team> & co") == "R&amp;D &lt;team&gt; &amp; co"
    assert escape("&lt;") == "&amp;lt;"  # an entity in the email is shown as typed


def test_escape_collapses_control_characters_and_drops_invisible_ones() -> None:
    assert escape("a\x00\x01\x1bb\tc\x7fd") == "a b c d"
    assert escape("one\r\ntwo\rthree") == "one\ntwo\nthree"
    assert escape("evil\u202emoc.com\u200b") == "evilmoc.com"


@pytest.mark.parametrize("hostile", HOSTILE)
@pytest.mark.parametrize(
    "field", ["subject", "excerpt", "prospect_name", "prospect_company", "prospect_email"]
)
def test_email_text_never_becomes_a_slack_control_sequence(hostile: str, field: str) -> None:
    for shown in (card(**{field: hostile}), claimed(**{field: hostile})):
        post = intro_post(shown, now=NOW)
        assert_valid(post)
        serialized = json.dumps([post.text, post.blocks])
        assert hostile not in serialized
        assert "<" not in OURS.sub("", serialized)
        assert escape(hostile) in serialized


def test_ampersand_round_trips_as_an_entity() -> None:
    post = intro_post(card(subject="R&D <budget>", prospect_company="Smith & Co"), now=NOW)
    fields = texts(post.blocks, "section")
    assert "*Subject*\nR&amp;D &lt;budget&gt;" in fields
    assert "*Company*\nSmith &amp; Co" in fields
    assert post.text == "New referral ACME-12 from Acme Corp: Jane Doe (Smith &amp; Co)"


def test_email_address_is_plain_verbatim_text_not_a_mailto_link() -> None:
    post = intro_post(card(), now=NOW)
    prospect = texts(post.blocks, "section")[0]
    assert prospect == "*Prospect*\nJane Doe\njane@initech.example"
    assert "mailto:" not in json.dumps(post.blocks)
    assert all("url" not in e for e in elements(post.blocks, "actions"))


# --- limits -------------------------------------------------------------------------------


@pytest.mark.parametrize("limit", range(2, 16))
def test_fit_never_cuts_inside_an_entity(limit: int) -> None:
    text = escape("a&b<c>d&&e")  # a&amp;b&lt;c&gt;d&amp;&amp;e
    cut = fit(text, limit)
    assert len(cut) <= limit
    assert cut.endswith("…")
    assert not re.search(r"&(?!amp;|lt;|gt;)", cut)
    assert text.startswith(cut[:-1])


def test_fit_leaves_short_text_alone() -> None:
    assert fit("a &amp; b", 9) == "a &amp; b"


def test_long_and_hostile_fields_stay_within_slack_limits() -> None:
    huge = "<!channel> & " * 1000
    for shown in (
        card(subject=huge, excerpt=huge, prospect_name=huge, prospect_company=huge),
        claimed(subject=huge, next_step=huge, next_step_due=date(2024, 5, 3), partner_name=huge),
    ):
        post = intro_post(shown, now=NOW)
        assert_valid(post)
        # The header is plain_text, which Slack never parses: only there is it shown as is.
        assert "<!channel>" not in json.dumps([post.text, post.blocks[1:]])


def test_header_is_plain_text_with_the_partner_name_as_registered() -> None:
    post = intro_post(card(partner_name="Smith & Co\n<Partners>"), now=NOW)
    assert post.blocks[0]["text"] == {
        "type": "plain_text",
        "text": "ACME-12 · Smith & Co <Partners>",
        "emoji": True,
    }
    assert "*Partner*\nSmith &amp; Co &lt;Partners&gt;" in texts(post.blocks, "section")


def test_excerpt_shows_at_most_500_characters_as_a_quote() -> None:
    post = intro_post(card(excerpt="x&" * 600), now=NOW)
    quote = texts(post.blocks, "section")[-1]
    assert quote.startswith("> x&amp;x&amp;")
    assert len(html.unescape(quote.removeprefix("> "))) == 500
    assert quote.endswith("…")


def test_excerpt_keeps_paragraphs_but_not_runs_of_blank_lines() -> None:
    post = intro_post(card(excerpt="Hi,\n\n\n\nmeet Jane.\n> earlier"), now=NOW)
    assert texts(post.blocks, "section")[-1] == "> Hi,\n>\n> meet Jane.\n> &gt; earlier"


# --- the post, state by state -----------------------------------------------------------


def test_unclaimed_post_offers_the_two_claims_and_more() -> None:
    post = intro_post(card(), now=NOW)
    assert_valid(post)
    assert post.blocks[0]["text"]["text"] == "ACME-12 · Acme Corp"
    assert "<!date^1714554000^{date_short_pretty} at {time}|2024-05-01 09:00 UTC>" in (
        json.dumps(post.blocks)
    )
    sourced, influenced, more = elements(post.blocks, "actions")
    assert (sourced["action_id"], sourced["value"], sourced["style"]) == (
        CLAIM_SOURCED,
        "ACME-12",
        "primary",
    )
    assert sourced["text"]["text"] == "Claim · Sourced"
    assert (influenced["action_id"], influenced["value"]) == (CLAIM_INFLUENCED, "ACME-12")
    assert influenced["text"]["text"] == "Claim · Influenced"
    assert more["type"] == "overflow" and more["action_id"] == INTRO_MORE
    assert [(o["text"]["text"], o["value"]) for o in more["options"]] == [
        ("Claim · Assisted close", "claim:assisted_close:ACME-12"),
        ("Claim · Attached", "claim:attached:ACME-12"),
        ("Claim · Unattributed", "claim:unattributed:ACME-12"),
        ("Not a fit", "not_a_fit::ACME-12"),
    ]


def test_claimed_post_shows_owner_role_time_to_claim_and_five_controls() -> None:
    post = intro_post(claimed(next_step="Joint call", next_step_due=date(2024, 5, 3)), now=NOW)
    assert_valid(post)
    summary = texts(post.blocks, "section")[-1]
    assert summary.splitlines() == [
        "Claimed by <@U0123> as *Sourced* · time to claim 2h 05m",
        "*Stage:* Claimed",
        "*First response:* not yet",
        "*Next joint step:* Joint call · due Fri 2024-05-03",
    ]
    controls = elements(post.blocks, "actions")
    assert [c["action_id"] for c in controls] == [
        FIRST_RESPONSE,
        NEXT_STEP,
        UPDATE_STAGE,
        CHANGE_ROLE,
        CLAIMED_MORE,
    ]
    assert [c["text"]["text"] for c in controls[:3]] == [
        "Mark first response",
        "Set next joint step",
        "Update stage",
    ]
    assert all(c["value"] == "ACME-12" for c in controls[:3])
    role = controls[3]
    assert role["placeholder"]["text"] == "Change role"
    assert [o["value"] for o in role["options"]] == [
        "role:sourced:ACME-12",
        "role:influenced:ACME-12",
        "role:assisted_close:ACME-12",
        "role:attached:ACME-12",
        "role:unattributed:ACME-12",
    ]
    assert role["initial_option"]["text"]["text"] == "Sourced"
    assert [o["value"] for o in controls[4]["options"]] == ["release::ACME-12", "reassign::ACME-12"]


def test_no_mark_first_response_once_it_is_set() -> None:
    answered = claimed(first_response_at=RECEIVED + timedelta(hours=5))
    post = intro_post(answered, now=NOW)
    assert_valid(post)
    assert "Mark first response" not in json.dumps(post.blocks)
    assert [c["action_id"] for c in elements(post.blocks, "actions")][0] == NEXT_STEP
    assert "(2h 55m after claim)" in texts(post.blocks, "section")[-1]


def test_overdue_next_step_is_flagged_against_now() -> None:
    late = claimed(next_step="Send deck", next_step_due=date(2024, 5, 1))
    assert ":warning: overdue" in texts(intro_post(late, now=NOW).blocks, "section")[-1]
    early = replace(late, next_step_due=date(2024, 5, 2))
    assert "overdue" not in texts(intro_post(early, now=NOW).blocks, "section")[-1]


def test_disputed_claim_points_to_attribution_and_preselects_no_role() -> None:
    post = intro_post(claimed(role="disputed", disputed=True, conflict_ref="GLOBEX-3"), now=NOW)
    assert_valid(post)
    assert "as *Disputed (resolve in /attribution)*" in texts(post.blocks, "section")[-1]
    role = next(c for c in elements(post.blocks, "actions") if c["action_id"] == CHANGE_ROLE)
    assert "initial_option" not in role


@pytest.mark.parametrize(
    ("disputed", "warning"),
    [
        (True, ":warning: Disputed: GLOBEX-3 (Globex) introduced this prospect first"),
        (False, ":warning: GLOBEX-3 (Globex) introduced this prospect later and is disputed"),
        (None, ":scales: GLOBEX-3 (Globex) introduced this prospect too; the dispute is settled"),
    ],
)
def test_conflict_warning_both_ways(disputed: bool | None, warning: str) -> None:
    shown = card(
        conflict_ref="GLOBEX-3",
        conflict_partner="Globex",
        disputed=bool(disputed),
        conflict_settled=disputed is None,
    )
    post = intro_post(shown, now=NOW)
    assert_valid(post)
    assert texts(post.blocks, "context") == [warning]


def test_not_a_fit_says_who_and_offers_nothing() -> None:
    post = intro_post(card(stage="disqualified", closed_by="U0456"), now=NOW)
    assert_valid(post)
    assert texts(post.blocks, "context") == [":no_entry_sign: Not a fit — marked by <@U0456>"]
    assert elements(post.blocks, "actions") == []


def test_won_shows_the_amount_and_can_only_be_reopened() -> None:
    won = claimed(stage="won", amount=12500.0, first_response_at=RECEIVED + timedelta(hours=3))
    post = intro_post(won, now=NOW)
    assert_valid(post)
    assert "*Amount:* 12,500.00" in texts(post.blocks, "section")[-1]
    assert [c["action_id"] for c in elements(post.blocks, "actions")] == [UPDATE_STAGE]


def test_an_owner_that_is_not_a_user_id_is_not_a_mention() -> None:
    post = intro_post(claimed(owner="<!channel>"), now=NOW)
    assert "<!channel>" not in json.dumps(post.blocks)


@pytest.mark.parametrize(
    ("delta", "shown"),
    [
        (timedelta(seconds=59), "0m"),
        (timedelta(minutes=45), "45m"),
        (timedelta(hours=2, minutes=5), "2h 05m"),
        (timedelta(days=3, hours=4, minutes=59), "3d 4h"),
        (timedelta(minutes=-5), "0m"),
    ],
)
def test_durations(delta: timedelta, shown: str) -> None:
    assert duration(delta) == shown


# --- values -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("verb", "arg", "ref"),
    [("claim", "assisted_close", "ACME-12"), ("not_a_fit", "", "GLOBEX-3")],
)
def test_action_values_round_trip(verb: str, arg: str, ref: str) -> None:
    assert parse_value(action_value(verb, arg, ref)) == (verb, arg, ref)


@pytest.mark.parametrize(
    "garbage",
    ["", "ACME-12", "claim:sourced", "claim:sourced:", "claim:a:B:C", ":x:REF", "a b:c:R"],
)
def test_parse_value_refuses_garbage(garbage: str) -> None:
    with pytest.raises(ValueError):
        parse_value(garbage)


@pytest.mark.parametrize(
    ("verb", "arg", "ref"),
    [("claim", "sourced", "A:B"), ("claim", "a:b", "REF"), ("claim", "sourced", "R" * 150)],
)
def test_action_value_refuses_what_would_not_parse_back(verb: str, arg: str, ref: str) -> None:
    with pytest.raises(ValueError):
        action_value(verb, arg, ref)


# --- the thread ---------------------------------------------------------------------------


def test_thread_lines_name_the_actor() -> None:
    assert thread_line("claimed", "slack:U0123", "Sourced") == (
        ":raising_hand: <@U0123> claimed it: Sourced"
    )
    assert thread_line("first_response", "email:rep@ours.example", None) == (
        ":speech_balloon: rep@ours.example sent the first response"
    )
    assert thread_line("conflict", "system", "GLOBEX-3 came first").startswith(":warning: Handoff")


@pytest.mark.parametrize("hostile", HOSTILE)
def test_thread_lines_escape_email_text(hostile: str) -> None:
    line = thread_line("activity", f"email:{hostile}", f"{hostile}\nsecond {hostile}")
    assert hostile not in line
    assert "<" not in line
    assert line.endswith(f"\n> second {escape(hostile)}")


def test_thread_line_fits_a_section_and_survives_unknown_kinds() -> None:
    assert len(thread_line("activity", "system", "&" * 5000)) <= 3000
    assert thread_line("<!here>", "system", None) == ":memo: Handoff &lt;!here&gt;"


# --- modals -------------------------------------------------------------------------------


def inputs(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}


def assert_modal(view: dict[str, Any], callback_id: str) -> None:
    View(**view).validate_json()
    assert view["type"] == "modal"
    assert view["callback_id"] == callback_id
    assert view["private_metadata"] == "ACME-12"
    assert len(view["title"]["text"]) <= 24
    assert view["submit"]["text"] and view["close"]["text"]


def test_next_step_modal() -> None:
    view = next_step_modal(claimed(next_step="Joint call", next_step_due=date(2024, 5, 3)))
    assert_modal(view, NEXT_STEP_MODAL)
    step, due = inputs(view)["step"]["element"], inputs(view)["due"]["element"]
    assert (step["type"], step["action_id"], step["max_length"]) == (
        "plain_text_input",
        "text",
        500,
    )
    assert step["initial_value"] == "Joint call"
    assert (due["type"], due["action_id"], due["initial_date"]) == (
        "datepicker",
        "date",
        "2024-05-03",
    )


def test_next_step_modal_without_a_step_yet() -> None:
    view = next_step_modal(claimed(prospect_name="<!here>"))
    assert_modal(view, NEXT_STEP_MODAL)
    assert "initial_value" not in inputs(view)["step"]["element"]
    assert "<!here>" not in json.dumps(view)


def test_stage_modal() -> None:
    view = stage_modal(claimed(stage="meeting", amount=1200.5))
    assert_modal(view, STAGE_MODAL)
    stage, amount = inputs(view)["stage"], inputs(view)["amount"]
    assert stage["element"]["action_id"] == "stage"
    assert [o["value"] for o in stage["element"]["options"]] == [
        "claimed",
        "contacted",
        "meeting",
        "opportunity",
        "won",
        "lost",
        "disqualified",
    ]
    assert stage["element"]["initial_option"]["value"] == "meeting"
    assert amount["optional"] is True
    assert amount["label"]["text"] == "Amount won, in USD (required when won)"
    euros = inputs(stage_modal(claimed(stage="meeting"), "EUR"))["amount"]
    assert euros["label"]["text"] == "Amount won, in EUR (required when won)"
    element = amount["element"]
    assert (element["type"], element["action_id"]) == ("number_input", "amount")
    assert element["is_decimal_allowed"] is True
    assert element["initial_value"] == "1200.50"


def test_reassign_modal() -> None:
    view = reassign_modal(claimed())
    assert_modal(view, REASSIGN_MODAL)
    user = inputs(view)["owner"]["element"]
    assert (user["type"], user["action_id"]) == ("users_select", "user")


# --- App Home -----------------------------------------------------------------------------


def home(count: int, *, manager: bool) -> dict[str, Any]:
    many = [claimed(ref=f"ACME-{n}", next_step=f"Step {n}") for n in range(count)]
    problems = [
        (f"acme: c{n}@acme.example", "refused: 550 5.1.1 no such user") for n in range(count)
    ]
    view = home_view(
        mine=many,
        unclaimed=many,
        disputed=many,
        manager=manager,
        now=NOW,
        overdue=many,
        attention=problems,
        triage=list(range(count))[:5],
    )
    View(**view).validate_json()
    assert view["type"] == "home"
    assert len(view["blocks"]) <= 100
    return view


@pytest.mark.parametrize("manager", [True, False])
def test_empty_home_is_friendly(manager: bool) -> None:
    view = home(0, manager=manager)
    headers = [b["text"]["text"] for b in view["blocks"] if b["type"] == "header"]
    lists = [
        "Your open referrals",
        "Unclaimed",
        "Disputed",
        "Overdue next steps",
        "Partner email needs a look",
    ]
    assert headers == (lists if manager else headers[:1])
    assert "Nothing open right now" in json.dumps(view)


@pytest.mark.parametrize(("manager", "more"), [(True, [125, 130, 130, 130]), (False, [60])])
def test_home_with_150_cards_stays_within_100_blocks(manager: bool, more: list[int]) -> None:
    view = home(150, manager=manager)
    notes = [t for t in texts(view["blocks"], "context") if t.startswith("…and")]
    assert notes == [f"…and {n} more" for n in more]


def test_home_lines_show_prospect_stage_and_next_step() -> None:
    due = claimed(next_step="Send <deck>", next_step_due=date(2024, 5, 3), stage="contacted")
    view = home_view(mine=[due, claimed()], unclaimed=[card()], disputed=[], manager=True, now=NOW)
    lines = texts(view["blocks"], "section")
    assert lines[0] == (
        "*ACME-12* · Jane Doe (Initech) · Contacted\nNext: Send &lt;deck&gt; · due Fri 2024-05-03"
    )
    assert lines[1].endswith("\n_No next step set_")
    assert lines[2] == "*ACME-12* · Jane Doe (Initech)\nfrom Acme Corp · waiting 1d 0h"
    assert "No disputes to resolve." in texts(view["blocks"], "context")


def test_home_counts_what_it_does_not_show_from_the_full_totals() -> None:
    unclaimed = [card(ref=f"ACME-{n}") for n in range(1, 51)]  # the first 50 of 300
    view = home_view(
        mine=[], unclaimed=unclaimed, disputed=[], manager=True, now=NOW, totals=(0, 300, 0)
    )
    shown = json.dumps(view)
    assert "ACME-20" in shown and "ACME-21" not in shown
    assert "…and 280 more" in view_text(view)


def test_managers_see_overdue_next_steps_with_their_owner() -> None:
    late = claimed(next_step="Joint demo", next_step_due=date(2024, 5, 1))
    view = home_view(
        mine=[], unclaimed=[], disputed=[], manager=True, now=NOW, overdue=[late], overdue_total=1
    )
    line = [t for t in texts(view["blocks"], "section") if "Joint demo" in t]
    assert line == ["*ACME-12* · Jane Doe (Initech) · <@U0123> · due Wed 2024-05-01\nJoint demo"]


def view_text(view: dict[str, Any]) -> str:
    return json.dumps(view, ensure_ascii=False)


def test_managers_see_partner_mail_that_needs_a_look_escaped() -> None:
    view = home_view(
        mine=[],
        unclaimed=[],
        disputed=[],
        manager=True,
        now=NOW,
        attention=[
            ("acme: lee@acme.example", "refused: 550 5.1.1 <!channel> no such user"),
            ("reply #7 from eve@evil.example", "sender is not one of acme's contacts"),
        ],
    )
    shown = json.dumps(view)
    assert "lee@acme.example" in shown and "reply #7 from eve@evil.example" in shown
    assert "<!channel>" not in shown
