"""Pure intake rules: which partner, which sender, which prospect, and what is noise."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.email.auto import OOO_SUBJECT
from bot.email.headers import Address
from bot.email.parse import ParsedMessage
from bot.referrals.directory import (
    DIGEST_TAG_PREFIX,
    FREEMAIL,
    UNSUBSCRIBE_TAG_PREFIX,
    Directory,
    PartnerInfo,
    domain_suffixes,
)
from bot.vocabulary import Kind

_SECOND_LEVEL = frozenset(
    ["co", "com", "net", "org", "ac", "gov", "edu", "ltd", "plc", "ne", "or", "go"]
)
_NOT_PEOPLE = re.compile(
    r"^(mailer-daemon|postmaster|no-?reply|do-?not-?reply|noreply-.*|bounces?|notifications?)(\+.*)?@"
)
_BOUNCE_SUBJECT = re.compile(
    r"(undeliver|delivery status notification|returned mail|failure notice|mail delivery failed"
    r"|delivery failure|unzustellbar|non remis)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class PartnerMatch:
    partner: PartnerInfo | None = None
    via: str | None = None  # e.g. "cc: partners+acme@ours.example"
    digest_token: str | None = None
    unsubscribe_token: str | None = None
    unknown_tag: str | None = None


def noise(msg: ParsedMessage, directory: Directory) -> tuple[Kind, str] | None:
    """Auto-replies and bounces: stored, never a referral, never answered (no mail loops).

    Strong evidence (a delivery report, RFC 3834 Auto-Submitted, X-Autoreply) is noise from
    anyone. Weak evidence (Precedence: bulk/list, an out-of-office subject) is not enough from a
    sender we know: a Google Group relays intros with Precedence: list, and "Absence management
    rollout: intro" is a real intro.
    """
    headers = msg.headers
    if msg.content_type == "multipart/report":
        report = (msg.report_type or "").lower()
        if report == "disposition-notification":
            return Kind.AUTO_REPLY, "read receipt (multipart/report; disposition-notification)"
        return Kind.BOUNCE, f"delivery report (multipart/report; report-type={report or 'none'})"
    sender = msg.sender.email if msg.sender else ""
    if sender.startswith(("mailer-daemon@", "postmaster@")) and _BOUNCE_SUBJECT.search(msg.subject):
        return Kind.BOUNCE, f"bounce from {sender}"
    auto = headers.get("auto-submitted", "").strip().lower()
    if auto and auto != "no":
        return Kind.AUTO_REPLY, f"Auto-Submitted: {auto}"  # RFC 3834
    for name in ("x-autoreply", "x-autorespond", "x-autoresponder"):
        if name in headers:
            return Kind.AUTO_REPLY, f"{name} header"
    if sender and directory.knows(sender):
        return None
    precedence = headers.get("precedence", "").strip().lower()
    if precedence in ("bulk", "junk", "list"):
        return Kind.AUTO_REPLY, f"Precedence: {precedence}"
    if OOO_SUBJECT.match(msg.subject):
        return Kind.AUTO_REPLY, f"out-of-office subject {msg.subject[:60]!r}"
    return None


def find_partner(msg: ParsedMessage, directory: Directory) -> PartnerMatch:
    """The partner whose address the message reached, or why none (header order decides ties)."""
    match = _partner_in(msg.recipients, directory)
    if match.partner or match.digest_token or match.unsubscribe_token or match.unknown_tag:
        return match
    # Sent to the bare mailbox: the forwarded intro itself names the partner, in the first
    # block (outermost first) whose recipients or sender are the partner's.
    for forwarded in msg.forwards:
        inner = [("fwd-to", a) for a in forwarded.to] + [("fwd-cc", a) for a in forwarded.cc]
        match = _partner_in(tuple(inner), directory)
        if match.partner:
            return match
        if forwarded.sender is not None:
            partner = _partner_of_person(forwarded.sender.email, directory)
            if partner:
                return PartnerMatch(partner, f"forwarded from {forwarded.sender.email}")
    return PartnerMatch()


def _partner_in(recipients: tuple[tuple[str, Address], ...], directory: Directory) -> PartnerMatch:
    unknown: str | None = None
    for header, address in recipients:
        email = address.email
        if email in directory.by_alias:
            return PartnerMatch(directory.by_alias[email], f"{header}: {email}")
        tag = directory.plus_tag(email)
        if tag is None:
            continue
        if tag.startswith(DIGEST_TAG_PREFIX):
            return PartnerMatch(
                digest_token=tag[len(DIGEST_TAG_PREFIX) :], via=f"{header}: {email}"
            )
        if tag.startswith(UNSUBSCRIBE_TAG_PREFIX):
            return PartnerMatch(
                unsubscribe_token=tag[len(UNSUBSCRIBE_TAG_PREFIX) :], via=f"{header}: {email}"
            )
        if tag in directory.by_slug:
            return PartnerMatch(directory.by_slug[tag], f"{header}: {email}")
        unknown = unknown or tag
    return PartnerMatch(unknown_tag=unknown)


def _partner_of_person(email: str, directory: Directory) -> PartnerInfo | None:
    if email in directory.by_contact:
        return directory.by_contact[email]
    for suffix in domain_suffixes(email.rpartition("@")[2]):
        if suffix in directory.by_domain:
            return directory.by_domain[suffix]
    return None


def sender_role(sender: Address | None, partner: PartnerInfo, directory: Directory) -> str:
    """`contact`, `internal` or `unknown`: who may introduce a prospect for this partner."""
    if sender is None:
        return "unknown"
    if directory.is_internal(sender.email):
        return "internal"
    if partner.owns_person(sender.email):
        return "contact"
    return "unknown"


@dataclass(frozen=True)
class Prospect:
    email: str
    name: str | None
    company: str | None
    domain: str


def find_prospect(
    msg: ParsedMessage, partner: PartnerInfo, directory: Directory
) -> Prospect | None:
    """The external person introduced: not ours, not the partner's people, not a partner address."""
    excluded = {msg.sender.email} if msg.sender else set()
    candidates: list[Address] = []
    # Each forwarded block, outermost first: an internal person forwards the partner's intro,
    # whose recipients hold the prospect, and sometimes the prospect's own message ("Dana said
    # to write to you"), whose sender is the prospect; a partner forwarding is mostly the latter.
    forwarder = msg.sender
    for forwarded in msg.forwards:
        inner = [*forwarded.to, *forwarded.cc]
        internal_forward = forwarder is not None and directory.is_internal(forwarder.email)
        if forwarded.sender is not None:
            inner = [*inner, forwarded.sender] if internal_forward else [forwarded.sender, *inner]
        candidates += inner
        forwarder = forwarded.sender
    candidates += msg.addresses("to", "cc")
    for address in candidates:
        if address.email not in excluded and _is_prospect(address.email, partner, directory):
            return _prospect(address)
    outer = msg.forwarded
    for email in emails_in(outer.text if outer else msg.text):
        if email not in excluded and _is_prospect(email, partner, directory):
            return _prospect(Address(None, email))
    return None


