"""Whether a message's From was authenticated by our own receiving server (RFC 8601).

A receiving server records what it checked in an Authentication-Results header that starts with
its authserv-id (`mx.google.com; dmarc=pass header.from=acme.example; spf=…`). Anyone can write
such a header into a message, so only the one carrying our server's id counts (the topmost, as
our server prepends it), and never one of another server's. The From is trusted when DMARC
passed, or when SPF or DKIM passed for a domain aligned with the From's (RFC 7489 relaxed
alignment: the same domain, or one a subdomain of the other).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_COMMENT = re.compile(r"\([^()]*\)")  # RFC 5322 comments (nested ones are unwrapped in turns)
_RESULT = re.compile(r"^\s*([A-Za-z0-9_.-]+)\s*=\s*([A-Za-z0-9_-]+)")
_PROPERTY = re.compile(r"([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\s*=\s*(\"[^\"]*\"|[^\s;]+)")


@dataclass(frozen=True)
class Verdict:
    trusted: bool
    reason: str  # why, in a line for triage


def _uncommented(value: str) -> str:
    previous = None
    while previous != value:
        previous, value = value, _COMMENT.sub(" ", value)
    return value


def _results(value: str) -> tuple[str, list[tuple[str, str, dict[str, str]]]]:
    """authserv-id, and each (method, result, {ptype.property: value}) of one header."""
    parts = _uncommented(value).split(";")
    head = parts[0].split()
    authserv = head[0].lower() if head else ""
    results = []
    for part in parts[1:]:
        found = _RESULT.match(part)
        if not found:
            continue  # "none", or a malformed entry
        properties = {
            f"{p.lower()}.{q.lower()}": v.strip('"').lower()
            for p, q, v in _PROPERTY.findall(part[found.end() :])
        }
        results.append((found.group(1).lower(), found.group(2).lower(), properties))
    return authserv, results


def aligned(domain: str, other: str) -> bool:
    domain, other = domain.lower().strip("."), other.lower().strip(".")
    if not domain or not other:
        return False
    return domain == other or domain.endswith("." + other) or other.endswith("." + domain)


def _domain_of(value: str) -> str:
    return value.rpartition("@")[2]


def verdict(headers: tuple[str, ...], *, authserv_id: str, from_domain: str | None) -> Verdict:
    """Whether our server (authserv_id) vouches for a From at `from_domain`."""
    ours = authserv_id.lower()
    mine = next((r for a, r in map(_results, headers) if a == ours), None)
    if mine is None:
        return Verdict(False, f"no Authentication-Results from {authserv_id}")
    if not from_domain:
        return Verdict(False, "no From address to authenticate")
    said = []
    for method, result, properties in mine:
        said.append(f"{method}={result}")
        if result != "pass":
            continue
        if method == "dmarc":
            checked = properties.get("header.from")
            if checked is None or aligned(checked, from_domain):
                return Verdict(True, "dmarc=pass")
        elif method == "dkim":
            signer = properties.get("header.d") or _domain_of(properties.get("header.i", ""))
            if aligned(signer, from_domain):
                return Verdict(True, f"dkim=pass for {signer}")
        elif method == "spf":
            envelope = _domain_of(properties.get("smtp.mailfrom", "")) or properties.get(
                "smtp.helo", ""
            )
            if aligned(envelope, from_domain):
                return Verdict(True, f"spf=pass for {envelope}")
    shown = ", ".join(said) or "no results"
    return Verdict(False, f"{authserv_id} did not authenticate {from_domain} ({shown})")
