"""Bytes to facts: one received message parsed into what intake needs. Pure, and never raises."""

from __future__ import annotations

import email
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email import policy
from email.message import Message
from email.parser import BytesHeaderParser
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

from bot.email import boundaries
from bot.email.forwards import find_forward_blocks, is_forward_subject
from bot.email.headers import Address, addresses, clean, decode, decode_bytes, raw_text
from bot.email.html import html_to_text

if TYPE_CHECKING:
    from bot.email.calendar import Meeting

boundaries.install()  # no regex compiled per multipart message (bot/email/boundaries.py)

# Headers a Bcc'd or aliased partner address shows up in (DESIGN "Email intake rules").
# Gmail keeps the address an alias or catch-all delivery was sent to in X-Gm-Original-To.
RECIPIENT_HEADERS = (
    "to",
    "cc",
    "resent-to",
    "delivered-to",
    "x-original-to",
    "envelope-to",
    "x-gm-original-to",
)
# Headers the rules read by name (others are parsed where they are needed).
RULE_HEADERS = frozenset(
    {
        "auto-submitted",
        "precedence",
        "x-autoreply",
        "x-autorespond",
        "x-autoresponder",
        "list-id",
        "return-path",
        "reply-to",
        "x-mailer",
        "user-agent",
    }
)
# Headers that differ between two deliveries of the same message, left out of the content hash.
_HASHED_HEADERS = ("from", "to", "cc", "subject", "date", "in-reply-to")
_MAX_TEXT = 256 * 1024  # characters of body text kept for rules and excerpts
_MAX_PARTS = 1000  # MIME boundary lines read; the bytes are kept whole whatever the count
_MAX_DEPTH = 3  # message/rfc822 nesting followed (flanker's enclosed-endless.eml nests forever)
_MSGID = re.compile(r"<([^<>\s]+)>")
# Mail that may carry a calendar (RFC 6047 iMIP: text/calendar, or an .ics attachment): only
# that is handed to the calendar reader.
_ICS_NAME = re.compile(rb"\.ics\b")


@dataclass(frozen=True)
class Forwarded:
    """The message inside a forward: inline block or message/rfc822 attachment."""

    sender: Address | None
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    subject: str
    text: str
    via: str  # "rfc822" or the client format ("gmail", "outlook", "apple", …)

    def addresses(self) -> list[Address]:
        return [a for a in (self.sender, *self.to, *self.cc) if a is not None]


@dataclass(frozen=True)
class ParsedMessage:
    message_id: str | None
    dedupe_key: str
    sender: Address | None
    recipients: tuple[tuple[str, Address], ...]  # (header name, address), in header order
    subject: str
    date: datetime | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    headers: dict[str, str]  # RULE_HEADERS present, lower-cased names, decoded
    content_type: str
    report_type: str | None
    text: str
    # The messages forwarded inside this one, outermost first: a forward of a forward is read
    # down to the original (an attached message/rfc822 first, then the blocks inside it).
    forwards: tuple[Forwarded, ...]
    defects: tuple[str, ...] = field(default=())
    html: str = ""  # the HTML body as sent, when there is one (reply extraction reads its quotes)
    # Every Authentication-Results header, topmost first (bot/email/authresults.py).
    auth_results: tuple[str, ...] = ()
    # The calendar invitations, replies and cancellations it carries (bot/email/calendar.py).
    meetings: tuple[Meeting, ...] = ()

    @property
    def forwarded(self) -> Forwarded | None:
        """The message this one forwards, if any (the outermost)."""
        return self.forwards[0] if self.forwards else None

    def addresses(self, *names: str) -> list[Address]:
        return [addr for header, addr in self.recipients if header in names]


def parse(raw: bytes) -> ParsedMessage:
    """Parse raw RFC 5322 bytes; malformed input yields what could be read plus its defects.

    Never raises: a message the MIME reading fails on is read again as headers and plain text,
    and one whose headers fail too is kept as bytes with no facts (its defect says why).
    """
    try:
        return _parse(raw)
    except RecursionError:
        defect, forwards = "MIME nested too deep", True  # the stdlib recurses per level
    except Exception as exc:  # noqa: BLE001 - a bug of ours or the stdlib's, never the mail's loss
        # Not our forward search again either: it may be what failed.
        defect, forwards = f"unreadable MIME ({type(exc).__name__})", False
    # The headers, and the body read as plain text.
    try:
        msg = BytesHeaderParser(policy=policy.compat32).parsebytes(raw)
        text = decode_bytes(raw[_body_offset(raw) :][:_MAX_TEXT], None)
        return _facts(raw, msg, text, "", None, [defect], forwards=forwards)
    except Exception as exc:  # noqa: BLE001
        return ParsedMessage(
            message_id=None,
            dedupe_key=f"sha256:{hashlib.sha256(raw).hexdigest()}",
            sender=None,
            recipients=(),
            subject="",
            date=None,
            in_reply_to=(),
            references=(),
            headers={},
            content_type="text/plain",
            report_type=None,
            text="",
            forwards=(),
            defects=(defect, f"unreadable headers ({type(exc).__name__})"),
        )


