"""`handoff hubspot setup`: the deal properties Handoff writes, in a property group "Handoff",
created once; the pipeline and the stage map checked against the portal."""

from __future__ import annotations

from typing import Any

from bot.crm.stages import StageMap
from bot.hubspot.api import HubSpot, NotFound
from bot.vocabulary import ROLE_LABELS

GROUP = {"name": "handoff", "label": "Handoff", "displayOrder": -1}


def _text(name: str, label: str, about: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "label": label,
        "type": "string",
        "fieldType": "text",
        "groupName": GROUP["name"],
        "description": about,
    } | extra


PROPERTIES: list[dict[str, Any]] = [
    _text(
        "handoff_ref",
        "Handoff ref",
        "The referral in Handoff, e.g. ACME-12: the key the sync finds the deal by.",
        hasUniqueValue=True,
    ),
    _text("handoff_partner", "Referral partner", "The partner whose address the intro copied."),
    {
        "name": "handoff_partner_role",
        "label": "Partner role",
        "type": "enumeration",
        "fieldType": "select",
        "groupName": GROUP["name"],
        "description": "The partner's part in the deal, as claimed in Slack (two lanes).",
        "options": [
            {"label": label, "value": str(role), "displayOrder": n, "hidden": False}
            for n, (role, label) in enumerate(ROLE_LABELS.items())
        ],
    },
    {
        "name": "handoff_intro_received_at",
        "label": "Intro received at",
        "type": "datetime",
        "fieldType": "date",
        "groupName": GROUP["name"],
        "description": "When the partner's intro arrived: first in time wins.",
    },
    _text(
        "handoff_intro_message_id",
        "Intro Message-ID",
        "The intro email's Message-ID: the proof of the attribution.",
    ),
    _text("handoff_owner", "Handoff owner", "The rep who claimed the referral in Slack."),
    _text(
        "handoff_next_step",
        "Next joint step",
        "The next step agreed with the partner.",
        fieldType="textarea",
    ),
    {
        "name": "handoff_next_step_due",
        "label": "Next joint step due",
        "type": "date",
        "fieldType": "date",
        "groupName": GROUP["name"],
        "description": "When the next joint step is due.",
    },
    _text("handoff_slack_url", "Slack post", "The referral's post in Slack: its timeline."),
]


async def set_up(api: HubSpot, stages: StageMap, pipeline: str) -> list[str]:
    """Create what is missing; the lines `handoff hubspot setup` prints."""
    said: list[str] = []
    props = api.client.crm.properties
    try:
        await api.call(
            "the Handoff property group", props.groups_api.get_by_name, "deals", "handoff"
        )
        said.append('property group "Handoff": there already')
    except NotFound:
        await api.call(
            "creating the property group",
            props.groups_api.create,
            "deals",
            property_group_create=GROUP,
        )
        said.append('property group "Handoff": created')
    missing = []
    for spec in PROPERTIES:
        try:
            await api.call(
                f"property {spec['name']}", props.core_api.get_by_name, "deals", spec["name"]
            )
        except NotFound:
            missing.append(spec)
    if missing:
        await api.call(
            "creating the deal properties",
            props.batch_api.create,
            "deals",
            batch_input_property_create={"inputs": missing},
        )
    said.append(
        f"deal properties: {len(missing)} created, {len(PROPERTIES) - len(missing)} there already "
        f"({', '.join(p['name'] for p in PROPERTIES)})"
    )
    try:
        found = await api.call(
            f"pipeline {pipeline}",
            api.client.crm.pipelines.pipelines_api.get_by_id,
            "deals",
            pipeline,
        )
    except NotFound:
        raise NotFound(
            f"HANDOFF_HUBSPOT_PIPELINE: HubSpot has no deal pipeline {pipeline!r}", 404
        ) from None
    ids = [s.id for s in found.stages or []]
    unknown = [s for s in stages.crm_stages() if s not in ids]
    if unknown:
        raise NotFound(
            f"HANDOFF_HUBSPOT_STAGES: pipeline {pipeline!r} has no stage "
            f"{', '.join(unknown)} (its stages: {', '.join(ids)})",
            404,
        )
    said.append(
        f"pipeline {found.label!r} ({pipeline}): "
        + ", ".join(f"{c} = {stages.ours(c)}" for c in stages.crm_stages())
    )
    return said
