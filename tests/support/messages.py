"""Realistic raw messages for tests that need a variation the fixtures do not have."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

_ids = itertools.count(1)


def message(
    *,
    sender: str = "Dana Scully <dana@acmeconsulting.example>",
    to: str = "Jane Doe <jane.doe@hooli.example>",
    cc: str | None = "partners+acme@ours.example, Sam Rivera <sam.rivera@ours.example>",
    subject: str = "Intro: Jane (Hooli) <> Sam (Ours)",
    body: str = "Sam, meet Jane, Hooli's head of data. Jane, Sam runs partnerships here.\n",
    message_id: str | None = "auto",
    date: datetime | None = None,
    headers: dict[str, str] | None = None,
) -> bytes:
    """A Gmail-like text/plain message; message_id="auto" makes a fresh one, None leaves it out."""
    if message_id == "auto":
        message_id = f"<CAH{next(_ids):06d}test@mail.gmail.com>"
    lines = [
        "Received: by mail-pj1-f45.google.com with SMTP id 98e67ed59e1d1;"
        " Mon, 16 Nov 2026 09:12:44 -0800 (PST)",
        "MIME-Version: 1.0",
        f"From: {sender}",
        f"To: {to}",
    ]
    if cc:
        lines.append(f"Cc: {cc}")
    lines.append(f"Subject: {subject}")
    lines.append(f"Date: {format_datetime(date or datetime(2026, 11, 16, 17, 12, tzinfo=UTC))}")
    if message_id:
        lines.append(f"Message-ID: {message_id}")
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    lines += ['Content-Type: text/plain; charset="UTF-8"', "", body]
    return "\r\n".join(lines).encode()


def mbox(messages: list[tuple[bytes, datetime]]) -> bytes:
    """An mbox whose envelope lines record each message's delivery time."""
    out = []
    for raw, at in messages:
        out.append(f"From MAILER-DAEMON {at.strftime('%a %b %d %H:%M:%S %Y')}\n".encode())
        out.append(raw.replace(b"\r\n", b"\n").rstrip(b"\n") + b"\n\n")
    return b"".join(out)


def write(folder: Path, name: str, data: bytes) -> Path:
    """Save a message as a file to ingest."""
    path = folder / name
    path.write_bytes(data)
    return path