def _parse(raw: bytes) -> ParsedMessage:
    # compat32 is the lenient policy: header access never raises on malformed values.
    readable, cut = _first_parts(raw)
    msg = email.message_from_bytes(readable, policy=policy.compat32)
    defects = [type(d).__name__ for d in _all_defects(msg)] + cut
    text, html = _body_text(msg)
    parsed = _facts(raw, msg, text, html, _rfc822_forward(msg), defects)
    if _may_hold_calendar(readable):
        from bot.email.calendar import meetings_in  # icalendar: only for calendar mail

        meetings = tuple(meetings_in(msg))
        parsed = replace(parsed, meetings=meetings) if meetings else parsed
    return parsed


def _may_hold_calendar(raw: bytes) -> bool:
    """Whether the bytes name text/calendar, application/ics or an .ics file, in any case.

    Lower-cased first, then searched for literals: a case-blind regex alternation over the
    whole message cost a tenth of all parsing.
    """
    low = raw.lower()
    return b"text/calendar" in low or b"application/ics" in low or _ICS_NAME.search(low) is not None


def _first_parts(raw: bytes) -> tuple[bytes, list[str]]:
    """The message up to its _MAX_PARTS-th MIME boundary line: the stdlib keeps every part in
    memory (50 MB of tiny parts took 26 s and 1 GB), and no person writes that many."""
    if raw.count(b"\n--") <= _MAX_PARTS:
        return raw, []
    at = -1
    for _ in range(_MAX_PARTS):
        at = raw.find(b"\n--", at + 1)
    return raw[:at], [f"more than {_MAX_PARTS:,} MIME parts: the first {_MAX_PARTS:,} read"]


def _facts(
    raw: bytes,
    msg: Message,
    text: str,
    html: str,
    attached: Forwarded | None,
    defects: list[str],
    *,
    forwards: bool = True,
) -> ParsedMessage:
    # One pass over the headers: Message.get scans them all, lower-casing each, every call.
    index: dict[str, list[str]] = {}
    for key, value in msg.items():
        index.setdefault(key.lower(), []).append(value)

    def first(name: str) -> str | None:
        values = index.get(name)
        return values[0] if values else None

    subject = clean(decode(first("subject") or "")).strip()
    plain = text or html_to_text(html)
    found: tuple[Forwarded, ...] = (attached,) if attached else ()
    if forwards:
        if attached:
            found += _inline_forwards(attached.subject, attached.text)
        else:
            found = _inline_forwards(subject, plain)
            # Outlook's plain part may show only names where its HTML links the addresses, or
            # lose the block's lines where its HTML keeps them; mail that forwards nothing is
            # not read twice.
            maybe = found[0].addresses() == [] if found else is_forward_subject(subject)
            if html and text and maybe:
                found = _inline_forwards(subject, html_to_text(html)) or found
    message_id = _first_msgid(first("message-id"))
    return ParsedMessage(
        message_id=message_id,
        dedupe_key=f"mid:{message_id}" if message_id else f"sha256:{content_hash(raw, msg)}",
        sender=_first(addresses(index.get("from", []))),
        recipients=tuple(
            (name, addr) for name in RECIPIENT_HEADERS for addr in addresses(index.get(name, []))
        ),
        subject=subject,
        date=_date(first("date")),
        in_reply_to=_msgids(index.get("in-reply-to", [])),
        references=_msgids(index.get("references", [])),
        headers={
            name: clean(decode(value))
            for name, (value, *_) in index.items()
            if name in RULE_HEADERS and isinstance(value, str)
        },
        content_type=msg.get_content_type(),
        report_type=_param(msg, "report-type") if msg.is_multipart() else None,
        text=plain,
        forwards=found,
        defects=tuple(dict.fromkeys(defects)),
        html=html,
        auth_results=tuple(
            clean(decode(v)) for v in index.get("authentication-results", []) if isinstance(v, str)
        ),
    )


def _param(msg: Message, name: str) -> str | None:
    value = msg.get_param(name)
    if isinstance(value, tuple):  # RFC 2231 (charset, language, text)
        value = value[2]
    return str(value) if value else None


