"""`handoff demo`: a week of partner referrals told in the terminal, on a simulated clock.

Every step goes through the code `handoff serve` runs: intake stores and places each email,
the outbox posts to Slack (a local stand-in) and sends mail (a local SMTP server), clicks and
slash commands are signed requests to the service's /slack/events, and the sweeps run as its
scheduler runs them, only by the demo's clock instead of the wall's.
"""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any, TextIO

from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from bot.db import session_factory
from bot.demo.cast import MAILBOX, MORGAN, PARTNERS, PRIYA, SAM, SAMPLES, ZONE
from bot.demo.world import World, world
from bot.digests.sweep import DIGESTS
from bot.models import utcnow
from bot.nudges.sweeps import FIRST_RESPONSE, INACTIVE_PARTNERS, NEXT_STEPS, UNCLAIMED
from bot.referrals.partners import add_partner
from bot.slack import blocks, nudges
from bot.slack.attribution import DISPUTE_MODAL, DISPUTE_WINNER
from bot.slack.log_modal import LOG_MODAL, LOG_SHORTCUT

SWEEPS = (UNCLAIMED, FIRST_RESPONSE, NEXT_STEPS, INACTIVE_PARTNERS, DIGESTS)
LOGGED_NOTE = (
    "Hank from Globex introduced me to Laurie Bream (laurie@raviga.example) at their summit "
    "last night. She wants a demo next week."
)
SECRET = "demo-reply-token-secret-0123456789"
NEXT = """\
[bold]Where to go next[/bold]
  • Your own Slack app: create it from [cyan]manifest.yml[/cyan] (README: "Slack app").
  • Your mailbox: set [cyan]HANDOFF_IMAP_URL[/cyan], [cyan]HANDOFF_PARTNER_MAILBOX[/cyan] and \
[cyan]HANDOFF_INTERNAL_DOMAINS[/cyan], then register partners with
    [cyan]handoff partners add acme --name "Acme Consulting" --domain acmeconsulting.example[/cyan].
  • Old mail: [cyan]handoff ingest export.mbox --no-slack[/cyan] backfills the history.
  • Run it: [cyan]handoff serve[/cyan], or the container (README: "Running in production").
  • The numbers: [cyan]handoff report[/cyan] prints what /attribution showed."""


def first_monday(after: datetime) -> datetime:
    """08:50 in the team's zone on the first Monday at least a day after `after`."""
    day = (after.astimezone(ZONE) + timedelta(days=1)).date()
    day += timedelta(days=(7 - day.weekday()) % 7)
    return datetime(day.year, day.month, day.day, 8, 50, tzinfo=ZONE)


def sample(prefix: str) -> bytes:
    """The bundled sample email whose name starts with `prefix`."""
    return next(SAMPLES.glob(f"{prefix}-*.eml")).read_bytes()


async def run_demo(out: TextIO) -> int:
    """Tell the story; 0 when every step happened as it should."""
    # A terminal is drawn at its own width; a file or a pipe gets 120 columns.
    width = None if out.isatty() else 120
    console = Console(file=out, width=width, highlight=False)
    started = time.perf_counter()
    # The story is set in the coming week: the service's own timestamps (an outbox job's
    # due time) come from the wall clock, and the simulated one must not run behind it.
    monday = first_monday(utcnow())
    console.print(
        Panel(
            Text.assemble(
                ("Handoff demo", "bold"),
                ": a week of partner referrals, on a simulated clock.\n",
                "Everything below runs on this machine through Handoff's real code: a throwaway ",
                "SQLite database, a Slack stand-in showing what your team would see, and an ",
                "SMTP server catching what partners would receive.",
            ),
            border_style="cyan",
        )
    )
    with tempfile.TemporaryDirectory(prefix="handoff-demo-") as folder:
        options = {
            "internal_domains": "ours.example",
            "partner_mailbox": MAILBOX,
            "mail_from": "Ours Partnerships <partners@ours.example>",
            "secret": SECRET,
            "managers": [MORGAN.user],
            "timezone": str(ZONE),
        }
        try:
            async with world(console, Path(folder), monday, options) as w:
                await _story(w, monday)
        except (LookupError, TimeoutError, RuntimeError) as exc:
            # A step that did not happen as told is a bug in Handoff (or in the story).
            console.print(Text(f"handoff demo: the story stopped: {exc}", style="bold red"))
            return 1
    console.print()
    console.print(Panel(NEXT, border_style="cyan"))
    console.print(Text(f"Demo finished in {time.perf_counter() - started:.1f} s.", style="dim"))
    return 0


