"""Monitoring's data as other features read it (`bot.metrics.MetricsSource`)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest

from bot.metrics import StatusItem
from cogs.monitoring.metrics_source import MonitorMetrics
from cogs.monitoring.monitor import Monitor
from cogs.monitoring.sampler import Snapshot
from tests.cogs.monitoring.conftest import monitor  # noqa: F401
from tests.web.conftest import db  # noqa: F401

G = 111  # the guild that reads


def _local_sample(monitor: Monitor) -> None:  # noqa: F811
    monitor.sampler.latest = Snapshot(
        host=monitor.host,
        ts=time.time(),
        metrics={"cpu.percent": 12.0, "disk./.percent": 50.0},
        info={
            "docker": {
                "containers": [
                    {"name": "web", "state": "running", "health": "healthy"},
                    {"name": "db", "state": "running", "health": "unhealthy"},
                    {"name": "old", "state": "exited", "health": "none"},
                ]
            },
            "services": {"services": [{"id": 1, "name": "site", "ok": True, "detail": "200"}]},
        },
        status={},
    )


async def views(source: MonitorMetrics, monitor: Monitor, guild_id: int = G):  # type: ignore[no-untyped-def]  # noqa: F811
    await monitor.refresh_hosts(force=True)
    return source.hosts(guild_id)


async def test_local_and_agent_hosts_with_their_latest_values(monitor: Monitor) -> None:  # noqa: F811
    source = MonitorMetrics(monitor)
    _local_sample(monitor)
    await monitor.ingest("nas", time.time(), {"cpu.percent": 70.0})
    local, nas = await views(source, monitor)
    assert (local.local, nas.local) == (True, False)
    assert monitor.host not in local.key and "nas" not in nas.key  # opaque keys
    assert source.latest(G, local.key) == {"cpu.percent": 12.0, "disk./.percent": 50.0}
    assert source.metric_names(G, nas.key) == ["cpu.percent"]
    assert source.latest(G, "nowhere") == {}
    # a layout saved before keys were opaque still reads the host it may see
    assert source.latest(G, "nas") == {"cpu.percent": 70.0}
    await source.close()


async def test_containers_and_services_as_status_items(monitor: Monitor) -> None:  # noqa: F811
    source = MonitorMetrics(monitor)
    _local_sample(monitor)
    await monitor.ingest("nas", time.time(), {"cpu.percent": 70.0})
    local, nas = await views(source, monitor)
    assert source.containers(G, local.key) == [
        StatusItem("web", True, "running, healthy"),
        StatusItem("db", False, "running, unhealthy"),
        StatusItem("old", False, "exited"),
    ]
    assert source.services(G, local.key) == [StatusItem("site", True, "200")]
    assert source.containers(G, nas.key) == []  # details are kept for the local host only
    await source.close()


async def test_history_and_hosts_known_only_from_the_database(monitor: Monitor) -> None:  # noqa: F811
    now = time.time()
    await monitor.history.write("far", now - 20, {"load.1": 0.5})
    await monitor.history.write("far", now - 10, {"load.1": 0.7})
    source = MonitorMetrics(monitor, show_hosts=lambda guild_id: asyncio.sleep(0, True))
    source.hosts(G)  # starts the background read of the database's hosts
    for _ in range(100):
        if "far" in [h.label for h in source.hosts(G)]:
            break
        await asyncio.sleep(0.02)
    [far] = [h for h in source.hosts(G) if h.label == "far"]
    for _ in range(100):
        if source.latest(G, far.key):
            break
        await asyncio.sleep(0.02)
    assert source.latest(G, far.key) == {"load.1": pytest.approx(0.7)}  # 32-bit floats
    end = datetime.fromtimestamp(now, UTC)
    points = await source.history(G, far.key, "load.1", end - timedelta(minutes=5), end)
    assert [round(p.value, 2) for p in points] == [0.5, 0.7]
    await source.close()


async def test_host_names_hidden_until_the_guild_shows_them(monitor: Monitor) -> None:  # noqa: F811
    shown = {1: True, 2: False}

    async def show_hosts(guild_id: int) -> bool:
        return shown[guild_id]

    source = MonitorMetrics(monitor, show_hosts)
    _local_sample(monitor)
    await monitor.ingest("nas", time.time(), {"cpu.percent": 70.0})
    # Unknown yet: hidden, and the setting is read in the background.
    assert {h.label for h in await views(source, monitor, 1)} == {"host 1", "host 2"}
    nas = source.hosts(1)[1].key
    for _ in range(100):
        if source.host_label(1, nas) == "nas":
            break
        await asyncio.sleep(0.01)
    assert source.host_label(1, nas) == "nas"
    assert monitor.host not in {h.label for h in source.hosts(2)}
    assert all(h.label.startswith("host ") for h in source.hosts(2))
    assert source.catalogue.find("cpu.percent") is not None
    await source.close()
