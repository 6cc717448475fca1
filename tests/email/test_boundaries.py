"""bot/email/boundaries.py matches feedparser's boundary lines exactly as the regex it
replaces: the same lines, the same groups, on every shape a line can take."""

from __future__ import annotations

import itertools
import random
import re

from bot.email import boundaries
from bot.email.parse import parse
from tests.support.messages import message

PREFIX, SUFFIX = "(?P<sep>", r")(?P<end>--)?(?P<ws>[ \t]*)(?P<linesep>\r\n|\r|\n)?$"
SEPARATORS = [
    "--===============1234567890==",
    "--000000000000a1b2c3d4e5f6",
    "--Apple-Mail=_7B1D9C1E-3F0A-4E2B-9C6D-1A2B3C4D5E6F",
    "--_----------=_MCPart_1234",
    "--b.o(u)n[d]a*r+y?^$|\\{x}",  # every character re.escape touches
    "--x",
]
TAILS = ["", "--", " ", "\t", "  \t", "x", "-", "--x", " x"]
ENDS = ["", "\n", "\r\n", "\r", "\r\n\n", "\n\n", "\r\r", " \n", "\n\r"]


def _same(real: re.Match[str] | None, ours: boundaries.BoundaryMatch | None) -> bool:
    if real is None or ours is None:
        return real is None and ours is None
    return all(real.group(g) == ours.group(g) for g in (0, "sep", "end", "ws", "linesep"))


def test_every_shape_of_line_is_matched_as_the_regex_matches_it() -> None:
    for sep in SEPARATORS:
        real = re.compile(PREFIX + re.escape(sep) + SUFFIX)
        ours = boundaries._FeedparserRe().compile(PREFIX + re.escape(sep) + SUFFIX)
        assert isinstance(ours, boundaries.BoundaryMatcher)
        for head, tail, end in itertools.product([sep, sep[:-1], "x" + sep], TAILS, ENDS):
            line = head + tail + end
            assert _same(real.match(line), ours.match(line)), repr(line)


def test_random_lines_agree() -> None:
    rng = random.Random(7)
    alphabet = ["-", " ", "\t", "\r", "\n", "x", "="]
    for sep in SEPARATORS:
        real = re.compile(PREFIX + re.escape(sep) + SUFFIX)
        ours = boundaries.BoundaryMatcher(sep)
        for _ in range(3000):
            line = sep + "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6)))
            assert _same(real.match(line), ours.match(line)), repr(line)


def test_other_patterns_are_res_own() -> None:
    shim = boundaries._FeedparserRe()
    assert isinstance(shim.compile(r"\r\n|\r|\n"), re.Pattern)
    assert shim.escape("a.b") == re.escape("a.b")


def test_multipart_mail_parses_the_same_with_and_without() -> None:
    """The parser's output on multipart mail, nested and with odd boundaries, is unchanged."""
    from email import feedparser

    html = (
        b"MIME-Version: 1.0\r\nFrom: Dana <dana@acmeconsulting.example>\r\n"
        b"To: partners+acme@ours.example\r\nSubject: Fwd: hello\r\n"
        b'Content-Type: multipart/mixed; boundary="b.o(u)n|d"\r\n\r\npreamble\r\n'
        b'--b.o(u)n|d\r\nContent-Type: multipart/alternative; boundary="inner"\r\n\r\n'
        b"--inner\r\nContent-Type: text/plain\r\n\r\nplain words\r\n"
        b"--inner  \r\nContent-Type: text/html\r\n\r\n<p>html words</p>\r\n--inner--\r\n"
        b"--b.o(u)n|d\r\nContent-Type: message/rfc822\r\n\r\n" + message() + b"\r\n"
        b"--b.o(u)n|d--\t\r\nepilogue\r\n"
    )
    shim = getattr(feedparser, "re")  # noqa: B009 - the typeshed stub lacks it
    try:
        setattr(feedparser, "re", re)  # noqa: B010
        before = parse(html)
    finally:
        setattr(feedparser, "re", shim)  # noqa: B010
    boundaries.install()
    assert parse(html) == before
    assert before.text.strip() == "plain words"
