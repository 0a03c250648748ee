"""Monitoring's data offered to other features (dashboards) through `bot.metrics`, so they
never import this package. Reads are synchronous and answered from memory: the local host's
newest sample, agents' posts, and a cache of hosts known only from the shared database,
refreshed in the background at most every `REFRESH_S` seconds."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.metrics import MetricPoint, StatusItem

if TYPE_CHECKING:
    from cogs.monitoring.monitor import Monitor

log = logging.getLogger(__name__)

REFRESH_S = 30.0


class MonitorMetrics:
    """A `bot.metrics.MetricsSource` over a running Monitor."""

    def __init__(self, monitor: Monitor) -> None:
        self.monitor = monitor
        self._stored: dict[str, dict[str, float]] = {}  # hosts seen only in the database
        self._refreshed_at = float("-inf")
        self._refresh: asyncio.Task[None] | None = None

    # -- the cache of hosts that report into the database from elsewhere ------------------
    def _maybe_refresh(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        if self._refresh is not None or loop.time() - self._refreshed_at < REFRESH_S:
            return
        self._refreshed_at = loop.time()
        self._refresh = loop.create_task(self._load_stored(), name="metrics-hosts")

    async def _load_stored(self) -> None:
        try:
            stored: dict[str, dict[str, float]] = {}
            for host in await self.monitor.hosts():
                if host == self.monitor.host or host in self.monitor.remote:
                    continue
                found = await self.monitor.history.latest(host)
                if found is not None:
                    stored[host] = dict(found[1])
            self._stored = stored
        except Exception:
            log.exception("Could not read the hosts known to the monitoring history")
        finally:
            self._refresh = None

    async def close(self) -> None:
        if self._refresh is not None:
            self._refresh.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresh

    # -- MetricsSource --------------------------------------------------------------------
    def hosts(self) -> list[str]:
        self._maybe_refresh()
        others = sorted((set(self.monitor.remote) | set(self._stored)) - {self.monitor.host})
        return [self.monitor.host, *others]

    def latest(self, host: str) -> dict[str, float]:
        if host == self.monitor.host:
            sample = self.monitor.sampler.latest
            return dict(sample.metrics) if sample is not None else {}
        if host in self.monitor.remote:
            return dict(self.monitor.remote[host][1])
        return dict(self._stored.get(host, {}))

    def metric_names(self, host: str) -> list[str]:
        return sorted(self.latest(host))

    async def history(
        self, host: str, metric: str, start: datetime, end: datetime
    ) -> list[MetricPoint]:
        series = await self.monitor.history.query(
            host, metric, start.timestamp(), end.timestamp(), now=self.monitor.clock()
        )
        return [
            MetricPoint(datetime.fromtimestamp(ts, UTC), value) for ts, value, _ in series.points
        ]

    def _rows(self, host: str, collector: str, key: str) -> list[dict]:
        sample = self.monitor.sampler.latest
        if host != self.monitor.host or sample is None:
            return []  # per-item details are kept for the local host only
        return list((sample.info.get(collector) or {}).get(key, []))

    def containers(self, host: str) -> list[StatusItem]:
        items = []
        for row in self._rows(host, "docker", "containers"):
            state, health = str(row.get("state", "unknown")), str(row.get("health", "none"))
            detail = state if health in ("none", "") else f"{state}, {health}"
            ok = state == "running" and health != "unhealthy"
            items.append(StatusItem(str(row.get("name", "?")), ok, detail))
        return items

    def services(self, host: str) -> list[StatusItem]:
        return [
            StatusItem(str(row.get("name", "?")), bool(row.get("ok")), str(row.get("detail", "")))
            for row in self._rows(host, "services", "services")
        ]