async def _story(w: World, monday: datetime) -> None:
    def on(days: int, hour: int, minute: int) -> datetime:
        return monday.replace(hour=hour, minute=minute) + timedelta(days=days)

    w.at(monday, "Three partners get their own addresses")
    await _partners(w)

    w.at(on(0, 9, 12), "Dana at Acme introduces Jane Doe (Hooli), copying partners+acme@")
    await w.arrive(sample("01"), "new_intro", source="01 Gmail intro, Cc partners+acme@")

    w.at(on(0, 9, 40), "Bill at Initech introduces Richard Hendricks, Bcc'ing the address")
    w.say("The partner address is in no header a reader sees; the delivery headers name it.")
    await w.arrive(sample("02"), "new_intro", source="02 Thunderbird intro, Bcc")

    w.at(on(0, 10, 5), "Sam forwards an intro Dana had sent to him alone")
    w.say("An internal forward: partner and prospect come from the forwarded message.")
    await w.arrive(sample("03"), "new_intro", source="03 Gmail forward by Sam")

    w.at(on(0, 10, 12), f"{SAM.name} claims ACME-1 in one click: Acme sourced it")
    await w.click(SAM.user, blocks.CLAIM_SOURCED, "ACME-1")

    w.say("HubSpot gets the deal, with the partner fields on it: nobody types it again.")
    _deal(w, "ACME-1")

    w.at(on(0, 10, 15), "The sweeps run, as every minute: INITECH-1 has waited over 30 minutes")
    await w.sweeps(*SWEEPS)

    w.at(on(0, 10, 20), "Hank at Globex introduces Jane Doe as well")
    w.say("First in wins: Acme's intro arrived earlier, so Globex's is marked disputed.")
    await w.arrive(sample("07"), "new_intro", source="07 Outlook intro, same as ACME-1")

    w.at(on(0, 10, 24), f"{PRIYA.name} claims ACME-2: Acme influenced it")
    await w.click(PRIYA.user, blocks.CLAIM_INFLUENCED, "ACME-2")

    w.at(on(0, 10, 45), "Twice the claim time, and INITECH-1 is still nobody's")
    await w.sweeps(*SWEEPS)

    w.at(on(0, 10, 46), "Sam replies all to Jane and Dana: that is the first response")
    await w.arrive(sample("05"), "thread_reply", source="05 Sam's reply-all")

    w.at(on(0, 10, 52), "Sam sets the next joint step with Acme")
    await w.click(SAM.user, blocks.NEXT_STEP, "ACME-1")
    step: dict[str, Any] = {
        "step": {"text": {"type": "plain_text_input", "value": "Joint demo with Dana and Jane"}},
        "due": {"date": {"type": "datepicker", "selected_date": on(2, 9, 0).date().isoformat()}},
    }
    await w.submit(SAM.user, blocks.NEXT_STEP_MODAL, "ACME-1", step)

    w.at(on(0, 11, 5), f"{PRIYA.name} takes INITECH-1 after the escalation")
    await w.click(PRIYA.user, blocks.CLAIM_SOURCED, "INITECH-1")

    w.at(on(0, 12, 10), "The mailbox also gets what every mailbox gets")
    w.say("Nothing is lost and nothing is posted twice: each message is stored, then placed.")
    await w.arrive(sample("06"), "duplicate", source="06 the Acme intro, delivered again")
    await w.arrive(sample("08"), "auto_reply", source="08 Jane's out-of-office")
    await w.arrive(sample("09"), "unknown_partner", source="09 partners+nosuch@")
    w.say("The last one waits in `handoff triage` with its reason, for a person to place.")

    w.at(on(0, 14, 30), "Priya calls Richard and records the first response with a click")
    await w.click(PRIYA.user, blocks.FIRST_RESPONSE, "INITECH-1")

    w.at(on(1, 9, 5), "Sam books the joint demo in Google Calendar, partners+acme@ a guest")
    w.say("A calendar invitation in the mailbox counts the meeting: nobody clicks anything.")
    await w.arrive(_invitation(w, on(2, 11, 0)), "meeting", source="Google Calendar invitation")

    w.at(on(1, 10, 30), "Tuesday: a day since Priya claimed ACME-2, and no first response")
    w.say("Nobody claimed Globex's disputed intro either: its thread, then the manager, hear.")
    await w.sweeps(*SWEEPS)

    w.at(on(1, 10, 40), "Priya has written to Bruce Wayne: she says so from the reminder")
    await w.click(PRIYA.user, nudges.RESPONDED, "ACME-2", on="dm")

    w.at(on(1, 11, 0), f"{MORGAN.name}, the partner manager, settles the dispute")
    await w.command(MORGAN.user, "/attribution", "queues")
    winner = _button(w.last_answer(), f"{DISPUTE_WINNER}:ACME-1")
    await w.click(MORGAN.user, winner["action_id"], "GLOBEX-1", value=winner["value"], on="answer")
    values: dict[str, Any] = {
        "role": {"role": {"type": "radio_buttons", "selected_option": {"value": "influenced"}}},
        "reason": {"text": {"type": "plain_text_input", "value": "Acme's intro came first"}},
    }
    await w.submit(MORGAN.user, DISPUTE_MODAL, winner["value"], values)

    w.at(on(2, 9, 0), "Wednesday 09:00: the joint step is due today")
    await w.sweeps(*SWEEPS)

    w.at(on(2, 16, 10), "The demo went well: Sam marks the step done")
    await w.click(SAM.user, nudges.STEP_DONE, "ACME-1", on="dm")

    w.at(on(4, 15, 0), "Friday: Hooli signs, and Sam marks the deal won in HubSpot, 48,000")
    w.hubspot.update_deal(w.deal("ACME-1")["id"], dealstage="closedwon", amount="48000")
    w.say("Handoff reads HubSpot's deals back: the win lands on ACME-1, its post and its thread.")
    await w.crm_sync()
    _deal(w, "ACME-1")

    w.at(on(7, 9, 0), "Monday again: each partner gets its status digest by email")
    await w.sweeps(*SWEEPS)

    w.at(on(7, 9, 20), "Dana answers her digest inline, under each referral, by simply replying")
    digest = next(
        m
        for m in w.inbox()
        if "dana@" in str(m["To"]) and str(m["Subject"]).startswith("Acme Consulting:")
    )
    answers = {
        "ACME-1": "Jane loved the demo. Hooli wants a proposal by Friday.",
        "ACME-2": "Thanks Priya! They are comparing two vendors, decision mid-month.",
    }
    await w.arrive(_reply(w, digest, answers), "digest_reply", source="Dana's reply to the digest")

    w.at(on(7, 9, 30), f"{MORGAN.name} looks at the quarter")
    await w.command(MORGAN.user, "/attribution", "")

    w.at(on(7, 10, 0), f"{PRIYA.name} logs an intro Hank made at Globex's event, from Slack")
    w.say("No email came: the message shortcut turns her note into a referral, same rules.")
    view = await w.shortcut(PRIYA.user, LOG_SHORTCUT, LOGGED_NOTE)
    await w.submit(PRIYA.user, LOG_MODAL, view["private_metadata"], _logged(on(6, 18, 0)))

    w.at(on(7, 10, 40), "Hank answers the question by simply replying: yes")
    asked = next(m for m in w.inbox() if str(m["Subject"]).startswith("Did you introduce"))
    answer = _answer(asked, "Yes, I introduced Laurie to Priya at our summit. Glad to help!")
    await w.arrive(answer, "digest_reply", source="Hank's answer")


