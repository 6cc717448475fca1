"""/attribution as people see it in Slack: the report, its queues, overrides, disputes, files.

Real `handoff serve` against the Slack stand-in (tests/support/slackbot.py); referrals are
written straight into the database (tests/support/world.py) at instants inside this quarter,
since the bot reads the real clock.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.demo.standin.signing import command_body, slash_command
from bot.demo.standin.slack import SlackStandIn
from bot.referrals import cards
from bot.slack import blocks
from tests.support.slackbot import Answer, Bot, running_bot
from tests.support.world import add_partner, add_referral, event, partner, referral, update

MANAGER, REP, OTHER_REP = "U0BOSS", "U0REP1", "U0REP2"
CHANNEL = "C0INTROS"
PEOPLE = {
    user: {"id": user, "name": user.lower(), "tz": "UTC"} for user in (MANAGER, REP, OTHER_REP)
}


# Time: the bot reads the real clock, so "this quarter" is the current one (UTC by default).


def quarter_start(now: datetime) -> datetime:
    return datetime(now.year, 3 * ((now.month - 1) // 3) + 1, 1, tzinfo=UTC)


def recent(k: int) -> datetime:
    """An instant inside this quarter and before now; a larger k is earlier (1 ≤ k ≤ 99)."""
    now = datetime.now(UTC)
    room = min(now - quarter_start(now), timedelta(minutes=100))
    return now - room * k / 100


def last_quarter() -> datetime:
    return quarter_start(datetime.now(UTC)) - timedelta(days=10)


# Asking, and reading the answers.


async def ask(
    bot: Bot, text: str, *, user: str = MANAGER, channel: str = CHANNEL
) -> tuple[Answer, list[dict[str, Any]]]:
    """`/attribution text` as Slack sends it; the ack and every message sent to its
    response_url (waiting until no more arrive for a moment)."""
    before = len(bot.slack.responses)
    body = slash_command(
        "/attribution", text, user=user, channel=channel, response_url=bot.slack.response_url()
    )
    ack = await bot.send(body)
    assert ack.status == 200, ack.text
    await bot.until(f"an answer to /attribution {text}", lambda: len(bot.slack.responses) > before)
    seen = -1
    while seen != len(bot.slack.responses):
        seen = len(bot.slack.responses)
        await asyncio.sleep(0.4)
    return ack, bot.slack.responses[before:]


def everything(messages: list[dict[str, Any]]) -> str:
    """All a user reads in these messages: texts and every text in their blocks."""
    out = []
    for message in messages:
        out.append(message.get("text") or "")
        out += list(_texts(message.get("blocks") or []))
    return "\n".join(out)


def _texts(node: Any) -> Any:
    if isinstance(node, dict):
        if isinstance(node.get("text"), str):
            yield node["text"]
        for value in node.values():
            yield from _texts(value)
    elif isinstance(node, list):
        for value in node:
            yield from _texts(value)


def mrkdwn(message: dict[str, Any]) -> list[str]:
    """The texts Slack parses for mentions: the message text and every mrkdwn object."""
    found = [message.get("text") or ""]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str):
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(message.get("blocks") or [])
    return found


def tables(messages: list[dict[str, Any]]) -> dict[str, list[str]]:
    """The code-block tables of an answer by their title (`*Pipeline*`, …), across sections
    and messages, each as its lines (header first, without the rule)."""
    found: dict[str, list[str]] = {}
    title = ""
    for message in messages:
        for block in message.get("blocks") or []:
            if block.get("type") != "section":
                continue
            text = block["text"]["text"]
            if text.startswith("```"):
                lines = text.strip("`").split("\n")
                found.setdefault(title, []).extend(
                    line for line in lines if line and set(line) != {"-"}
                )
            else:
                title = text.split("\n")[0].strip("*").split("*")[0]
    return found


def rows(lines: list[str]) -> dict[str, dict[str, str]]:
    """A table's rows by their first cell, each as {column: cell}."""
    header = re.split(r"\s{2,}", lines[0].strip())
    out = {}
    for line in lines[1:]:
        cells = line.split()
        assert len(cells) == len(header), f"a row that does not fit its header: {line!r}"
        out[cells[0]] = dict(zip(header, cells, strict=True))
    return out


