"""Stages both ways: HANDOFF_HUBSPOT_STAGES reads each CRM stage as one of Handoff's; written
the other way, a Handoff stage goes to the first CRM stage that reads as it."""

from __future__ import annotations

from dataclasses import dataclass

from bot.vocabulary import Stage

# Stages that come before a meeting have no stage of their own in a sales pipeline: their
# deal sits at the pipeline's first stage.
EARLY = (Stage.NEW, Stage.CLAIMED, Stage.CONTACTED)


@dataclass(frozen=True)
class StageMap:
    """CRM stage id -> Handoff stage, in the order given."""

    pairs: tuple[tuple[str, Stage], ...]

    @classmethod
    def parse(cls, text: str) -> StageMap:
        """`closedwon=won,closedlost=lost,…`; ValueError naming what is wrong."""
        pairs = []
        for item in (p.strip() for p in text.split(",")):
            if not item:
                continue
            crm, sep, ours = (x.strip() for x in item.partition("="))
            if not sep or not crm or not ours:
                raise ValueError(f"{item!r} is not crm_stage=handoff_stage")
            try:
                stage = Stage(ours.lower())
            except ValueError:
                names = ", ".join(s.value for s in Stage if s != Stage.NEW)
                raise ValueError(f"{ours!r} is not a Handoff stage ({names})") from None
            if stage == Stage.NEW:
                raise ValueError("a CRM stage cannot read as new (a referral is new until claimed)")
            pairs.append((crm, stage))
        if not pairs:
            raise ValueError("no stages given")
        if Stage.WON not in {s for _, s in pairs}:
            raise ValueError("no CRM stage reads as won")
        if pairs[0][1] in (Stage.WON, Stage.LOST, Stage.DISQUALIFIED):
            # The first is where a new deal starts (before a meeting): never a closed stage.
            raise ValueError(
                f"the first stage, {pairs[0][0]!r}, is where deals start: not a closed one"
            )
        return cls(tuple(pairs))

    def ours(self, crm_stage: str | None) -> Stage | None:
        """The Handoff stage a CRM stage reads as; None for a stage the map does not name."""
        return next((s for c, s in self.pairs if c == crm_stage), None)

    def theirs(self, stage: str) -> str:
        """The CRM stage a Handoff stage is written as."""
        wanted = Stage(stage)
        if wanted == Stage.DISQUALIFIED:
            wanted = Stage.LOST if self._has(Stage.LOST) else wanted
        for crm, ours in self.pairs:
            if ours == wanted:
                return crm
        return self.pairs[0][0]  # before a meeting: the first stage listed

    def _has(self, stage: Stage) -> bool:
        return any(s == stage for _, s in self.pairs)

    def crm_stages(self) -> list[str]:
        return [c for c, _ in self.pairs]
