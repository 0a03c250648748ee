"""A MetricsSource stand-in for the dashboard tests and bench, speaking `bot.metrics` v2.

Every metric name comes from monitoring's catalogue (`name(pattern)` checks it is declared
and fills its placeholders), never spelled by hand from what a preset asks for: a preset
that drifts from what monitoring writes shows "unavailable" here too."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.metrics import GameServerView, HostView, MetricCatalogue, MetricPoint, StatusItem
from cogs.monitoring.catalogue import CATALOGUE


def name(pattern: str, *values: str) -> str:
    """A concrete metric name of a declared family: its sample name, or with `values` for
    its placeholders (in order)."""
    spec = CATALOGUE.find(pattern)
    assert spec is not None and spec.pattern == pattern, f"{pattern!r} is not in the catalogue"
    if not values:
        return spec.sample_name()
    filled = pattern
    for placeholder, value in zip(spec.placeholders, values, strict=True):
        filled = filled.replace("{" + placeholder + "}", value, 1)
    return filled


CPU = name("cpu.percent")
MEM = name("mem.percent")
LOAD = name("load.1")


def lab_values() -> dict[str, float]:
    return {
        CPU: 12.0,
        MEM: 40.0,
        name("disk.{mount}.percent", "/"): 55.0,
        name("disk.{mount}.percent", "/data"): 70.0,
        LOAD: 0.5,
        name("temp.{chip}"): 48.0,
        name("net.{nic}.rx_bps"): 1536.0,
        name("net.{nic}.tx_bps"): 256.0,
        name("net.{nic}.rx_total"): 774_940_513.0,
        name("net.{nic}.tx_total"): 12_000_000.0,
    }


@dataclass
class FakeMetrics:
    """Hosts by key, each with its latest values; `labels` names them per guild (a guild
    not in `visible` sees no host at all)."""

    values: dict[str, dict[str, float]] = field(
        default_factory=lambda: {
            "lab-1": lab_values(),
            "lab-2": {CPU: 80.0, MEM: 10.0, name("disk.{mount}.percent", "/"): 5.0},
        }
    )
    container_items: list[StatusItem] = field(
        default_factory=lambda: [StatusItem("web", True, "healthy"), StatusItem("db", False)]
    )
    history_points: list[float] = field(default_factory=lambda: [1.0, 3.0, 2.0, 5.0])
    hidden_names: bool = False  # as with "Show host names" off
    visible: set[int] | None = None  # guilds that may see the hosts (None: every guild)
    down: dict[str, str] = field(default_factory=dict)  # collector -> why
    games: dict[int, list[GameServerView]] = field(default_factory=dict)  # guild -> its own

    @property
    def catalogue(self) -> MetricCatalogue:
        return CATALOGUE

    def _sees(self, guild_id: int, key: str) -> bool:
        return key in self.values and (self.visible is None or guild_id in self.visible)

    def host_label(self, guild_id: int, key: str) -> str:
        if not self.hidden_names:
            return key
        return f"host {sorted(self.values).index(key) + 1}" if key in self.values else "host ?"

    def hosts(self, guild_id: int) -> list[HostView]:
        return [
            HostView(key, self.host_label(guild_id, key), index == 0)
            for index, key in enumerate(self.values)
            if self._sees(guild_id, key)
        ]

    def metric_names(self, guild_id: int, key: str) -> list[str]:
        return sorted(self.latest(guild_id, key))

    def latest(self, guild_id: int, key: str) -> dict[str, float]:
        return dict(self.values[key]) if self._sees(guild_id, key) else {}

    async def history(
        self, guild_id: int, key: str, metric: str, start: datetime, end: datetime
    ) -> list[MetricPoint]:
        if not self._sees(guild_id, key):
            return []
        step = (end - start) / max(len(self.history_points), 1)
        return [MetricPoint(start + step * i, value) for i, value in enumerate(self.history_points)]

    def containers(self, guild_id: int, key: str) -> list[StatusItem]:
        if not self._sees(guild_id, key) or "docker" in self.down:
            return []
        return list(self.container_items)

    def services(self, guild_id: int, key: str) -> list[StatusItem]:
        return list(self.container_items) if self._sees(guild_id, key) else []

    def unavailable(self, guild_id: int, key: str) -> dict[str, str]:
        return dict(self.down) if self._sees(guild_id, key) else {}

    def version(self, guild_id: int) -> object:
        return None  # tests change the fields at will: never kept

    def game_servers(self, guild_id: int) -> list[GameServerView]:
        return list(self.games.get(guild_id, []))


@dataclass
class FakeActions:
    """The actions service (`cogs.dashboards.dispatch.Actions`) offering `offered`."""

    offered: tuple[str, ...] = ()
    ran: list[str] = field(default_factory=list)

    def names(self) -> tuple[str, ...]:
        return self.offered

    async def run(self, name: str) -> str:
        self.ran.append(name)
        return f"{name} done"
