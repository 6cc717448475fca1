"""Standard Webhooks signatures (https://www.standardwebhooks.com, "Signature scheme").

The signed content is `{webhook-id}.{webhook-timestamp}.{body}`; the signature is HMAC-SHA256
with the secret's bytes (the base64 after `whsec_`), sent as `v1,<base64>`. A receiver checks
it with any of the specification's libraries, given the same `whsec_…` string.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

PREFIX = "whsec_"
SECRET_BYTES = 32  # the specification asks for 24 to 64


def new_secret() -> str:
    """A fresh signing secret, `whsec_` and the base64 of 32 random bytes."""
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def new_message_id() -> str:
    """A webhook-id: unique per event, the same on each retry, so receivers can dedupe."""
    return "msg_" + base64.b32encode(secrets.token_bytes(15)).decode().lower()


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value for this attempt."""
    key = base64.b64decode(secret.removeprefix(PREFIX))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three headers of one attempt, with the JSON body's content type."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, msg_id, timestamp, body),
        "content-type": "application/json",
    }
