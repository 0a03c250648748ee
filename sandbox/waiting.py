"""Futures waiting for the next log entry that matches a predicate."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

Predicate = Callable[[dict[str, Any]], bool]


class Waiters:
    """Pending waits on one log; :meth:`notify` each new entry."""

    def __init__(self) -> None:
        self._pending: list[tuple[Predicate, asyncio.Future[dict[str, Any]]]] = []

    def notify(self, item: dict[str, Any]) -> None:
        for waiter in list(self._pending):
            predicate, fut = waiter
            if fut.done():
                self._pending.remove(waiter)
                continue
            try:
                matched = predicate(item)
            except Exception as error:
                fut.set_exception(error)
                self._pending.remove(waiter)
                continue
            if matched:
                fut.set_result(item)
                self._pending.remove(waiter)

    async def wait(
        self,
        log: list[dict[str, Any]],
        matches: Predicate,
        timeout: float,
        since: int | None,
    ) -> dict[str, Any]:
        """The first entry of ``log[since:]`` that matches, else the next one notified."""
        if since is not None:
            for item in log[since:]:
                if matches(item):
                    return item
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        waiter = (matches, fut)
        self._pending.append(waiter)
        try:
            return await asyncio.wait_for(fut, timeout)
        finally:
            if waiter in self._pending:
                self._pending.remove(waiter)

    def cancel_all(self) -> None:
        for _, fut in self._pending:
            fut.cancel()
        self._pending.clear()
