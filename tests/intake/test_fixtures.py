"""`handoff ingest --json` over real-world-like intros: right partner, prospect and kind for each.

The files in tests/fixtures/intake are ingested in name order, as one folder would be; each test
checks one message's line (expected.json says what and why) after those before it went in.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.handoff import register_scenario
from tests.support.paths import FIXTURES

INTAKE = FIXTURES / "intake"
EXPECTED = json.loads((INTAKE / "expected.json").read_text())


@pytest.mark.parametrize("index", range(len(EXPECTED)), ids=[e["file"][:-4] for e in EXPECTED])
def test_fixture(db_url: str, handoff, index: int) -> None:  # type: ignore[no-untyped-def]
    register_scenario(handoff)
    paths = [INTAKE / e["file"] for e in EXPECTED[: index + 1]]
    results = handoff.ingest(*paths)
    assert len(results) == len(paths)
    expected, got = EXPECTED[index], results[index]
    assert got["kind"] == expected["kind"], got
    if expected["kind"] in ("new_intro", "thread_reply", "duplicate", "unknown_partner"):
        assert got["partner"] == expected["partner"], got
    assert got["referral"] == expected["referral"], got
    if expected["kind"] == "new_intro":
        assert got["prospect"] == expected["prospect"], got
        assert got["conflict_with"] == expected["conflict_with"], got
    assert got["first_response"] == expected["first_response"], got
    if got["kind"] in ("unknown_partner", "rejected"):
        assert got["reason"]


def test_folder_in_one_go(db_url: str, handoff) -> None:  # type: ignore[no-untyped-def]
    """The Done-when check: the whole folder at once gives the expected line for every file."""
    register_scenario(handoff)
    results = handoff.ingest(INTAKE)
    keys = ("kind", "referral", "first_response")
    assert [{k: r[k] for k in keys} for r in results] == [{k: e[k] for k in keys} for e in EXPECTED]
    assert [Path(r["source"]).name for r in results] == [e["file"] for e in EXPECTED]
