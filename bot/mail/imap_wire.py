"""Pure: IMAP's words as aioimaplib hands them over (RFC 3501): UID sets, modified UTF-7
folder names, FETCH, SEARCH and SELECT responses, INTERNALDATE. No I/O, tested on bytes."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aioimaplib import quoted


@dataclass(frozen=True)
class Fetched:
    uid: int
    internal_date: datetime | None
    raw: bytes


@dataclass(frozen=True)
class FolderStatus:
    uidvalidity: int
    uidnext: int | None
    exists: int


_UIDVALIDITY = re.compile(rb"\[UIDVALIDITY (\d+)\]")


_UIDNEXT = re.compile(rb"\[UIDNEXT (\d+)\]")


_EXISTS = re.compile(rb"^(\d+) EXISTS")


ANY_EXISTS = re.compile(rb"^(?:\* )?\d+ EXISTS")


_FETCH = re.compile(rb"\d+ FETCH \(")


_UID = re.compile(rb"\bUID (\d+)")


_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")


_INTERNALDATE = re.compile(rb'\bINTERNALDATE "([^"]+)"')


_LITERAL = re.compile(rb"\{(\d+)\}$")


def mailbox_name(name: str) -> str:
    """A folder name as a quoted IMAP string, in RFC 3501's modified UTF-7 (section 5.1.3)."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            data = "".join(pending).encode("utf-16-be")
            out.append("&" + base64.b64encode(data).decode().rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for char in name:
        if " " <= char <= "~":
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    return quoted("".join(out))


def uid_set(uids: Iterable[int]) -> str:
    """1,2,3,5 -> "1:3,5": keeps command lines short (RFC 7162 asks for at most 8 kB)."""
    ordered = sorted(set(uids))
    if not ordered:
        raise ValueError("an empty UID set")
    parts: list[str] = []
    start = prev = ordered[0]
    for uid in ordered[1:] + [0]:
        if uid == prev + 1:
            prev = uid
            continue
        parts.append(str(start) if start == prev else f"{start}:{prev}")
        start = prev = uid
    return ",".join(parts)


def parse_internal_date(value: bytes) -> datetime | None:
    try:
        return datetime.strptime(value.decode().strip(), "%d-%b-%Y %H:%M:%S %z")
    except ValueError:
        return None


def parse_fetch(lines: list[Any]) -> list[Fetched]:
    """FETCH responses with a literal (the message) into Fetched, tolerating any attribute order.

    aioimaplib hands us lines as bytes and each literal as a bytearray right after the line that
    announced it; attributes may come before or after the literal (RFC 3501 section 7.4.2).
    """
    found: list[Fetched] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if isinstance(line, bytes) and _FETCH.search(line) and _LITERAL.search(line):
            literal = lines[index + 1] if index + 1 < len(lines) else b""
            tail = lines[index + 2] if index + 2 < len(lines) else b""
            attributes = line + (tail if isinstance(tail, bytes) else b"")
            uid = _UID.search(attributes)
            date = _INTERNALDATE.search(attributes)
            if uid and isinstance(literal, bytes | bytearray):
                found.append(
                    Fetched(
                        uid=int(uid.group(1)),
                        internal_date=parse_internal_date(date.group(1)) if date else None,
                        raw=bytes(literal),
                    )
                )
            index += 2
            continue
        index += 1
    return found


def parse_sizes(lines: list[Any]) -> list[tuple[int, int]]:
    """(uid, size) from `UID FETCH … (UID RFC822.SIZE)` responses."""
    sizes = []
    for line in lines:
        if isinstance(line, bytes) and _FETCH.search(line):
            uid, size = _UID.search(line), _SIZE.search(line)
            if uid and size:
                sizes.append((int(uid.group(1)), int(size.group(1))))
    return sorted(sizes)


def folder_status(lines: list[Any]) -> FolderStatus:
    uidvalidity, uidnext, exists = 0, None, 0
    for line in lines:
        if not isinstance(line, bytes):
            continue
        if m := _UIDVALIDITY.search(line):
            uidvalidity = int(m.group(1))
        elif m := _UIDNEXT.search(line):
            uidnext = int(m.group(1))
        elif m := _EXISTS.match(line):
            exists = int(m.group(1))
    return FolderStatus(uidvalidity=uidvalidity, uidnext=uidnext, exists=exists)


def search_uids(lines: list[Any]) -> list[int]:
    """UIDs from SEARCH answers; aioimaplib strips "* SEARCH" and keeps only the numbers."""
    found: list[int] = []
    for line in lines[:-1]:  # the last line is the tagged "OK Search completed"
        if not isinstance(line, bytes):
            continue
        words = line.split()
        if words and words[0].upper() == b"SEARCH":
            words = words[1:]
        if all(w.isdigit() for w in words):
            found.extend(int(w) for w in words)
    return sorted(found)


def response_text(lines: list[Any]) -> str:
    """The server's last words, one line, for an error message."""
    for line in reversed(lines):
        if isinstance(line, bytes) and line.strip():
            return line.decode("utf-8", "replace").strip()[:200]
    return ""