def pipeline(messages: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    return rows(tables(messages)["Pipeline"])


# The database.


async def referral_row(engine: AsyncEngine, ref: str) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(sa.select(referral).where(referral.c.ref == ref))).one()


async def events_of(engine: AsyncEngine, ref: str) -> list[Any]:
    async with engine.connect() as conn:
        query = (
            sa.select(event.c.kind, event.c.actor, event.c.detail)
            .join(referral, referral.c.id == event.c.referral_id)
            .where(referral.c.ref == ref)
            .order_by(event.c.id)
        )
        return list((await conn.execute(query)).all())


async def small_world(engine: AsyncEngine) -> dict[str, int]:
    """acme: an intro of last quarter, then three this quarter (ACME-2 won 12,000 by the rep,
    ACME-3 the other rep's, ACME-4 unclaimed); globex: one this quarter (unclaimed)."""
    acme = await add_partner(engine, "acme", created=last_quarter() - timedelta(days=30))
    globex = await add_partner(engine, "globex", created=last_quarter() - timedelta(days=30))
    ids = {"ACME-1": await add_referral(engine, acme, received=last_quarter(), owner=OTHER_REP)}
    ids["ACME-2"] = await add_referral(
        engine,
        acme,
        received=recent(90),
        owner=REP,
        role="sourced",
        stage="won",
        amount=12000.0,
        claimed_at=recent(89),
        first_response_at=recent(80),
        met_at=recent(70),
        opportunity_at=recent(60),
    )
    ids["ACME-3"] = await add_referral(
        engine,
        acme,
        received=recent(50),
        owner=OTHER_REP,
        role="influenced",
        stage="claimed",
        claimed_at=recent(45),
    )
    ids["ACME-4"] = await add_referral(engine, acme, received=recent(40))
    ids["GLOBEX-1"] = await add_referral(engine, globex, received=recent(30))
    return ids


def know_people(slack: SlackStandIn) -> None:
    slack.users.update(PEOPLE)


def lines(bot: Bot, slack_ts: str) -> list[dict[str, Any]]:
    """The lines of a referral's thread that tell a manager's word on its role."""
    said = bot.slack.thread(CHANNEL, slack_ts)
    return [m for m in said if "set the partner role" in m["text"]]


# 1-2. The manager's summary.


async def test_a_managers_summary_is_acknowledged_at_once_then_answered_with_every_partner(
    engine: AsyncEngine,
) -> None:
    await small_world(engine)
    async with running_bot(engine, managers=MANAGER) as bot:
        ack, answers = await ask(bot, "")
    assert ack.seconds < 3, f"Slack gives up after 3 s; the ack took {ack.seconds:.1f} s"
    assert "Total" not in ack.text and "acme" not in ack.text, "the report came in the ack"
    assert answers, "no answer through the response_url"
    assert all(a["response_type"] == "ephemeral" for a in answers)
    table = pipeline(answers)
    assert set(table) == {"acme", "globex", "Total"}
    assert (table["acme"]["Received"], table["acme"]["Won"]) == ("3", "1")
    assert (table["globex"]["Received"], table["globex"]["Won"]) == ("1", "0")
    assert (table["Total"]["Received"], table["Total"]["Won"]) == ("4", "1")
    assert (table["acme"]["Claimed"], table["acme"]["Meetings"]) == ("2", "1")
    assert table["acme"]["Revenue"] == table["Total"]["Revenue"] == "12k"
    roles = rows(tables(answers)["Roles and activity"])
    assert (roles["acme"]["Sourced"], roles["acme"]["Influenced"]) == ("1", "1")
    assert list(pipeline(answers))[-1] == "Total", "the totals row comes last"
    assert "4 received" in answers[0]["text"] and "1 won" in answers[0]["text"]


async def test_public_shows_the_summary_to_the_channel(engine: AsyncEngine) -> None:
    await small_world(engine)
    async with running_bot(engine, managers=MANAGER) as bot:
        _, answers = await ask(bot, "public")
        _, again = await ask(bot, "this quarter public")
    for said in (answers, again):
        assert said and all(a["response_type"] == "in_channel" for a in said)
        assert pipeline(said)["Total"]["Received"] == "4"


