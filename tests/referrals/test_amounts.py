"""A won deal's amount (issue 19, finding 10): what cannot be revenue never reaches a report."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.models import utcnow
from bot.referrals import actions
from bot.referrals.acting import Actor, Outcome, Refused
from bot.vocabulary import Role, Stage
from tests.support.messages import message, write

REP = Actor(user="U0REP1")


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        ("nan", "A won deal's amount is a number above 0."),
        ("inf", "A won deal's amount is a number above 0."),
        ("-5", "A won deal's amount is a number above 0."),
        ("0", "A won deal's amount is a number above 0."),
        ("1.7e308", "A won deal's amount is at most 1,000,000,000,000."),
        ("lots", "Enter the amount as a number, e.g. 12500."),
        ("", "A won deal needs its amount."),
    ],
)
def test_an_amount_that_is_not_revenue_is_refused_with_its_reason(typed: str, said: str) -> None:
    with pytest.raises(Refused) as refused:
        actions.won_amount(typed)
    assert str(refused.value) == said


def test_amounts_as_people_type_them() -> None:
    assert actions.won_amount("48000") == 48000.0
    assert actions.won_amount("12,500.505") == 12500.5
    assert actions.won_amount(" 1000000000000 ") == 1e12


async def test_two_absurd_wins_leave_the_report_readable(
    engine: AsyncEngine, scenario, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    for n, prospect in enumerate(["jane@hooli.example", "ann@initrode.example"]):
        await asyncio.to_thread(scenario.ingest, write(tmp_path, f"{n}.eml", message(to=prospect)))
        ref = f"ACME-{n + 1}"
        at = utcnow()
        await actions.claim(
            engine=engine, ref=ref, actor=REP, role=Role.SOURCED, at=at, request=f"claim-{n}"
        )
        for typed in (float("nan"), 1.7e308):
            with pytest.raises(Refused):
                await actions.set_stage(
                    engine=engine,
                    ref=ref,
                    actor=REP,
                    stage=Stage.WON,
                    amount=typed,
                    at=at,
                    request=f"won-{n}-{typed}",
                )
        await actions.set_stage(
            engine=engine,
            ref=ref,
            actor=REP,
            stage=Stage.WON,
            amount=48000.0,
            at=at,
            request=f"won-{n}",
        )
    shown = await asyncio.to_thread(scenario, "report", "--period", "this quarter", "--json")
    report = json.loads(shown)
    assert report["totals"]["won"] == 2
    assert report["totals"]["revenue"] == 96000.0
    assert report["currency"] == "USD"  # HANDOFF_CURRENCY's default


async def test_a_win_names_its_currency(
    engine: AsyncEngine, scenario, tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HANDOFF_CURRENCY", "eur")
    await asyncio.to_thread(scenario.ingest, write(tmp_path, "1.eml", message()))
    at = utcnow()
    await actions.claim(
        engine=engine, ref="ACME-1", actor=REP, role=Role.SOURCED, at=at, request="claim"
    )
    await actions.set_stage(
        engine=engine,
        ref="ACME-1",
        actor=REP,
        stage=Stage.WON,
        amount=12500.0,
        at=at,
        request="won",
        currency="EUR",
    )
    shown = await asyncio.to_thread(scenario.json, "referrals", "show", "ACME-1")
    [won] = [e for e in shown["events"] if e["kind"] == "stage_changed"]  # type: ignore[index]
    assert won["detail"] == "stage claimed → won (amount 12,500.00 EUR)"
    report = json.loads(await asyncio.to_thread(scenario, "report", "--json"))
    assert report["currency"] == "EUR"
    text = await asyncio.to_thread(scenario, "report")
    assert "revenue in EUR" in text


def test_a_currency_that_is_not_a_code_is_refused_naming_the_setting(
    db_url: str,
    handoff,
    monkeypatch,  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setenv("HANDOFF_CURRENCY", "euros")
    handoff("report", expect=2)
    assert "HANDOFF_CURRENCY" in handoff.err and "ISO 4217" in handoff.err


async def test_a_stage_set_again_moves_nothing_and_records_nothing(
    engine: AsyncEngine, scenario, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """A second gesture for the stage the deal is at (a user who saw an error and tried again
    while the first was applied after all) adds no event and no notice; a new amount does."""
    await asyncio.to_thread(scenario.ingest, write(tmp_path, "1.eml", message()))
    at = utcnow()
    await actions.claim(
        engine=engine, ref="ACME-1", actor=REP, role=Role.SOURCED, at=at, request="claim"
    )

    async def move(stage: Stage, request: str, amount: float | None = None) -> Outcome:
        return await actions.set_stage(
            engine=engine,
            ref="ACME-1",
            actor=REP,
            stage=stage,
            amount=amount,
            at=at,
            request=request,
        )

    assert (await move(Stage.MEETING, "meeting-1")).note is None
    again = await move(Stage.MEETING, "meeting-2")
    assert again.note == "ACME-1 is at meeting already."
    await move(Stage.WON, "won-1", 1000.0)
    assert (await move(Stage.WON, "won-2", 1000.0)).note == "ACME-1 is at won already."
    assert (await move(Stage.WON, "won-3", 1500.0)).note is None  # the amount corrected
    shown = json.loads(await asyncio.to_thread(scenario, "referrals", "show", "ACME-1", "--json"))
    moves = [e["detail"] for e in shown["events"] if e["kind"] == "stage_changed"]
    assert moves == [
        "stage claimed → meeting",
        "stage meeting → won (amount 1,000.00 USD)",
        "stage won → won (amount 1,500.00 USD)",
    ]