def _deal(w: World, ref: str) -> None:
    """The referral's HubSpot deal, as a rep would see it there."""
    props = w.deal(ref)["properties"]
    table = Table(box=None, padding=(0, 2), show_header=False)
    table.add_column(style="dim")
    table.add_column()
    shown = [
        ("HubSpot deal", props.get("dealname")),
        ("stage", props.get("dealstage")),
        ("amount", props.get("amount") or "-"),
        ("Handoff ref", props.get("handoff_ref")),
        ("partner · role", f"{props.get('handoff_partner')} · {props.get('handoff_partner_role')}"),
        ("intro proof", props.get("handoff_intro_message_id")),
        ("Slack post", props.get("handoff_slack_url") or "-"),
    ]
    for label, value in shown:
        table.add_row(label, str(value))
    w.console.print(Panel(table, border_style="magenta", expand=False))


def _button(answer: dict[str, Any], action_id: str) -> dict[str, Any]:
    """The button with this action id in a message's blocks."""
    for block in answer.get("blocks") or []:
        for element in block.get("elements") or []:
            if element.get("action_id") == action_id:
                return dict(element)
    raise LookupError(f"no {action_id} button in the answer")


async def _partners(w: World) -> None:
    table = Table(box=None, padding=(0, 2), show_header=True, header_style="dim")
    for column in ("partner", "name", "writes to us at", "its people"):
        table.add_column(column)
    local, _, domain = MAILBOX.partition("@")
    async with session_factory(w.engine)() as session:
        for p in PARTNERS:
            partner, _ = await add_partner(
                session=session,
                slug=p.slug,
                name=p.name,
                addresses=list(p.addresses),
                contacts=list(p.contacts),
                domains=list(p.domains),
            )
            partner.created_at = w.clock()  # registered now, in the story's time
            addresses = ", ".join([f"{local}+{p.slug}@{domain}", *p.addresses])
            table.add_row(p.slug, p.name, addresses, ", ".join(p.contacts))
        await session.commit()
    w.console.print(table)


