"""The IMAP wire without a server: folder names, UID sets, FETCH/SELECT parsing, batching,
backoff, and the HANDOFF_IMAP_URL setting (which must never show its password)."""

from __future__ import annotations

import random
import traceback
from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.config import ConfigError, load_settings
from bot.mail.imap_wire import (
    Fetched,
    FolderStatus,
    folder_status,
    mailbox_name,
    parse_fetch,
    parse_internal_date,
    parse_sizes,
    uid_set,
)
from bot.mail.progress import BATCH_BYTES, BATCH_MESSAGES, Backoff, batches
from bot.servers import ImapTarget, parse_imap_urls

PASSWORD = "hunter2-zz"
MB = 1024 * 1024


# --- mailbox_name: RFC 3501 modified UTF-7, then a quoted string ----------------------------


@pytest.mark.parametrize(
    ("name", "wire"),
    [
        ("INBOX", '"INBOX"'),
        ("Partner Intros", '"Partner Intros"'),
        # RFC 3501 section 5.1.3's own example.
        ("~peter/mail/台北/日本語", '"~peter/mail/&U,BTFw-/&ZeVnLIqe-"'),
        ("Sales & Marketing", '"Sales &- Marketing"'),
        ("&&", '"&-&-"'),
        ("Café", '"Caf&AOk-"'),
        # Outside the BMP: UTF-16 surrogate pair, base64 with "," for "/".
        ("📧", '"&2D3c5w-"'),
        # Quoting (RFC 3501 section 9): backslash and double quote are escaped.
        ('Say "hi"', '"Say \\"hi\\""'),
        ("back\\slash", '"back\\\\slash"'),
        ('a"b\\c', '"a\\"b\\\\c"'),
    ],
)
def test_mailbox_name_is_modified_utf7_and_quoted(name: str, wire: str) -> None:
    assert mailbox_name(name) == wire


# --- uid_set ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uids", "wire"),
    [
        ([42], "42"),
        ([1, 2, 3, 5], "1:3,5"),
        ([1, 3, 5], "1,3,5"),
        ([9, 3, 1, 2, 10], "1:3,9:10"),
        ([4, 4, 5, 5, 4], "4:5"),
        ([7, 7, 7], "7"),
        ([100, 1, 101, 2, 50], "1:2,50,100:101"),
        ([4294967294, 4294967295], "4294967294:4294967295"),
    ],
)
def test_uid_set_is_sorted_deduplicated_and_uses_ranges(uids: list[int], wire: str) -> None:
    assert uid_set(uids) == wire


def test_uid_set_of_many_consecutive_uids_is_one_range() -> None:
    assert uid_set(range(1, 10_001)) == "1:10000"


# --- parse_internal_date ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (b"22-Nov-2026 19:34:51 +0000", datetime(2026, 11, 22, 19, 34, 51, tzinfo=UTC)),
        (
            b" 2-Nov-2026 09:05:01 +0100",
            datetime(2026, 11, 2, 9, 5, 1, tzinfo=timezone(timedelta(hours=1))),
        ),
        (
            b"01-Jan-2027 00:00:00 -0500",
            datetime(2027, 1, 1, 5, 0, 0, tzinfo=UTC),
        ),
    ],
)
def test_internal_date_is_parsed_with_its_offset(value: bytes, expected: datetime) -> None:
    parsed = parse_internal_date(value)
    assert parsed == expected
    assert parsed is not None and parsed.utcoffset() is not None


def test_space_padded_day_keeps_its_offset() -> None:
    parsed = parse_internal_date(b" 2-Nov-2026 09:05:01 +0100")
    assert parsed is not None
    assert parsed.utcoffset() == timedelta(hours=1)
    assert parsed.astimezone(UTC) == datetime(2026, 11, 2, 8, 5, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    [
        b"",
        b"yesterday",
        b"22-Nov-2026",
        b"22-Nov-2026 19:34:51",  # no zone
        b"32-Nov-2026 19:34:51 +0000",
        b"22-Foo-2026 19:34:51 +0000",
        b"\xff\xfe",
    ],
)
def test_unparseable_internal_date_is_none(value: bytes) -> None:
    assert parse_internal_date(value) is None


# --- parse_fetch: lines as aioimaplib hands them over -----------------------------------------

DATE = b"22-Nov-2026 19:34:51 +0000"
WHEN = datetime(2026, 11, 22, 19, 34, 51, tzinfo=UTC)


