"""A MetricsSource stand-in for the dashboard tests and bench: values the test sets."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.metrics import MetricPoint, StatusItem


@dataclass
class FakeMetrics:
    values: dict[str, dict[str, float]] = field(
        default_factory=lambda: {
            "lab-1": {
                "cpu.percent": 12.0,
                "memory.percent": 40.0,
                "disk./.percent": 55.0,
                "disk./data.percent": 70.0,
                "load.1": 0.5,
                "temperature.cpu": 48.0,
                "net.rx": 1.5,
                "net.tx": 0.25,
            },
            "lab-2": {"cpu.percent": 80.0, "memory.percent": 10.0, "disk./.percent": 5.0},
        }
    )
    container_items: list[StatusItem] = field(
        default_factory=lambda: [StatusItem("web", True, "healthy"), StatusItem("db", False)]
    )
    history_points: list[float] = field(default_factory=lambda: [1.0, 3.0, 2.0, 5.0])

    def hosts(self) -> list[str]:
        return list(self.values)

    def metric_names(self, host: str) -> list[str]:
        return sorted(self.values.get(host, {}))

    def latest(self, host: str) -> dict[str, float]:
        return dict(self.values.get(host, {}))

    async def history(
        self, host: str, metric: str, start: datetime, end: datetime
    ) -> list[MetricPoint]:
        step = (end - start) / max(len(self.history_points), 1)
        return [MetricPoint(start + step * i, value) for i, value in enumerate(self.history_points)]

    def containers(self, host: str) -> list[StatusItem]:
        return list(self.container_items)

    def services(self, host: str) -> list[StatusItem]:
        return list(self.container_items)
