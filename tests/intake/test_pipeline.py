"""Intake rules end to end through `handoff ingest`, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import create_engine
from bot.intake.pipeline import Intake
from bot.referrals.directory import Directory
from tests.support.messages import mbox, message, write
from tests.support.paths import ROOT

DAY = timedelta(days=1)
T0 = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)


def test_arrival_not_date_header_decides_first_in(scenario, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # Globex's intro arrives first; Acme's claims an older Date header. Arrival decides.
    globex = message(
        sender="Hank <hank@globexpartners.example>",
        cc="globex-intros@ours.example",
        date=T0 + 5 * DAY,
    )
    acme = message(date=T0 - 30 * DAY)
    first, second = scenario.ingest(
        write(tmp_path, "a.eml", globex), write(tmp_path, "b.eml", acme)
    )
    assert (first["referral"], first["conflict_with"]) == ("GLOBEX-1", None)
    assert (second["referral"], second["conflict_with"]) == ("ACME-1", "GLOBEX-1")
    shown = scenario.json("referrals", "show", "ACME-1")
    assert shown["role"] == "disputed" and shown["conflict_with"] == "GLOBEX-1"
    assert scenario.json("referrals", "show", "GLOBEX-1")["role"] is None
    assert "conflict" in [e["kind"] for e in shown["events"]]


def test_backfill_of_an_older_intro_disputes_the_later_one(scenario, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    later = mbox(
        [
            (
                message(
                    sender="Hank <hank@globexpartners.example>", cc="globex-intros@ours.example"
                ),
                T0 + 10 * DAY,
            )
        ]
    )
    older = mbox([(message(), T0)])
    scenario.ingest(write(tmp_path, "now.mbox", later))
    [result] = scenario.ingest(write(tmp_path, "old.mbox", older))
    assert result["conflict_with"] == "GLOBEX-1"
    assert scenario.json("referrals", "show", "ACME-1")["role"] is None
    globex = scenario.json("referrals", "show", "GLOBEX-1")
    assert (globex["role"], globex["conflict_with"]) == ("disputed", "ACME-1")


def test_protection_window(scenario, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HANDOFF_PROTECTION_DAYS", "30")
    globex = message(sender="Hank <hank@globexpartners.example>", cc="globex-intros@ours.example")
    data = mbox([(message(), T0), (globex, T0 + 31 * DAY)])
    results = scenario.ingest(write(tmp_path, "x.mbox", data))
    assert [r["referral"] for r in results] == ["ACME-1", "GLOBEX-1"]
    assert results[1]["conflict_with"] is None
    assert scenario.json("referrals", "show", "ACME-1")["received_at"].startswith("2026-10-01T09")


def test_same_partner_again_is_the_same_referral(scenario, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    results = scenario.ingest(
        write(tmp_path, "a.eml", message()), write(tmp_path, "b.eml", message())
    )
    assert [r["kind"] for r in results] == ["new_intro", "duplicate"]
    assert results[1]["referral"] == "ACME-1" and "already introduced" in results[1]["reason"]
    events = scenario.json("referrals", "show", "ACME-1")["events"]
    assert [e["kind"] for e in events] == ["intro_received", "reintroduced"]


def test_timeline_has_actor_time_and_proof(scenario, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    intro = message(message_id="<intro-1@mail.gmail.com>")
    reply = message(
        sender="Sam Rivera <sam.rivera@ours.example>",
        to="jane.doe@hooli.example",
        subject="Re: Intro",
        message_id="<reply-1@ours.example>",
        headers={
            "In-Reply-To": "<intro-1@mail.gmail.com>",
            "References": "<intro-1@mail.gmail.com>",
        },
    )
    scenario.ingest(write(tmp_path, "1.eml", intro), write(tmp_path, "2.eml", reply))
    shown = scenario.json("referrals", "show", "acme-1")
    assert shown["first_response_at"] is not None and shown["stage"] == "new"
    assert shown["prospect"] == {
        "email": "jane.doe@hooli.example",
        "name": "Jane Doe",
        "company": "Hooli",
        "domain": "hooli.example",
    }
    kinds = [(e["kind"], e["actor"], e["message_id"]) for e in shown["events"]]
    assert kinds == [
        ("intro_received", "email:dana@acmeconsulting.example", "intro-1@mail.gmail.com"),
        ("first_response", "email:sam.rivera@ours.example", "reply-1@ours.example"),
    ]
    assert all(e["at"] for e in shown["events"])


def test_sender_who_is_not_the_partners_is_kept_for_triage(scenario, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    forged = message(
        sender="Mallory <mallory@evil.example>", headers={"Reply-To": "dana@acmeconsulting.example"}
    )
    [result] = scenario.ingest(write(tmp_path, "f.eml", forged))
    assert result["kind"] == "rejected" and "mallory@evil.example" in result["reason"]
    assert scenario.json("referrals", "list") == []
    [row] = scenario.json("triage")
    assert row["sender"] == "mallory@evil.example" and row["kind"] == "rejected"


def test_internal_sender_may_log_an_intro(scenario, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    logged = message(
        sender="Priya <priya@ours.example>",
        to="Bob <bob@stark.example>",
        cc="partners+acme@ours.example",
    )
    [result] = scenario.ingest(write(tmp_path, "i.eml", logged))
    assert (result["kind"], result["referral"]) == ("new_intro", "ACME-1")
    assert result["prospect"]["email"] == "bob@stark.example"


def test_digest_reply_address_is_kept_for_triage(scenario, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    reply = message(to="partners+r-abc123@ours.example", cc=None, subject="Re: Your digest")
    [result] = scenario.ingest(write(tmp_path, "d.eml", reply))
    assert result["kind"] == "digest_reply"
    assert [r["kind"] for r in scenario.json("triage")] == ["digest_reply"]


def test_unknown_partner_is_tried_again_once_registered(scenario, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write(
        tmp_path,
        "n.eml",
        message(sender="Ann <ann@newco.example>", cc="partners+newco@ours.example"),
    )
    [first] = scenario.ingest(path)
    assert first["kind"] == "unknown_partner" and "'newco'" in first["reason"]
    scenario("partners", "add", "newco", "--name", "NewCo", "--domain", "newco.example")
    [second] = scenario.ingest(path)
    assert (second["kind"], second["referral"]) == ("new_intro", "NEWCO-1")
    [again] = scenario.ingest(path)
    assert (again["kind"], again["referral"]) == ("duplicate", "NEWCO-1")


def test_ingesting_the_same_mail_again_does_not_grow_triage(scenario, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # Issue 23, bug: each re-run of `handoff ingest` stored triage messages again.
    unknown = write(
        tmp_path,
        "u.eml",
        message(sender="Ann <ann@newco.example>", cc="partners+newco@ours.example"),
    )
    forged = write(tmp_path, "f.eml", message(sender="Mallory <mallory@evil.example>"))
    for _ in range(3):
        kinds = [r["kind"] for r in scenario.ingest(unknown, forged)]
        assert kinds == ["unknown_partner", "rejected"]
    assert sorted(r["kind"] for r in scenario.json("triage")) == ["rejected", "unknown_partner"]
    # Placed at last, a message leaves triage: its row is the placed one now.
    scenario("partners", "add", "newco", "--name", "NewCo", "--domain", "newco.example")
    [placed, _] = scenario.ingest(unknown, forged)
    assert placed["kind"] == "new_intro"
    assert [r["kind"] for r in scenario.json("triage")] == ["rejected"]


def test_triage_done_takes_a_message_out_for_good(scenario, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    forged = write(tmp_path, "f.eml", message(sender="Mallory <mallory@evil.example>"))
    scenario.ingest(forged)
    [row] = scenario.json("triage")
    out = scenario("triage", "done", str(row["id"]), "--note", "phishing,  reported to IT")
    assert out == f"#{row['id']} done: phishing, reported to IT; it left triage (kept)\n"
    assert scenario.json("triage") == []
    assert "From: Mallory <mallory@evil.example>" in scenario("triage", "show", str(row["id"]))
    [again] = scenario.ingest(forged)
    assert again["kind"] == "duplicate" and scenario.json("triage") == []
    scenario("triage", "done", str(row["id"]), expect=2)
    assert f"message #{row['id']} is not waiting in triage" in scenario.err


def test_dry_run_stores_nothing(scenario, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write(tmp_path, "a.eml", message())
    [dry] = scenario.ingest(path, dry_run=True)
    assert (dry["kind"], dry["referral"]) == ("new_intro", "ACME-1")
    assert "would ingest 1 message" in scenario.err
    assert scenario.json("referrals", "list") == []
    [real] = scenario.ingest(path)
    assert real["referral"] == "ACME-1"


@pytest.mark.parametrize(
    ("raw", "kind", "says"),
    [
        (b"\x00\x01\x02 this is not an email \xff\xfe", "rejected", "not an email message"),
        (b"Subject: hello\r\n\r\nbody only\r\n", "rejected", "not an email message"),
        (
            b"From: dana@acmeconsulting.example\r\nTo: partners+acme@ours.example\r\n"
            b"Subject: no prospect\r\n\r\nhi\r\n",
            "rejected",
            "no prospect",
        ),
    ],
)
def test_bad_input_is_stored_with_a_reason(
    scenario, tmp_path: Path, raw: bytes, kind: str, says: str
) -> None:  # type: ignore[no-untyped-def]
    [result] = scenario.ingest(write(tmp_path, "bad.eml", raw))
    assert result["kind"] == kind and says in result["reason"]
    [row] = scenario.json("triage")
    assert says in row["reason"]
    # Kept exactly as received, NUL and all: a person can look at it, or ingest it again.
    shown = subprocess.run(
        [sys.executable, "-m", "bot", "triage", "show", str(row["id"])],
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == raw


def test_25_mb_attachment(scenario, tmp_path: Path, db_url: str) -> None:  # type: ignore[no-untyped-def]
    payload = base64.encodebytes(bytes(range(256)) * (25 * 1024 * 1024 // 256)).decode()
    body = (
        "This is a multi-part message in MIME format.\r\n--b1\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nDeck attached. Sam, meet Jane.\r\n"
        "--b1\r\nContent-Type: application/pdf; name=deck.pdf\r\n"
        "Content-Disposition: attachment; filename=deck.pdf\r\n"
        f"Content-Transfer-Encoding: base64\r\n\r\n{payload}\r\n--b1--\r\n"
    )
    raw = message(body=body).replace(
        b'Content-Type: text/plain; charset="UTF-8"',
        b'Content-Type: multipart/mixed; boundary="b1"',
    )
    assert len(raw) > 25 * 1024 * 1024
    [result] = scenario.ingest(write(tmp_path, "big.eml", raw))
    assert (result["kind"], result["referral"]) == ("new_intro", "ACME-1")
    assert "Deck attached" in scenario.json("referrals", "show", "ACME-1")["intro_excerpt"]


def test_maildir_in_delivery_order(scenario, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    maildir = tmp_path / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    intro = message(message_id="<m1@x>")
    reply = message(
        sender="sam.rivera@ours.example", message_id="<m2@x>", headers={"In-Reply-To": "<m1@x>"}
    )
    (maildir / "cur" / "1791000100.M2P1.host:2,S").write_bytes(reply)
    (maildir / "new" / "1791000000.M1P1.host").write_bytes(intro)
    results = scenario.ingest(maildir)
    assert [r["kind"] for r in results] == ["new_intro", "thread_reply"]
    assert results[1]["first_response"] is True
    received = scenario.json("referrals", "show", "ACME-1")["received_at"]
    assert received.startswith(datetime.fromtimestamp(1791000000, UTC).isoformat()[:19])


async def test_simultaneous_deliveries_make_one_referral(
    engine: AsyncEngine, db_url: str, directory: Directory, scenario
) -> None:  # type: ignore[no-untyped-def]
    """Two workers ingest the same intro at the same instant: one referral, one duplicate."""
    raw = message()
    other = create_engine(db_url)  # a second process, as it were
    try:
        async with contextlib.AsyncExitStack() as stack:
            workers = [
                await stack.enter_async_context(
                    Intake.open(engine=e, directory=directory, protection=90 * DAY)
                )
                for e in (engine, other, engine, other)
            ]
            results = await asyncio.gather(*(w.ingest(raw) for w in workers))
    finally:
        await other.dispose()
    assert sorted(r.kind for r in results) == ["duplicate"] * 3 + ["new_intro"]
    assert {r.referral for r in results} == {"ACME-1"}
    assert len(json.loads(await asyncio.to_thread(scenario, "referrals", "list", "--json"))) == 1