async def test_another_period_counts_the_referrals_received_in_it(engine: AsyncEngine) -> None:
    await small_world(engine)
    async with running_bot(engine, managers=MANAGER) as bot:
        _, answers = await ask(bot, "last quarter")
        _, ranged = await ask(bot, f"{last_quarter().date()}..{last_quarter().date()}")
    table = pipeline(answers)
    assert (table["acme"]["Received"], table["globex"]["Received"]) == ("1", "0")
    assert table["Total"]["Received"] == "1"
    assert pipeline(ranged)["Total"]["Received"] == "1"


async def test_queues_show_unclaimed_overdue_and_inactive_partners(engine: AsyncEngine) -> None:
    await small_world(engine)
    gone = await add_partner(engine, "dormant", created=last_quarter() - timedelta(days=400))
    await add_referral(engine, gone, received=last_quarter() - timedelta(days=200))
    acme3 = (await referral_row(engine, "ACME-3")).id
    yesterday = datetime.now(UTC) - timedelta(days=2)
    await update(engine, acme3, next_step="Joint demo with Acme", next_step_due=yesterday)
    async with running_bot(engine, managers=MANAGER) as bot:
        _, boss = await ask(bot, "queues")
        _, rep = await ask(bot, "queues", user=REP)
        _, owner = await ask(bot, "queues", user=OTHER_REP)
    shown = everything(boss)
    unclaimed = shown[shown.index("Unclaimed") : shown.index("Overdue")]
    assert "ACME-4" in unclaimed and "GLOBEX-1" in unclaimed and "ACME-2" not in unclaimed
    overdue = shown[shown.index("Overdue") : shown.index("Disputed")]
    assert "ACME-3" in overdue and "Joint demo with Acme" in overdue
    inactive = shown[shown.index("Inactive partners") :]
    assert "dormant" in inactive and "acme" not in inactive
    assert "Disputed" not in everything(rep) and "dormant" not in everything(rep)
    assert "ACME-3" not in everything(rep), "a rep sees another rep's overdue step"
    assert "Joint demo with Acme" in everything(owner)


# 3. A rep.


async def test_a_rep_sees_the_totals_and_their_own_referrals_only(engine: AsyncEngine) -> None:
    await small_world(engine)
    async with running_bot(engine, managers=MANAGER) as bot:
        _, answers = await ask(bot, "", user=REP)
        _, detail = await ask(bot, "partner acme", user=REP)
    table = pipeline(answers)
    assert set(table) == {"Total"}, f"a rep sees other partners' rows: {sorted(table)}"
    assert (table["Total"]["Received"], table["Total"]["Won"]) == ("4", "1")
    shown = everything(answers)
    assert "ACME-2" in shown
    for others in ("ACME-1", "ACME-3", "ACME-4", "GLOBEX-1"):
        assert others not in shown, f"a rep sees {others}, not theirs"
    shown = everything(detail)
    assert "ACME-2" in shown and "ACME-3" not in shown and "ACME-4" not in shown
    assert set(pipeline(detail)) == {"Total"}


# 4. Help, unknown forms, bad periods.


async def test_help_lists_the_forms_and_never_a_trace(engine: AsyncEngine) -> None:
    async with running_bot(engine, managers=MANAGER) as bot:
        before = len(bot.slack.responses)
        body = command_body(
            command="/attribution",
            text="help",
            user_id=REP,
            team_id="T0TEAM",
            channel_id=CHANNEL,
            trigger_id="7.42.help",
            response_url=bot.slack.response_url(),
        )
        ack = await bot.send(body)
        await asyncio.sleep(0.5)
        later = bot.slack.responses[before:]
    said = ack.json()["text"] if ack.text else everything(later)
    for form in ("export", "chart", "set ", "queues", "public"):
        assert form in said, f"help does not mention {form!r}"
    assert "Traceback" not in said and "Error" not in said


async def test_an_unknown_form_answers_with_the_help(engine: AsyncEngine) -> None:
    async with running_bot(engine, managers=MANAGER) as bot:
        ack, answers = await ask(bot, "frobnicate", user=REP)
    said = ack.text + everything(answers)
    assert "Traceback" not in said and "could not answer" not in said
    assert all(a["response_type"] == "ephemeral" for a in answers)
    missing = [form for form in ("export", "chart", "set ") if form not in said]
    assert not missing, (
        f"`/attribution frobnicate` answers {said.strip()!r}, without the help's {missing}"
    )


