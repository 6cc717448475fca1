"""`handoff demo`: the real intake on bundled sample emails, in a throwaway SQLite database."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TextIO

from bot.db import open_database, session_factory
from bot.intake.pipeline import Intake, load_directory
from bot.intake.sources import read_paths
from bot.partners import add_partner
from bot.referrals import list_referrals, triage

SAMPLES = Path(__file__).parent / "samples"
INTERNAL_DOMAINS = frozenset({"ours.example"})
MAILBOX = "partners@ours.example"


@dataclass(frozen=True)
class SamplePartner:
    slug: str
    name: str
    addresses: tuple[str, ...] = ()
    contacts: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()


# The partners the samples (and tests/fixtures/intake) were written for.
PARTNERS = (
    SamplePartner(
        "acme",
        "Acme Consulting",
        contacts=("dana@acmeconsulting.example",),
        domains=("acmeconsulting.example",),
    ),
    SamplePartner(
        "globex",
        "Globex Partners",
        addresses=("globex-intros@ours.example",),
        contacts=("hank@globexpartners.example",),
        domains=("globexpartners.example",),
    ),
    SamplePartner(
        "initech",
        "Initech Advisory",
        addresses=("initech@ours.example",),
        contacts=("bill@initech.example",),
    ),
)


async def run_demo(out: TextIO) -> int:
    """Register three partners, ingest the samples in arrival order, print what Handoff made."""
    with tempfile.TemporaryDirectory(prefix="handoff-demo-") as folder:
        url = f"sqlite:///{folder}/handoff.db"
        out.write(
            f"Handoff demo: a throwaway database at {folder}/handoff.db\n"
            f"Our domain is ours.example; partner mail goes to {MAILBOX} (plus tags).\n\n"
        )
        async with open_database(url) as engine:
            sessions = session_factory(engine)
            async with sessions() as session:
                for p in PARTNERS:
                    await add_partner(
                        session=session,
                        slug=p.slug,
                        name=p.name,
                        addresses=list(p.addresses),
                        contacts=list(p.contacts),
                        domains=list(p.domains),
                    )
                    local, _, domain = MAILBOX.partition("@")
                    addresses = ", ".join([f"{local}+{p.slug}@{domain}", *p.addresses])
                    out.write(f"  partner {p.slug:<8} {p.name:<18} {addresses}\n")
                await session.commit()
                directory = await load_directory(
                    session=session, internal_domains=INTERNAL_DOMAINS, mailbox=MAILBOX
                )
            out.write("\nThe sample emails arrive, in this order:\n")
            async with Intake.open(
                engine=engine, directory=directory, protection=timedelta(days=90)
            ) as intake:
                for incoming in read_paths([str(SAMPLES)]):
                    result = await intake.ingest(incoming.raw, source=incoming.source)
                    name = Path(incoming.source).stem
                    what = result.referral or "-"
                    if result.prospect:
                        prospect = result.prospect
                        what += f"  {prospect.name or ''} <{prospect.email}>".replace("  <", " <")
                    if result.conflict_with:
                        what += f"  (conflicts with {result.conflict_with}: disputed)"
                    if result.first_response:
                        what += "  (first response)"
                    if result.reason and not result.prospect:
                        what += f"  ({result.reason})"
                    out.write(f"  {name[:44]:<44} -> {result.kind:<15} {what}\n")
            async with sessions() as session:
                rows = await list_referrals(session=session)
                kept = await triage(session=session)
        from bot.cli import print_referral_table  # the same table `handoff referrals list` prints

        out.write("\nReferrals (handoff referrals list):\n")
        print_referral_table(rows, out)
        out.write(f"\nKept for a person to look at (handoff triage): {len(kept)}\n")
        for row in kept:
            out.write(f"  {row['kind']}: {row['reason']}\n")
        out.write(
            "\nNext: set HANDOFF_INTERNAL_DOMAINS and HANDOFF_PARTNER_MAILBOX, register partners\n"
            "with `handoff partners add SLUG --name NAME --domain THEIRS.example`, and backfill\n"
            "with `handoff ingest export.mbox` (README: Quick start, Backfilling).\n"
        )
    return 0
