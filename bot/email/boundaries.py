"""The stdlib's MIME parser, without a regex compiled for every multipart message.

email.feedparser compiles `(?P<sep>--BOUNDARY)(?P<end>--)?(?P<ws>…)(?P<linesep>…)?$` for each
multipart part it meets; the boundary is new each time, so re's cache never helps,
and compiling took a fifth of parsing bench/ingest.py's mbox (bench/ingest.py prints the parse
floor). `install()` gives the feedparser module a `re` whose `compile` returns, for exactly that
pattern, a matcher doing the same with string operations; every other pattern, and every other
function of `re`, is re's own. tests/email/test_boundaries.py checks the two agree, line by line.
"""

from __future__ import annotations

import re
from email import feedparser
from typing import Any

_PREFIX = "(?P<sep>"
_SUFFIX = r")(?P<end>--)?(?P<ws>[ \t]*)(?P<linesep>\r\n|\r|\n)?$"
_UNESCAPE = re.compile(r"\\(.)", re.S)
_LINESEPS = ("\r\n", "\r", "\n")


class BoundaryMatch:
    """What feedparser reads of a match: group(0), 'end' and 'linesep' (and 'sep', 'ws')."""

    __slots__ = ("_groups", "_whole")

    def __init__(self, whole: str, groups: dict[str, str | None]) -> None:
        self._whole = whole
        self._groups = groups

    def group(self, *names: int | str) -> Any:
        found = [self._whole if n == 0 else self._groups[str(n)] for n in names or (0,)]
        return found[0] if len(found) == 1 else tuple(found)


class BoundaryMatcher:
    """`re.compile(_PREFIX + re.escape(sep) + _SUFFIX).match`, by hand."""

    __slots__ = ("sep",)

    def __init__(self, sep: str) -> None:
        self.sep = sep

    def match(self, line: str) -> BoundaryMatch | None:
        if not line.startswith(self.sep):
            return None
        at = len(self.sep)
        # (?P<end>--)? is greedy: with it first, then without it (the regex backtracks).
        for end in ("--", None) if line.startswith("--", at) else (None,):
            found = self._rest(line, at + (2 if end else 0), end)
            if found is not None:
                return found
        return None

    def _rest(self, line: str, at: int, end: str | None) -> BoundaryMatch | None:
        stop = at
        while stop < len(line) and line[stop] in " \t":
            stop += 1
        rest = line[stop:]
        # (?P<linesep>…)? then $: the end of the line, or just before a newline that ends it.
        for linesep in (*(s for s in _LINESEPS if rest.startswith(s)), None):
            after = rest[len(linesep) :] if linesep else rest
            if after in ("", "\n"):
                whole = line[: len(line) - len(after)]
                groups = {"sep": self.sep, "end": end, "ws": line[at:stop], "linesep": linesep}
                return BoundaryMatch(whole, groups)
        return None


class _FeedparserRe:
    """The `re` feedparser sees: its boundary pattern by hand, everything else re's own."""

    def __getattr__(self, name: str) -> Any:
        return getattr(re, name)

    def compile(self, pattern: Any, flags: int = 0) -> Any:
        if (
            isinstance(pattern, str)
            and not flags
            and pattern.startswith(_PREFIX)
            and pattern.endswith(_SUFFIX)
        ):
            escaped = pattern[len(_PREFIX) : -len(_SUFFIX)]
            sep = _UNESCAPE.sub(r"\1", escaped)
            if re.escape(sep) == escaped:
                return BoundaryMatcher(sep)
        return re.compile(pattern, flags)


def install() -> None:
    """Once per process: feedparser's boundary lines matched without compiling a regex."""
    if not isinstance(getattr(feedparser, "re", None), _FeedparserRe):
        setattr(feedparser, "re", _FeedparserRe())  # noqa: B010 - the typeshed stub lacks it
