"""`handoff replies explain` and `handoff ingest --json` on partners' replies, as an operator
runs them: the digest went out over SMTP (aiosmtpd), the reply is a file on disk."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.support.digests import DANA, World, answered, reply, sent_digest
from tests.support.handoff import Handoff


@pytest.fixture
def cli(world: World, handoff: Handoff, monkeypatch: pytest.MonkeyPatch) -> Handoff:
    """`handoff` with the settings of the digest world (its secret verifies the tokens)."""
    secret = world.settings.secret
    assert secret is not None
    monkeypatch.setenv("HANDOFF_SECRET", secret.get_secret_value())
    return handoff


async def inline_reply(world: World, tmp_path: Path) -> Path:
    await sent_digest(world)
    digest = world.smtp.inbox.to(DANA)[0]
    body = answered(
        digest,
        {"ACME-2 ·": "Bruce signed the NDA.", "Next step: Demo": "Demo moved to Friday."},
        top="Hi team, answers inline.",
        end="Sent from my iPhone",
    )
    path = tmp_path / "reply.eml"
    path.write_bytes(reply(digest, body, quote=False))
    return path


async def test_explain_shows_the_split_and_where_each_answer_goes(
    world: World, cli: Handoff, tmp_path: Path
) -> None:
    path = await inline_reply(world, tmp_path)
    out = await asyncio.to_thread(cli, "replies", "explain", str(path))
    assert out.startswith(f"From Dana Scully <{DANA}>: Re: Acme Consulting")
    assert "Read from the plain-text part." in out
    assert "An answer to our digest #1 to dana@acmeconsulting.example (acme)" in out
    split = out.split("How it was split:\n")[1].split("\nWhere it goes:")[0]
    kinds = [line[2:12].strip() for line in split.splitlines() if line[2:12].strip()]
    assert kinds == ["new", "header", "quote", "new", "quote", "new", "quote", "signature"]
    assert "  new       | Bruce signed the NDA." in split
    assert "(ends in ACME-2's block: what follows answers it)" in split
    assert "  signature | Sent from my iPhone" in split
    assert "more quoted lines" in split  # a long quote is shortened
    where = out.split("Where it goes:\n")[1]
    assert "  → ACME-2: under ACME-2's quoted lines\n      Bruce signed the NDA." in where
    assert "  → ACME-1: under ACME-1's quoted lines\n      Demo moved to Friday." in where
    assert "  → a manager (handoff triage): names no referral" in where
    assert "Result: digest_reply; answers landed on ACME-2, ACME-1; the rest names" in where
    # Explaining changes nothing: no event, nothing stored.
    assert await world.events() == []

    shown = await asyncio.to_thread(cli.json, "replies", "explain", str(path))
    assert isinstance(shown, dict)
    assert shown["read_from"] == "plain" and shown["kind"] == "digest_reply"
    assert [(p["referrals"], p["text"]) for p in shown["placed"]] == [
        ([], "Hi team, answers inline."),
        (["ACME-2"], "Bruce signed the NDA."),
        (["ACME-1"], "Demo moved to Friday."),
    ]
    assert [p["block"] for p in shown["parts"] if p["kind"] == "quote"] == [
        "ACME-2",
        "ACME-1",
        None,
    ]


async def test_explain_an_automatic_answer_applies_nothing(
    world: World, cli: Handoff, tmp_path: Path
) -> None:
    await sent_digest(world)
    digest = world.smtp.inbox.to(DANA)[0]
    path = tmp_path / "auto.eml"
    path.write_bytes(
        reply(digest, "ACME-1: I am away.", headers={"Auto-Submitted": "auto-replied"})
    )
    out = await asyncio.to_thread(cli, "replies", "explain", str(path))
    assert "Intake takes it as auto_reply, and applies nothing of it: " in out
    assert "→ ACME-1" not in out and "  new text: ACME-1: I am away." in out


async def test_explain_a_reply_that_is_not_to_our_mail_and_bad_input(
    world: World, cli: Handoff, tmp_path: Path
) -> None:
    path = tmp_path / "intro.eml"
    path.write_bytes(
        b"From: Dana <dana@acmeconsulting.example>\r\nTo: partners@ours.example\r\n"
        b"Subject: hello\r\n\r\nThanks!\r\n\r\n-- \r\nDana\r\n"
    )
    out = await asyncio.to_thread(cli, "replies", "explain", str(path))
    assert "Not an answer to Handoff's mail" in out
    assert "  new text: Thanks!" in out
    missing = tmp_path / "nope.eml"
    await asyncio.to_thread(cli, "replies", "explain", str(missing), expect=2)
    assert cli.err.strip().splitlines() == [
        f"handoff: cannot read {missing}: No such file or directory"
    ]
    empty = tmp_path / "empty.eml"
    empty.write_bytes(b"\n")
    await asyncio.to_thread(cli, "replies", "explain", str(empty), expect=2)
    assert "is empty: expected one email message" in cli.err


async def test_ingest_json_shows_the_text_and_each_inline_answer(
    world: World, cli: Handoff, tmp_path: Path
) -> None:
    path = await inline_reply(world, tmp_path)
    [line] = await asyncio.to_thread(cli.ingest, path)
    assert line["kind"] == "digest_reply"
    assert line["text"] == (
        "Hi team, answers inline.\n\nBruce signed the NDA.\n\nDemo moved to Friday."
    )
    assert line["answers"] == [
        {"referral": "ACME-2", "text": "Bruce signed the NDA."},
        {"referral": "ACME-1", "text": "Demo moved to Friday."},
    ]
    # A top-posted reply has its text, and no answers list.
    digest = world.smtp.inbox.to(DANA)[0]
    top = tmp_path / "top.eml"
    top.write_bytes(reply(digest, "ACME-1: the demo went well.\n\nThanks,\nDana"))
    [line] = await asyncio.to_thread(cli.ingest, top)
    assert (line["text"], line["referral"], "answers" in line) == (
        "ACME-1: the demo went well.",
        "ACME-1",
        False,
    )


async def test_ingest_json_shows_a_thread_replys_new_text(
    scenario: Handoff, tmp_path: Path
) -> None:
    from tests.support import imap

    intro = tmp_path / "intro.eml"
    intro.write_bytes(imap.intro(1))
    [first] = await asyncio.to_thread(scenario.ingest, intro)
    answer = tmp_path / "answer.eml"
    answer.write_bytes(
        b"From: Prospect 1 <p1@prospect1.example>\r\nTo: dana@acmeconsulting.example\r\n"
        b"Subject: Re: Intro\r\nMessage-ID: <answer-1@prospect1.example>\r\n"
        + f"In-Reply-To: <{first['message_id']}>\r\n".encode()
        + b"\r\nHappy to talk on Tuesday.\r\n\r\nOn Mon, Nov 30, 2026 at 9:00 AM Dana "
        b"<dana@acmeconsulting.example> wrote:\r\n> Meet Sam.\r\n"
    )
    [line] = await asyncio.to_thread(scenario.ingest, answer)
    assert (line["kind"], line["referral"], line["text"]) == (
        "thread_reply",
        "ACME-1",
        "Happy to talk on Tuesday.",
    )