async def test_a_bad_period_answers_with_its_reason_then_the_help(
    engine: AsyncEngine,
) -> None:
    await small_world(engine)
    async with running_bot(engine, managers=MANAGER) as bot:
        _, answers = await ask(bot, "2026-Q9")
        _, backwards = await ask(bot, "2026-12-31..2026-10-01")
    for said, quoted in ((answers, "2026-Q9"), (backwards, "2026-12-31..2026-10-01")):
        assert len(said) == 1 and said[0]["response_type"] == "ephemeral"
        assert not said[0].get("blocks"), "a refusal is a sentence, not a report"
        reason, _, rest = said[0]["text"].partition("\n\n")
        assert "\n" not in reason and quoted.lower() in reason.lower(), reason
        assert "/attribution export" in rest and "/attribution set" in rest  # then the help
        assert "Traceback" not in said[0]["text"]


# 5. A manager's word on the role.


async def test_a_manager_overrides_a_role_with_a_reason_and_the_report_says_so(
    engine: AsyncEngine,
) -> None:
    acme = await add_partner(engine, "acme")
    await add_referral(engine, acme, received=recent(60))
    await add_referral(engine, acme, received=recent(50))
    async with running_bot(engine, managers=MANAGER) as bot:
        _, said = await ask(bot, "set ACME-2 role influenced partner did the intro call")
        assert "ACME-2" in said[0]["text"] and "Influenced" in said[0]["text"], said
        row = await referral_row(engine, "ACME-2")
        assert row.role == "influenced" and row.role_overridden_at is not None
        overridden = [e for e in await events_of(engine, "ACME-2") if e.kind == "role_overridden"]
        assert len(overridden) == 1
        assert overridden[0].actor == "slack:U0BOSS"
        assert "partner did the intro call" in overridden[0].detail
        # The referral's thread tells the channel who set it, and why.
        thread = await bot.until("the line in the thread", lambda: lines(bot, row.slack_ts))
        assert "<@U0BOSS> set the partner role" in thread[0]["text"]
        assert "partner did the intro call" in thread[0]["text"]

        _, detail = await ask(bot, "partner acme")
        items = {line.split()[0]: line for line in tables(detail)["Referrals of acme"][1:]}
        assert set(items) == {"ACME-1", "ACME-2"}
        assert "Influenced (overridden)" in items["ACME-2"], items["ACME-2"]
        assert "overridden" not in items["ACME-1"]
        roles = rows(tables(detail)["Roles and activity"])
        assert roles["acme"]["Overridden"] == "1" and roles["acme"]["Influenced"] == "1"

        _, refused = await ask(bot, "set ACME-2 role sourced mine really", user=REP)
        assert "Only partner managers" in refused[0]["text"]
        assert refused[0]["response_type"] == "ephemeral"
        assert (await referral_row(engine, "ACME-2")).role == "influenced"

        # A rep claims it afterwards, as Sourced: the manager's role stays.
        await bot.click(blocks.CLAIM_SOURCED, user=REP, value="ACME-2")

        async def owned() -> bool:
            return (await referral_row(engine, "ACME-2")).owner == REP

        await bot.until("the claim", owned)
    row = await referral_row(engine, "ACME-2")
    assert row.role == "influenced", "a claim after an override replaced the manager's role"
    assert row.role_overridden_at is not None
    other = await referral_row(engine, "ACME-1")
    assert other.role is None and other.role_overridden_at is None


# 6. Disputes.


async def disputed_pair(engine: AsyncEngine) -> None:
    """ACME-1 first, GLOBEX-1 later for the same prospect: disputed, pointing at ACME-1."""
    acme = await add_partner(engine, "acme")
    globex = await add_partner(engine, "globex")
    first = await add_referral(
        engine, acme, received=recent(60), prospect_email="jane@prospect.example"
    )
    await add_referral(
        engine,
        globex,
        received=recent(40),
        prospect_email="jane@prospect.example",
        role="disputed",
        conflict_with_id=first,
    )


def dispute_buttons(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        element
        for message in messages
        for block in message.get("blocks") or []
        if block["type"] == "actions"
        for element in block["elements"]
        if element["action_id"].startswith("dispute_winner:")
    ]