def _reply(w: World, digest: EmailMessage, answers: dict[str, str]) -> bytes:
    """What Dana's mail client sends when she answers the digest inline: the digest quoted,
    her answer under each referral's block, to its Reply-To, threaded."""
    body = digest.get_body(preferencelist=("plain",))
    plain = str(body.get_content()) if body is not None else ""
    sent = w.clock().astimezone(ZONE)
    reply = EmailMessage()
    reply["From"] = "Dana Whitfield <dana@acmeconsulting.example>"
    reply["To"] = str(digest["Reply-To"])
    reply["Subject"] = f"Re: {digest['Subject']}"
    reply["Date"] = format_datetime(sent)
    reply["Message-ID"] = make_msgid(domain="mail.acmeconsulting.example")
    reply["In-Reply-To"] = str(digest["Message-ID"])
    reply["References"] = str(digest["Message-ID"])
    lines = [f"On {sent:%a, %b %d, %Y at %I:%M %p} {digest['From']} wrote:"]
    for line in plain.splitlines():
        lines.append(f"> {line}" if line else ">")
        ref = line.strip().removeprefix("Reply about ").split(":")[0]
        if line.strip().startswith("Reply about ") and ref in answers:
            lines += ["", answers[ref], ""]
    reply.set_content("\n".join([*lines, "", "Sent from my iPhone", ""]))
    return reply.as_bytes()


def _logged(happened: datetime) -> dict[str, Any]:
    """The log-a-referral modal as Priya fills it in."""

    def picked(value: str) -> dict[str, Any]:
        return {"type": "static_select", "selected_option": {"value": value}}

    def typed(value: str) -> dict[str, Any]:
        return {"type": "plain_text_input", "value": value}

    return {
        "partner": {"partner": picked("globex")},
        "email": {"email": typed("laurie@raviga.example")},
        "name": {"name": typed("Laurie Bream")},
        "company": {"company": typed("Raviga")},
        "action": {"action": picked("event")},
        "when": {"date": {"type": "datepicker", "selected_date": happened.date().isoformat()}},
        "note": {"note": typed(LOGGED_NOTE)},
        "claim": {"claim": picked("sourced")},
    }


def _answer(asked: EmailMessage, text: str) -> bytes:
    """Hank's reply to "did you introduce …?": to its Reply-To, threaded, the question quoted."""
    body = asked.get_body(preferencelist=("plain",))
    quoted = "\n".join(f"> {line}" for line in str(body.get_content() if body else "").splitlines())
    reply = EmailMessage()
    reply["From"] = "Hank Scorpio <hank@globexpartners.example>"
    reply["To"] = str(asked["Reply-To"])
    reply["Subject"] = f"Re: {asked['Subject']}"
    reply["Message-ID"] = make_msgid(domain="globexpartners.example")
    reply["In-Reply-To"] = str(asked["Message-ID"])
    reply["References"] = str(asked["Message-ID"])
    reply.set_content(f"{text}\n\nHank\n\n{asked['From']} wrote:\n{quoted}\n")
    return reply.as_bytes()


def _invitation(w: World, start: datetime) -> bytes:
    """What Google Calendar sends the guests when Sam invites Jane, Dana and partners+acme@."""
    stamp = start.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    end = (start + timedelta(minutes=45)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    now = w.clock().astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    guests = [
        ("Jane Doe", "jane.doe@hooli.example"),
        ("Dana Whitfield", "dana@acmeconsulting.example"),
        ("partners+acme@ours.example", "partners+acme@ours.example"),
    ]
    attendees = "".join(
        f"ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE;"
        f"CN={name}:mailto:{address}\r\n"
        for name, address in guests
    )
    calendar = (
        "BEGIN:VCALENDAR\r\nPRODID:-//Google Inc//Google Calendar 70.9054//EN\r\n"
        "VERSION:2.0\r\nCALSCALE:GREGORIAN\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\n"
        f"DTSTART:{stamp}\r\nDTEND:{end}\r\nDTSTAMP:{now}\r\n"
        "ORGANIZER;CN=Sam Rivera:mailto:sam.rivera@ours.example\r\n"
        f"UID:{stamp}-joint-demo@google.com\r\n{attendees}"
        "SEQUENCE:0\r\nSTATUS:CONFIRMED\r\nSUMMARY:Joint demo: Hooli x Ours (with Acme)\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    invite = EmailMessage()
    invite["From"] = "Sam Rivera <sam.rivera@ours.example>"
    invite["To"] = ", ".join(address for _, address in guests)
    invite["Subject"] = "Invitation: Joint demo: Hooli x Ours (with Acme)"
    invite["Message-ID"] = make_msgid(domain="google.com")
    invite["Date"] = format_datetime(w.clock())
    invite.set_content("Sam Rivera has invited you to: Joint demo: Hooli x Ours (with Acme)\n")
    invite.add_alternative(calendar, subtype="calendar", params={"method": "REQUEST"})
    return invite.as_bytes()
