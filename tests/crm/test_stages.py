"""HANDOFF_HUBSPOT_STAGES both ways: how HubSpot's stages read as Handoff's, and back."""

from __future__ import annotations

import pytest

from bot.crm.stages import StageMap
from bot.vocabulary import DEFAULT_HUBSPOT_STAGES, Stage

DEFAULT = StageMap.parse(DEFAULT_HUBSPOT_STAGES)


def test_hubspots_default_pipeline_reads_as_handoffs_stages() -> None:
    assert DEFAULT.ours("appointmentscheduled") == Stage.MEETING
    assert DEFAULT.ours("contractsent") == Stage.OPPORTUNITY
    assert DEFAULT.ours("closedwon") == Stage.WON
    assert DEFAULT.ours("closedlost") == Stage.LOST
    assert DEFAULT.ours("somethingelse") is None


def test_handoffs_stages_go_to_the_first_hubspot_stage_that_reads_as_them() -> None:
    assert DEFAULT.theirs("opportunity") == "qualifiedtobuy"
    assert DEFAULT.theirs("won") == "closedwon"
    assert DEFAULT.theirs("disqualified") == "closedlost"
    # Before a meeting a deal has no stage of its own: the pipeline's first.
    for early in ("new", "claimed", "contacted"):
        assert DEFAULT.theirs(early) == "appointmentscheduled"


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("closedwon", "'closedwon' is not crm_stage=handoff_stage"),
        ("closedwon=wonn", "'wonn' is not a Handoff stage"),
        ("x=new,closedwon=won", "a CRM stage cannot read as new"),
        ("closedlost=lost", "no CRM stage reads as won"),
        (" , ", "no stages given"),
        ("closedwon=won,x=meeting", "the first stage, 'closedwon', is where deals start"),
    ],
)
def test_a_wrong_map_says_what_is_wrong(text: str, said: str) -> None:
    with pytest.raises(ValueError, match=said):
        StageMap.parse(text)


def test_a_wrong_map_stops_serve_naming_the_setting(handoff, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HANDOFF_HUBSPOT_TOKEN", "pat-na1-x")
    monkeypatch.setenv("HANDOFF_HUBSPOT_STAGES", "closedwon=wonn")
    handoff("hubspot", "setup", expect=2)
    assert "HANDOFF_HUBSPOT_STAGES: 'wonn' is not a Handoff stage" in handoff.err
