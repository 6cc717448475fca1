"""A message the IMAP server cannot read (a corrupt file; Gmail's "Some messages could not be
FETCHed") stops nothing: it waits in triage with the server's words and is asked for again."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.mail.progress import BATCH_MESSAGES
from tests.support.dovecot import Dovecot
from tests.support.handoff import Handoff
from tests.support.imap import intro, serving, until


async def rows(engine: AsyncEngine, sql: str) -> list[sa.Row]:  # type: ignore[type-arg]
    async with engine.connect() as conn:
        return list(await conn.execute(sa.text(sql)))


@pytest.mark.parametrize(
    "failure",
    [
        # Dovecot's default: BYE, then it hangs up.
        "disconnect-immediately",
        # NO after handing over the rest, the connection kept: Gmail's way.
        "no-after",
    ],
)
async def test_one_unreadable_message_among_fifteen_stops_nothing_and_is_read_when_repaired(
    engine: AsyncEngine,
    scenario: Handoff,
    dovecot_factory: Callable[..., Dovecot],
    failure: str,
) -> None:
    server = dovecot_factory(fetch_failure=failure)
    user = "partners@ours.example"
    url = server.add_user(user)
    uids = [await server.append(user, intro(n)) for n in range(1, 16)]
    server.readable(user, b"p8@prospect8.example", False)
    before = server.logins(user)

    async with serving(engine, url, imap_unfetchable_retry_seconds=2):

        async def fourteen_and_one_in_triage() -> bool:
            kinds = await rows(engine, "SELECT kind FROM inbound_message")
            return len(kinds) == 15

        await until(fourteen_and_one_in_triage, "14 intros stored and 1 kept in triage")
        triage = await asyncio.to_thread(scenario.json, "triage")
        [waiting] = triage  # type: ignore[misc]
        assert waiting["kind"] == "unfetchable"  # type: ignore[index]
        reason = waiting["reason"]  # type: ignore[index]
        assert f"UID {uids[7]}" in reason and "Internal error occurred" in reason, reason
        referred = await asyncio.to_thread(scenario.json, "referrals", "list")
        emails = {r["prospect"]["email"] for r in referred}  # type: ignore[index]
        assert emails == {f"p{n}@prospect{n}.example" for n in range(1, 16) if n != 8}
        # Narrowed, not looped: the start-up check, then one try of the batch and one of the
        # message alone (each a reconnect where the server hangs up), and a retry every 2 s.
        assert server.logins(user) - before <= 6, server.log()

        server.readable(
            user, b"p8@prospect8.example", True
        )  # repaired on the server: the next retry reads it

        async def read_at_last() -> bool:
            kinds = await rows(engine, "SELECT kind FROM inbound_message")
            return len(kinds) == 15 and all(k == "new_intro" for (k,) in kinds)

        await until(read_at_last, "the repaired message to be read")

    referred = await asyncio.to_thread(scenario.json, "referrals", "list")
    emails = sorted(r["prospect"]["email"] for r in referred)  # type: ignore[index]
    assert emails == sorted(f"p{n}@prospect{n}.example" for n in range(1, 16))
    assert await asyncio.to_thread(scenario.json, "triage") == []
    [(source,)] = await rows(
        engine,
        "SELECT source FROM inbound_message m JOIN referral r ON r.id = m.referral_id "
        "WHERE r.prospect_email = 'p8@prospect8.example'",
    )
    assert source.endswith(f";UID={uids[7]}")


async def test_a_server_hanging_up_on_the_next_batch_costs_the_batch_being_written_nothing(
    engine: AsyncEngine,
    scenario: Handoff,
    dovecot_factory: Callable[..., Dovecot],
) -> None:
    """A catch-up fetches each batch while the one before it is written: when the server hangs
    up on that fetch (an unreadable message in it), the batch before still commits, the
    unreadable one waits in triage, and every other message is stored once."""
    server = dovecot_factory(fetch_failure="disconnect-immediately")
    user = "partners@ours.example"
    url = server.add_user(user)
    total = 2 * BATCH_MESSAGES + 30
    await asyncio.to_thread(server.append_all, user, [intro(n) for n in range(1, total + 1)])
    bad = BATCH_MESSAGES + 20  # in the second batch
    server.readable(user, f"p{bad}@prospect{bad}.example".encode(), False)

    async with serving(engine, url, imap_unfetchable_retry_seconds=3600):

        async def all_but_one_and_one_in_triage() -> bool:
            return len(await rows(engine, "SELECT kind FROM inbound_message")) == total

        await until(
            all_but_one_and_one_in_triage, f"{total - 1} intros and 1 in triage", seconds=120
        )
    kinds = await rows(engine, "SELECT kind, count(*) FROM inbound_message GROUP BY kind")
    assert dict(kinds) == {"new_intro": total - 1, "unfetchable": 1}  # type: ignore[arg-type]
    referred = await asyncio.to_thread(scenario.json, "referrals", "list")
    emails = sorted(r["prospect"]["email"] for r in referred)  # type: ignore[index]
    assert emails == sorted(f"p{n}@prospect{n}.example" for n in range(1, total + 1) if n != bad)


async def test_showing_an_unread_message_says_why_there_is_nothing_to_show(
    engine: AsyncEngine, scenario: Handoff
) -> None:
    from bot.intake import unfetchable

    async with engine.begin() as conn:
        source = "imap://partners%40ours.example@127.0.0.1:993/INBOX;UIDVALIDITY=7/;UID=42"
        await unfetchable.keep(conn, source=source, reason="the IMAP server would not hand …")
    [row] = await asyncio.to_thread(scenario.json, "triage")
    number = str(row["id"])  # type: ignore[index]
    await asyncio.to_thread(scenario, "triage", "show", number, expect=2)
    assert "never read: the mail server would not hand it over" in scenario.err