def _first(items: list[Address]) -> Address | None:
    return items[0] if items else None


def _first_msgid(value: object) -> str | None:
    if value is None:
        return None
    text = clean(str(value)).strip()
    match = _MSGID.search(text)
    found = match.group(1) if match else "".join(text.split())
    return found[:900] or None


def _msgids(values: Sequence[object]) -> tuple[str, ...]:
    ids: list[str] = []
    for value in values:
        text = clean(str(value))
        found = _MSGID.findall(text) or text.split()
        ids.extend(i[:900] for i in found if i)
    return tuple(dict.fromkeys(ids))


def _date(value: object) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = parsedate_to_datetime(str(value)[:200])
    except Exception:  # noqa: BLE001 - OverflowError, ValueError…: a Date we cannot read
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def content_hash(raw: bytes, msg: Message) -> str:
    """A stable stand-in for a missing Message-ID: what the sender wrote, not how it travelled."""
    digest = hashlib.sha256()
    for name in _HASHED_HEADERS:
        for value in msg.get_all(name) or []:
            digest.update(
                name.encode()
                + b":"
                + " ".join(str(value).split()).encode("utf-8", "surrogateescape")
                + b"\n"
            )
    body_at = _body_offset(raw)
    digest.update(raw[body_at:].replace(b"\r\n", b"\n").rstrip())
    return digest.hexdigest()


def _body_offset(raw: bytes) -> int:
    positions = [p for p in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if p >= 0]
    return min(positions) if positions else len(raw)


def _all_defects(msg: Message) -> list[object]:
    found: list[object] = []
    for part in msg.walk():
        found.extend(getattr(part, "defects", []))
    return found


def _is_attachment(part: Message) -> bool:
    # Raw 8-bit bytes in the header (a UTF-8 filename) come back as a Header, not a str.
    disposition = raw_text(part.get("content-disposition") or "").split(";", 1)[0].strip().lower()
    return disposition == "attachment"


def _body_text(msg: Message) -> tuple[str, str]:
    """The first text/plain and text/html bodies that are not attachments, decoded."""
    plain = html = ""
    for part in _walk(msg):
        ctype = part.get_content_type()
        if ctype not in ("text/plain", "text/html") or _is_attachment(part):
            continue
        if ctype == "text/plain" and not plain:
            plain = _part_text(part)
        elif ctype == "text/html" and not html:
            html = _part_text(part)
        if plain and html:
            break
    return plain, html


def _walk(msg: Message, depth: int = 0) -> list[Message]:
    """Parts of this message, not descending into attached messages (those are forwards)."""
    if not msg.is_multipart():
        return [msg]
    parts: list[Message] = []
    payload = msg.get_payload()
    if msg.get_content_type() == "message/rfc822" or not isinstance(payload, list):
        return parts
    for sub in payload:
        if isinstance(sub, Message) and depth < 20:
            parts.extend(_walk(sub, depth + 1))
    return parts


def _part_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        raw_payload = part.get_payload()
        payload = (
            raw_payload.encode("utf-8", "surrogateescape") if isinstance(raw_payload, str) else b""
        )
    payload = payload[: _MAX_TEXT * 4]
    text = decode_bytes(payload, part.get_content_charset())
    return clean(text.replace("\r\n", "\n"))[:_MAX_TEXT]


def _rfc822_forward(msg: Message, depth: int = 0) -> Forwarded | None:
    """A message attached whole (forward as attachment): its own headers and text."""
    for part in msg.walk() if msg.is_multipart() else []:
        if part.get_content_type() != "message/rfc822":
            continue
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        if not isinstance(inner, Message) or depth >= _MAX_DEPTH:
            continue
        plain, html = _body_text(inner)
        return Forwarded(
            sender=_first(addresses(inner.get_all("from") or [])),
            to=tuple(addresses(inner.get_all("to") or [])),
            cc=tuple(addresses(inner.get_all("cc") or [])),
            subject=clean(decode(inner.get("subject") or "")),
            text=plain or html_to_text(html),
            via="rfc822",
        )
    return None


def _inline_forwards(subject: str, text: str) -> tuple[Forwarded, ...]:
    def parsed(values: list[str]) -> tuple[Address, ...]:
        return tuple(addresses(values))

    found = []
    for block in find_forward_blocks(text, subject):
        senders = parsed(block.headers.get("from", []))
        found.append(
            Forwarded(
                sender=senders[0] if senders else None,
                to=parsed(block.headers.get("to", [])),
                cc=parsed(block.headers.get("cc", [])),
                subject=" ".join(block.headers.get("subject", [])),
                text=block.text,
                via=block.client,
            )
        )
    return tuple(found)