async def test_a_manager_settles_a_dispute_from_the_queues(engine: AsyncEngine) -> None:
    await disputed_pair(engine)
    reason = "first call was ours"
    values = {
        "role": {"role": {"type": "radio_buttons", "selected_option": {"value": "unattributed"}}},
        "reason": {"text": {"type": "plain_text_input", "value": reason}},
    }
    async with running_bot(engine, managers=MANAGER) as bot:
        _, queues = await ask(bot, "queues")
        shown = everything(queues)
        assert "Disputed" in shown and "GLOBEX-1" in shown and "ACME-1" in shown
        buttons = dispute_buttons(queues)
        assert len(buttons) == 2
        acme_wins = next(b for b in buttons if b["action_id"].endswith("ACME-1"))
        assert "Acme" in acme_wins["text"]["text"]

        # A rep's click is refused and opens nothing.
        await bot.click(acme_wins["action_id"], user=REP, value=acme_wins["value"])
        told = await bot.until("the refusal", lambda: bot.slack.ephemerals)
        assert told[0]["user"] == REP and "Only partner managers" in told[0]["text"]
        assert bot.slack.calls_to("views.open") == []

        await bot.click(acme_wins["action_id"], user=MANAGER, value=acme_wins["value"])
        [opened] = await bot.slack.wait_for("views.open")
        view = opened["view"]
        assert view["callback_id"] == "dispute_resolve"
        metadata = view["private_metadata"]

        # The modal's submission is checked again: a rep's is refused.
        await bot.submit("dispute_resolve", metadata, values, user=REP)
        await bot.until("the second refusal", lambda: len(bot.slack.ephemerals) == 2)
        assert (await referral_row(engine, "GLOBEX-1")).role == "disputed"

        answer = await bot.submit("dispute_resolve", metadata, values, user=MANAGER)
        assert answer.status == 200

        async def settled() -> bool:
            return (await referral_row(engine, "ACME-1")).role == "sourced"

        await bot.until("the dispute settled", settled)
        _, after = await ask(bot, "queues")
        assert dispute_buttons(after) == []
        _, detail = await ask(bot, "partner globex")
        assert "Unattributed (overridden)" in everything(detail)
    winner, loser = await referral_row(engine, "ACME-1"), await referral_row(engine, "GLOBEX-1")
    assert (winner.role, loser.role) == ("sourced", "unattributed")
    assert winner.role_overridden_at is not None and loser.role_overridden_at is not None
    for ref in ("ACME-1", "GLOBEX-1"):
        resolved = [e for e in await events_of(engine, ref) if e.kind == "dispute_resolved"]
        assert len(resolved) == 1, f"{ref}: {resolved}"
        assert resolved[0].actor == "slack:U0BOSS" and reason in resolved[0].detail
    # Both posts now say the dispute is settled, each naming the other.
    async with engine.connect() as conn:
        for ref, other in (("ACME-1", "GLOBEX-1"), ("GLOBEX-1", "ACME-1")):
            place = await cards.placed(conn, ref=ref)
            assert place is not None
            assert (place.card.conflict_ref, place.card.conflict_settled) == (other, True)
            assert not place.card.disputed


# 7-8. Files: the CSV export and the chart.


def csv_rows(upload: dict[str, Any]) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(upload["content"].decode("utf-8")))
    found = list(reader)
    return list(reader.fieldnames or []), found


