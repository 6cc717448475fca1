"""Meetings from calendar mail: iTIP invitations, replies and cancellations (RFC 5546). Pure.

Google Calendar, Outlook/Exchange and Apple Calendar send an invitation as a `text/calendar` part
(RFC 6047, iMIP), often again as an `invite.ics` attachment; a forward may carry it inside a
message/rfc822 attachment. Whatever cannot be read is skipped: nothing here raises.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from email.message import Message
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar, Component
from icalendar.prop import vDDDTypes
from icalendar.timezone import tzp
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

_MAX_BYTES = 1024 * 1024  # a calendar part larger than this is a calendar export, not an invitation
_MAX_DEPTH = 12  # MIME nesting followed: a forward of a forwarded invitation is ~6 levels down
_MAX_CALENDARS = 5  # calendar parts read per message (Google sends the same calendar twice)
_MAX_EVENTS = 200  # VEVENTs read per calendar: a series and its changed instances, not a year
# RFC 5546 §1.4: PUBLISH posts an event without scheduling, ADD adds instances to one (§3.2.4);
# either still tells of a meeting. REFRESH, COUNTER and DECLINECOUNTER set no meeting.
_METHODS = {"PUBLISH": "REQUEST", "ADD": "REQUEST"} | {m: m for m in ("REQUEST", "REPLY", "CANCEL")}
# The rule parts real VTIMEZONEs use (RFC 5545 §3.6.5: one month a year, a weekday or a week of
# days in it). dateutil, which turns a VTIMEZONE into a tzinfo, re-expands each rule from its
# DTSTART (Outlook's is 1601) on each lookup: FREQ=MINUTELY there takes minutes per datetime,
# and a YEARLY rule from year 1 seconds per calendar.
_ZONE_RULE_PARTS = frozenset(
    {"FREQ", "INTERVAL", "BYMONTH", "BYDAY", "BYMONTHDAY", "UNTIL", "COUNT", "WKST"}
)
_EARLIEST_ONSET = 1600  # the year Outlook's observances start in (1601), the earliest seen
_MAX_OBSERVANCES = 12  # STANDARD/DAYLIGHT blocks in one VTIMEZONE
_MAX_RDATES = 50  # RDATE values in one VTIMEZONE


@dataclass(frozen=True)
class Attendee:
    email: str  # lower-cased
    partstat: str  # upper-cased: "ACCEPTED", "NEEDS-ACTION", "DECLINED", "TENTATIVE", …
    name: str | None = None


@dataclass(frozen=True)
class Meeting:
    method: str  # "REQUEST" | "REPLY" | "CANCEL"
    uid: str
    start: datetime | None  # aware, UTC
    summary: str | None
    organizer: str | None  # lower-cased email
    attendees: tuple[Attendee, ...]
    sequence: int
    accepted_by: tuple[str, ...]  # REPLY only: the attendees who accepted


def meetings_in(msg: Message) -> list[Meeting]:
    """Every VEVENT in the message's calendar parts and .ics attachments; [] when none reads."""
    found: list[Meeting] = []
    try:
        parts = list(_calendar_parts(msg, 0))[:_MAX_CALENDARS]
    except Exception:  # noqa: BLE001 - a MIME tree the stdlib cannot walk holds no meeting
        return found
    for part in parts:
        try:
            payload = part.get_payload(decode=True)
            if not isinstance(payload, bytes) or len(payload) > _MAX_BYTES:
                continue
            hint = part.get_param("method")
            try:
                text = payload.decode(part.get_content_charset() or "utf-8", "replace")
            except LookupError:  # a charset Python does not know: RFC 5545's default, UTF-8
                text = payload.decode("utf-8", "replace")
        except Exception:  # noqa: BLE001 - a malformed header: skip this part
            continue
        found.extend(meetings_from_ics(text, hint if isinstance(hint, str) else None))
    # Google sends each invitation twice (text/calendar and invite.ics): one meeting, not two.
    return list(dict.fromkeys(found))


def meetings_from_ics(data: bytes | str, method_hint: str | None = None) -> list[Meeting]:
    """One Meeting per VEVENT of an iCalendar stream; [] for what cannot be read."""
    if len(data) > _MAX_BYTES:
        return []
    try:
        # RFC 5545 §3.1.4: the default charset is UTF-8; Outlook's .ics files may start with a BOM.
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
        calendars = Calendar.from_ical(text.lstrip("\ufeff \t\r\n"), multiple=True)
    except Exception:  # noqa: BLE001 - icalendar raises ValueError and others on broken input
        return []
    meetings: list[Meeting] = []
    for calendar in calendars:
        if calendar.name != "VCALENDAR":
            continue
        # RFC 5545 §3.7.2: METHOD and the Content-Type method= must agree, so the body's wins
        # and the header fills in; with neither, the calendar is a snapshot, which RFC 5546
        # §1.4 calls PUBLISH.
        written = _text(calendar.get("METHOD")) or method_hint or "PUBLISH"
        method = _METHODS.get(written.strip().upper())
        if method is None:
            continue
        zones: dict[str, tzinfo] = {}
        for event in calendar.walk("VEVENT")[:_MAX_EVENTS]:
            try:
                meeting = _meeting(event, method, calendar, zones)
            except Exception:  # noqa: BLE001 - one unreadable event does not hide the others
                continue
            if meeting is not None:
                meetings.append(meeting)
    return meetings


