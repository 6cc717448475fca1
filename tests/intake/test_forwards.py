"""Forwards as every client writes them, to the bare mailbox: the partner and prospect found.

The cases (tests/support/forward_cases.py) are each client's forward in many languages: Gmail,
Apple Mail, Thunderbird, Outlook, Yahoo's one-line block, Outlook's forward-as-reply, Reply-To
and blank lines in the block, no marker at all, and a forward of a forward. Each goes in as
plain text and as HTML only, through `handoff ingest --json` and through IMAP (Dovecot), on
SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.email.parse import parse
from tests.support.dovecot import Dovecot
from tests.support.forward_cases import ALL, GROUPS
from tests.support.forwards import PARTNER_PEOPLE, Case, Rendered, render
from tests.support.handoff import Handoff, register_scenario
from tests.support.imap import serving, until

VARIANTS = ("plain", "html")


def rendered(cases: list[Case], variant: str) -> list[Rendered]:
    return [render(case, variant, serial) for serial, case in enumerate(cases)]


def misses(results: list[dict[str, object]], emails: list[Rendered]) -> list[str]:
    """What a user would see wrong, one line per message: kind, partner, prospect."""
    wrong = []
    for got, sent in zip(results, emails, strict=True):
        case = sent.case
        name, email, _ = case.prospect
        prospect = got.get("prospect") or {}
        assert isinstance(prospect, dict)
        expected_name = None if case.attribution else name
        if (
            got["kind"] != "new_intro"
            or got["partner"] != case.partner
            or prospect.get("email") != email
            or (expected_name and prospect.get("name") != expected_name)
        ):
            shown = {k: got.get(k) for k in ("kind", "partner", "prospect", "reason")}
            wrong.append(f"{case.id} ({sent.variant}): {shown}")
    return wrong


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("group", list(GROUPS))
def test_ingest_reads_each_forward(
    db_url: str, handoff: Handoff, tmp_path: Path, group: str, variant: str
) -> None:
    register_scenario(handoff)
    emails = rendered(GROUPS[group], variant)
    folder = tmp_path / "mail"
    folder.mkdir()
    for n, sent in enumerate(emails):
        (folder / f"{n:03d}-{sent.case.id}.eml").write_bytes(sent.raw)
    results = handoff.ingest(folder)
    assert misses(results, emails) == []


def test_the_forwarded_sender_is_the_partners_person() -> None:
    """Below the partner: the forwarded block's own sender, in every case that has headers."""
    for case in ALL:
        for variant in VARIANTS:
            parsed = parse(render(case, variant, 0).raw)
            chain = [f.sender.email for f in parsed.forwards if f.sender]
            assert PARTNER_PEOPLE[case.partner][1] in chain, (case.id, variant, chain)


async def test_imap_reads_each_forward(
    engine: AsyncEngine, scenario: Handoff, dovecot_server: Dovecot, user: str
) -> None:
    """Every case, plain and HTML, appended to a real mailbox and read by the watcher."""
    emails = [*rendered(ALL, "plain"), *rendered(ALL, "html")]
    dovecot_server.append_all(user, [sent.raw for sent in emails])

    async def all_in() -> bool:
        async with engine.connect() as conn:
            done = "SELECT count(*) FROM inbound_message WHERE processed_at IS NOT NULL"
            return int((await conn.execute(sa.text(done))).scalar_one()) >= len(emails)

    async with serving(engine, dovecot_server.url(user)):
        await until(all_in, f"{len(emails)} messages processed", 120)
    listed = await asyncio.to_thread(scenario.json, "referrals", "list")
    assert isinstance(listed, list)
    found = {r["prospect"]["email"]: r["partner"] for r in listed}
    wanted = {sent.case.prospect[1]: sent.case.partner for sent in emails}
    assert {e: found.get(e) for e in wanted} == wanted
    async with engine.connect() as conn:
        kinds = (await conn.execute(sa.text("SELECT kind FROM inbound_message"))).scalars()
        assert set(kinds) <= {"new_intro", "duplicate"}  # the HTML twin of an intro is its repeat