async def test_export_uploads_a_csv_of_the_periods_referrals_to_the_askers_dm(
    engine: AsyncEngine,
) -> None:
    ids = await small_world(engine)
    await update(engine, ids["ACME-4"], prospect_name='=HYPERLINK("https://evil.example")')
    boss_dm, rep_dm = SlackStandIn.dm(MANAGER), SlackStandIn.dm(REP)
    async with running_bot(engine, managers=MANAGER) as bot:
        know_people(bot.slack)
        _, said = await ask(bot, "export")
        [mine] = await bot.until("the CSV", lambda: bot.slack.files_in(boss_dm))
        _, rep_said = await ask(bot, "export", user=REP)
        [theirs] = await bot.until("the rep's CSV", lambda: bot.slack.files_in(rep_dm))
        _, public = await ask(bot, "export public")
        [shared] = await bot.until("the channel's CSV", lambda: bot.slack.files_in(CHANNEL))
        await ask(bot, "export last quarter")
        older = await bot.until("a second CSV", lambda: bot.slack.files_in(boss_dm)[1:])
    assert "DM" in said[0]["text"] and said[0]["response_type"] == "ephemeral"
    assert mine["filename"].endswith(".csv")
    header, found = csv_rows(mine)
    for column in ("ref", "partner", "role", "role_overridden", "stage", "owner", "amount"):
        assert column in header, f"the export has no {column} column: {header}"
    assert sorted(r["ref"] for r in found) == ["ACME-2", "ACME-3", "ACME-4", "GLOBEX-1"]
    won = next(r for r in found if r["ref"] == "ACME-2")
    assert (won["partner"], won["role"], won["stage"], won["owner"]) == (
        "acme",
        "sourced",
        "won",
        REP,
    )
    assert float(won["amount"]) == 12000.0 and won["role_overridden"] == ""
    formula = next(r for r in found if r["ref"] == "ACME-4")["prospect_name"]
    assert formula.startswith("'="), "a cell from email must not run as a spreadsheet formula"
    _, found = csv_rows(theirs)
    assert [r["ref"] for r in found] == ["ACME-2"], "a rep's export has others' referrals"
    assert "DM" in rep_said[0]["text"]
    _, found = csv_rows(shared)
    assert len(found) == 4 and "here" in public[0]["text"]
    assert [f for f in bot.slack.files if f["channel"] == CHANNEL] == [shared]
    _, found = csv_rows(older[0])
    assert [r["ref"] for r in found] == ["ACME-1"], "last quarter's export"


async def test_chart_uploads_a_png_for_managers_and_is_refused_to_reps(
    engine: AsyncEngine,
) -> None:
    await small_world(engine)
    async with running_bot(engine, managers=MANAGER) as bot:
        know_people(bot.slack)
        _, refused = await ask(bot, "chart", user=REP)
        assert bot.slack.files == []
        _, said = await ask(bot, "chart")
        [chart] = await bot.until(
            "the PNG", lambda: bot.slack.files_in(SlackStandIn.dm(MANAGER)), seconds=30
        )
    assert chart["content"].startswith(b"\x89PNG\r\n\x1a\n")
    assert chart["filename"].endswith(".png")
    assert "uploaded" in said[0]["text"]
    [answer] = refused
    assert answer["response_type"] == "ephemeral"
    assert "partner managers" in answer["text"] and not answer.get("blocks")
    assert "Traceback" not in answer["text"]


# 9. A long report within Block Kit's limits.


async def many_partners(engine: AsyncEngine, slugs: list[str]) -> None:
    """One referral this quarter for each of these partners, inserted in bulk."""
    created = last_quarter() - timedelta(days=30)
    async with engine.begin() as conn:
        await conn.execute(
            sa.insert(partner),
            [{"slug": s, "name": s.capitalize(), "created_at": created} for s in slugs],
        )
        ids = dict((await conn.execute(sa.select(partner.c.slug, partner.c.id))).all())
        at = recent(50)
        await conn.execute(
            sa.insert(referral),
            [
                {
                    "ref": f"{s.upper()}-1",
                    "partner_id": ids[s],
                    "seq": 1,
                    "dedupe_key": f"<{s}-1@test>",
                    "prospect_email": f"p1@{s}-prospect.example",
                    "prospect_name": "Prospect 1",
                    "subject": "Intro",
                    "received_at": at,
                    "stage": "new",
                    "created_at": at,
                }
                for s in slugs
            ],
        )


def within_limits(answers: list[dict[str, Any]]) -> None:
    for n, message in enumerate(answers):
        shown = message.get("blocks") or []
        assert len(shown) <= 50, f"message {n} has {len(shown)} blocks"
        for block in shown:
            if block["type"] == "section":
                assert len(block["text"]["text"]) <= 3000, f"a section of message {n} is too long"
            if block["type"] == "header":
                assert len(block["text"]["text"]) <= 150


