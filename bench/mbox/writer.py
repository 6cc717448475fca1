"""The mix of kinds, shuffled into a schedule, and the mbox file it is written to."""

from __future__ import annotations

import os
import random
from collections.abc import Callable

from .awkward import awkward
from .delivery import duplicate
from .forwards import forward
from .generator import Generator
from .intros import conflict, intro
from .noise import noise
from .replies import reply

CATEGORIES = ("intro", "forward", "reply", "duplicate", "conflict", "noise", "awkward")
WEIGHTS = {
    "intro": 0.45,
    "forward": 0.10,
    "reply": 0.20,
    "duplicate": 0.08,
    "conflict": 0.05,
    "noise": 0.07,
    "awkward": 0.05,
}
# Each writes one message of its kind; False when the mailbox has no history for it yet (no
# intro to reply to, nothing to re-deliver), and an intro is written instead.
KINDS: dict[str, Callable[[Generator], bool]] = {
    "intro": intro,
    "forward": forward,
    "reply": reply,
    "duplicate": duplicate,
    "conflict": conflict,
    "noise": noise,
    "awkward": awkward,
}


def schedule(n: int, r: random.Random) -> list[str]:
    """The kinds of `n` messages in order: exact counts after rounding, shuffled."""
    target = {c: int(round(WEIGHTS[c] * n)) for c in CATEGORIES}
    target["intro"] += n - sum(target.values())
    if target["intro"] < 0:  # tiny n: rounding overshoot
        for c in CATEGORIES[::-1]:
            while target["intro"] < 0 and target[c] > 0 and c != "intro":
                target[c] -= 1
                target["intro"] += 1
    sched = [c for c in CATEGORIES for _ in range(target[c])]
    r.shuffle(sched)
    warm = min(15, n)
    for i in range(warm):  # start with some intros so replies/duplicates have history
        if sched[i] != "intro":
            for j in range(warm, n):
                if sched[j] == "intro":
                    sched[i], sched[j] = sched[j], sched[i]
                    break
    return sched


def generate(path: str | os.PathLike, messages: int = 10000, seed: int = 1) -> tuple[dict, dict]:
    """Write the mbox; return (counts per category, counts per sub-kind)."""
    counts = {c: 0 for c in CATEGORIES}
    with open(path, "wb", buffering=1 << 20) as fh:
        g = Generator(fh, messages, seed)
        for kind in schedule(messages, g.r):
            g.tick()
            if not KINDS[kind](g):
                kind = "intro"
                intro(g)
            counts[kind] += 1
    return counts, dict(sorted(g.details.items()))


def write_mbox(path: str | os.PathLike, messages: int = 10000, seed: int = 1) -> dict:
    """Write `messages` messages to `path` (mboxrd, LF); return counts per category."""
    return generate(path, messages, seed)[0]
