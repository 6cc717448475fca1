"""A SIGTERM that comes while `handoff serve` is still starting (importing, migrating,
checking its servers) is remembered, so that serve stops cleanly once started instead of
dying half-way by Python's default action."""

from __future__ import annotations

import signal
import threading

early_stop = threading.Event()


def remember_sigterm() -> None:
    """From now until the event loop takes over the signal: note it, do not die of it."""
    signal.signal(signal.SIGTERM, lambda *_: early_stop.set())
