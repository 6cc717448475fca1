"""Partner digests as an operator runs them: `partners add --digest`, `digest preview|send`,
`jobs run digests`, against a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import cli
from bot.demo.standin.smtp import SmtpServer
from tests.support.handoff import Handoff
from tests.support.world import add_referral, partner

DANA = "dana@acmeconsulting.example"
LEE = "lee@acmeconsulting.example"
SECRET = "cli-test-secret-" + "x" * 20
REPLY_TO = re.compile(r"partners\+r-[0-9a-z-]+@ours\.example")
RECORDS = ("mail", "digest", "outbox", "job_run")  # what sending leaves in the database


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def mail_env(monkeypatch: pytest.MonkeyPatch, smtp: SmtpServer) -> SmtpServer:
    """What partner email needs, as an operator sets it (the partner mailbox: conftest)."""
    monkeypatch.setenv("HANDOFF_SMTP_URL", smtp.url)
    monkeypatch.setenv("HANDOFF_MAIL_FROM", "Ours Partnerships <partners@ours.example>")
    monkeypatch.setenv("HANDOFF_SECRET", SECRET)
    return smtp


def register(handoff: Handoff, slug: str = "acme", *options: str) -> str:
    return handoff(
        "partners",
        "add",
        slug,
        "--name",
        "Acme Consulting",
        "--contact",
        DANA,
        "--contact",
        LEE,
        "--domain",
        "acmeconsulting.example",
        *options,
    )


@dataclass
class Acme:
    """A registered partner with two open referrals (ACME-1, ACME-2) received before now."""

    engine: AsyncEngine
    handoff: Handoff
    smtp: SmtpServer
    partner_id: int

    async def run(self, *argv: str, expect: int = 0) -> str:
        """`handoff …` from the shell (the CLI runs its own event loop: in a thread)."""
        return await asyncio.to_thread(self.handoff, *argv, expect=expect)

    async def counts(self) -> dict[str, int]:
        async with self.engine.connect() as conn:
            return {
                t: int(await conn.scalar(sa.text(f"SELECT count(*) FROM {t}")) or 0)
                for t in RECORDS
            }


@pytest.fixture
async def acme(engine: AsyncEngine, handoff: Handoff, mail_env: SmtpServer) -> Acme:
    await asyncio.to_thread(register, handoff)
    async with engine.connect() as conn:
        partner_id = int(await conn.scalar(sa.select(partner.c.id).where(partner.c.slug == "acme")))
    now = datetime.now(UTC)
    await add_referral(engine, partner_id, received=now - timedelta(days=2))
    await add_referral(
        engine, partner_id, received=now - timedelta(days=1), prospect_company="Wayne Enterprises"
    )
    return Acme(engine, handoff, mail_env, partner_id)


def any_exit(handoff: Handoff, *argv: str) -> str:
    """Standard output of `handoff …`, whatever its exit status."""
    handoff.capsys.readouterr()
    with pytest.raises(SystemExit):
        cli.main(list(argv))
    return handoff.capsys.readouterr().out


def one_line_error(handoff: Handoff) -> str:
    lines = handoff.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("handoff: "), handoff.err
    return lines[0]


# partners add --digest/--timezone/--stage-emails


def test_a_partner_gets_its_own_digest_schedule_zone_and_stage_emails(
    db_url: str, handoff: Handoff
) -> None:
    out = register(
        handoff,
        "acme",
        "--digest",
        "0 9 * * mon",
        "--timezone",
        "Europe/Berlin",
        "--stage-emails",
    )
    assert out.startswith("registered partner acme (Acme Consulting)")
    [acme] = handoff.json("partners", "list")  # type: ignore[misc]
    assert (acme["digest"], acme["timezone"], acme["stage_emails"]) == (
        "0 9 * * mon",
        "Europe/Berlin",
        True,
    )
    assert acme["not_mailed"] is None
    # Updated later: digests off, no stage emails; the zone stays.
    handoff("partners", "add", "acme", "--digest", "OFF", "--no-stage-emails")
    [acme] = handoff.json("partners", "list")  # type: ignore[misc]
    assert (acme["digest"], acme["timezone"], acme["stage_emails"]) == (
        "off",
        "Europe/Berlin",
        False,
    )


def test_a_partner_without_digest_options_follows_the_defaults(
    db_url: str, handoff: Handoff
) -> None:
    register(handoff)
    [acme] = handoff.json("partners", "list")  # type: ignore[misc]
    assert (acme["digest"], acme["timezone"], acme["stage_emails"]) == (None, None, False)


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--digest", "* * * * *", "--digest: '* * * * *' fires more than hourly"),
        ("--digest", "every monday", "--digest: 'every monday' is not a cron expression"),
        ("--timezone", "Mars/Base", "--timezone: 'Mars/Base' is not an IANA time zone"),
    ],
)
def test_a_bad_schedule_or_zone_is_one_line_naming_the_option_and_changes_nothing(
    db_url: str, handoff: Handoff, option: str, value: str, says: str
) -> None:
    register(handoff, "acme", "--digest", "0 9 * * mon", "--timezone", "Europe/Berlin")
    before = handoff.json("partners", "list")
    handoff("partners", "add", "newco", "--name", "NewCo", option, value, expect=2)
    assert says in one_line_error(handoff)
    handoff("partners", "add", "acme", option, value, expect=2)
    assert says in one_line_error(handoff)
    assert handoff.json("partners", "list") == before


# digest preview


async def test_preview_prints_the_digest_and_sends_and_records_nothing(acme: Acme) -> None:
    out = await acme.run("digest", "preview", "acme")
    first, blank, *body = out.splitlines()
    assert first.startswith("Subject: Acme Consulting: ") and blank == ""
    text = "\n".join(body)
    assert "ACME-1" in text and "ACME-2" in text and "Wayne Enterprises" in text
    assert REPLY_TO.search(text), text
    assert re.search(r"Reply about ACME-1: partners\+r-", text), text
    html = await acme.run("digest", "preview", "acme", "--html")
    assert html.lstrip().lower().startswith("<!doctype html") and "</html>" in html.lower()
    assert "ACME-1" in html and "mailto:partners+r-" in html
    assert acme.smtp.inbox.received == []
    assert await acme.counts() == dict.fromkeys(RECORDS, 0)


async def test_preview_of_an_unknown_partner_names_it(acme: Acme) -> None:
    await acme.run("digest", "preview", "nope", expect=2)
    assert "partner 'nope': no such partner" in one_line_error(acme.handoff)


# digest send


async def test_send_delivers_to_each_contact_before_exiting_then_not_again(acme: Acme) -> None:
    out = await acme.run("digest", "send", "acme")
    # The mail is at the server when the command returns: no `handoff serve` needed.
    assert sorted(d.rcpt_tos[0] for d in acme.smtp.inbox.received) == [DANA, LEE]
    lines = out.strip().splitlines()
    assert f"2 referral(s) -> {DANA}, {LEE}" in lines[0], out
    assert lines[-1].startswith("digests as of ") and "queued 2 email(s) for 1 partner(s)" in out
    assert lines[-1].endswith("; delivered"), out
    digest = acme.smtp.inbox.to(DANA)[0]
    assert "ACME-1" in digest.part("plain") and REPLY_TO.fullmatch(str(digest.message["Reply-To"]))
    counts = await acme.counts()
    assert (counts["mail"], counts["digest"]) == (2, 1)

    # Right away again: nothing happened since, so nothing goes out.
    again = await acme.run("digest", "send", "acme")
    assert "not sent (nothing new)" in again and "queued 0 email(s)" in again, again
    assert "delivered" not in again
    assert len(acme.smtp.inbox.received) == 2

    # --always: the operator wants it anyway.
    forced = await acme.run("digest", "send", "acme", "--always")
    assert forced.strip().endswith("; delivered") and f"{DANA}, {LEE}" in forced, forced
    assert len(acme.smtp.inbox.received) == 4
    assert len(acme.smtp.inbox.to(DANA)) == 2


async def test_a_contact_the_server_refuses_is_shown_and_not_mailed_again(acme: Acme) -> None:
    acme.smtp.inbox.refuse[LEE] = "550 5.1.1 <lee@acmeconsulting.example>: no such user"
    await acme.run("digest", "send", "acme", expect=1)  # one contact refused for good
    assert [d.rcpt_tos for d in acme.smtp.inbox.received] == [[DANA]]
    [shown] = await asyncio.to_thread(acme.handoff.json, "partners", "list")  # type: ignore[misc]
    assert list(shown["not_mailed"]) == [LEE]
    assert "550 5.1.1" in shown["not_mailed"][LEE]
    listed = await acme.run("partners", "list")
    assert f"no mail to {LEE}: refused: 550 5.1.1" in listed, listed
    forced = await acme.run("digest", "send", "acme", "--always")
    assert forced.splitlines()[0].endswith(f"-> {DANA}"), forced
    assert [d.rcpt_tos for d in acme.smtp.inbox.received] == [[DANA], [DANA]]


async def test_send_does_not_say_delivered_when_a_contact_was_refused(acme: Acme) -> None:
    acme.smtp.inbox.refuse[LEE] = "550 5.1.1 <lee@acmeconsulting.example>: no such user"
    out = await asyncio.to_thread(any_exit, acme.handoff, "digest", "send", "acme")
    assert not out.strip().endswith("; delivered"), out
    assert any(LEE in line and "refused" in line for line in out.splitlines()), out


@pytest.mark.parametrize(
    ("unset", "named"),
    [
        ("HANDOFF_SMTP_URL", "HANDOFF_SMTP_URL: not set"),
        ("HANDOFF_SECRET", "HANDOFF_SECRET: not set"),
    ],
)
async def test_send_without_mail_settings_names_the_missing_variable(
    acme: Acme, monkeypatch: pytest.MonkeyPatch, unset: str, named: str
) -> None:
    monkeypatch.delenv(unset)
    await acme.run("digest", "send", "acme", expect=2)
    assert named in one_line_error(acme.handoff)
    assert acme.smtp.inbox.received == []
    assert await acme.counts() == dict.fromkeys(RECORDS, 0)


async def test_send_to_an_unknown_partner_names_it(acme: Acme) -> None:
    await acme.run("digest", "send", "nope", expect=2)
    assert "partner 'nope': no such partner" in one_line_error(acme.handoff)
    assert acme.smtp.inbox.received == []


# jobs run digests


def next_monday_nine(after: datetime) -> datetime:
    """A Monday 09:00 UTC at least a week after `after` (so the week before it is after it)."""
    day = (after + timedelta(days=7)).date()
    day += timedelta(days=(7 - day.weekday()) % 7)
    return datetime(day.year, day.month, day.day, 9, 0, tzinfo=UTC)


async def test_jobs_run_digests_dry_run_then_for_real(acme: Acme) -> None:
    slot = next_monday_nine(datetime.now(UTC))
    # A referral in the week before the slot (the fixture's two are older: not new then).
    await add_referral(acme.engine, acme.partner_id, received=slot - timedelta(days=1))
    now = (slot + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")

    dry = await acme.run("jobs", "run", "digests", "--now", now, "--dry-run")
    period = slot.strftime("%Y-%m-%d %H:%M UTC")
    assert f"would record acme              period to {period}: 3 referral(s) -> " in dry, dry
    assert f"{DANA}, {LEE}" in dry and "would send 2 email(s) for 1 partner(s)" in dry, dry
    assert acme.smtp.inbox.received == []
    assert await acme.counts() == dict.fromkeys(RECORDS, 0)

    real = await acme.run("jobs", "run", "digests", "--now", now)
    assert "would" not in real and f"period to {period}: 3 referral(s)" in real, real
    assert "queued 2 email(s) for 1 partner(s)" in real, real
    assert real.strip().endswith("; delivered"), real
    assert sorted(d.rcpt_tos[0] for d in acme.smtp.inbox.received) == [DANA, LEE]
    assert "ACME-3" in acme.smtp.inbox.to(DANA)[0].part("plain")

    # The same slot again: recorded already, nothing is sent twice.
    again = await acme.run("jobs", "run", "digests", "--now", now)
    assert "queued 0 email(s) for 0 partner(s)" in again, again
    assert len(acme.smtp.inbox.received) == 2

    jobs = {j["name"]: j for j in await asyncio.to_thread(acme.handoff.json, "jobs", "list")}  # type: ignore[union-attr,index]
    assert "digests" in jobs
    assert jobs["digests"]["last_as_of"].startswith(slot.strftime("%Y-%m-%dT09:01"))
    listed = await acme.run("jobs", "list")
    assert any(line.startswith("digests ") for line in listed.splitlines()), listed
