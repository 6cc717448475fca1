"""Messages from files: `.eml`, mbox (streamed, never loaded whole), Maildir, folders of .eml."""

from __future__ import annotations

import os
import re
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Runs inside the transaction that stores the message (the IMAP watcher records its progress
# there), so the message and the record of having processed it commit together or not at all.
Checkpoint = Callable[[Any], Awaitable[None]]


class SourceError(Exception):
    """A path that holds no messages we can read."""


@dataclass(frozen=True)
class Incoming:
    raw: bytes
    source: str
    arrival_at: datetime | None  # None: the time of ingest is the arrival
    checkpoint: Checkpoint | None = None


# mbox envelope: "From sender@example Sat Nov 21 09:15:00 2026" (optionally a +0000 before the year)
_ENVELOPE = re.compile(
    rb"^From \S*\s+(?:\w{3}\s+)?(?P<mon>\w{3})\s+(?P<day>\d{1,2})\s+(?P<time>\d{1,2}:\d{2}:\d{2})"
    rb"(?:\s+(?P<tz>[+-]\d{4}|[A-Z]{2,4}))?\s+(?P<year>\d{4})"
)
# Writers that forget to escape body lines make "From " ambiguous (mboxo): a line only starts a
# message when it reads like an envelope, a sender and then a time of day.
_LOOSE = re.compile(rb"^From \S+\s.*\d{1,2}:\d{2}")
_ESCAPED_FROM = re.compile(rb"^>+From ")
_MONTHS = {
    m: i
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
        start=1,
    )
}


def read_paths(paths: list[str]) -> Iterator[Incoming]:
    """Every message under the given paths, in argument order."""
    for name in paths:
        path = Path(name)
        if not path.exists():
            raise SourceError(f"{name}: no such file or directory")
        if path.is_dir():
            if (path / "cur").is_dir() or (path / "new").is_dir():
                yield from read_maildir(path)
            else:
                files = sorted(p for p in path.rglob("*.eml") if p.is_file())
                if not files:
                    raise SourceError(f"{name}: a folder with no .eml files and no Maildir")
                for file in files:
                    yield Incoming(file.read_bytes(), str(file), None)
        elif path.suffix.lower() != ".eml" and _looks_like_mbox(path):
            yield from read_mbox(path)
        else:
            yield Incoming(path.read_bytes(), str(path), None)


def _looks_like_mbox(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(5) == b"From "


def read_mbox(path: Path) -> Iterator[Incoming]:
    """Stream an mbox (mboxrd or mboxo): one message in memory at a time."""
    count = 0
    lines: list[bytes] = []
    envelope: bytes | None = None
    previous_blank = True
    with path.open("rb") as handle:
        for line in handle:
            if line.startswith(b"From ") and (
                envelope is None or _ENVELOPE.match(line) or (previous_blank and _LOOSE.match(line))
            ):
                if envelope is not None:
                    count += 1
                    yield _mbox_message(lines, envelope, f"{path}#{count}")
                envelope, lines = line, []
                previous_blank = False
                continue
            if _ESCAPED_FROM.match(line):
                line = line[1:]
            lines.append(line)
            previous_blank = line in (b"\n", b"\r\n")
    if envelope is not None:
        yield _mbox_message(lines, envelope, f"{path}#{count + 1}")


def _mbox_message(lines: list[bytes], envelope: bytes, source: str) -> Incoming:
    if lines and lines[-1] in (b"\n", b"\r\n"):
        lines = lines[:-1]  # the blank line that separates messages is not part of one
    return Incoming(b"".join(lines), source, envelope_time(envelope))


def envelope_time(envelope: bytes) -> datetime | None:
    """The delivery time an mbox's `From ` line records (UTC unless it gives an offset)."""
    match = _ENVELOPE.match(envelope)
    if not match:
        return None
    month = _MONTHS.get(match["mon"].decode().lower())
    if month is None:
        return None
    try:
        hour, minute, second = (int(x) for x in match["time"].split(b":"))
        moment = datetime(
            int(match["year"]), month, int(match["day"]), hour, minute, second, tzinfo=UTC
        )
    except ValueError:
        return None
    tz = match["tz"]
    if tz and tz[:1] in (b"+", b"-"):
        sign = 1 if tz[:1] == b"+" else -1
        offset = sign * (int(tz[1:3]) * 60 + int(tz[3:5]))
        moment = moment.replace(tzinfo=None)
        moment = datetime.fromtimestamp(moment.replace(tzinfo=UTC).timestamp() - offset * 60, UTC)
    return moment


def read_maildir(path: Path) -> Iterator[Incoming]:
    """Maildir `new/` and `cur/`, oldest delivery first (the file name starts with its time)."""
    entries: list[os.DirEntry[str]] = []
    for sub in ("new", "cur"):
        folder = path / sub
        if folder.is_dir():
            entries.extend(entry for entry in os.scandir(folder) if entry.is_file())
    entries.sort(key=lambda e: (_maildir_time(e), e.name))
    for entry in entries:
        yield Incoming(
            Path(entry.path).read_bytes(),
            entry.path,
            datetime.fromtimestamp(_maildir_time(entry), UTC),
        )


def _maildir_time(entry: os.DirEntry[str]) -> float:
    head = entry.name.split(".", 1)[0]
    return float(head) if head.isdigit() else entry.stat().st_mtime


def batched(messages: Iterator[Incoming], size: int) -> Iterator[list[Incoming]]:
    """Consecutive messages in lists of up to `size`, still streaming; a big one ends a batch."""
    batch: list[Incoming] = []
    held = 0
    for message in messages:
        batch.append(message)
        held += len(message.raw)
        if len(batch) >= size or held >= _BATCH_BYTES:
            yield batch
            batch, held = [], 0
    if batch:
        yield batch


_BATCH_BYTES = 32 * 1024 * 1024  # bounds memory with large attachments in a batch
