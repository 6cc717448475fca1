"""Signed reply and unsubscribe addresses: what a reply to our mail proves about itself.

A digest's Reply-To is `partners+r-<mail>-<referral>-<mac>@…`: the mail row it answers, the
referral it is about (0: the digest as a whole) and an HMAC (HANDOFF_SECRET) over those, the
mail's digest and its partner. Anyone can write to such an address; only we can make one that
verifies, so a reply is placed by the token, and accepted only from the partner's people
(DESIGN "Reply by email"). Tokens are lower-case hex and digits: some mail systems lower-case
local parts, and RFC 5321 allows 64 characters there.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

REPLY_PREFIX = "r-"
UNSUBSCRIBE_PREFIX = "u-"
_MAC_CHARS = 16  # 64 bits: guessing one takes 2**63 tries on average, each a sent email
_REPLY = re.compile(r"^(\d{1,12})-(\d{1,12})-([0-9a-f]{16})$")
_UNSUBSCRIBE = re.compile(r"^(\d{1,12})-([0-9a-f]{16})$")
# Our Message-IDs: <handoff.r-<token>@domain>, so that In-Reply-To and References route too.
_MESSAGE_ID = re.compile(r"^handoff\.r-(\d{1,12}-\d{1,12}-[0-9a-f]{16})@", re.IGNORECASE)


@dataclass(frozen=True)
class ReplyToken:
    mail_id: int
    referral_id: int | None  # the referral the address is about; None: the whole mail

    @property
    def text(self) -> str:
        return f"{self.mail_id}-{self.referral_id or 0}"


def _mac(secret: bytes, message: str) -> str:
    return hmac.new(secret, message.encode(), hashlib.sha256).hexdigest()[:_MAC_CHARS]


def reply_mac(secret: bytes, token: ReplyToken, *, partner_id: int, digest_id: int | None) -> str:
    """The signature of one reply address: over the mail, its digest, its partner, the referral."""
    message = f"reply:{token.mail_id}:{digest_id or 0}:{partner_id}:{token.referral_id or 0}"
    return _mac(secret, message)


def reply_tag(secret: bytes, token: ReplyToken, *, partner_id: int, digest_id: int | None) -> str:
    """`r-12-0-<mac>`: the plus tag of a reply address."""
    mac = reply_mac(secret, token, partner_id=partner_id, digest_id=digest_id)
    return f"{REPLY_PREFIX}{token.text}-{mac}"


def parse_reply(text: str) -> tuple[ReplyToken, str] | None:
    """`12-0-<mac>` (the tag without its prefix) -> the token and the MAC it claims."""
    match = _REPLY.match(text.strip().lower())
    if match is None:
        return None
    referral = int(match.group(2))
    return ReplyToken(int(match.group(1)), referral or None), match.group(3)


def verifies(
    secret: bytes, token: ReplyToken, mac: str, *, partner_id: int, digest_id: int | None
) -> bool:
    expected = reply_mac(secret, token, partner_id=partner_id, digest_id=digest_id)
    return hmac.compare_digest(expected, mac)


def in_message_ids(ids: tuple[str, ...] | list[str]) -> str | None:
    """The reply token in one of our Message-IDs among In-Reply-To/References, nearest first."""
    for message_id in ids:
        match = _MESSAGE_ID.match(message_id)
        if match:
            return match.group(1).lower()
    return None


def message_id(tag: str, domain: str) -> str:
    """Our Message-ID for a mail whose reply tag is `tag` (without angle brackets)."""
    return f"handoff.{tag}@{domain}"


def unsubscribe_tag(secret: bytes, address_id: int) -> str:
    """`u-<contact row>-<mac>`: the plus tag of one contact's List-Unsubscribe address."""
    return f"{UNSUBSCRIBE_PREFIX}{address_id}-{_mac(secret, f'unsubscribe:{address_id}')}"


def parse_unsubscribe(secret: bytes, text: str) -> int | None:
    """The contact row an unsubscribe tag (without its prefix) names, if its MAC verifies."""
    match = _UNSUBSCRIBE.match(text.strip().lower())
    if match is None:
        return None
    address_id = int(match.group(1))
    expected = _mac(secret, f"unsubscribe:{address_id}")
    return address_id if hmac.compare_digest(expected, match.group(2)) else None
