"""The README's first command: `handoff demo` tells a week of referrals through the real code."""

from __future__ import annotations

import re

import pytest

from bot.demo import story
from tests.support.paths import ROOT


@pytest.fixture(scope="module")
def told(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The demo's transcript, run once for this module through the CLI, as a user runs it."""
    import subprocess
    import sys

    folder = tmp_path_factory.mktemp("demo-cwd")
    done = subprocess.run(
        [sys.executable, "-m", "bot", "demo"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    # Throwaway: nothing is left behind in the working folder.
    assert list(folder.iterdir()) == []
    return done.stdout


def step(told: str, title: str) -> str:
    """What the transcript shows under the step whose title contains `title`."""
    parts = re.split(r"\n(?=\w{3} \d{2} \w{3} \d{2}:\d{2}  )", told)
    found = [p for p in parts if title in p.split("\n", 1)[0]]
    assert found, f"no step titled {title!r}"
    return found[0]


def read(told: str, title: str) -> str:
    """The step's text as a reader takes it in: no panel borders, lines joined as wrapped."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", step(told, title)).split())


def test_three_partners_intros_are_posted_forwarded_bccd_and_conflicting(told: str) -> None:
    assert "partners+acme@ours.example" in read(told, "Three partners")
    cc = read(told, "Dana at Acme introduces")
    assert "intake: new_intro → ACME-1" in cc and "#partner-intros" in cc
    assert "Jane Doe" in cc and "Claim · Sourced" in cc
    bcc = read(told, "Bcc'ing")
    assert "intake: new_intro → INITECH-1" in bcc and "Richard Hendricks" in bcc
    forward = read(told, "Sam forwards")
    assert "intake: new_intro → ACME-2" in forward and "Bruce Wayne" in forward
    conflict = read(told, "Hank at Globex")
    assert "new_intro → GLOBEX-1 (conflicts with ACME-1)" in conflict
    assert "Disputed: ACME-1 (Acme Consulting) introduced this prospect first" in conflict


def test_duplicates_auto_replies_and_unknown_addresses_are_kept_not_posted(told: str) -> None:
    kept = read(told, "what every mailbox gets")
    assert "intake: duplicate → ACME-1" in kept
    assert "intake: auto_reply" in kept
    assert "intake: unknown_partner: plus tag 'nosuch' names no partner" in kept
    assert "#partner-intros" not in kept  # none of them reaches Slack


def test_claims_by_click_fix_owner_and_role(told: str) -> None:
    sourced = read(told, "Sam Rivera claims ACME-1")
    assert "Claimed by @Sam Rivera as Sourced" in sourced
    assert "in the thread of ACME-1" in sourced
    influenced = read(told, "Priya Nair claims ACME-2")
    assert "Claimed by @Priya Nair as Influenced" in influenced


def test_a_reps_reply_all_is_the_first_response(told: str) -> None:
    reply = read(told, "Sam replies all")
    assert "thread_reply → ACME-1 (first response)" in reply
    assert "sent the first response" in reply


def test_an_unclaimed_intro_is_nudged_then_escalated(told: str) -> None:
    nudged = read(told, "The sweeps run")
    assert "in the thread of INITECH-1" in nudged and "waited 35m for an owner" in nudged
    escalated = read(told, "Twice the claim time")
    assert "DM to Morgan Lee" in escalated and "Still unclaimed" in escalated
    assert "INITECH-1" in escalated


def test_slow_first_responses_and_due_steps_are_reminded(told: str) -> None:
    tuesday = read(told, "Tuesday")
    assert "DM to Priya Nair" in tuesday and "no first response is recorded yet" in tuesday
    answered = read(told, "she says so from the reminder")
    assert "Marked responded by @Priya Nair" in answered
    due = read(told, "the joint step is due today")
    assert "DM to Sam Rivera" in due and "Due today, next joint step on ACME-1" in due
    assert "Joint demo with Dana and Jane" in due


def test_the_manager_settles_the_dispute_from_attribution(told: str) -> None:
    settled = read(told, "settles the dispute")
    assert "/attribution queues: only visible to Morgan Lee" in settled
    assert "Acme Consulting wins" in settled and "a form opens: Settle the dispute" in settled
    assert "GLOBEX-1 (Globex Partners) introduced this prospect too; the dispute is settled" in (
        settled
    )


def test_the_digest_is_emailed_and_each_inline_answer_lands_in_its_thread(told: str) -> None:
    digests = read(told, "status digest by email")
    assert "To: dana@acmeconsulting.example" in digests
    assert re.search(r"Reply-To: partners\+r-[\w-]+@ours\.example", digests)
    assert "Acme Consulting: 2 new referrals" in digests
    reply = read(told, "Dana answers her digest inline")
    assert "intake: digest_reply → ACME-1, ACME-2 (answered inline)" in reply
    one, two = reply.split("in the thread of ACME-1")[1].split("in the thread of ACME-2")
    assert "Hooli wants a proposal by Friday" in one and "@Sam Rivera" in one  # owner told
    assert "comparing two vendors" in two and "@Priya Nair" in two
    assert "comparing" not in one and "Hooli" not in two and "iPhone" not in reply


def test_attribution_prints_the_quarter_and_the_story_ends_with_next_steps(told: str) -> None:
    quarter = step(told, "looks at the quarter")
    assert "Partner attribution · 20" in quarter
    pipeline = quarter.split("Roles and activity")[0]
    cells = [line.strip("│ ").split() for line in pipeline.splitlines()]
    rows = {cell[0]: cell[1:4] for cell in cells if len(cell) > 3}
    assert rows["acme"][:2] == ["2", "2"]  # received, claimed
    assert rows["globex"][:2] == ["1", "0"]
    assert rows["Total"][:2] == ["4", "3"]
    assert "Where to go next" in told and "manifest.yml" in told
    assert re.search(r"Demo finished in \d+\.\d s\.", told)


def test_the_story_is_set_after_now_on_a_monday() -> None:
    from datetime import UTC, datetime

    # The service stamps some rows with the wall clock: the story must never run behind it.
    sunday = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)  # Sunday evening in New York
    monday = story.first_monday(sunday)
    assert (monday.weekday(), monday.hour, monday.minute) == (0, 8, 50)
    assert monday.date().isoformat() == "2026-11-23" and monday > sunday
    # Monday morning itself is too close: the next one.
    later = story.first_monday(datetime(2026, 11, 23, 13, 0, tzinfo=UTC))
    assert later.date().isoformat() == "2026-11-30"


def test_partners_get_receipts_at_once(told: str) -> None:
    registered = read(told, "Dana at Acme introduces")
    assert "To: dana@acmeconsulting.example" in registered
    assert "Subject: ACME-1 registered: Jane Doe (Hooli)" in registered
    assert re.search(r"registered to Acme Consulting at \w{3} [\d-]+ 09:12 EST", registered)
    assert "protected until" in registered
    claimed = read(told, "Sam Rivera claims ACME-1")
    assert "Subject: ACME-1: Sam Rivera owns it" in claimed
    disputed = read(told, "Hank at Globex")
    assert "To: hank@globexpartners.example" in disputed
    assert "This prospect was already registered with us on" in disputed
    assert "Acme" not in disputed.split("Subject: Jane Doe (Hooli): already registered")[1]


def test_a_calendar_invitation_counts_the_meeting(told: str) -> None:
    booked = read(told, "Sam books the joint demo")
    assert "intake: meeting → ACME-1" in booked
    assert "stage claimed → meeting" in booked and "saw a meeting booked" in booked
    assert "Stage: Meeting" in booked and "Meeting 20" in booked


def test_a_referral_logged_in_slack_is_confirmed_by_the_partners_reply(told: str) -> None:
    logged = read(told, "logs an intro Hank made")
    assert "a form opens: Log partner referral" in logged
    assert "GLOBEX-2 · Globex Partners" in logged and "Laurie Bream" in logged
    assert "awaiting the partner's confirmation" in logged
    assert "Subject: Did you introduce Laurie Bream (Raviga)? (GLOBEX-2)" in logged
    confirmed = read(told, "Hank answers the question")
    assert "intake: digest_reply → GLOBEX-2" in confirmed
    assert "confirmed the introduction" in confirmed and "confirmed by the partner" in confirmed
