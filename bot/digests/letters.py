"""The short emails a partner gets about one referral at once (issue 23): the receipt of an
intro, who owns it, "did you introduce …?" about one a rep logged, "still active?" before
protection lapses. Pure: subject, text and HTML, with the digests' look, reply and footer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.digests.content import Rendered, _finish, _line, _p, _wrap
from bot.text import day
from bot.vocabulary import ACTION_LABELS, ActionType

_LEAD = "font-size:17px;line-height:24px;font-weight:bold;"
_MUTED = "color:#6b7280;"


@dataclass(frozen=True)
class About:
    """Who the letter is to and which referral it is about, and its reply addresses."""

    partner: str
    sender: str
    tz: ZoneInfo
    ref: str
    prospect: str  # the person's name, else their address
    company: str | None
    reply_to: str  # replies land on this referral
    unsubscribe: str

    @property
    def who(self) -> str:
        return _line(self.prospect) + (f" ({_line(self.company)})" if self.company else "")


def moment(at: datetime, tz: ZoneInfo) -> str:
    """An instant as the partner reads it: "Mon 2026-12-07 14:05 CET"."""
    local = at.astimezone(tz)
    return f"{day(local.date())} {local:%H:%M} {local.tzname() or tz.key}"


def receipt(a: About, *, received_at: datetime, protected_until: datetime | None) -> Rendered:
    """The intro is registered to the partner, from its arrival, protected until a day."""
    head = f"{a.ref}: {a.who} registered to {_line(a.partner)} at {moment(received_at, a.tz)}"
    if protected_until is not None:
        head += f", protected until {_until(protected_until, a.tz)}"
    return _letter(
        a,
        subject=f"{a.ref} registered: {a.who}",
        lead=head + ".",
        lines=[
            "Thank you for the introduction. We will tell you who owns it as soon as someone does."
        ],
        closing=f"Reply to this email to add anything about {a.ref}; your reply goes "
        "straight to the team.",
    )


def already_registered(a: About, *, registered_at: datetime) -> Rendered:
    """A second partner's intro of a prospect another partner registered first (unnamed)."""
    return _letter(
        a,
        subject=f"{a.who}: already registered",
        lead=f"Thank you for introducing {a.who}. This prospect was already registered "
        f"with us on {day(registered_at.astimezone(a.tz).date())}.",
        lines=[
            f"Your introduction is recorded as {a.ref} with its date, and a partner manager "
            "will look at it. If you worked with this prospect before that date, reply and "
            "say so."
        ],
        closing=f"Reply to this email about {a.ref}; your reply goes to the partner managers.",
    )


def owned(a: About, *, owner: str | None) -> Rendered:
    """A rep claimed the referral (or it changed hands); `owner` None: Slack never named them."""
    if owner is None:
        return _letter(
            a,
            subject=f"{a.ref}: claimed",
            lead=f"{a.ref}: {a.who} now has an owner on our team.",
            lines=["They will be in touch with the prospect, and with you for the next step."],
            closing=f"Reply to this email to write to them about {a.ref}.",
        )
    return _letter(
        a,
        subject=f"{a.ref}: {_line(owner)} owns it",
        lead=f"{_line(owner)} owns {a.ref}: {a.who}.",
        lines=["They will be in touch with the prospect, and with you for the next joint step."],
        closing=f"Reply to this email to write to {_line(owner)} about {a.ref}.",
    )


def confirm_ask(
    a: About, *, action: str | None, happened_on: date | None, rep: str | None
) -> Rendered:
    """ "Did you introduce …?" about a referral a rep logged in Slack."""
    what = ACTION_LABELS.get(ActionType(action), action) if action else None
    said = f"{_line(rep)} recorded" if rep else "We recorded"
    detail = f"{said} that you introduced {a.who}"
    if what:
        detail += f" ({what.lower()}"
        detail += f", {day(happened_on)})" if happened_on else ")"
    return _letter(
        a,
        subject=f"Did you introduce {a.who}? ({a.ref})",
        lead=f"Did you introduce {a.who}?",
        lines=[
            detail + f", as {a.ref}.",
            "Reply to this email with yes (or anything you want to add) and it is registered "
            "to you, with your reply as the proof.",
        ],
        closing=f"Your reply goes straight into {a.ref}'s record.",
    )


def expiry_ask(a: About, *, protected_until: datetime, owner: str | None) -> Rendered:
    """Protection lapses soon on an open referral with no stage change: still active?"""
    who = f" with {_line(owner)}" if owner else ""
    return _letter(
        a,
        subject=f"{a.ref} {a.who}: still active?",
        lead=f"Is {a.who} still active?",
        lines=[
            f"Your registration of {a.ref}{who} is protected until "
            f"{_until(protected_until, a.tz)}, and its stage has not moved.",
            "Reply with what you know (still in talks, gone quiet, went elsewhere): your "
            "answer is recorded on the referral and its owner sees it.",
        ],
        closing=f"Your reply goes straight into {a.ref}'s record.",
    )


def _until(at: datetime, tz: ZoneInfo) -> str:
    return day(at.astimezone(tz).date())


def _letter(a: About, *, subject: str, lead: str, lines: list[str], closing: str) -> Rendered:
    hello = f"Hello {_line(a.partner)},"
    text = [_wrap(hello), "", _wrap(lead)]
    rows = [_p(hello, "", pad="24px 24px 0"), _p(lead, _LEAD, pad="12px 24px 0")]
    for line in lines:
        text += ["", _wrap(line)]
        rows.append(_p(line, "", pad="8px 24px 0"))
    text += ["", _wrap(f"Reply about {a.ref}: {a.reply_to}")]
    rows.append(_p(f"Reply about {a.ref}: {a.reply_to}", _MUTED, pad="12px 24px 8px"))
    return _finish(_line(subject), text, rows, closing, f"{a.sender} to {a.partner}", a.unsubscribe)
