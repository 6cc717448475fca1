"""Who is who: the partners with their addresses, contacts and domains, and our own domains.

Loaded once per batch (a few hundred rows at most) and read by intake and replies alike.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Settings
from bot.db import session_factory
from bot.models import Partner, PartnerAddress
from bot.vocabulary import AddressKind

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")


DIGEST_TAG_PREFIX = "r-"  # partners+r-<token>@… is a reply to a digest (DESIGN "Reply by email")


UNSUBSCRIBE_TAG_PREFIX = "u-"  # partners+u-<token>@…: a contact's List-Unsubscribe address


FREEMAIL = frozenset(
    [
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "msn.com",
        "yahoo.com",
        "ymail.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "aol.com",
        "proton.me",
        "protonmail.com",
        "gmx.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "mail.com",
        "zoho.com",
        "yandex.com",
        "yandex.ru",
        "fastmail.com",
        "hey.com",
        "qq.com",
        "163.com",
        "orange.fr",
        "free.fr",
        "laposte.net",
        "btinternet.com",
        "comcast.net",
        "verizon.net",
        "att.net",
    ]
)


@dataclass(frozen=True)
class PartnerInfo:
    id: int
    slug: str
    name: str
    aliases: frozenset[str] = frozenset()
    contacts: frozenset[str] = frozenset()
    domains: frozenset[str] = frozenset()
    protection: timedelta | None = None  # its own window; else HANDOFF_PROTECTION_DAYS
    receipts: bool = True  # its contacts hear at once of an intro registered (partners add)

    @property
    def ref_prefix(self) -> str:
        return self.slug.upper()

    def owns_person(self, address: str) -> bool:
        """One of the partner's people: a contact, or an address at its (or its contacts') domain.

        A contact's freemail domain says nothing: a freelancer on gmail.com does not make every
        Gmail user the partner's.
        """
        return address in self.contacts or _in_domains(address, self.people_domains)

    @cached_property
    def people_domains(self) -> frozenset[str]:
        contact_domains = {c.rpartition("@")[2] for c in self.contacts} - FREEMAIL
        return self.domains | contact_domains


@dataclass
class Directory:
    """Everything intake needs to know about partners, loaded once per batch."""

    internal_domains: frozenset[str]
    mailbox: str | None = None
    partners: dict[int, PartnerInfo] = field(default_factory=dict)
    secret: bytes | None = None  # HANDOFF_SECRET: verifies reply and unsubscribe addresses
    # HANDOFF_TRUSTED_AUTHSERV_ID: our receiving server, whose Authentication-Results vouch
    # for a sender; None trusts From as written.
    authserv_id: str | None = None

    def __post_init__(self) -> None:
        self.by_slug = {p.slug: p for p in self.partners.values()}
        self.by_alias = {a: p for p in self.partners.values() for a in p.aliases}
        self.by_contact = {c: p for p in self.partners.values() for c in p.contacts}
        self.by_domain = {d: p for p in self.partners.values() for d in p.domains}
        self.people_domains = frozenset(d for p in self.partners.values() for d in p.people_domains)
        windows = [p.protection for p in self.partners.values() if p.protection]
        self._widest = max(windows, default=None)

    def is_internal(self, address: str) -> bool:
        return _in_domains(address, self.internal_domains)

    def protection_of(self, partner_id: int, default: timedelta) -> timedelta:
        """The partner's protection window (`partners add --protection`), else the default."""
        info = self.partners.get(partner_id)
        return info.protection if info is not None and info.protection is not None else default

    def widest(self, default: timedelta) -> timedelta:
        """The longest window any partner has: how far back intake looks for a rival."""
        return default if self._widest is None else max(default, self._widest)

    def plus_tag(self, address: str) -> str | None:
        """`partners+acme@ours.example` -> `acme` for the configured partner mailbox."""
        if not self.mailbox:
            return None
        local, _, domain = address.partition("@")
        box_local, _, box_domain = self.mailbox.partition("@")
        base, plus, tag = local.partition("+")
        if plus and base == box_local and domain == box_domain and tag:
            return tag
        return None

    def knows(self, address: str) -> bool:
        """Ours, or one of any partner's people."""
        return (
            self.is_internal(address)
            or address in self.by_contact
            or _in_domains(address, self.people_domains)
        )

    def is_partner_address(self, address: str) -> bool:
        return (
            address in self.by_alias
            or address == self.mailbox
            or self.plus_tag(address) is not None
        )


def _in_domains(address: str, domains: frozenset[str]) -> bool:
    """At one of the domains or a subdomain of one: `a@mail.ours.example` is at ours.example."""
    return not domains.isdisjoint(domain_suffixes(address.rpartition("@")[2]))


def domain_suffixes(domain: str) -> tuple[str, ...]:
    """`mail.ours.example` -> (`mail.ours.example`, `ours.example`, `example`).

    Remembered, as intake asks it of the same few domains for each address of each message;
    a name longer than DNS allows (253) is no domain anyone has, and is not kept.
    """
    return _suffixes(domain) if len(domain) > 253 else _remembered_suffixes(domain)


def _suffixes(domain: str) -> tuple[str, ...]:
    labels = domain.split(".")
    return tuple(".".join(labels[i:]) for i in range(len(labels)))


_remembered_suffixes = functools.lru_cache(maxsize=4096)(_suffixes)


async def load_directory(
    *,
    session: AsyncSession,
    internal_domains: frozenset[str],
    mailbox: str | None,
    secret: bytes | None = None,
    authserv_id: str | None = None,
) -> Directory:
    """Every partner with its aliases, contacts and domains (a few hundred rows at most)."""
    partners = (await session.exec(select(Partner))).all()
    grouped: dict[int, dict[str, set[str]]] = {
        p.id: {k: set() for k in AddressKind} for p in partners if p.id is not None
    }
    for address in (await session.exec(select(PartnerAddress))).all():
        grouped[address.partner_id][address.kind].add(address.value)
    infos = {
        p.id: PartnerInfo(
            id=p.id,
            slug=p.slug,
            name=p.name,
            aliases=frozenset(grouped[p.id][AddressKind.ALIAS]),
            contacts=frozenset(grouped[p.id][AddressKind.CONTACT]),
            domains=frozenset(grouped[p.id][AddressKind.DOMAIN]),
            protection=timedelta(days=p.protection_days) if p.protection_days is not None else None,
            receipts=p.receipts,
        )
        for p in partners
        if p.id is not None
    }
    return Directory(
        internal_domains=internal_domains,
        mailbox=mailbox,
        partners=infos,
        secret=secret,
        authserv_id=authserv_id,
    )


async def settings_directory(engine: AsyncEngine, settings: Settings) -> Directory:
    """The directory intake works with under these settings (the `handoff` commands)."""
    async with session_factory(engine)() as session:
        return await load_directory(
            session=session,
            internal_domains=settings.all_internal_domains,
            mailbox=settings.partner_mailbox,
            secret=settings.secret_bytes,
            authserv_id=settings.trusted_authserv_id,
        )


async def choices(conn: AsyncConnection) -> list[tuple[str, str]]:
    """Every partner as (slug, name), ordered by name (a modal's choices)."""
    table = Partner.__table__  # type: ignore[attr-defined]
    rows = await conn.execute(sa.select(table.c.slug, table.c.name).order_by(table.c.name))
    return [(r.slug, r.name) for r in rows]
