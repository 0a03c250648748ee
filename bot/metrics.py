"""The interface through which a feature that shows host metrics (dashboards) reads them
from the feature that collects them (monitoring), registered as
`bot.services.provided.provide(METRICS_SERVICE, source)`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

METRICS_SERVICE = "metrics"


@dataclass(frozen=True)
class MetricPoint:
    at: datetime
    value: float


@dataclass(frozen=True)
class StatusItem:
    """One container or service check: its name, whether it is up, and a short detail."""

    name: str
    ok: bool
    detail: str = ""


class MetricsSource(Protocol):
    def hosts(self) -> list[str]:
        """Host names that have reported, the local host first."""

    def metric_names(self, host: str) -> list[str]:
        """Every metric the host reports, e.g. "cpu.percent", "disk./.percent"."""

    def latest(self, host: str) -> dict[str, float]:
        """The newest value of each metric; a metric that is unavailable is absent."""

    async def history(
        self, host: str, metric: str, start: datetime, end: datetime
    ) -> list[MetricPoint]:
        """Values over a time range, at the resolution the range needs."""

    def containers(self, host: str) -> list[StatusItem]: ...

    def services(self, host: str) -> list[StatusItem]: ...
