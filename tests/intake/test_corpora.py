"""Every message of the public corpora in ../shared/corpora goes through the parser unharmed."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.email.parse import parse
from bot.intake.rules import find_partner, noise
from bot.referrals.directory import Directory
from tests.support.paths import CORPORA, IN_CI

MESSAGES = sorted(
    p
    for p in CORPORA.rglob("*")
    if p.is_file() and p.name not in ("LICENSE", "README.md") and not p.name.startswith(".")
)


def _require_corpora() -> None:
    if len(MESSAGES) > 250:
        return
    if IN_CI:
        pytest.fail(f"expected the shared corpora under {CORPORA} (CI=true)")
    pytest.skip(f"{CORPORA} not checked out beside the project")


def test_corpora_are_there() -> None:
    _require_corpora()


@pytest.mark.parametrize("path", MESSAGES, ids=lambda p: str(p.relative_to(CORPORA)))
def test_parser_survives(path: Path) -> None:
    raw = path.read_bytes()
    msg = parse(raw)
    # What a user relies on afterwards: a dedupe key, text we can store, rules that run.
    assert msg.dedupe_key.startswith(("mid:", "sha256:"))
    assert "\x00" not in msg.text and "\x00" not in msg.subject
    directory = Directory(
        internal_domains=frozenset({"ours.example"}), mailbox="partners@ours.example"
    )
    find_partner(msg, directory)
    noise(msg, directory)


def test_known_bounce_is_classified() -> None:
    bounces = sorted((CORPORA / "mime" / "flanker" / "bounce").glob("*.eml"))
    if not bounces:
        pytest.skip("flanker bounce corpus missing")
    directory = Directory(internal_domains=frozenset(), mailbox=None)
    kinds = [noise(parse(p.read_bytes()), directory) for p in bounces]
    assert sum(1 for k in kinds if k and k[0] == "bounce") >= len(bounces) // 2


def test_every_corpus_message_is_stored_and_classified(db_url: str, handoff) -> None:  # type: ignore[no-untyped-def]
    """Through the whole pipeline on a real database: no internal error, nothing dropped."""
    _require_corpora()
    paths = [p for p in MESSAGES if p.suffix == ".eml"]
    results = handoff.ingest(*paths)
    assert len(results) == len(paths)
    internal = [r for r in results if "internal error" in (r["reason"] or "")]
    assert internal == []
    listed = handoff.json("triage")
    rejected = [r for r in results if r["kind"] in ("rejected", "unknown_partner")]
    assert len(listed) == len(rejected)  # every refusal is kept for a person, with a reason
    assert all(r["reason"] for r in listed)