def _announce(seq: int, attributes: bytes, body: bytes) -> bytes:
    prefix = f"{seq} FETCH (".encode()
    return prefix + attributes + b"BODY[] {" + str(len(body)).encode() + b"}"


def test_fetch_with_attributes_before_the_literal() -> None:
    body = b"Subject: hi\r\n\r\nHello"
    lines = [
        _announce(1, b'UID 7 INTERNALDATE "' + DATE + b'" ', body),
        bytearray(body),
        b")",
        b"Fetch completed (0.001 + 0.000 secs).",
    ]
    assert parse_fetch(lines) == [Fetched(uid=7, internal_date=WHEN, raw=body)]
    assert type(parse_fetch(lines)[0].raw) is bytes


def test_fetch_with_attributes_after_the_literal() -> None:
    body = b"Subject: later\r\n\r\nbody\r\n"
    lines = [
        _announce(2, b"", body),
        bytearray(body),
        b' UID 9 INTERNALDATE " 2-Nov-2026 09:05:01 +0100")',
        b"Fetch completed.",
    ]
    [fetched] = parse_fetch(lines)
    assert fetched.uid == 9
    assert fetched.raw == body
    assert fetched.internal_date == datetime(2026, 11, 2, 8, 5, 1, tzinfo=UTC)


def test_fetch_without_internaldate_still_yields_the_message() -> None:
    body = b"x"
    lines = [_announce(1, b"UID 3 ", body), bytearray(body), b")"]
    assert parse_fetch(lines) == [Fetched(uid=3, internal_date=None, raw=body)]


def test_unsolicited_fetch_lines_are_ignored() -> None:
    first, second = b"Subject: one\r\n\r\n1", b"Subject: two\r\n\r\n2"
    lines = [
        b"3 FETCH (FLAGS (\\Seen))",
        _announce(1, b'UID 7 INTERNALDATE "' + DATE + b'" ', first),
        bytearray(first),
        b")",
        b"3 FETCH (FLAGS (\\Seen))",
        b"5 FETCH (UID 12 FLAGS (\\Seen \\Flagged))",
        b"4 EXISTS",
        _announce(2, b"", second),
        bytearray(second),
        b' UID 8 INTERNALDATE "' + DATE + b'")',
        b"6 FETCH (UID 13 MODSEQ (99))",
        b"Fetch completed.",
    ]
    assert parse_fetch(lines) == [
        Fetched(uid=7, internal_date=WHEN, raw=first),
        Fetched(uid=8, internal_date=WHEN, raw=second),
    ]


def test_a_literal_with_unbalanced_parentheses_and_crlfs_is_kept_byte_for_byte() -> None:
    body = (
        b"Subject: (unbalanced ((\r\n"
        b"\r\n"
        b") ) ) closing too many\r\n"
        b'* 9 FETCH (UID 99 INTERNALDATE "01-Jan-2000 00:00:00 +0000" BODY[] {3}\r\n'
        b"\r\n"
        b")"
    )
    lines = [
        _announce(1, b'UID 7 INTERNALDATE "' + DATE + b'" ', body),
        bytearray(body),
        b")",
        _announce(2, b"", body),
        bytearray(body),
        b' UID 11 INTERNALDATE "' + DATE + b'")',
        b"Fetch completed.",
    ]
    assert parse_fetch(lines) == [
        Fetched(uid=7, internal_date=WHEN, raw=body),
        Fetched(uid=11, internal_date=WHEN, raw=body),
    ]


def test_no_fetch_lines_means_no_messages() -> None:
    assert parse_fetch([b"Fetch completed (0.001 + 0.000 secs)."]) == []
    assert parse_fetch([]) == []


# --- parse_sizes ------------------------------------------------------------------------------


def test_sizes_are_read_in_any_attribute_order_and_sorted_by_uid() -> None:
    lines = [
        b"2 FETCH (UID 12 RFC822.SIZE 2048)",
        b"1 FETCH (RFC822.SIZE 512 UID 11)",
        b"3 FETCH (FLAGS (\\Seen))",
        b"4 EXISTS",
        b"5 FETCH (UID 3 RFC822.SIZE 26214400)",
        b"Fetch completed (0.001 + 0.000 secs).",
    ]
    assert parse_sizes(lines) == [(3, 26214400), (11, 512), (12, 2048)]