@pytest.mark.parametrize("count", [120, 700])
async def test_a_long_report_is_split_within_block_kit_limits(
    engine: AsyncEngine, count: int
) -> None:
    slugs = [f"partner-{n:03d}" for n in range(count)]
    await many_partners(engine, slugs)
    async with running_bot(engine, managers=MANAGER) as bot:
        _, answers = await ask(bot, "")
    assert answers
    within_limits(answers)
    assert len(answers) <= 5, "a response_url takes five answers"
    table = pipeline(answers)
    missing = [s for s in slugs if s not in table]
    assert not missing, f"partners missing from the report: {missing[:5]}…"
    assert table["Total"]["Received"] == str(count)
    assert set(rows(tables(answers)["Roles and activity"])) == {*slugs, "Total"}


async def test_long_slugs_are_shown_whole_so_that_partners_can_be_told_apart(
    engine: AsyncEngine,
) -> None:
    slugs = ["northwind-consulting-group-emea", "northwind-consulting-group-apac"]
    await many_partners(engine, slugs)
    async with running_bot(engine, managers=MANAGER) as bot:
        _, answers = await ask(bot, "")
    labels = set(pipeline(answers))
    assert labels == {*slugs, "Total"}, (
        f"two partners with long slugs cannot be told apart: {sorted(labels)}"
    )


# 10. Text from email and partner names is inert.


async def test_names_from_outside_never_ping_the_channel(engine: AsyncEngine) -> None:
    evil = await add_partner(engine, "evil", created=last_quarter() - timedelta(days=300))
    sneaky = await add_partner(engine, "sneaky", created=last_quarter() - timedelta(days=300))
    quiet = await add_partner(engine, "quiet", created=last_quarter() - timedelta(days=300))
    async with engine.begin() as conn:
        for pid, name in (
            (evil, "<!channel> Evil"),
            (sneaky, "<!everyone> Sneaky & Co"),
            (quiet, "<!channel> Quiet <@U0REP2>"),
        ):
            await conn.execute(sa.update(partner).where(partner.c.id == pid).values(name=name))
    first = await add_referral(
        engine, evil, received=recent(60), prospect_name="<!here> Bob", prospect_email="b@x.example"
    )
    await add_referral(
        engine,
        sneaky,
        received=recent(50),
        prospect_name="<!here> Bob",
        prospect_email="b@x.example",
        role="disputed",
        conflict_with_id=first,
    )
    mine = await add_referral(
        engine,
        evil,
        received=recent(40),
        prospect_name="<!here> Carol <https://evil.example|bank>",
        owner=REP,
        role="sourced",
        stage="claimed",
    )
    await update(
        engine, mine, claimed_at=recent(39), next_step="<!channel> call", next_step_due=recent(99)
    )
    said: list[dict[str, Any]] = []
    async with running_bot(engine, managers=MANAGER) as bot:
        for text, user in (
            ("", MANAGER),
            ("partner evil", MANAGER),
            ("evil", MANAGER),
            ("queues", MANAGER),
            ("", REP),
            ("queues", REP),
            ("<!channel>", REP),
        ):
            said += (await ask(bot, text, user=user))[1]
        acme_wins = dispute_buttons(said)[0]
        await bot.click(acme_wins["action_id"], user=MANAGER, value=acme_wins["value"])
        [opened] = await bot.slack.wait_for("views.open")
        # A reason typed in Slack carries its mentions as <!channel>: the thread shows it inert.
        said += (await ask(bot, "set EVIL-2 role influenced <!channel> said so"))[1]
        slack_ts = (await referral_row(engine, "EVIL-2")).slack_ts
        said += await bot.until("the thread line", lambda: lines(bot, slack_ts))
    texts = [t for message in said for t in mrkdwn(message)]
    texts += mrkdwn({"blocks": opened["view"]["blocks"]})
    joined = "\n".join(texts)
    for raw in ("<!channel>", "<!here>", "<!everyone>", "<https://evil", "<@U0REP2>"):
        assert raw not in joined, f"{raw} reached Slack unescaped"
    # The names are shown, escaped: the test saw them.
    assert "&lt;!here&gt; Bob" in joined and "&lt;!channel&gt; Evil" in joined
    assert "&lt;!everyone&gt; Sneaky &amp; Co" in joined
    assert "&lt;!channel&gt; Quiet" in joined
    assert "&lt;!here&gt; Carol" in joined
    assert "&lt;!channel&gt; said so" in joined
