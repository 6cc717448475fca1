"""A message as it arrived, what intake made of it, and its row: the bytes are kept exactly as
received, whatever happens next (DESIGN "Email intake rules": nothing is dropped)."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.email.extract import new_text
from bot.email.parse import ParsedMessage, parse
from bot.intake import queries as q
from bot.intake.rules import Prospect
from bot.intake.sources import Checkpoint, Incoming
from bot.models import utcnow
from bot.vocabulary import Kind

log = logging.getLogger(__name__)


@dataclass
class IngestResult:
    """What intake made of one message: the line `handoff ingest --json` prints."""

    kind: Kind
    message_id: str | None = None
    partner: str | None = None
    referral: str | None = None
    prospect: Prospect | None = None
    conflict_with: str | None = None
    first_response: bool = False
    reason: str | None = None
    source: str = ""
    subject: str = ""
    text: str | None = None  # a reply's new text, as extracted
    answers: list[dict[str, str]] | None = None  # inline answers: [{referral, text}]
    # A thread reply's message: its new text is extracted only when shown, not on intake's path.
    reply: ParsedMessage | None = field(default=None, repr=False, compare=False)

    def as_json(self) -> dict[str, Any]:
        prospect = self.prospect
        text = self.text
        if text is None and self.reply is not None:
            text = new_text(self.reply.text, self.reply.html or None)
        extra: dict[str, Any] = {"text": text} if text is not None else {}
        if self.answers is not None:
            extra["answers"] = self.answers
        return {
            "message_id": self.message_id,
            "kind": str(self.kind),
            "partner": self.partner,
            "referral": self.referral,
            "prospect": None
            if prospect is None
            else {"email": prospect.email, "name": prospect.name, "company": prospect.company},
            "conflict_with": self.conflict_with,
            "first_response": self.first_response,
            "reason": self.reason,
            "source": self.source,
            "subject": self.subject,
        } | extra


@dataclass(frozen=True)
class Received:
    """One message as it arrived: bytes, what the parser read, when and from where."""

    raw: bytes
    parsed: ParsedMessage
    arrival_at: datetime
    source: str
    checkpoint: Checkpoint | None = None


def arrived(incoming: Incoming, parsed: ParsedMessage | None = None) -> Received:
    """Parsed (unless it was already), and timed: the time of ingest is the arrival when the
    source records none."""
    arrival = incoming.arrival_at or utcnow()
    return Received(
        incoming.raw,
        parse(incoming.raw) if parsed is None else parsed,  # never raises
        arrival,
        incoming.source[:1000],
        incoming.checkpoint,
    )


def bare(message: Received) -> ParsedMessage:
    """Only what identifies the message: for storing what the database refused otherwise."""
    digest = hashlib.sha256(message.raw).hexdigest()
    return replace(
        message.parsed, message_id=None, dedupe_key=f"sha256:{digest}", sender=None, subject=""
    )


async def store(
    *,
    conn: AsyncConnection,
    message: Received,
    result: IngestResult,
    partner_id: int | None = None,
    referral_id: int | None = None,
) -> None:
    """Keep the bytes exactly as received, with what intake made of them."""
    parsed = message.parsed
    result.message_id = parsed.message_id
    result.source = message.source
    result.subject = parsed.subject
    await conn.execute(
        q.INSERT_INBOUND,
        {
            "message_id": parsed.message_id,
            "dedupe_key": parsed.dedupe_key,
            "source": message.source,
            "arrival_at": message.arrival_at,
            "size": len(message.raw),
            "sender": parsed.sender.email[:320] if parsed.sender else None,
            "subject": parsed.subject[:2000],
            "raw": message.raw,
            "kind": str(result.kind),
            "reason": result.reason,
            "partner_id": partner_id,
            "referral_id": referral_id,
            "processed_at": utcnow(),
        },
    )


# What intake decided: the result, and the partner and referral the stored message belongs to.
Decision = tuple[IngestResult, int | None, int | None]
