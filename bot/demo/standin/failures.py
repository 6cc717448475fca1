"""Canned failures the Slack stand-in answers with: what Slack does on a bad day."""

from __future__ import annotations

import json
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Failure:
    """A canned answer for one call: an HTTP error, a dropped connection or a delay."""

    status: int | None = None  # None: answer normally, after `delay`
    body: str = ""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    disconnect: bool = False
    delay: float = 0.0
    # Slack did the work, then answered this way (or late, or not at all): a retry that does
    # not look first does it twice.
    after_work: bool = False


def rate_limited(retry_after: int = 1) -> Failure:
    """HTTP 429 with Retry-After, as Slack rate-limits (docs.slack.dev/apis/web-api/rate-limits)."""
    body = json.dumps({"ok": False, "error": "ratelimited"})
    return Failure(status=429, body=body, headers={"Retry-After": str(retry_after)})


def server_error(status: int = 500, *, after_work: bool = False) -> Failure:
    """An HTTP 5xx with an HTML body, as Slack's edge answers when it is unwell; after_work:
    once the call has taken effect."""
    return Failure(
        status=status,
        body="<html>Server Error</html>",
        content_type="text/html",
        after_work=after_work,
    )


def slack_error(error: str) -> Failure:
    """HTTP 200 with {"ok": false, "error": error}."""
    return Failure(status=200, body=json.dumps({"ok": False, "error": error}))


def disconnect() -> Failure:
    """Close the connection without answering."""
    return Failure(disconnect=True)


def slow(seconds: float, *, after_work: bool = False) -> Failure:
    """Answer normally, but only after `seconds` (after_work: the call takes effect at once)."""
    return Failure(delay=seconds, after_work=after_work)