def _calendar_parts(part: Message, depth: int) -> Iterator[Message]:
    if part.is_multipart():  # message/rfc822 too: its payload is the attached message
        payload = part.get_payload()
        if depth < _MAX_DEPTH and isinstance(payload, list):
            for sub in payload:
                if isinstance(sub, Message):
                    yield from _calendar_parts(sub, depth + 1)
        return
    try:
        ctype, filename = part.get_content_type(), str(part.get_filename() or "")
    except Exception:  # noqa: BLE001 - a header the stdlib cannot read
        return
    if ctype in ("text/calendar", "application/ics") or filename.lower().endswith(".ics"):
        yield part


def _meeting(
    event: Component, method: str, calendar: Component, zones: dict[str, tzinfo]
) -> Meeting | None:
    uid = _text(event.get("UID"))
    if not uid:  # RFC 5545 §3.6.1: UID is required; without it no reply can be matched
        return None
    attendees = []
    for prop in _all(event.get("ATTENDEE")):
        params = getattr(prop, "params", {})
        email = _email(prop, params)
        if email:
            # RFC 5545 §3.2.12: an attendee without PARTSTAT has not answered.
            partstat = str(params.get("PARTSTAT") or "NEEDS-ACTION").upper()
            attendees.append(Attendee(email, partstat, str(params.get("CN") or "") or None))
    organizer = _first(event.get("ORGANIZER"))
    sequence = _first(event.get("SEQUENCE"))
    accepted = [a.email for a in attendees if a.partstat == "ACCEPTED" and method == "REPLY"]
    return Meeting(
        method=method,
        uid=uid,
        start=_start(_first(event.get("DTSTART")), calendar, zones),
        summary=_text(event.get("SUMMARY")),
        organizer=_email(organizer, getattr(organizer, "params", {})) if organizer else None,
        attendees=tuple(attendees),
        sequence=sequence if isinstance(sequence, int) else 0,  # §3.8.7.4: 0 when absent
        accepted_by=tuple(accepted),
    )


def _all(value: Any) -> list[Any]:
    """A property's values: icalendar gives a list when it is repeated, the value otherwise."""
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _first(value: Any) -> Any:
    return next(iter(_all(value)), None)


def _text(value: Any) -> str | None:
    first = _first(value)
    return (str(first).strip() or None) if first is not None else None


def _email(value: Any, params: Any) -> str | None:
    """The address in a cal-address (`mailto:`), or in its EMAIL parameter (RFC 7986 §6.9)."""
    text = str(value).strip()
    scheme, colon, rest = text.partition(":")
    if colon and scheme.lower() == "mailto" and "@" in rest:
        return rest.strip().lower()
    if not colon and "@" in text:  # a bare address, as some generators write
        return text.lower()
    # Apple's CalDAV server names people by urn:uuid: and puts the address in EMAIL.
    email = str(params.get("EMAIL") or "").strip()
    return email.lower() if "@" in email else None


def _start(prop: Any, calendar: Component, zones: dict[str, tzinfo]) -> datetime | None:
    try:
        value = prop.dt
    except Exception:  # noqa: BLE001 - absent, or icalendar's BrokenCalendarProperty
        return None
    if isinstance(value, datetime):
        tzid = prop.params.get("TZID")
        if tzid:
            # The wall time as written, in the zone we resolve (icalendar's own lookup shares one
            # process-wide cache of VTIMEZONEs by name, where the first sender's wins).
            if str(tzid) not in zones:
                zones[str(tzid)] = _zone(str(tzid), calendar)
            value = value.replace(tzinfo=zones[str(tzid)])
        elif value.tzinfo is None:  # RFC 5545 §3.3.5 floating time: no zone known, so UTC
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
    if isinstance(value, date):  # an all-day event (VALUE=DATE): midnight UTC of that day
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return None


def _zone(tzid: str, calendar: Component) -> tzinfo:
    """The zone a TZID names: this calendar's VTIMEZONE, else an IANA or Windows name, else UTC."""
    # RFC 5545 §3.2.19: a TZID names a VTIMEZONE in the same iCalendar object, so that comes
    # first; Outlook's TZIDs ("Pacific Standard Time", "(UTC+01:00) Amsterdam, …") are no IANA
    # names, and a custom zone is only defined there.
    for component in calendar.walk("VTIMEZONE"):
        if _text(component.get("TZID")) == tzid.strip() and _plausible(component):
            try:
                return tzp.create_timezone(component)
            except Exception:  # noqa: BLE001 - a definition dateutil cannot read: try the name
                break
    name = tzid.strip()
    for candidate in (name, WINDOWS_TO_OLSON.get(name)):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except Exception:  # noqa: BLE001 - unknown, or not a valid key at all
                continue
    return UTC


def _plausible(zone: Component) -> bool:
    """Whether a VTIMEZONE has the shape clients write, so that using it stays cheap."""
    observances = zone.subcomponents
    if not 0 < len(observances) <= _MAX_OBSERVANCES:
        return False
    rdates = 0
    for observance in observances:
        onset = observance.get("DTSTART")
        start = onset.dt if isinstance(onset, vDDDTypes) else None
        if not isinstance(start, date) or start.year < _EARLIEST_ONSET:
            return False
        for rule in _all(observance.get("RRULE")):
            if not isinstance(rule, dict) or rule.get("FREQ") != ["YEARLY"]:
                return False
            by_day, by_month, by_monthday = (
                len(rule.get(part) or []) for part in ("BYDAY", "BYMONTH", "BYMONTHDAY")
            )
            if (
                not set(rule) <= _ZONE_RULE_PARTS
                or by_day > 1
                or by_month > 1
                or by_monthday > 7
                or (by_month == 0 and by_day + by_monthday > 0)
            ):
                return False
        rdates += sum(len(getattr(r, "dts", ())) for r in _all(observance.get("RDATE")))
    return rdates <= _MAX_RDATES
