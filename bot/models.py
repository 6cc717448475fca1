"""SQLModel tables (Partner, Referral, Event, InboundMessage, …); their words are in
bot/vocabulary.py."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from bot.vocabulary import CLOSED_STAGES, DeliveryStatus, MailStatus, Stage


def utcnow() -> datetime:
    return datetime.now(UTC)


_SQLITE_DATETIME = "%04d-%02d-%02d %02d:%02d:%02d.%06d"  # SQLAlchemy's storage format for SQLite


def _in_utc(value: datetime) -> datetime:
    """What UTCDateTime stores of a datetime: the instant in UTC; a naive one is refused."""
    if value.tzinfo is None:
        raise ValueError("naive datetime given where UTC is required")
    return value.astimezone(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no offset of its own)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        value = _in_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def bind_processor(self, dialect: sa.Dialect) -> Callable[[datetime | None], Any] | None:
        """On SQLite, the very text SQLAlchemy's DATETIME stores (`2026-11-16 17:12:30.000000`),
        made in one step instead of two: intake binds several datetimes a message
        (tests/test_db.py holds the two equal)."""
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def process(value: datetime | None) -> str | None:
            if value is None:
                return None
            v = _in_utc(value)
            return _SQLITE_DATETIME % (
                v.year,
                v.month,
                v.day,
                v.hour,
                v.minute,
                v.second,
                v.microsecond,
            )

        return process

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


_OPEN_SQL = ", ".join(f"'{s}'" for s in sorted(Stage) if s not in CLOSED_STAGES)


def _partial(name: str, column: str, where: str) -> tuple[sa.Index]:
    """An index of the rows `where` holds, on SQLite and PostgreSQL alike."""
    condition = sa.text(where)
    return (sa.Index(name, column, sqlite_where=condition, postgresql_where=condition),)


class Partner(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=40, unique=True)
    name: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    slack_channel: str | None = Field(default=None, max_length=80)  # else HANDOFF_SLACK_CHANNEL
    # Overrides HANDOFF_FIRST_RESPONSE_SLA for this partner's referrals.
    first_response_sla_seconds: int | None = None
    # The status digest: a cron line in the partner's zone (else HANDOFF_DIGEST_SCHEDULE, and
    # HANDOFF_TIMEZONE); "off" sends none. stage_emails: an email when a referral reaches a
    # meeting, or is won or lost.
    digest_cron: str | None = Field(default=None, max_length=100)
    timezone: str | None = Field(default=None, max_length=64)
    stage_emails: bool = False
    protection_days: int | None = None  # else HANDOFF_PROTECTION_DAYS
    # An email to its contacts at once when an intro is registered, claimed or disputed.
    receipts: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})


class PartnerAddress(SQLModel, table=True):
    __tablename__ = "partner_address"
    __table_args__ = (sa.UniqueConstraint("kind", "value", name="uq_partner_address_kind_value"),)

    id: int | None = Field(default=None, primary_key=True)
    partner_id: int = Field(foreign_key="partner.id", index=True, ondelete="CASCADE")
    kind: str = Field(max_length=16)
    value: str = Field(max_length=320)
    # A contact's mail: unsubscribed (List-Unsubscribe), or refused / bounced by its server.
    # Either stops digests to it until it is added again (`handoff partners add --contact`).
    unsubscribed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    bounced_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    bounce_reason: str | None = Field(default=None, sa_type=sa.Text)


class Referral(SQLModel, table=True):
    __table_args__ = (
        sa.UniqueConstraint("partner_id", "seq", name="uq_referral_partner_seq"),
        sa.Index("ix_referral_partner_received", "partner_id", "received_at"),  # reports
        sa.Index("ix_referral_partner_action", "partner_action_at"),  # reports: attached lane
        # The sweeps' candidates: partial indexes that hold only what can still be due, so that
        # a sweep's cost follows the open referrals, not the whole history (issue 24).
        *_partial("ix_referral_unclaimed", "received_at", "owner IS NULL AND stage = 'new'"),
        *_partial(
            "ix_referral_awaiting_response",
            "claimed_at",
            "first_response_at IS NULL AND stage IN ('claimed', 'contacted')",
        ),
        *_partial("ix_referral_open_steps", "next_step_due", f"stage IN ({_OPEN_SQL})"),
        *_partial("ix_referral_unmoved", "protected_until", "stage IN ('claimed', 'new')"),
        *_partial("ix_referral_unconfirmed", "confirm_asked_at", "confirmed_at IS NULL"),
    )

    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(max_length=60, unique=True)
    partner_id: int = Field(foreign_key="partner.id", index=True)
    seq: int
    # One referral per intro: the intro's Message-ID, or a content hash when it has none.
    dedupe_key: str = Field(max_length=1000, unique=True)
    prospect_email: str = Field(max_length=320, index=True)
    prospect_name: str | None = Field(default=None, max_length=300)
    prospect_company: str | None = Field(default=None, max_length=300)
    prospect_domain: str | None = Field(default=None, max_length=255, index=True)
    subject: str = Field(default="", sa_type=sa.Text)
    intro_excerpt: str = Field(default="", sa_type=sa.Text)
    intro_message_id: str | None = Field(default=None, max_length=1000)
    sender: str | None = Field(default=None, max_length=320)
    received_at: datetime = Field(sa_type=UTCDateTime, index=True)
    owner: str | None = Field(default=None, max_length=64)
    role: str | None = Field(default=None, max_length=32)
    stage: str = Field(default=Stage.NEW, max_length=32)
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    first_response_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    next_step: str | None = Field(default=None, sa_type=sa.Text)
    next_step_due: datetime | None = Field(default=None, sa_type=UTCDateTime)
    amount: float | None = None
    # When it first reached a meeting (or later: opportunity, won) and an opportunity (or won),
    # whatever happened next: the report's meetings and opportunities.
    met_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    opportunity_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # A manager set the partner's role (/attribution set, or a dispute settled).
    role_overridden_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    slack_channel: str | None = Field(default=None, max_length=64)
    slack_ts: str | None = Field(default=None, max_length=64)
    conflict_with_id: int | None = Field(default=None, foreign_key="referral.id")
    # The partner's protection ends then (its window, or HANDOFF_PROTECTION_DAYS, at arrival).
    protected_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Reminders put off by their owner ("Snooze 1 day"); cleared when their cause changes.
    response_snoozed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    step_snoozed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The CRM had the prospect's contact or company with an open deal when the deal was made.
    crm_existing: str | None = Field(default=None, sa_type=sa.Text)
    # What the partner did (vocabulary.ActionType; None: the intro email itself) and when;
    # a referral logged in Slack keeps its message's permalink as proof, and who logged it.
    action_type: str | None = Field(default=None, max_length=32)
    action_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    proof_url: str | None = Field(default=None, sa_type=sa.Text)
    logged_by: str | None = Field(default=None, max_length=64)
    # A logged referral: the partner was asked "did you introduce …?" and answered (the answer's
    # Message-ID is the proof).
    confirm_asked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    confirmed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    confirm_message_id: str | None = Field(default=None, max_length=1000)
    # The partner's latest recorded action (intro, email in the thread, reply): the attached
    # lane begins HANDOFF_ATTACHED_AFTER later.
    partner_action_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Another partner's referral of someone at the same company, inside the window.
    overlap_with_id: int | None = Field(default=None, foreign_key="referral.id")
    # The meeting a calendar invitation booked (its start, its UID), or its cancellation.
    meeting_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    meeting_uid: str | None = Field(default=None, max_length=1000)
    meeting_cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Event(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    referral_id: int = Field(foreign_key="referral.id", index=True)
    kind: str = Field(max_length=32)
    actor: str = Field(max_length=400)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    message_id: str | None = Field(default=None, max_length=1000)
    detail: str | None = Field(default=None, sa_type=sa.Text)


class InboundMessage(SQLModel, table=True):
    """Every received message, stored with what intake made of it; nothing is ever dropped."""

    __tablename__ = "inbound_message"

    id: int | None = Field(default=None, primary_key=True)
    message_id: str | None = Field(default=None, max_length=1000, index=True)
    dedupe_key: str = Field(max_length=1000, index=True)
    source: str = Field(default="", max_length=1000)
    arrival_at: datetime = Field(sa_type=UTCDateTime)
    size: int = 0
    sender: str | None = Field(default=None, max_length=320)
    subject: str | None = Field(default=None, sa_type=sa.Text)
    kind: str | None = Field(default=None, max_length=32, index=True)
    reason: str | None = Field(default=None, sa_type=sa.Text)
    partner_id: int | None = Field(default=None, foreign_key="partner.id")
    referral_id: int | None = Field(default=None, foreign_key="referral.id", index=True)
    processed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # A person looked at it in triage and said it is done (`handoff triage done`), and why.
    dismissed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    dismissed_by: str | None = Field(default=None, max_length=400)
    dismissed_note: str | None = Field(default=None, sa_type=sa.Text)
    # The bytes exactly as received. Listings select named columns and never load them.
    raw: bytes = Field(sa_type=sa.LargeBinary)


class ImapFolder(SQLModel, table=True):
    """How far the watcher got in one IMAP folder (RFC 3501 UIDs: unsigned 32-bit, hence big)."""

    __tablename__ = "imap_folder"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=600, unique=True)  # user@host:port/folder, never a password
    uidvalidity: int | None = Field(default=None, sa_type=sa.BigInteger)
    last_uid: int = Field(default=0, sa_type=sa.BigInteger)  # committed through this UID
    # After a UIDVALIDITY change, messages up to this UID may already be stored under their
    # old UIDs: those are compared with what is stored before intake sees them.
    resync_until: int = Field(default=0, sa_type=sa.BigInteger)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class OutboxJob(SQLModel, table=True):
    """A durable side effect: stored with its cause, carried out after, retried until done."""

    __tablename__ = "outbox"
    __table_args__ = (
        sa.Index("ix_outbox_pending", "done_at", "due_at"),
        # A webhook waits for the one before it on its referral and endpoint (bot/webhooks/).
        sa.Index(
            "ix_outbox_webhook_order",
            "referral_id",
            "target",
            "id",
            postgresql_where=sa.text("done_at IS NULL AND kind = 'webhook'"),
            sqlite_where=sa.text("done_at IS NULL AND kind = 'webhook'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)
    referral_id: int | None = Field(default=None, foreign_key="referral.id", index=True)
    event_id: int | None = Field(default=None, foreign_key="event.id")
    nudge_id: int | None = Field(default=None, foreign_key="nudge.id")
    mail_id: int | None = Field(default=None, foreign_key="mail.id")
    delivery_id: int | None = Field(default=None, foreign_key="webhook_delivery.id")
    target: str | None = Field(default=None, max_length=64)  # a DM's user id; a webhook's endpoint
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    due_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    attempts: int = 0
    # A worker holds a job until then; a job held past it belonged to a worker that vanished.
    leased_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class SlackRequest(SQLModel, table=True):
    """Slack requests already applied, so that a retried request never applies twice."""

    __tablename__ = "slack_request"

    key: str = Field(primary_key=True, max_length=300)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PendingAction(SQLModel, table=True):
    """A Slack gesture acknowledged but not yet applied (bot/referrals/pending.py)."""

    __tablename__ = "pending_action"

    key: str = Field(primary_key=True, max_length=300)  # as slack_request's
    body: str = Field(sa_type=sa.Text)  # the request's payload, JSON, to apply it again
    received_at: datetime = Field(sa_type=UTCDateTime)
    replays: int = 0


class Nudge(SQLModel, table=True):
    """A nudge sent (or being sent): at most one per subject, kind, cycle and level.

    `subject` is the referral's id (0 for the weekly note about partners). `cycle_at` is when
    the clock started: a release, a new claim, a snooze or a new due date starts a new cycle,
    whose nudges are new ones. The unique key is what makes a restart, a caught-up run or a
    second replica harmless: the loser of the insert sends nothing.
    """

    __tablename__ = "nudge"
    __table_args__ = (
        sa.UniqueConstraint("kind", "subject", "cycle_at", "level", name="uq_nudge_once"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)
    subject: int
    referral_id: int | None = Field(default=None, foreign_key="referral.id", index=True)
    cycle_at: datetime = Field(sa_type=UTCDateTime)
    level: int
    due_at: datetime = Field(sa_type=UTCDateTime)  # when the rule made it due
    created_at: datetime = Field(sa_type=UTCDateTime)  # the sweep's instant (its clock)
    detail: str | None = Field(default=None, sa_type=sa.Text)  # JSON, for the partners' note


class JobRun(SQLModel, table=True):
    """The last run of each scheduled sweep, for `handoff jobs list`."""

    __tablename__ = "job_run"

    name: str = Field(primary_key=True, max_length=64)
    started_at: datetime = Field(sa_type=UTCDateTime)
    as_of: datetime = Field(sa_type=UTCDateTime)
    seconds: float = 0.0
    sent: int = 0
    error: str | None = Field(default=None, sa_type=sa.Text)


class SlackUser(SQLModel, table=True):
    """A Slack user's time zone and name (users.info), kept a day: reminders go out at 09:00
    theirs, and partner digests name referrals' owners."""

    __tablename__ = "slack_user"

    id: str = Field(primary_key=True, max_length=32)
    tz: str | None = Field(default=None, max_length=64)
    name: str | None = Field(default=None, max_length=200)  # display name, for partner emails
    email: str | None = Field(default=None, max_length=320)  # users:read.email, for webhooks
    checked_at: datetime = Field(sa_type=UTCDateTime)


