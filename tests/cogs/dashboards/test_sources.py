"""Collecting what widgets show: metrics per host, the chosen host and disk, containers,
server statistics, and "unavailable" for every source that is gone."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from cogs.dashboards.layout import parse_layout
from cogs.dashboards.render import ViewState
from cogs.dashboards.sources import NO_MONITORING, ServerStats, collect, disks_of
from tests.cogs.dashboards.fakes import CPU, LOAD, FakeMetrics, name


def metric(wid: str, name: str, fmt: str = "value", **extra: Any) -> dict[str, Any]:
    return {
        "id": wid,
        "title": wid,
        "source": {"kind": "metric", "metric": name, **extra},
        "format": fmt,
    }


LAYOUT = parse_layout(
    {
        "title": "t",
        "widgets": [
            metric("cpu", CPU),
            metric("disk", "disk.{disk}.percent", "bar"),
            metric("pinned", CPU, host="lab-2"),
            metric("gone", name("gpu.{index}.util")),
            metric("far", CPU, host="lab-9"),
            metric("spark", LOAD, "sparkline"),
            metric("hot", "temp.*", "value"),
            metric("net", "net.*", "table"),
            {"id": "c", "title": "C", "source": {"kind": "containers"}, "format": "status"},
            {"id": "m", "title": "M", "source": {"kind": "server", "stat": "members"}},
            {"id": "o", "title": "O", "source": {"kind": "server", "stat": "online"}},
        ],
    }
)


async def snap(state: ViewState | None = None, metrics: Any = None, stats: Any = None):  # type: ignore[no-untyped-def]
    return await collect(LAYOUT, state or ViewState(), metrics, stats, datetime.now(UTC))


async def test_metrics_follow_the_chosen_host_and_disk() -> None:
    fake = FakeMetrics()
    first = await snap(metrics=fake, stats=ServerStats(members=7))
    assert [h.key for h in first.hosts] == ["lab-1", "lab-2"] and first.disks == ("/", "/data")
    w = first.widgets
    assert w["cpu"].value == 12.0 and w["pinned"].value == 80.0
    assert w["disk"].value == 55.0
    assert w["gone"].unavailable == "no metric gpu.0.util on lab-1"
    assert w["far"].unavailable == "that host is not available to this server"
    assert w["spark"].history == (1.0, 3.0, 2.0, 5.0)
    assert w["hot"].value == 48.0 and w["hot"].unit == "°C"
    assert w["net"].rows == (("eth0", "↓ 1.5 KiB/s  ↑ 256 B/s  (739 MiB in, 11.4 MiB out)"),)
    assert [i.name for i in w["c"].items] == ["web", "db"]
    assert w["m"].value == 7.0 and w["o"].unavailable == "online is not known"
    chosen = await snap(ViewState(host="lab-2", disk="/"), fake)
    assert chosen.widgets["cpu"].value == 80.0
    data_disk = await snap(ViewState(host="lab-1", disk="/data"), fake)
    assert data_disk.widgets["disk"].value == 70.0
    # A host that stopped reporting falls back to the first one.
    assert (await snap(ViewState(host="lab-7"), fake)).widgets["cpu"].value == 12.0


async def test_without_monitoring_every_host_widget_is_unavailable() -> None:
    result = await snap(stats=ServerStats(members=3))
    assert result.widgets["cpu"].unavailable == NO_MONITORING
    assert result.widgets["c"].unavailable == NO_MONITORING
    assert result.widgets["m"].value == 3.0


async def test_a_failing_source_is_unavailable_not_fatal() -> None:
    class Broken(FakeMetrics):
        def containers(self, guild_id: int, key: str):  # type: ignore[no-untyped-def]
            raise RuntimeError("docker socket gone")

    result = await snap(metrics=Broken())
    assert result.widgets["c"].unavailable == "its source failed"
    assert result.widgets["cpu"].value == 12.0


def test_disks_come_from_disk_metric_names() -> None:
    assert disks_of(["disk./.percent", "cpu.percent", "disk./srv.percent", "disk./.used"]) == (
        "/",
        "/srv",
    )


async def test_idle_interfaces_are_left_out_and_a_missing_collector_says_why() -> None:
    fake = FakeMetrics()
    for suffix in ("rx_bps", "tx_bps", "rx_total", "tx_total"):
        fake.values["lab-1"][name("net.{nic}." + suffix, "ifb0")] = 0.0
    fake.down = {"gpu": "NVML is not available", "docker": "cannot reach the Docker API"}
    result = await snap(metrics=fake)
    assert [row[0] for row in result.widgets["net"].rows] == ["eth0"]
    assert result.widgets["gone"].unavailable == "gpu: NVML is not available"
    assert result.widgets["c"].unavailable == "docker: cannot reach the Docker API"


async def test_a_guild_reads_only_the_hosts_it_may_see() -> None:
    fake = FakeMetrics(visible={5})
    seen = await collect(LAYOUT, ViewState(), fake, None, datetime.now(UTC), guild_id=5)
    assert seen.widgets["cpu"].value == 12.0 and seen.widgets["pinned"].value == 80.0
    other = await collect(
        LAYOUT, ViewState(host="lab-1"), fake, None, datetime.now(UTC), guild_id=6
    )
    assert other.hosts == ()
    for wid in ("cpu", "pinned", "disk", "spark", "net", "c"):
        assert other.widgets[wid].unavailable == "that host is not available to this server"
