"""Where an aiosqlite connection that nobody closed was opened.

aiosqlite warns (a ResourceWarning, an error in this suite) when such a connection is
garbage-collected, which may happen during a later test, and names it by its repr: an
address. Here each connection records, when it is created, the test running and the
asyncio task that opened it, and its repr says them, so the warning points at the cause."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import aiosqlite.core

_created = aiosqlite.core.Connection.__init__


def _opened_by() -> str:
    try:
        task = asyncio.current_task()
    except RuntimeError:  # no running loop
        task = None
    where = os.environ.get("PYTEST_CURRENT_TEST", "no test").rsplit(" (", 1)[0]
    return f"task {task.get_name() if task else None!r} during {where}"


def _init(self: Any, *args: Any, **kwargs: Any) -> None:
    _created(self, *args, **kwargs)
    self._opened_by = _opened_by()


def _repr(self: Any) -> str:
    return f"<aiosqlite.Connection opened by {getattr(self, '_opened_by', 'unknown')}>"


aiosqlite.core.Connection.__init__ = _init  # type: ignore[method-assign]
aiosqlite.core.Connection.__repr__ = _repr  # type: ignore[method-assign]
