"""Acme's intro through `handoff ingest`, as the Slack tests use it: the referral shown, claimed
on its post, its stage set in the modal; and the outbox waited on."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.slack import blocks
from tests.support.handoff import Handoff
from tests.support.paths import FIXTURES
from tests.support.slackbot import Bot

INTAKE = FIXTURES / "intake"
INTRO = INTAKE / "01-acme-gmail-intro-cc-partner-plus-address.eml"


async def ingest(handoff: Handoff, *paths: Path) -> list[dict[str, Any]]:
    return await asyncio.to_thread(handoff.ingest, *paths)


async def shown(handoff: Handoff, ref: str) -> dict[str, Any]:
    return await asyncio.to_thread(handoff.json, "referrals", "show", ref)  # type: ignore[return-value]


async def count(engine: AsyncEngine, sql: str) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text(sql))).scalar_one())


async def stage_is(handoff: Handoff, stage: str) -> bool:
    return (await shown(handoff, "ACME-1"))["stage"] == stage


async def outbox_empty(engine: AsyncEngine) -> bool:
    return await count(engine, "SELECT count(*) FROM outbox WHERE done_at IS NULL") == 0


def stage_values(stage: str, amount: str | None = None) -> dict[str, Any]:
    return {
        "stage": {"stage": {"type": "static_select", "selected_option": {"value": stage}}},
        "amount": {"amount": {"type": "number_input", "value": amount}},
    }


async def claimed(bot: Bot, handoff: Handoff, user: str = "U0REP1") -> dict[str, Any]:
    """ACME-1 ingested, posted and claimed by `user`; returns its post."""
    await ingest(handoff, INTRO)
    post = await bot.post_of("ACME-1")
    await bot.click(blocks.CLAIM_SOURCED, user=user, value="ACME-1", ref_post=post)
    await bot.until("the claim", lambda: bot.slack.calls_to("chat.update"))
    return post
