"""SQLite run in the event loop's own thread, for commands that do nothing but database work.

aiosqlite runs each statement in a thread of its own and hands the result back through the
event loop: two thread wake-ups per statement, which on a virtual machine cost ~190 µs each
(bench/ingest.py: 17 statements a message, three quarters of `handoff ingest`'s time). A
command with nothing else to do (no Slack acks, no /healthz to answer) loses nothing by
waiting for SQLite itself, so `handoff ingest` gives aiosqlite a queue that runs each statement
at once, in the caller's thread (bench/ingest.py: 250 msg/s where it was 170). `handoff serve`
keeps the worker thread: there a statement waiting on another process's write lock must not
stop the event loop.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Generator
from typing import Any

import aiosqlite


class _RunAtOnce:
    """aiosqlite's queue to its worker thread, whose items run as they are put."""

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting caller, as aiosqlite does
            if future is not None and not future.done():
                future.set_exception(exc)
            return
        if future is not None and not future.done():
            future.set_result(result)


class InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection with no worker thread: statements run in the caller's thread."""

    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self._tx = _RunAtOnce()  # type: ignore[assignment]

    def __await__(self) -> Generator[Any, None, aiosqlite.Connection]:
        return self._connect().__await__()  # no thread to start


def inline_creator(path: str) -> Callable[[], Any]:
    """An `async_creator` for create_async_engine: connections of this kind to `path`."""

    async def create() -> InlineConnection:
        connection = InlineConnection(lambda: sqlite3.connect(path, check_same_thread=False))
        await connection
        return connection

    return create
