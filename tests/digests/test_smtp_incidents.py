"""SMTP on a bad day: a server that takes the message and answers late or not at all gets it
once; our relay refusing to relay marks no contact; an unknown outcome is never sent again."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.mail.smtp import the_address
from bot.models import utcnow
from tests.support.digests import DANA, LEE, MONDAY_9, World, mail, outbox


async def statuses(world: World) -> dict[str, tuple[str, str | None]]:
    async with world.engine.connect() as conn:
        rows = await conn.execute(sa.select(mail.c.recipient, mail.c.status, mail.c.error))
        return {r.recipient: (r.status, r.error) for r in rows}


async def everything_due_again(world: World) -> None:
    """As if the retry delays had passed."""
    async with world.engine.begin() as conn:
        await conn.execute(sa.update(outbox).values(due_at=utcnow() - timedelta(seconds=1)))


@pytest.mark.parametrize("incident", ["answers after the timeout", "hangs up after DATA"])
async def test_a_message_the_server_may_have_taken_is_never_sent_again(
    world: World, incident: str
) -> None:
    inbox = world.smtp.inbox
    if incident == "hangs up after DATA":
        inbox.hang_up = True
    else:
        inbox.answer_after = 3.0
    await world.digests().sweep(as_of=MONDAY_9 + timedelta(minutes=1))
    await world.deliver(smtp_timeout=1.0)
    inbox.hang_up, inbox.answer_after = False, 0.0
    for _ in range(3):  # retries, restarts: nothing goes out again
        await everything_due_again(world)
        await world.deliver()
    assert sorted(d.rcpt_tos[0] for d in inbox.received) == [DANA, LEE]  # once each
    shown = await statuses(world)
    assert {status for status, _ in shown.values()} == {"unknown"}
    assert "may have been accepted" in (shown[DANA][1] or "")
    # Nobody was marked: the contacts still get the next digest.
    assert (await world.contact(DANA)).bounced_at is None


async def test_a_worker_that_died_while_handing_a_mail_over_does_not_send_it_again(
    world: World,
) -> None:
    await world.digests().sweep(as_of=MONDAY_9 + timedelta(minutes=1))
    async with world.engine.begin() as conn:  # as a worker leaves it when killed mid-DATA
        await conn.execute(sa.update(mail).where(mail.c.recipient == LEE).values(status="sending"))
    await world.deliver()
    assert [d.rcpt_tos for d in world.smtp.inbox.received] == [[DANA]]
    assert (await statuses(world))[LEE][0] == "unknown"


class AnswerLost:
    """The engine, except that the first commit leaving a mail `sending` is written and then
    answered with a lost connection, as when PostgreSQL's connection dies before its answer."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.lost = False

    def connect(self) -> Any:
        return self.engine.connect()

    @contextlib.asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.begin() as conn:
            yield conn
        async with self.engine.connect() as conn:
            sending = await conn.scalar(
                sa.select(sa.func.count()).where(mail.c.status == "sending")
            )
        if sending and not self.lost:
            self.lost = True
            raise sa.exc.OperationalError("COMMIT", None, ConnectionResetError("connection lost"))


async def test_a_mail_whose_sending_mark_went_unanswered_is_sent_once_on_the_retry(
    world: World,
) -> None:
    await world.digests().sweep(as_of=MONDAY_9 + timedelta(minutes=1))
    lossy = AnswerLost(world.engine)
    await world.deliver(postman=lossy)
    assert lossy.lost
    assert len(world.smtp.inbox.received) == 1  # the other was not handed over
    shown = await statuses(world)
    assert sorted(status for status, _ in shown.values()) == ["queued", "sent"]
    async with world.engine.connect() as conn:
        errors = list(
            await conn.scalars(sa.select(outbox.c.last_error).where(outbox.c.done_at.is_(None)))
        )
    assert len(errors) == 1 and "not handed over: " in (errors[0] or ""), errors
    await everything_due_again(world)
    await world.deliver()
    assert sorted(d.rcpt_tos[0] for d in world.smtp.inbox.received) == [DANA, LEE]  # once each
    assert {status for status, _ in (await statuses(world)).values()} == {"sent"}


async def test_our_relay_refusing_to_relay_marks_no_contact_and_the_mail_goes_later(
    world: World,
) -> None:
    world.smtp.inbox.refuse_all = "550 5.7.1 Relaying denied"
    await world.digests().sweep(as_of=MONDAY_9 + timedelta(minutes=1))
    await world.deliver()
    assert world.smtp.inbox.received == []
    for contact in (DANA, LEE):
        assert (await world.contact(contact)).bounced_at is None
    shown = await statuses(world)
    assert {s for s, _ in shown.values()} == {"queued"}
    assert "Relaying denied" in (shown[DANA][1] or "")
    world.smtp.inbox.refuse_all = None  # the relay is fixed
    await everything_due_again(world)
    await world.deliver()
    assert sorted(d.rcpt_tos[0] for d in world.smtp.inbox.received) == [DANA, LEE]
    assert {s for s, _ in (await statuses(world)).values()} == {"sent"}


@pytest.mark.parametrize(
    ("code", "text", "address"),
    [
        (550, "5.1.1 <lee@acme.example>: Recipient address rejected: User unknown", True),
        (550, "5.1.10 RESOLVER.ADR.RecipientNotFound; not found", True),
        (550, "5.2.1 The email account that you tried to reach is disabled", True),
        (553, "sorry, no mailbox here by that name", True),
        (550, "No such user here", True),
        (550, "5.7.1 Relaying denied", False),
        (554, "5.7.1 <lee@acme.example>: Relay access denied", False),
        (550, "Relaying denied. Proper authentication required.", False),
        (530, "5.7.0 Authentication required", False),
        (552, "5.2.2 Mailbox full", False),
        (550, "5.7.606 Access denied, banned sending IP", False),
    ],
)
def test_whose_fault_a_refused_recipient_is(code: int, text: str, address: bool) -> None:
    assert the_address(code, text) is address