def _is_prospect(email: str, partner: PartnerInfo, directory: Directory) -> bool:
    return len(email) <= 254 and not (  # RFC 5321: no longer address is deliverable
        directory.is_internal(email)
        or directory.is_partner_address(email)
        or partner.owns_person(email)
        or email in directory.by_contact
        or _NOT_PEOPLE.match(email)
    )


_EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")


def emails_in(text: str) -> list[str]:
    """The addresses written in a text, in order, each once."""
    return list(dict.fromkeys(m.lower().strip(".") for m in _EMAIL.findall(text[:20000])))


def _prospect(address: Address) -> Prospect:
    domain = address.domain
    name = address.name[:300] if address.name else None
    return Prospect(address.email, name, company_from_domain(domain), domain)


def company_from_domain(domain: str) -> str | None:
    """`wayne-enterprises.example` -> `Wayne Enterprises`; freemail domains name no company."""
    domain = domain.lower().strip(".")
    if domain in FREEMAIL:
        return None
    labels = domain.split(".")
    if len(labels) >= 3 and labels[-2] in _SECOND_LEVEL and len(labels[-1]) == 2:
        labels = labels[:-2]  # example.co.uk
    else:
        labels = labels[:-1]
    if not labels:
        return None
    name = labels[-1]
    words = " ".join(word.capitalize() for word in re.split(r"[-_]+", name) if word)
    return words[:300] or None
