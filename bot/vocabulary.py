"""The words the tables are written in: roles, stages, what intake made of a message, event and
job kinds, mail statuses, nudge kinds, and the sets of them the code asks about."""

from __future__ import annotations

from enum import StrEnum

import sqlalchemy as sa


class AddressKind(StrEnum):
    ALIAS = "alias"  # one of our addresses that belongs to the partner
    CONTACT = "contact"  # one of the partner's people
    DOMAIN = "domain"  # the partner's own email domain


class Role(StrEnum):
    SOURCED = "sourced"
    INFLUENCED = "influenced"
    ASSISTED_CLOSE = "assisted_close"
    ATTACHED = "attached"
    UNATTRIBUTED = "unattributed"
    DISPUTED = "disputed"


ROLE_LABELS = {
    Role.SOURCED: "Sourced",
    Role.INFLUENCED: "Influenced",
    Role.ASSISTED_CLOSE: "Assisted close",
    Role.ATTACHED: "Attached",
    Role.UNATTRIBUTED: "Unattributed",
    Role.DISPUTED: "Disputed",
}


def role_label(role: str | None, *, none: str = "none") -> str:
    """The role as people read it: "Assisted close" for "assisted_close"."""
    return ROLE_LABELS[Role(role)] if role else none


class Stage(StrEnum):
    NEW = "new"
    CLAIMED = "claimed"
    CONTACTED = "contacted"
    MEETING = "meeting"
    OPPORTUNITY = "opportunity"
    WON = "won"
    LOST = "lost"
    DISQUALIFIED = "disqualified"


CLOSED_STAGES = frozenset({Stage.WON, Stage.LOST, Stage.DISQUALIFIED})
OPEN_STAGES = frozenset(Stage) - CLOSED_STAGES
# Claimed and not yet at a meeting: where a first response is still awaited.
AWAITING_STAGES = frozenset({Stage.CLAIMED, Stage.CONTACTED})
# A referral at a meeting or an opportunity has been answered, whether or not a click said so:
# it gets no "no first response" reminders.
TALKING_STAGES = frozenset({Stage.MEETING, Stage.OPPORTUNITY})
# Stages where a deal has not moved since it arrived or was claimed: protection lapsing on one
# is worth a question (issue 23, expiry).
UNMOVED_STAGES = frozenset({Stage.NEW, Stage.CLAIMED})
# Stages a partner who asked for them (Partner.stage_emails) hears about by email at once.
NOTICE_STAGES = frozenset({Stage.MEETING, Stage.WON, Stage.LOST})


class Kind(StrEnum):
    """What intake made of one received message."""

    NEW_INTRO = "new_intro"
    THREAD_REPLY = "thread_reply"
    DUPLICATE = "duplicate"
    AUTO_REPLY = "auto_reply"
    BOUNCE = "bounce"
    UNKNOWN_PARTNER = "unknown_partner"
    DIGEST_REPLY = "digest_reply"
    UNSUBSCRIBE = "unsubscribe"  # a contact asked for no more digests (List-Unsubscribe)
    REJECTED = "rejected"
    UNFETCHABLE = "unfetchable"  # the mail server would not hand it over (bot/intake/unfetchable)
    SENDER_UNVERIFIED = "sender_unverified"  # our server did not vouch for its From (RFC 8601)
    MEETING = "meeting"  # a calendar invitation, acceptance or cancellation about a referral


# Triage kinds are stored for a person to look at; re-ingesting them tries again.
TRIAGE_KINDS = frozenset(
    {
        Kind.UNKNOWN_PARTNER,
        Kind.REJECTED,
        Kind.DIGEST_REPLY,
        Kind.UNFETCHABLE,
        Kind.SENDER_UNVERIFIED,
    }
)


def waits_for_triage(inbound: sa.Table) -> sa.ColumnElement[bool]:
    """Stored messages a person has to look at: not placed, or a reply placed only in part.

    A digest reply whose inline answers landed keeps a reason when some of its text could not
    be placed; it has its referral, so re-ingesting it does not apply the answers twice.
    """
    c = inbound.c
    return sa.and_(
        c.kind.in_([str(k) for k in TRIAGE_KINDS]),
        c.dismissed_at.is_(None),
        sa.or_(
            c.referral_id.is_(None),
            sa.and_(c.kind == str(Kind.DIGEST_REPLY), c.reason.is_not(None)),
        ),
    )


class EventKind(StrEnum):
    INTRO_RECEIVED = "intro_received"
    CONFLICT = "conflict"
    FIRST_RESPONSE = "first_response"
    ACTIVITY = "activity"
    REINTRODUCED = "reintroduced"
    # Changes made in Slack; the actor is `slack:<user id>`.
    CLAIMED = "claimed"
    RELEASED = "released"
    REASSIGNED = "reassigned"
    ROLE_CHANGED = "role_changed"
    STAGE_CHANGED = "stage_changed"
    NEXT_STEP = "next_step"
    NOT_A_FIT = "not_a_fit"
    STEP_DONE = "step_done"
    SNOOZED = "snoozed"  # a reminder put off by its owner: in the timeline, not the thread
    PARTNER_REPLY = "partner_reply"  # a partner's answer to a digest or notice, by email
    # A manager's word on the partner's role (/attribution), with the reason: the report shows
    # the role as overridden, and a later claim keeps it.
    ROLE_OVERRIDDEN = "role_overridden"
    DISPUTE_RESOLVED = "dispute_resolved"
    # The CRM already had the prospect's contact or company with an open deal (bot/crm/).
    CRM_EXISTING = "crm_existing"
    # A stage changed on both sides between two syncs: the later change was kept (bot/crm/).
    CRM_CONFLICT = "crm_conflict"
    # A referral a rep logged in Slack (no intro email): its first event, as INTRO_RECEIVED is.
    LOGGED = "logged"
    # The partner answered "did you introduce …?" (the answer's Message-ID is the proof), or
    # did not within HANDOFF_CONFIRM_WAIT and the rep was told.
    CONFIRMED = "confirmed"
    UNCONFIRMED = "unconfirmed"
    # Another partner's open referral of someone at the same company: for managers to judge.
    OVERLAP = "overlap"
    # A calendar invitation or acceptance in the mailbox booked a meeting; or cancelled it.
    MEETING = "meeting"
    MEETING_CANCELLED = "meeting_cancelled"
    # Protection lapses within HANDOFF_EXPIRY_NOTICE: the owner and the partner were asked.
    EXPIRY_NOTICE = "expiry_notice"


