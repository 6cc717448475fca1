"""The SQL intake runs for every message, built once: intake is the hot path of a backfill."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy import bindparam

from bot.db import quoted
from bot.models import Event, InboundMessage, Referral
from bot.vocabulary import CLOSED_STAGES, TRIAGE_KINDS, Role


def _words(values: Iterable[str]) -> list[sa.ColumnElement[str]]:
    """Our own fixed words (kinds, stages) written into the SQL as literals: a list of bound
    values is an expanding parameter, which SQLAlchemy renders into the statement again at
    every execution (a tenth of intake's time in the database thread)."""
    return [sa.literal_column(quoted(str(v))) for v in values]


inbound: sa.Table = InboundMessage.__table__  # type: ignore[attr-defined]
referral: sa.Table = Referral.__table__  # type: ignore[attr-defined]
event: sa.Table = Event.__table__  # type: ignore[attr-defined]

INSERT_INBOUND = sa.insert(inbound)

# The next per-partner sequence number is taken inside the insert; two writers that take the
# same one collide on uq_referral_partner_seq and the loser goes again (see Intake.ingest).
_NEXT_SEQ = (
    sa.select(sa.func.coalesce(sa.func.max(referral.c.seq), 0) + 1)
    .where(referral.c.partner_id == bindparam("b_partner"))
    .scalar_subquery()
)
INSERT_REFERRAL = (
    sa.insert(referral)
    .values(seq=_NEXT_SEQ, ref=bindparam("prefix") + "-" + sa.cast(_NEXT_SEQ, sa.String))
    .returning(referral.c.id, referral.c.ref)
)

# Everything intake must know of the database about one message, in one round trip (each
# statement costs thread hand-offs with aiosqlite): earlier deliveries of the same message
# (settled ones; triage rows are tried again), the referral whose thread it answers through
# any Message-ID it names, and the prospect's open referrals inside the protection window.
_NO_TIME = sa.cast(sa.null(), referral.c.received_at.type)
_NO_TEXT = sa.cast(sa.null(), sa.String)
# Columns after (what, row_id) in every branch: the referral a fact is about.
_REFERRAL_FACTS = (
    referral.c.ref,
    referral.c.partner_id,
    referral.c.id,
    referral.c.received_at,
    referral.c.prospect_email,
    referral.c.first_response_at,
)
_PRIOR = (
    sa.select(
        sa.literal("prior").label("what"),
        inbound.c.id.label("row_id"),
        referral.c.ref,
        inbound.c.partner_id,
        inbound.c.referral_id,
        _NO_TIME.label("received_at"),
        _NO_TEXT.label("prospect_email"),
        _NO_TIME.label("first_response_at"),
    )
    .select_from(inbound.outerjoin(referral, referral.c.id == inbound.c.referral_id))
    .where(
        inbound.c.dedupe_key == bindparam("key"),
        # Triage is tried again; an applied digest reply (one with a referral) is not, nor
        # one a person marked done.
        sa.or_(
            inbound.c.kind.not_in(_words(TRIAGE_KINDS)),
            inbound.c.referral_id.is_not(None),
            inbound.c.dismissed_at.is_not(None),
        ),
    )
)
_THREAD = (
    sa.select(sa.literal("thread"), inbound.c.id, *_REFERRAL_FACTS)
    .select_from(inbound.join(referral, referral.c.id == inbound.c.referral_id))
    .where(inbound.c.message_id.in_(bindparam("ids", expanding=True)))
)
_OPEN = sa.select(sa.literal("open"), referral.c.id, *_REFERRAL_FACTS).where(
    referral.c.prospect_email == bindparam("email"),
    referral.c.stage.not_in(_words(CLOSED_STAGES)),
    referral.c.received_at >= bindparam("since"),
    referral.c.received_at <= bindparam("until"),
)
# Another person's open referral at the prospect's company (its own domain, never freemail:
# None matches nothing) inside the window: a possible overlap, for managers to judge.
_COMPANY = sa.select(sa.literal("company"), referral.c.id, *_REFERRAL_FACTS).where(
    referral.c.prospect_domain == bindparam("domain"),
    referral.c.prospect_email != bindparam("email"),
    referral.c.stage.not_in(_words(CLOSED_STAGES)),
    referral.c.received_at >= bindparam("since"),
    referral.c.received_at <= bindparam("until"),
)
# Earlier deliveries of the same message (the same bytes) still waiting in triage: this one,
# tried again, takes their place (whatever it comes to now), so that triage does not grow on
# each re-run. Another message under the same Message-ID is kept beside it.
_NO_ID = sa.cast(sa.null(), sa.Integer)
_TRIED = sa.select(
    sa.literal("tried"),
    inbound.c.id,
    _NO_TEXT,
    _NO_ID,
    _NO_ID,
    _NO_TIME,
    _NO_TEXT,
    _NO_TIME,
).where(
    inbound.c.dedupe_key == bindparam("key"),
    inbound.c.kind.in_(_words(TRIAGE_KINDS)),
    inbound.c.referral_id.is_(None),
    inbound.c.dismissed_at.is_(None),
    inbound.c.size == bindparam("size"),
)
FACTS = sa.union_all(_PRIOR, _TRIED, _THREAD, _OPEN, _COMPANY)
# A message that names no Message-ID to answer (most intros) skips the thread lookup, whose
# list of ids is expanded into the SQL on every execution.
FACTS_NO_THREAD = sa.union_all(_PRIOR, _TRIED, _OPEN, _COMPANY)
DELETE_TRIED = sa.delete(inbound).where(
    inbound.c.id.in_(bindparam("ids", expanding=True)), inbound.c.raw == bindparam("raw")
)

# PostgreSQL only: serialize intake decisions about one prospect across workers and replicas.
LOCK_KEY = sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtextextended(bindparam("key"), 0)))


MARK_DISPUTED = (
    sa.update(referral)
    .where(referral.c.id == bindparam("b_id"))
    .values(role=str(Role.DISPUTED), conflict_with_id=bindparam("b_other"))
)