class Digest(SQLModel, table=True):
    """One partner's digest for one period: recorded once, whether it was sent or had no news.

    The unique key (partner, period_end) is what keeps a restart, a caught-up run or a second
    replica from sending a period twice.
    """

    __table_args__ = (sa.UniqueConstraint("partner_id", "period_end", name="uq_digest_period"),)

    id: int | None = Field(default=None, primary_key=True)
    partner_id: int = Field(foreign_key="partner.id", index=True)
    period_start: datetime | None = Field(default=None, sa_type=UTCDateTime)
    period_end: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    sent: bool = False  # False: nothing new, so nothing was sent
    manual: bool = False  # `handoff digest send`
    referrals: str = Field(default="[]", sa_type=sa.Text)  # JSON ids of the referrals covered


class Mail(SQLModel, table=True):
    """One email to one recipient, recorded with its Message-ID before it is sent."""

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)
    partner_id: int = Field(foreign_key="partner.id", index=True)
    digest_id: int | None = Field(default=None, foreign_key="digest.id", index=True)
    referral_id: int | None = Field(default=None, foreign_key="referral.id")
    event_id: int | None = Field(default=None, foreign_key="event.id", index=True)  # its cause
    recipient: str = Field(max_length=320)
    message_id: str | None = Field(default=None, max_length=400, unique=True)
    subject: str = Field(default="", sa_type=sa.Text)
    raw: bytes | None = Field(default=None, sa_type=sa.LargeBinary)
    status: str = Field(default=MailStatus.QUEUED, max_length=16)
    created_at: datetime = Field(sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    error: str | None = Field(default=None, sa_type=sa.Text)  # the server's answer


class WebhookEndpoint(SQLModel, table=True):
    """A URL that receives every matching event, signed with its own secret (Standard Webhooks).

    Removed endpoints are kept, without their secret, for their deliveries' history.
    """

    __tablename__ = "webhook_endpoint"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(sa_type=sa.Text)
    secret: str = Field(max_length=100)  # whsec_<base64>: shown once, at `webhooks add`
    events: str = Field(default="*", sa_type=sa.Text)  # comma-separated type patterns
    description: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = Field(sa_type=UTCDateTime)
    # Failing without a success since then, and how many attempts in a row.
    failing_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    failures: int = 0
    last_failure_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_success_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    paused_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    pause_reason: str | None = Field(default=None, sa_type=sa.Text)
    removed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WebhookDelivery(SQLModel, table=True):
    """One event for one endpoint: the exact body signed on every attempt, and how it went."""

    __tablename__ = "webhook_delivery"

    id: int | None = Field(default=None, primary_key=True)
    endpoint_id: int = Field(foreign_key="webhook_endpoint.id", index=True)
    event_id: int | None = Field(default=None, foreign_key="event.id")
    referral_id: int | None = Field(default=None, foreign_key="referral.id")
    msg_id: str = Field(max_length=64)  # webhook-id: the same on every retry and redelivery
    type: str = Field(max_length=64)
    payload: str = Field(sa_type=sa.Text)
    created_at: datetime = Field(sa_type=UTCDateTime)
    retry_from: datetime = Field(sa_type=UTCDateTime)  # retries counted from: queued or resumed
    status: str = Field(default=DeliveryStatus.PENDING, max_length=16, index=True)
    attempts: int = 0
    response_status: int | None = None
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    last_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class CrmDeal(SQLModel, table=True):
    """A referral's deal in the CRM: its ids there, and what was last written and read."""

    __tablename__ = "crm_deal"

    referral_id: int = Field(primary_key=True, foreign_key="referral.id")
    deal_id: str | None = Field(default=None, max_length=64)
    contact_id: str | None = Field(default=None, max_length=64)
    company_id: str | None = Field(default=None, max_length=64)
    pushed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The referral's stage when it was last written: only a stage changed here since is written
    # again, so that a stage set in the CRM is never undone by a push about something else.
    pushed_stage: str | None = Field(default=None, max_length=32)
    # The deal's stage and amount as we last wrote or read them: a different one read back
    # is a change made in the CRM.
    seen_stage: str | None = Field(default=None, max_length=100)
    seen_amount: float | None = None
    seen_modified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, sa_type=sa.Text)


class CrmSync(SQLModel, table=True):
    """A CRM sync that was set up (`handoff hubspot setup`), and how far its reading got."""

    __tablename__ = "crm_sync"

    name: str = Field(primary_key=True, max_length=32)
    set_up_at: datetime = Field(sa_type=UTCDateTime)
    cursor: datetime | None = Field(default=None, sa_type=UTCDateTime)  # deals modified since
    pulled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, sa_type=sa.Text)


import bot.rollups  # noqa: E402, F401 - the report rollups' tables, in the same metadata