def test_sizes_skip_lines_missing_uid_or_size() -> None:
    lines = [
        b"1 FETCH (UID 4)",
        b"2 FETCH (RFC822.SIZE 99)",
        b"3 FETCH (UID 5 RFC822.SIZE 0)",
        bytearray(b"6 FETCH (UID 6 RFC822.SIZE 1)"),
    ]
    assert parse_sizes(lines) == [(5, 0)]


# --- folder_status: the SELECT response ------------------------------------------------------

SELECT_LINES: list[bytes] = [
    b"FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)",
    b"OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted.",
    b"3 EXISTS",
    b"1 RECENT",
    b"OK [UNSEEN 2] First unseen.",
    b"OK [UIDVALIDITY 1795376091] UIDs valid",
    b"OK [UIDNEXT 4] Predicted next UID",
    b"OK [HIGHESTMODSEQ 17] Highest",
    b"[READ-WRITE] Select completed (0.001 + 0.000 secs).",
]


def test_select_response_gives_uidvalidity_uidnext_and_exists() -> None:
    assert folder_status(SELECT_LINES) == FolderStatus(uidvalidity=1795376091, uidnext=4, exists=3)


def test_select_response_in_another_order() -> None:
    assert folder_status(list(reversed(SELECT_LINES))) == FolderStatus(
        uidvalidity=1795376091, uidnext=4, exists=3
    )


def test_select_response_without_uidnext() -> None:
    lines = [
        b"0 EXISTS",
        b"0 RECENT",
        b"OK [UIDVALIDITY 5] UIDs valid",
        b"[READ-WRITE] Select completed.",
    ]
    assert folder_status(lines) == FolderStatus(uidvalidity=5, uidnext=None, exists=0)


# --- _batches ---------------------------------------------------------------------------------


def _flatten(batches: list[list[int]]) -> list[int]:
    return [uid for batch in batches for uid in batch]


def test_batches_are_limited_by_count_and_keep_order() -> None:
    sizes = [(uid, 1000) for uid in range(1, 2 * BATCH_MESSAGES + 51)]
    made = batches(sizes)
    assert [len(b) for b in made] == [BATCH_MESSAGES, BATCH_MESSAGES, 50]
    assert _flatten(made) == [uid for uid, _ in sizes]


def test_exactly_batch_messages_is_one_batch() -> None:
    sizes = [(uid, 1) for uid in range(1, BATCH_MESSAGES + 1)]
    assert batches(sizes) == [list(range(1, BATCH_MESSAGES + 1))]


def test_batches_are_limited_by_bytes() -> None:
    third = BATCH_BYTES // 3 + 1  # three of these are just over the limit
    sizes = [(10, third), (20, third), (30, third), (40, third), (50, third)]
    assert batches(sizes) == [[10, 20], [30, 40], [50]]


def test_a_batch_may_fill_the_byte_limit_exactly() -> None:
    half = BATCH_BYTES // 2
    assert batches([(1, half), (2, BATCH_BYTES - half), (3, 1)]) == [[1, 2], [3]]


@pytest.mark.parametrize(
    ("sizes", "expected"),
    [
        ([(1, 1000), (2, BATCH_BYTES + 1), (3, 1000)], [[1], [2], [3]]),
        ([(1, 25 * MB), (2, 1000), (3, 1000)], [[1], [2, 3]]),
        ([(1, 1000), (2, 1000), (3, 25 * MB)], [[1, 2], [3]]),
        ([(5, 25 * MB), (6, 30 * MB)], [[5], [6]]),
    ],
)
def test_a_message_larger_than_the_byte_limit_goes_alone(
    sizes: list[tuple[int, int]], expected: list[list[int]]
) -> None:
    assert batches(sizes) == expected


def test_no_messages_no_batches() -> None:
    assert batches([]) == []


def test_batches_never_exceed_either_limit_unless_alone() -> None:
    rng = random.Random(7)
    sizes = [(uid, rng.choice([100, 50_000, 3 * MB, 9 * MB, 20 * MB])) for uid in range(1, 600)]
    length = dict(sizes)
    made = batches(sizes)
    assert _flatten(made) == [uid for uid, _ in sizes]
    for batch in made:
        assert 1 <= len(batch) <= BATCH_MESSAGES
        if len(batch) > 1:
            assert sum(length[uid] for uid in batch) <= BATCH_BYTES


