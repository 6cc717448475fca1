"""Meetings read from calendar mail (tests/fixtures/calendar: one message per client and case)."""

from __future__ import annotations

import email
import time
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage

import pytest

from bot.email.calendar import Attendee, meetings_from_ics, meetings_in
from tests.support.paths import FIXTURES

CALENDAR = FIXTURES / "calendar"
GOOGLE_UID = "4k1p7r2vq9s0e3m6b8d5t2c1hj@google.com"
OUTLOOK_UID = (
    "040000008200E00074C5B7101A82E00800000000A0F3C6D25C63DB01000000000000000"
    "0100000009E1D7B4C2A6F3E4C8B0D5A1F6E2C9B37"
)


def message(name: str) -> EmailMessage:
    parsed = email.message_from_bytes((CALENDAR / name).read_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def ics(*lines: str, method: str | None = "REQUEST", zones: str = "") -> str:
    """A calendar holding one VEVENT made of `lines` (CRLF, as RFC 5545 §3.1 wants)."""
    head = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Handoff tests//EN"]
    head += [f"METHOD:{method}"] if method else []
    body = ["BEGIN:VEVENT", "DTSTAMP:20270101T000000Z", *lines, "END:VEVENT", "END:VCALENDAR"]
    return "\r\n".join([*head, *zones.splitlines(), *body]) + "\r\n"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def test_google_invitation_is_one_meeting_with_its_guests() -> None:
    [meeting] = meetings_in(message("01-google-invitation.eml"))  # text/calendar and invite.ics

    assert meeting.method == "REQUEST"
    assert meeting.uid == GOOGLE_UID
    assert meeting.start == utc(2027, 1, 12, 17, 30)
    assert meeting.summary == "Intro call: Northwind Traders, Acme & Ours"  # "\," unescaped
    assert meeting.organizer == "sam.rivera@ours.example"
    assert meeting.attendees == (
        Attendee("jordan@northwind.example", "NEEDS-ACTION", "jordan@northwind.example"),
        Attendee("sam.rivera@ours.example", "ACCEPTED", "Sam Rivera"),
        Attendee("dana@acmeconsulting.example", "NEEDS-ACTION", "Dana Whitfield"),
        Attendee("partners+acme@ours.example", "NEEDS-ACTION", "partners+acme@ours.example"),
    )
    assert meeting.sequence == 0
    assert meeting.accepted_by == ()  # an organizer's own ACCEPTED is no reply


def test_google_invite_ics_attachment_reads_alone() -> None:
    parts = [p for p in message("01-google-invitation.eml").walk() if p.get_filename()]
    [attachment] = parts
    assert attachment["content-transfer-encoding"] == "base64"
    assert meetings_from_ics(attachment.get_payload(decode=True)) == meetings_in(
        message("01-google-invitation.eml")
    )


def test_google_acceptance_names_who_accepted() -> None:
    [meeting] = meetings_in(message("02-google-acceptance.eml"))

    assert meeting.method == "REPLY"
    assert meeting.uid == GOOGLE_UID  # matches the invitation it answers
    assert meeting.accepted_by == ("jordan@northwind.example",)
    assert meeting.attendees == (Attendee("jordan@northwind.example", "ACCEPTED", "Jordan Lee"),)
    assert meeting.organizer == "sam.rivera@ours.example"


def test_outlook_invitation_resolves_its_windows_time_zone() -> None:
    [meeting] = meetings_in(message("03-outlook-invitation.eml"))

    assert meeting.method == "REQUEST"
    assert meeting.uid == OUTLOOK_UID
    assert meeting.start == utc(2027, 1, 14, 18, 0)  # 10:00 Pacific Standard Time (UTC-8)
    assert meeting.summary == "Globex intro: Contoso Freight <> Ours"
    assert meeting.organizer == "hank@globexpartners.example"
    assert [(a.email, a.partstat) for a in meeting.attendees] == [
        ("sam.rivera@ours.example", "NEEDS-ACTION"),
        ("ines.alvarez@contosofreight.example", "NEEDS-ACTION"),  # written Ines.Alvarez@Contoso…
        ("globex-intros@ours.example", "NEEDS-ACTION"),
    ]


def test_outlook_acceptance_with_upper_case_mailto() -> None:
    [meeting] = meetings_in(message("04-outlook-acceptance.eml"))

    assert meeting.method == "REPLY"
    assert meeting.uid == OUTLOOK_UID
    assert meeting.start == utc(2027, 1, 14, 18, 0)  # TZID="Pacific Standard Time", quoted
    assert meeting.accepted_by == ("ines.alvarez@contosofreight.example",)
    assert meeting.organizer == "hank@globexpartners.example"  # MAILTO:, as Outlook writes it


def test_apple_invitation_quoted_printable_in_summer_time() -> None:
    [meeting] = meetings_in(message("05-apple-invitation.eml"))

    assert meeting.method == "REQUEST"
    assert meeting.uid == "6B0C3E2A-9D41-4F7B-8E15-3A2C7D9F0B64"
    assert meeting.start == utc(2027, 5, 5, 8, 30)  # 10:30 in Berlin, summer time (UTC+2)
    assert meeting.summary == "Initech intro \u2013 Fahrwerk GmbH \u00d7 Ours"
    assert meeting.organizer == "bill@initech.example"
    assert meeting.attendees[1] == Attendee(
        "j.mueller@fahrwerk.example", "NEEDS-ACTION", "J\u00fcrgen M\u00fcller"
    )
    assert [a.email for a in meeting.attendees] == [
        "bill@initech.example",
        "j.mueller@fahrwerk.example",
        "priya@ours.example",
        "initech@ours.example",
    ]


def test_outlook_cancellation_of_the_invitation() -> None:
    [meeting] = meetings_in(message("06-outlook-cancellation.eml"))

    assert meeting.method == "CANCEL"
    assert meeting.uid == OUTLOOK_UID
    assert meeting.sequence == 1  # RFC 5546 §2.1.4: newer than the invitation's 0
    assert meeting.start == utc(2027, 1, 14, 18, 0)
    assert meeting.accepted_by == ()


@pytest.mark.parametrize("name", ["07-garbled-calendar.eml", "07-plain-email.eml"])
def test_no_meeting_in_garbled_or_plain_mail(name: str) -> None:
    assert meetings_in(message(name)) == []


def test_all_day_invitation_inside_a_forwarded_message() -> None:
    [meeting] = meetings_in(message("08-all-day-invitation-forwarded-as-attachment.eml"))

    assert meeting.uid == "1f9q3s6u8w0y2a4c6e8g0i2k4m@google.com"
    assert meeting.start == utc(2027, 3, 1)  # VALUE=DATE: midnight UTC of that day
    assert meeting.organizer == "dana@acmeconsulting.example"
    assert [(a.email, a.partstat) for a in meeting.attendees][2] == (
        "maria.chen@acmeconsulting.example",
        "TENTATIVE",
    )


# Outlook has named zones by their display name (or "Customized Time Zone"), which no table maps:
# only the VTIMEZONE says what the name means.
AMSTERDAM = """BEGIN:VTIMEZONE
TZID:(UTC+01:00) Amsterdam\\, Berlin\\, Bern\\, Rome\\, Stockholm\\, Vienna
BEGIN:STANDARD
DTSTART:16010101T030000
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:16010101T020000
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3
END:DAYLIGHT
END:VTIMEZONE"""


@pytest.mark.parametrize(
    ("dtstart", "zones", "expected"),
    [
        (
            'DTSTART;TZID="(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna"'
            ":20270714T100000",
            AMSTERDAM,
            utc(2027, 7, 14, 8),
        ),
        ("DTSTART;TZID=W. Europe Standard Time:20270714T100000", "", utc(2027, 7, 14, 8)),
        ("DTSTART;TZID=America/New_York:20270714T100000", "", utc(2027, 7, 14, 14)),
        ("DTSTART;TZID=Somewhere/Unknown:20270714T100000", "", utc(2027, 7, 14, 10)),
        ("DTSTART:20270714T100000", "", utc(2027, 7, 14, 10)),  # floating
        ("DTSTART:2027-07-14", "", None),  # unreadable: the meeting still counts
    ],
)
def test_start_time_zones(dtstart: str, zones: str, expected: datetime | None) -> None:
    [meeting] = meetings_from_ics(ics("UID:z-1", dtstart, "SUMMARY:Zones", zones=zones))
    assert meeting.start == expected


@pytest.mark.timeout(30)
def test_a_time_zone_rule_that_would_take_minutes_is_not_used() -> None:
    bomb = AMSTERDAM.replace(AMSTERDAM.splitlines()[1], "TZID:Bomb")
    bomb = bomb.replace("FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10", "FREQ=MINUTELY")
    bomb = bomb.replace("FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3", "FREQ=MINUTELY")
    calendar = ics("UID:b-1", "DTSTART;TZID=Bomb:20270714T100000", zones=bomb)

    started = time.monotonic()
    [meeting] = meetings_from_ics(calendar)
    assert time.monotonic() - started < 5
    assert meeting.start == utc(2027, 7, 14, 10)  # an unknown zone: read as UTC


@pytest.mark.parametrize(
    ("method", "hint", "expected"),
    [
        ("REQUEST", "CANCEL", "REQUEST"),  # the calendar's own METHOD wins over the header
        (None, "cancel", "CANCEL"),  # Content-Type method= fills in a missing METHOD
        (None, None, "REQUEST"),  # no METHOD at all: a snapshot (RFC 5546 PUBLISH)
        ("PUBLISH", None, "REQUEST"),
        ("ADD", None, "REQUEST"),
    ],
)
def test_method(method: str | None, hint: str | None, expected: str) -> None:
    calendar = ics("UID:m-1", "DTSTART:20270714T100000Z", method=method)
    assert [m.method for m in meetings_from_ics(calendar, method_hint=hint)] == [expected]


@pytest.mark.parametrize("method", ["COUNTER", "REFRESH", "DECLINECOUNTER", "NONSENSE"])
def test_methods_that_set_no_meeting(method: str) -> None:
    assert meetings_from_ics(ics("UID:m-2", "DTSTART:20270714T100000Z", method=method)) == []


def test_each_vevent_is_a_meeting_changed_instances_included() -> None:
    calendar = ics(
        "UID:weekly-1",
        "DTSTART:20270111T170000Z",
        "RRULE:FREQ=WEEKLY;COUNT=6",
        "SUMMARY:Weekly pipeline review",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:weekly-1",
        "RECURRENCE-ID:20270118T170000Z",
        "DTSTART:20270119T163000Z",
        "SEQUENCE:2",
        "SUMMARY:Weekly pipeline review (moved)",
        "END:VEVENT",
        "BEGIN:VEVENT",  # no UID (RFC 5545 §3.6.1 requires one): skipped
        "DTSTART:20270120T170000Z",
    )
    meetings = meetings_from_ics(calendar)
    assert [(m.uid, m.start, m.sequence) for m in meetings] == [
        ("weekly-1", utc(2027, 1, 11, 17), 0),
        ("weekly-1", utc(2027, 1, 19, 16, 30), 2),
    ]


def test_reply_declined_or_tentative_is_not_accepted() -> None:
    calendar = ics(
        "UID:r-1",
        "DTSTART:20270714T100000Z",
        "ORGANIZER:mailto:sam.rivera@ours.example",
        "ATTENDEE;PARTSTAT=DECLINED:mailto:jordan@northwind.example",
        "ATTENDEE;PARTSTAT=tentative:mailto:dana@acmeconsulting.example",
        "ATTENDEE:mailto:lee@ours.example",
        method="REPLY",
    )
    [meeting] = meetings_from_ics(calendar)
    assert [(a.email, a.partstat) for a in meeting.attendees] == [
        ("jordan@northwind.example", "DECLINED"),
        ("dana@acmeconsulting.example", "TENTATIVE"),
        ("lee@ours.example", "NEEDS-ACTION"),  # RFC 5545 §3.2.12's default
    ]
    assert meeting.accepted_by == ()


def test_addresses_from_the_email_parameter_or_none() -> None:
    calendar = ics(
        "UID:a-1",
        "DTSTART:20270714T100000Z",
        'ORGANIZER;CN="Bill";EMAIL="Bill@Initech.example":urn:uuid:7b2e0c1a-0d3f-4c55-9e61-2a',
        "ATTENDEE;CN=Phone guest;PARTSTAT=ACCEPTED:invalid:nomail",
        "ATTENDEE;PARTSTAT=ACCEPTED:Jordan@Northwind.example",
        method="REPLY",
    )
    [meeting] = meetings_from_ics(calendar)
    assert meeting.organizer == "bill@initech.example"
    assert meeting.accepted_by == ("jordan@northwind.example",)


def test_bytes_with_a_byte_order_mark_and_lf_line_ends() -> None:
    data = (
        b"\xef\xbb\xbf"
        + ics("UID:bom-1", "DTSTART:20270714T100000Z").replace("\r\n", "\n").encode()
    )
    assert [m.uid for m in meetings_from_ics(data)] == ["bom-1"]


@pytest.mark.parametrize(
    "data",
    [
        "",
        b"\x00\xff\xfe junk",
        "END:VCALENDAR\r\n",
        "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:t-1\r\n",  # never ended
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:t-2\r\nno colon here\r\nEND:VEVENT\r\n",
        "BEGIN:VEVENT\r\nUID:t-3\r\nDTSTART:20270714T100000Z\r\nEND:VEVENT\r\n",  # no VCALENDAR
    ],
)
def test_garbled_calendars_give_nothing(data: str | bytes) -> None:
    assert meetings_from_ics(data) == []


def test_a_calendar_over_one_megabyte_is_ignored() -> None:
    padding = "X-PADDING:" + "x" * 70
    big = ics("UID:big-1", "DTSTART:20270714T100000Z", *[padding] * 15_000)
    assert len(big) > 1024 * 1024
    assert meetings_from_ics(big) == []
    assert [m.uid for m in meetings_from_ics(ics("UID:big-1", "DTSTART:20270714T100000Z"))] == [
        "big-1"
    ]


def test_content_type_method_fills_in_for_a_part_without_method() -> None:
    msg = EmailMessage()
    msg["Subject"] = "Canceled: Intro call"
    calendar = ics("UID:c-1", "DTSTART:20270714T100000Z", "STATUS:CANCELLED", method=None)
    msg.set_content(calendar, subtype="calendar", params={"method": "CANCEL"})
    assert [(m.uid, m.method) for m in meetings_in(msg)] == [("c-1", "CANCEL")]
