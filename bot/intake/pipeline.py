"""Raw message -> referral, event or triage row, stored together. Intake's only writer."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot import metrics
from bot.email.extract import new_text
from bot.email.forwards import is_forward_subject
from bot.email.parse import ParsedMessage, parse
from bot.intake import queries as q
from bot.intake import rules
from bot.intake.rules import Prospect
from bot.intake.sources import Checkpoint, Incoming
from bot.models import (
    THREADED_EVENTS,
    EventKind,
    JobKind,
    Kind,
    Role,
    Stage,
    utcnow,
)
from bot.outbox import NO_SLACK, enqueue
from bot.referrals import timeline
from bot.referrals.actions import MARK_FIRST_RESPONSE
from bot.referrals.directory import Directory, PartnerInfo
from bot.replies import answers

log = logging.getLogger(__name__)
EXCERPT_CHARS = 500


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


class Superseded(Exception):  # noqa: N818 - a state, not a failure
    """A checkpoint found the message already processed by another writer: nothing was stored."""


@dataclass(frozen=True)
class Received:
    """One message as it arrived: bytes, what the parser read, when and from where."""

    raw: bytes
    parsed: ParsedMessage
    arrival_at: datetime
    source: str
    checkpoint: Checkpoint | None = None


class Intake:
    """Ingests messages in order, exactly as the IMAP watcher will.

    One connection serves the whole run; a message, or a batch of them, is one transaction.
    Every statement costs a thread hand-off with aiosqlite and every commit a WAL write, so
    intake keeps both few (bench/ingest.py measures it).
    """

    def __init__(
        self,
        *,
        conn: AsyncConnection,
        directory: Directory,
        protection: timedelta,
        dry_run: bool = False,
    ) -> None:
        self.conn = conn
        self.directory = directory
        self.protection = protection
        self.dry_run = dry_run
        # One connection runs one statement at a time: callers sharing an Intake take turns.
        self._turn = asyncio.Lock()

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        *,
        engine: AsyncEngine,
        directory: Directory,
        protection: timedelta,
        dry_run: bool = False,
        slack: bool = True,
    ) -> AsyncIterator[Intake]:
        """An Intake on its own connection; a dry run rolls everything back at the end.

        With slack=False (a backfill of old mail) nothing it stores is posted to Slack.
        """
        async with engine.connect() as conn:
            intake = cls(conn=conn, directory=directory, protection=protection, dry_run=dry_run)
            if not slack:
                conn.info[NO_SLACK] = True
            try:
                if not dry_run:
                    yield intake
                    return
                await conn.begin()
                if conn.dialect.name == "sqlite":
                    # The driver begins transactions only at a write; without this BEGIN,
                    # releasing a message's SAVEPOINT would commit it.
                    await conn.exec_driver_sql("BEGIN")
                try:
                    yield intake
                finally:
                    await conn.rollback()
            finally:
                # The pooled connection outlives this Intake: leave it as it was.
                conn.info.pop(NO_SLACK, None)

    async def ingest(
        self, raw: bytes, *, arrival_at: datetime | None = None, source: str = ""
    ) -> IngestResult:
        """Store the raw message with all it causes in one transaction; on our error, keep it.

        The stored message commits together with what it causes, never after it; when
        processing fails, the bytes are stored as `rejected`, with the cause, on their own.
        """
        message = _received(Incoming(raw, source, arrival_at))
        async with self._turn:
            result = await self._ingest(message)
        if not self.dry_run:
            metrics.count_intake([result.kind])
        return result

    async def ingest_batch(self, messages: list[Incoming]) -> list[IngestResult]:
        """Several messages in one transaction, in order: a backfill's throughput.

        If any of them fails, the whole batch is rolled back and each message is ingested again
        in a transaction of its own, so the others still land and the failing one is kept.
        """
        received = [_received(m) for m in messages]
        async with self._turn:
            results = await self._batch(received)
        if not self.dry_run:
            metrics.count_intake(r.kind for r in results)  # committed, each counted once
        return results

    async def _batch(self, received: list[Received]) -> list[IngestResult]:
        if not self.dry_run and len(received) > 1:
            try:
                async with self.conn.begin():
                    results = []
                    for m in received:
                        results.append(await process(conn=self.conn, message=m, intake=self))
                        await _checkpoint(self.conn, m)
                    return results
            except Exception:  # noqa: BLE001 - redone one by one below, which says why
                pass
        return [await self._ingest(m) for m in received]

    async def _ingest(self, message: Received) -> IngestResult:
        if self.dry_run:
            try:
                async with self.conn.begin_nested():
                    return await process(conn=self.conn, message=message, intake=self)
            except Exception as exc:  # noqa: BLE001 - reported; the dry run goes on
                log.error("intake failed on a message from %s", message.source, exc_info=exc)
                reason = f"internal error: {type(exc).__name__}: {exc}"[:500]
                return IngestResult(Kind.REJECTED, reason=reason, source=message.source)
        for attempt in range(3):
            try:
                async with self.conn.begin():
                    result = await process(conn=self.conn, message=message, intake=self)
                    await _checkpoint(self.conn, message)
                    return result
            except Superseded:
                raise
            except IntegrityError as exc:
                # Another writer committed the same intro (or took the same sequence number)
                # first: go again, and the message is a duplicate or takes the next number.
                if attempt == 2:
                    return await self._keep_rejected(message, exc)
            except Exception as exc:  # noqa: BLE001 - our fault, but the message is kept
                return await self._keep_rejected(message, exc)
        raise AssertionError("unreachable")

    async def _keep_rejected(self, message: Received, exc: Exception) -> IngestResult:
        """Store a message intake failed on as `rejected`, with the cause, so none is lost."""
        log.error("intake failed on a message from %s", message.source or "input", exc_info=exc)
        reason = f"internal error: {type(exc).__name__}: {exc}"[:500]
        result = IngestResult(Kind.REJECTED, reason=reason)
        try:
            async with self.conn.begin():
                await store(conn=self.conn, message=message, result=result)
                await _checkpoint(self.conn, message)
        except Superseded:
            raise
        except Exception:  # noqa: BLE001 - maybe a field was the trouble: keep the bytes alone
            bare = replace(message, parsed=_bare(message))
            async with self.conn.begin():
                await store(conn=self.conn, message=bare, result=result)
                await _checkpoint(self.conn, message)
        return result


async def _checkpoint(conn: AsyncConnection, message: Received) -> None:
    if message.checkpoint is not None:
        await message.checkpoint(conn)


def _received(incoming: Incoming) -> Received:
    """Parsed, and timed: the time of ingest is the arrival when the source records none."""
    arrival = incoming.arrival_at or utcnow()
    return Received(
        incoming.raw,
        _safe_parse(incoming.raw),
        arrival,
        incoming.source[:1000],
        incoming.checkpoint,
    )


def _bare(message: Received) -> ParsedMessage:
    """Only what identifies the message: for storing what the database refused otherwise."""
    digest = hashlib.sha256(message.raw).hexdigest()
    return replace(
        message.parsed, message_id=None, dedupe_key=f"sha256:{digest}", sender=None, subject=""
    )


def _safe_parse(raw: bytes) -> ParsedMessage:
    try:
        return parse(raw)
    except Exception as exc:  # noqa: BLE001 - parse() is meant never to raise; if it does, keep it
        log.exception("parser failed")
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
            content_type="application/octet-stream",
            report_type=None,
            text="",
            forwarded=None,
            defects=(f"parser failed: {type(exc).__name__}",),
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


async def process(*, conn: AsyncConnection, message: Received, intake: Intake) -> IngestResult:
    """duplicate? -> noise? -> thread? -> partner -> sender -> prospect -> referral; store."""
    result, partner_id, referral_id = await _decide(conn, message, intake)
    await store(
        conn=conn, message=message, result=result, partner_id=partner_id, referral_id=referral_id
    )
    return result


Decision = tuple[IngestResult, int | None, int | None]


@dataclass(frozen=True)
class Facts:
    """What the database knows that bears on one message (queries.FACTS)."""

    prior: sa.Row[Any] | None  # the first settled delivery of the same message
    thread: sa.Row[Any] | None  # the referral whose thread the message answers
    open: list[sa.Row[Any]]  # the prospect's open referrals in the window, oldest first


def _thread_ids(parsed: ParsedMessage) -> list[str]:
    """The Message-IDs a message answers, nearest first."""
    return list(dict.fromkeys([*parsed.in_reply_to, *reversed(parsed.references)]))[:50]


async def _facts(
    conn: AsyncConnection,
    parsed: ParsedMessage,
    prospect: Prospect | None,
    arrival: datetime,
    protection: timedelta,
) -> Facts:
    rows = (
        await conn.execute(
            q.FACTS,
            {
                "key": parsed.dedupe_key,
                "ids": _thread_ids(parsed),
                "email": prospect.email if prospect else None,
                "since": arrival - protection,
                "until": arrival + protection,
            },
        )
    ).all()
    prior = [r for r in rows if r.what == "prior"]
    thread = [r for r in rows if r.what == "thread"]
    return Facts(
        prior=min(prior, key=lambda r: r.row_id) if prior else None,
        thread=min(thread, key=lambda r: r.row_id) if thread else None,
        open=sorted((r for r in rows if r.what == "open"), key=lambda r: (r.received_at, r.row_id)),
    )


async def _serialize(conn: AsyncConnection, key: str) -> None:
    """Let no other writer decide about the same prospect between our read and our writes.

    Two intros of one prospect ingested at once would otherwise both see no open referral and
    neither be marked disputed. SQLite: take the write lock before reading (BEGIN IMMEDIATE).
    PostgreSQL: a transaction-scoped advisory lock on the prospect (or the message, without one).
    """
    if conn.dialect.name == "sqlite":
        # Inside a batch an earlier write may have begun the transaction (the driver begins
        # with BEGIN IMMEDIATE too, bot/db.py), and then we hold the lock already.
        driver = (await conn.get_raw_connection()).driver_connection
        if driver is None or not driver.in_transaction:
            await conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        await conn.execute(q.LOCK_KEY, {"key": key})


async def _decide(conn: AsyncConnection, message: Received, intake: Intake) -> Decision:
    parsed, directory = message.parsed, intake.directory
    # The pure rules first, so that one query fetches every fact the decision needs.
    noise = rules.noise(parsed, directory)
    match = rules.find_partner(parsed, directory)
    partner = match.partner
    prospect = rules.find_prospect(parsed, partner, directory) if partner else None
    # Only a message that may touch a referral (an intro, or a reply in a thread) needs the
    # lock; noise and the unplaceable only ever write their own row.
    may_touch_referral = noise is None and (prospect is not None or _thread_ids(parsed))
    if may_touch_referral and not intake.dry_run:
        await _serialize(conn, prospect.email if prospect else parsed.dedupe_key)
    facts = await _facts(conn, parsed, prospect, message.arrival_at, intake.protection)

    if facts.prior is not None:
        prior = facts.prior
        known = directory.partners.get(prior.partner_id)
        result = IngestResult(
            Kind.DUPLICATE,
            partner=known.slug if known else None,
            referral=prior.ref,
            reason=f"already received as message #{prior.row_id}",
        )
        return result, prior.partner_id, prior.referral_id

    if noise is not None and noise[0] == Kind.BOUNCE:
        # A bounce of our own mail marks the mail, and the contact when it failed for good.
        token = answers.token_of(parsed, match.digest_token)
        note = await answers.bounced(conn, message.raw, token, directory.secret, message.arrival_at)
        reason = f"{noise[1]}; {note}" if note else noise[1]
        return IngestResult(Kind.BOUNCE, reason=reason), None, None

    if match.unsubscribe_token is not None:
        note, who = await answers.unsubscribe(
            conn, match.unsubscribe_token, directory, message.arrival_at
        )
        result = IngestResult(Kind.UNSUBSCRIBE, partner=who.slug if who else None, reason=note)
        return result, who.id if who else None, None

    if noise is not None:
        return IngestResult(noise[0], reason=noise[1]), None, None

    token = answers.token_of(parsed, match.digest_token)
    if token is not None:
        return await _answer(conn, message, token, directory)

    if facts.thread is not None:
        return await _thread_reply(conn, message, facts.thread, directory)

    if parsed.sender is None and not parsed.recipients:
        reason = "not an email message: no From, To or delivery headers" + _defects(parsed)
        return IngestResult(Kind.REJECTED, reason=reason), None, None

    if partner is None:
        if match.unknown_tag:
            reason = (
                f"plus tag {match.unknown_tag!r} names no partner "
                f"(register it: handoff partners add {match.unknown_tag} --name …)"
            )
        else:
            reason = "no partner address in To, Cc or the delivery headers"
        return IngestResult(Kind.UNKNOWN_PARTNER, reason=reason), None, None

    if rules.sender_role(parsed.sender, partner, directory) == "unknown" and (
        partner.contacts or partner.domains
    ):
        who = parsed.sender.email if parsed.sender else "(no From)"
        reason = (
            f"sender {who} is neither a contact of {partner.slug} nor internal "
            f"(add it: handoff partners add {partner.slug} --contact {who})"
        )
        return IngestResult(Kind.REJECTED, partner=partner.slug, reason=reason), partner.id, None

    if prospect is None:
        reason = "no prospect: no external address besides the partner's people" + _defects(parsed)
        return IngestResult(Kind.REJECTED, partner=partner.slug, reason=reason), partner.id, None

    return await _new_intro(conn, message, partner, prospect, match.via or "", facts.open)


def _defects(parsed: ParsedMessage) -> str:
    return f" (MIME defects: {', '.join(parsed.defects)})" if parsed.defects else ""


async def _answer(
    conn: AsyncConnection, message: Received, token: str, directory: Directory
) -> Decision:
    """A reply to our digest or notice: an event on each referral it is about, or triage."""
    found = await answers.answer(conn, message.parsed, token, directory)
    partner = found.partner
    result = IngestResult(
        found.kind,
        partner=partner.slug if partner else None,
        referral=found.referrals[0][1] if found.referrals else None,
        reason=found.reason,
        text=found.text or None,
        answers=[{"referral": a.ref, "text": a.text} for a in found.landed]
        if found.inline
        else None,
    )
    sender = message.parsed.sender.email if message.parsed.sender else "(unknown)"
    for landed in found.landed:
        await _event(conn, landed.referral_id, EventKind.PARTNER_REPLY, message, landed.text)
    if found.referrals:
        log.info(
            "intake: reply from %s lands on %s", sender, ", ".join(r for _, r in found.referrals)
        )
    first = found.referrals[0][0] if found.referrals else None
    return result, partner.id if partner else None, first


async def _thread_reply(
    conn: AsyncConnection, message: Received, thread: sa.Row[Any], directory: Directory
) -> Decision:
    parsed = message.parsed
    sender = parsed.sender.email if parsed.sender else "(unknown)"
    partner = directory.partners.get(thread.partner_id)
    is_internal = parsed.sender is not None and directory.is_internal(sender)
    # A first response reaches the prospect: not a forward, not a note to the partner alone.
    to_prospect = thread.prospect_email in {a.email for a in parsed.addresses("to", "cc")}
    forwards = is_forward_subject(parsed.subject) or (
        parsed.forwarded is not None and parsed.forwarded.via == "rfc822"
    )
    responds = is_internal and to_prospect and not forwards
    first = responds and thread.first_response_at is None
    if first:
        # The first internal reply in the intro's thread is the first response (DESIGN).
        await conn.execute(
            MARK_FIRST_RESPONSE, {"b_id": thread.referral_id, "b_at": message.arrival_at}
        )
        await enqueue(conn, JobKind.SLACK_UPDATE, thread.referral_id)  # the post shows it
    if is_internal:
        who = "internal" if to_prospect else "internal (not to the prospect)"
    elif partner and partner.owns_person(sender):
        who = "partner"
    else:
        who = "prospect" if sender == thread.prospect_email else "external"
    kind = EventKind.FIRST_RESPONSE if first else EventKind.ACTIVITY
    await _event(conn, thread.referral_id, kind, message, f"{who} reply: {parsed.subject}"[:2000])
    result = IngestResult(
        Kind.THREAD_REPLY,
        partner=partner.slug if partner else None,
        referral=thread.ref,
        first_response=first,
        reply=parsed,
    )
    return result, thread.partner_id, thread.referral_id


async def _new_intro(
    conn: AsyncConnection,
    message: Received,
    partner: PartnerInfo,
    prospect: Prospect,
    via: str,
    existing: list[sa.Row[Any]],
) -> Decision:
    parsed, arrival = message.parsed, message.arrival_at
    same = next((r for r in existing if r.partner_id == partner.id), None)
    if same is not None:
        note = f"{partner.slug} introduced {prospect.email} again"
        await _event(conn, same.row_id, EventKind.REINTRODUCED, message, note)
        reason = f"{partner.slug} already introduced {prospect.email} as {same.ref}"
        result = IngestResult(
            Kind.DUPLICATE, partner=partner.slug, referral=same.ref, reason=reason
        )
        return result, partner.id, same.row_id
    rival = next((r for r in existing if r.partner_id != partner.id), None)
    # First in time wins, by arrival (never the sender's Date header): the later one is disputed.
    disputed = rival is not None and rival.received_at <= arrival

    forwarded = parsed.forwarded
    subject = forwarded.subject if forwarded and forwarded.subject else parsed.subject
    inserted = (
        await conn.execute(
            q.INSERT_REFERRAL,
            {
                "prefix": partner.ref_prefix,
                "partner_id": partner.id,
                "b_partner": partner.id,
                "dedupe_key": parsed.dedupe_key,
                "prospect_email": prospect.email,
                "prospect_name": prospect.name,
                "prospect_company": prospect.company,
                "prospect_domain": prospect.domain,
                "subject": _strip_forward_prefix(subject)[:2000],
                "intro_excerpt": excerpt(forwarded.text if forwarded else parsed.text),
                "intro_message_id": parsed.message_id,
                "sender": parsed.sender.email if parsed.sender else None,
                "received_at": arrival,
                "stage": str(Stage.NEW),
                "role": str(Role.DISPUTED) if disputed else None,
                "conflict_with_id": rival.row_id if rival is not None and disputed else None,
                "created_at": utcnow(),
            },
        )
    ).one()
    referral_id, ref = inserted.id, inserted.ref
    await enqueue(conn, JobKind.SLACK_POST, referral_id)
    if forwarded and parsed.sender:
        via += f"; forwarded ({forwarded.via}) by {parsed.sender.email}"
    await _event(conn, referral_id, EventKind.INTRO_RECEIVED, message, via)
    if rival is not None:
        if not disputed:
            # A backfill brought an older intro: the one we had is the later one after all.
            await conn.execute(q.MARK_DISPUTED, {"b_id": rival.row_id, "b_other": referral_id})
        earlier, later = (rival.ref, ref) if disputed else (ref, rival.ref)
        note = (
            f"{ref} and {rival.ref} introduce {prospect.email}; "
            f"{earlier} came first, {later} is disputed"
        )
        for target in (referral_id, rival.row_id):
            await _event(conn, target, EventKind.CONFLICT, message, note, actor="system")
        # The rival's post gains the warning that names this referral.
        await enqueue(conn, JobKind.SLACK_UPDATE, rival.row_id)
    result = IngestResult(
        Kind.NEW_INTRO,
        partner=partner.slug,
        referral=ref,
        prospect=prospect,
        conflict_with=rival.ref if rival else None,
    )
    return result, partner.id, referral_id


async def _event(
    conn: AsyncConnection,
    referral_id: int,
    kind: EventKind,
    message: Received,
    detail: str,
    actor: str | None = None,
) -> None:
    """One line of the referral's timeline, with the message as proof (and in its Slack thread)."""
    sender = message.parsed.sender
    await timeline.record(
        conn,
        referral_id,
        kind,
        actor=actor or (f"email:{sender.email}" if sender else "email:(unknown)"),
        at=message.arrival_at,
        message_id=message.parsed.message_id,
        detail=detail,
        threaded=kind in THREADED_EVENTS,
    )


_FWD_PREFIX = re.compile(r"^\s*((fwd?|tr|wg|rv|enc|re|aw|sv)\s*:\s*)+", re.IGNORECASE)


def _strip_forward_prefix(subject: str) -> str:
    return _FWD_PREFIX.sub("", subject).strip()


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """The start of the intro's own words: quoted lines dropped, whitespace folded."""
    lines = [line for line in text.split("\n")[:200] if not line.lstrip().startswith(">")]
    folded = " ".join(" ".join(lines).split())
    return folded if len(folded) <= limit else folded[: limit - 1].rstrip() + "…"