# --- Backoff ----------------------------------------------------------------------------------


class _Extreme:
    """Stands in for the random module, always answering one end of uniform()'s range."""

    def __init__(self, high: bool) -> None:
        self.high = high

    def uniform(self, a: float, b: float) -> float:
        return b if self.high else a


@pytest.mark.parametrize("high", [False, True])
def test_backoff_ceiling_doubles_from_first_up_to_cap(
    monkeypatch: pytest.MonkeyPatch, high: bool
) -> None:
    monkeypatch.setattr("bot.mail.progress.random", _Extreme(high))
    backoff = Backoff(first=1.0, cap=10.0)
    ceilings = [1.0, 2.0, 4.0, 8.0, 10.0, 10.0, 10.0]
    delays = [backoff.next() for _ in ceilings]
    assert delays == [c if high else c / 2 for c in ceilings]


def test_backoff_delays_are_jittered_within_half_to_full_ceiling() -> None:
    random.seed(20261122)
    backoff = Backoff(first=0.5, cap=300.0)
    delays = []
    for attempt in range(40):
        ceiling = min(300.0, 0.5 * 2**attempt)
        delay = backoff.next()
        assert ceiling / 2 <= delay <= ceiling, (attempt, delay)
        delays.append(delay)
    capped = delays[-20:]
    assert len(set(capped)) > 1  # jitter: not every watcher knocks at the same instant


def test_backoff_reset_starts_over(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.mail.progress.random", _Extreme(True))
    backoff = Backoff(first=2.0, cap=60.0)
    assert [backoff.next() for _ in range(7)] == [2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]
    backoff.reset()
    assert [backoff.next() for _ in range(3)] == [2.0, 4.0, 8.0]


def test_backoff_stays_at_the_cap_through_a_long_outage() -> None:
    """Days of a server being down (~1024 failures at 300 s) must not crash the watcher."""
    backoff = Backoff(first=1.0, cap=300.0)
    for attempt in range(1100):
        delay = backoff.next()
        if attempt >= 9:
            assert 150.0 <= delay <= 300.0, (attempt, delay)


# --- HANDOFF_IMAP_URL -------------------------------------------------------------------------


def _targets(url: str, password: str | None = None) -> list[ImapTarget]:
    return load_settings(imap_url=url, imap_password=password).imap_targets


def test_no_imap_url_means_no_targets() -> None:
    assert load_settings().imap_targets == []


@pytest.mark.parametrize(
    ("url", "tls", "port", "folder"),
    [
        (f"imaps://alice:{PASSWORD}@mail.example", True, 993, "INBOX"),
        (f"imaps://alice:{PASSWORD}@mail.example/", True, 993, "INBOX"),
        (f"imap://alice:{PASSWORD}@mail.example/INBOX", False, 143, "INBOX"),
        (f"imaps://alice:{PASSWORD}@mail.example:1993/Intros", True, 1993, "Intros"),
        (f"imap://alice:{PASSWORD}@mail.example:10143", False, 10143, "INBOX"),
        (f"imaps://alice:{PASSWORD}@Mail.Example/Partner%20Intros", True, 993, "Partner Intros"),
    ],
)
def test_imap_url_defaults(url: str, tls: bool, port: int, folder: str) -> None:
    assert _targets(url) == [
        ImapTarget(
            tls=tls, host="mail.example", port=port, user="alice", password=PASSWORD, folder=folder
        )
    ]


def test_user_password_and_folder_are_percent_decoded() -> None:
    [target] = _targets("imaps://alice%40corp.example:p%40ss%3Aw%2Fd%20x@imap.corp.example/a%2Fb")
    assert target.user == "alice@corp.example"
    assert target.password == "p@ss:w/d x"
    assert target.folder == "a/b"
    assert target.key == "alice@corp.example@imap.corp.example:993/a/b"


def test_several_urls_separated_by_commas() -> None:
    targets = _targets(
        f"imaps://alice:{PASSWORD}@mail.example/INBOX , "
        f"imaps://alice:{PASSWORD}@mail.example/Partner%20Intros,"
        f"imap://bob:other-pw@mail2.example:1143/Referrals,"
    )
    assert [t.key for t in targets] == [
        "alice@mail.example:993/INBOX",
        "alice@mail.example:993/Partner Intros",
        "bob@mail2.example:1143/Referrals",
    ]
    assert [t.password for t in targets] == [PASSWORD, PASSWORD, "other-pw"]
    assert [t.tls for t in targets] == [True, True, False]


def test_password_comes_from_handoff_imap_password_when_the_url_has_none() -> None:
    targets = _targets(
        "imaps://alice@mail.example/INBOX,imaps://bob:own-pw@mail.example/INBOX",
        password=PASSWORD,
    )
    assert [(t.user, t.password) for t in targets] == [("alice", PASSWORD), ("bob", "own-pw")]


def test_password_from_the_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HANDOFF_IMAP_URL", "imaps://alice@mail.example/Intros")
    monkeypatch.setenv("HANDOFF_IMAP_PASSWORD", PASSWORD)
    [target] = load_settings().imap_targets
    assert target.password == PASSWORD
    assert target.folder == "Intros"


def test_parse_imap_urls_directly_skips_blank_entries() -> None:
    assert parse_imap_urls(" , ,", None) == []
    [target] = parse_imap_urls(" ,imaps://alice@mail.example, ", PASSWORD)
    assert target.password == PASSWORD


@pytest.mark.parametrize(
    ("url", "says"),
    [
        (f"http://alice:{PASSWORD}@mail.example/INBOX", "is not an IMAP URL"),
        (f"https://alice:{PASSWORD}@mail.example/INBOX", "is not an IMAP URL"),
        ("mail.example/INBOX", "is not an IMAP URL"),
        (f"imaps://alice:{PASSWORD}@/INBOX", "is not an IMAP URL"),
        (f"imaps://:{PASSWORD}@mail.example/INBOX", "no user name"),
        ("imaps://mail.example/INBOX", "no user name"),
        ("imaps://alice@mail.example/INBOX", "no password for alice@mail.example"),
        ("imaps://alice:@mail.example/INBOX", "no password"),
        (f"imaps://alice:{PASSWORD}@mail.example:99x/INBOX", "not a URL"),
    ],
)
def test_bad_imap_url_names_the_setting_and_never_the_password(url: str, says: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(imap_url=url)
    message = str(error.value)
    assert message.startswith("HANDOFF_IMAP_URL: "), message
    assert says in message
    assert PASSWORD not in message
    assert PASSWORD not in repr(error.value)
    assert PASSWORD not in "".join(traceback.format_exception(error.value))


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("mail.example/INBOX", "mail.example"),
        ("mail.example:993/X", "MAIL.example/X"),
        ("mail.example/Partner%20Intros", "mail.example/Partner Intros"),
    ],
)
def test_the_same_folder_twice_is_refused(first: str, second: str) -> None:
    url = f"imaps://alice:{PASSWORD}@{first},imaps://alice:other-pw@{second}"
    with pytest.raises(ConfigError) as error:
        load_settings(imap_url=url)
    assert str(error.value) == "HANDOFF_IMAP_URL: the same folder is listed twice"


