"""A forged From never attributes a prospect once HANDOFF_TRUSTED_AUTHSERV_ID is set."""

from __future__ import annotations

import pytest

from tests.support.handoff import Handoff
from tests.support.messages import message, write

OURS = "mx.ours.example"


def intro(results: str | None, n: int = 1) -> bytes:
    headers = {"Authentication-Results": results} if results else {}
    return message(to=f"Jane {n} <jane{n}@hooli{n}.example>", headers=headers)


def test_a_forged_intro_waits_in_triage_and_a_verified_one_is_a_referral(
    scenario: Handoff,
    tmp_path,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setenv("HANDOFF_TRUSTED_AUTHSERV_ID", OURS)
    forged = write(
        tmp_path, "forged.eml", intro(f"{OURS}; dmarc=fail header.from=acmeconsulting.example", 1)
    )
    elsewhere = write(tmp_path, "elsewhere.eml", intro("mx.evil.example; dmarc=pass", 2))
    genuine = write(
        tmp_path, "genuine.eml", intro(f"{OURS}; dmarc=pass header.from=acmeconsulting.example", 3)
    )
    results = scenario.ingest(forged, elsewhere, genuine)
    assert [(r["kind"], r["referral"]) for r in results] == [
        ("sender_unverified", None),
        ("sender_unverified", None),
        ("new_intro", "ACME-1"),
    ]
    assert "dmarc=fail" in results[0]["reason"]  # type: ignore[operator]
    assert "no Authentication-Results from mx.ours.example" in results[1]["reason"]  # type: ignore[operator]
    triage = scenario.json("triage")
    assert [t["kind"] for t in triage] == ["sender_unverified", "sender_unverified"]  # type: ignore[index,union-attr]


def test_without_the_setting_from_is_taken_as_written(scenario: Handoff, tmp_path) -> None:  # type: ignore[no-untyped-def]
    forged = write(tmp_path, "forged.eml", intro(f"{OURS}; dmarc=fail", 1))
    [result] = scenario.ingest(forged)
    assert (result["kind"], result["referral"]) == ("new_intro", "ACME-1")
