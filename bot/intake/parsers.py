"""Batches parsed ahead in a process of their own, while the batch before them is written.

Parsing is pure Python (the stdlib's MIME reader, our forward search), and so is most of what
a write costs (SQLAlchemy, intake's rules): in two threads of one process they take turns on
the GIL, and together ran slower than one after the other. A bulk reader (`handoff ingest`,
an IMAP catch-up) on a machine with a second core hands each batch's bytes to a parser process
and gets the ParsedMessages back, so that parsing batch n+1 and writing batch n run at once.

The process is started at the first bulk batch and serves the whole process from then on; until
it is up, and whenever it cannot serve (one core, a parser process that died), a batch is parsed
in a thread of this process when it is needed, as single messages always are. `parse` never
raises, and the same function runs either way: the result is the same message.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import logging
import multiprocessing
import os
import threading
from collections.abc import Awaitable

from bot.db import cpus, other_cpus
from bot.email.parse import ParsedMessage, parse

log = logging.getLogger(__name__)
BULK = 16  # messages in a batch from which a parser process pays for the trip


def parse_all(raws: list[bytes]) -> list[ParsedMessage]:
    """What the parser process runs: each message parsed, in order."""
    return [parse(raw) for raw in raws]


def _ready() -> bool:
    return True


def _start(cpus: set[int]) -> None:
    """In the parser process: run on the CPUs its parent left free (bot.db.share_one_cpu keeps
    a SQLite process's threads on one CPU, and a child would inherit that)."""
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setaffinity(0, cpus)


class Parsers:
    """One parser process, started at the first bulk batch; a thread of ours when it cannot be."""

    def __init__(self, *, processes: bool | None = None) -> None:
        self.processes = len(cpus()) > 1 if processes is None else processes
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self._up: concurrent.futures.Future[bool] | None = None
        self._lock = threading.Lock()
        self.away = 0  # batches sent to the parser process

    def ahead(self, raws: list[bytes]) -> Awaitable[list[ParsedMessage]]:
        """The batch's ParsedMessages: being parsed from now on when the parser process is up,
        else parsed in a thread when awaited (never beside a write, which it would slow)."""
        pool = self._pool_if_up() if self.processes and len(raws) >= BULK else None
        if pool is None:
            return asyncio.to_thread(parse_all, raws)
        try:
            future = pool.submit(parse_all, raws)
        except RuntimeError:  # broken or shut down meanwhile
            return asyncio.to_thread(parse_all, raws)
        self.away += 1
        return self._or_here(asyncio.wrap_future(future), raws)

    async def _or_here(
        self, future: Awaitable[list[ParsedMessage]], raws: list[bytes]
    ) -> list[ParsedMessage]:
        try:
            return await future
        except concurrent.futures.process.BrokenProcessPool as exc:
            # Killed (the OOM killer, an operator): this batch and the next are parsed here.
            log.warning("the parser process died (%s); parsing in this process", exc)
            self.processes = False
            return await asyncio.to_thread(parse_all, raws)

    def start(self) -> concurrent.futures.Future[bool] | None:
        """Start the parser process now (it is otherwise started by the first bulk batch);
        returns what tells when it is up, or None when batches are parsed here."""
        with self._lock:
            if not self.processes:
                return None
            if self._pool is None:
                # spawn, not fork: this process has threads (the database's), and a fork
                # copies their locks in whatever state they are.
                context = multiprocessing.get_context("spawn")
                self._pool = concurrent.futures.ProcessPoolExecutor(
                    1, mp_context=context, initializer=_start, initargs=(other_cpus(),)
                )
                self._up = self._pool.submit(_ready)
            return self._up

    def _pool_if_up(self) -> concurrent.futures.ProcessPoolExecutor | None:
        up = self.start()
        if up is None or not up.done():
            return None
        if up.exception() is not None:
            log.warning(
                "the parser process did not start (%s); parsing in this process", up.exception()
            )
            self.processes = False
            return None
        return self._pool

    def close(self) -> None:
        """The parser process stopped (it is started again at the next bulk batch)."""
        with self._lock:
            pool, self._pool, self._up = self._pool, None, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


# A single message, or a batch with no parser process to go to: parsed in a thread.
here = Parsers(processes=False)
_SHARED: Parsers | None = None


def shared() -> Parsers:
    """The process's parsers, for every bulk reader in it."""
    global _SHARED  # noqa: PLW0603 - one parser process per process, made at first use
    if _SHARED is None:
        _SHARED = Parsers()
        # Before the interpreter tears down the modules its executor's threads still use.
        atexit.register(_SHARED.close)
    return _SHARED
