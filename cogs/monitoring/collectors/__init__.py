"""Collectors: each reads one source and returns a `Reading`, never raising into the loop.

A reading is flat numeric metrics (`cpu.percent`, `disk./.percent`, ...) that history
stores, plus `info` (names, states) that only the live view shows. A collector that cannot
work says why in `unavailable`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Reading:
    metrics: dict[str, float] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    unavailable: str | None = None

    @property
    def ok(self) -> bool:
        return self.unavailable is None


def unavailable(reason: str) -> Reading:
    return Reading(unavailable=reason)


def metric_key(part: str) -> str:
    """A name (mount point, interface, container) made safe as one dotted metric segment."""
    cleaned = "".join(ch if ch.isalnum() or ch in "/-_:@" else "_" for ch in part.strip())
    return cleaned[:60] or "_"