# Events whose line goes into the referral's Slack thread (the intro is the post itself).
THREADED_EVENTS = frozenset(EventKind) - {
    EventKind.INTRO_RECEIVED,
    EventKind.LOGGED,
    EventKind.SNOOZED,
}
# Events that are the partner's own doing: each restores a referral's lane (attached after
# HANDOFF_ATTACHED_AFTER without one).
PARTNER_ACTIONS = frozenset({EventKind.PARTNER_REPLY, EventKind.CONFIRMED})


class ActionType(StrEnum):
    """What the partner did for a referral logged in Slack (an emailed one is the intro itself)."""

    INTRO_EMAIL = "intro_email"
    INTRO_CALL = "intro_call"
    EVENT = "event"
    SHARED_ACCOUNT = "shared_account"
    CO_SELLING_MEETING = "co_selling_meeting"


ACTION_LABELS = {
    ActionType.INTRO_EMAIL: "Intro email",
    ActionType.INTRO_CALL: "Intro call",
    ActionType.EVENT: "Event",
    ActionType.SHARED_ACCOUNT: "Shared account",
    ActionType.CO_SELLING_MEETING: "Co-selling meeting",
}


class JobKind(StrEnum):
    """Side effects the outbox carries out, each after the commit that caused it."""

    SLACK_POST = "slack_post"  # post a new referral to its channel
    SLACK_UPDATE = "slack_update"  # re-render the post from the referral as it is now
    SLACK_THREAD = "slack_thread"  # one event's line in the post's thread
    SLACK_NUDGE = "slack_nudge"  # one nudge to one place: the post's thread or someone's DM
    EMAIL = "email"  # one recorded outgoing email (mail.id) to its one recipient
    STAGE_NOTICE = "stage_notice"  # record the partner's emails about one stage change (event)
    # Record the partner's emails about one event (bot/digests/letters.py): the receipt of an
    # intro, its claim, "did you introduce …?", "still active?".
    PARTNER_MAIL = "partner_mail"
    WEBHOOK = "webhook"  # one event to one endpoint (webhook_delivery), in a lane of its own
    CRM_PUSH = "crm_push"  # write the referral onto its CRM deal as it is now (bot/hubspot/)


class DeliveryStatus(StrEnum):
    """Where one webhook delivery stands (bot/webhooks/)."""

    PENDING = "pending"  # queued or being retried
    DELIVERED = "delivered"  # the endpoint answered 2xx
    FAILED = "failed"  # refused (4xx but 408/429), or still failing when its retries ran out
    CANCELLED = "cancelled"  # its endpoint was removed first


class MailKind(StrEnum):
    DIGEST = "digest"  # the partner's periodic status digest
    STAGE = "stage"  # a referral reached a meeting, or was won or lost
    RECEIPT = "receipt"  # an intro registered (or found registered already), or claimed
    CONFIRM = "confirm"  # "did you introduce …?" about a referral logged in Slack
    EXPIRY = "expiry"  # protection lapses soon: "still active?"


class MailStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"  # being handed to the server: a worker that finds it so died mid-way
    SENT = "sent"
    UNKNOWN = "unknown"  # handed over, no answer: the server may have taken it; never resent
    REFUSED = "refused"  # the server answered 5xx: never retried
    BOUNCED = "bounced"  # accepted, then a delivery report came back
    SKIPPED = "skipped"  # the contact unsubscribed or bounced before it went


class NudgeKind(StrEnum):
    """The clocks Handoff watches (bot/nudges/)."""

    UNCLAIMED = "unclaimed"  # level 1: the post's thread; level 2: the managers
    FIRST_RESPONSE = "first_response"  # level 1: the owner; level 2: the managers
    NEXT_STEP = "next_step"  # level 0 on the due day, then one per HANDOFF_OVERDUE_EVERY
    INACTIVE_PARTNERS = "inactive_partners"  # a weekly note to the managers
    # Protection lapses within HANDOFF_EXPIRY_NOTICE on a referral whose stage has not moved:
    # the owner (or, unclaimed, the thread); the partner is asked by email.
    EXPIRING = "expiring"
    # A referral logged in Slack that its partner has not confirmed in HANDOFF_CONFIRM_WAIT.
    UNCONFIRMED = "unconfirmed"


# HubSpot's default sales pipeline, its stage ids read back as Handoff's stages
# (HANDOFF_HUBSPOT_STAGES). Written the other way, a Handoff stage goes to the first HubSpot stage
# that reads as it; stages before a meeting go to the pipeline's first.
DEFAULT_HUBSPOT_STAGES = (
    "appointmentscheduled=meeting,qualifiedtobuy=opportunity,presentationscheduled=opportunity,"
    "decisionmakerboughtin=opportunity,contractsent=opportunity,closedwon=won,closedlost=lost"
)