def test_inbox_in_another_case_is_the_same_folder() -> None:
    """RFC 3501 section 5.1: the name INBOX is case-insensitive, so both watch one folder."""
    url = f"imaps://alice:{PASSWORD}@mail.example/INBOX,imaps://alice:{PASSWORD}@mail.example/inbox"
    with pytest.raises(ConfigError) as error:
        load_settings(imap_url=url)
    assert str(error.value) == "HANDOFF_IMAP_URL: the same folder is listed twice"


def test_url_error_does_not_show_the_password_from_handoff_imap_password() -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(imap_url="http://alice@mail.example/INBOX", imap_password=PASSWORD)
    assert str(error.value).startswith("HANDOFF_IMAP_URL: ")
    assert PASSWORD not in "".join(traceback.format_exception(error.value))


@pytest.mark.parametrize(
    ("url", "password"),
    [
        (f"imaps://alice:{PASSWORD}@mail.example/INBOX", None),
        ("imaps://alice@mail.example/INBOX", PASSWORD),
    ],
)
def test_settings_and_targets_never_show_the_password(url: str, password: str | None) -> None:
    settings = load_settings(imap_url=url, imap_password=password)
    [target] = settings.imap_targets
    assert target.password == PASSWORD  # it is there, for logging in …
    for shown in (repr(settings), str(settings), repr(target), str(target), target.key):
        assert PASSWORD not in shown  # … but never printed
    assert PASSWORD not in repr(settings.imap_targets)
    assert "alice" in repr(target) and "mail.example" in repr(target)
