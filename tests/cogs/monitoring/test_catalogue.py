"""Every metric name the real collectors write is in the catalogue (cogs/monitoring/
catalogue.py): the system collector on this machine, and the GPU and Docker collectors fed
by fakes of NVML and the Docker Engine API built from their real call shapes."""

from __future__ import annotations

import inspect
import sys
import time
import types
from collections.abc import Iterable
from typing import Any

import pytest

from cogs.monitoring.catalogue import CATALOGUE
from cogs.monitoring.collectors.docker import DockerCollector
from cogs.monitoring.collectors.gpu import GpuCollector
from cogs.monitoring.collectors.system import SystemCollector
from cogs.monitoring.metrics_source import MonitorMetrics
from cogs.monitoring.monitor import Monitor
from cogs.monitoring.sampler import Snapshot
from tests.fakes.docker_engine import FakeContainer, FakeDockerEngine
from tests.web.conftest import GUILD_ID


def unknown(names: Iterable[str]) -> list[str]:
    return sorted(name for name in names if CATALOGUE.find(name) is None)


def test_the_system_collector_on_this_machine_writes_only_catalogued_names() -> None:
    collector = SystemCollector()
    collector.collect()
    time.sleep(0.2)
    reading = collector.collect()  # the second reading has the rates too
    assert reading.ok, reading.unavailable
    assert "cpu.percent" in reading.metrics and "mem.percent" in reading.metrics
    assert unknown(reading.metrics) == []


def test_an_unknown_name_is_caught() -> None:
    assert unknown(["cpu.percent", "memory.percent", "gpu.0.utilization"]) == [
        "gpu.0.utilization",
        "memory.percent",
    ]


def fake_nvml(gpus: int = 2) -> types.ModuleType:
    """py3nvml.py3nvml as the collector calls it: the same functions with the same
    signatures as the real module (checked below), returning its real ctypes structures."""
    real = pytest.importorskip("py3nvml.py3nvml")
    fake = types.ModuleType("py3nvml.py3nvml")

    def nvmlInit():
        return None

    def nvmlDeviceGetCount():
        return gpus

    def nvmlDeviceGetHandleByIndex(index):
        return ("handle", index)

    def nvmlDeviceGetName(handle):
        return f"NVIDIA H200 #{handle[1]}"

    def nvmlDeviceGetUtilizationRates(handle):
        return real.c_nvmlUtilization_t(gpu=40 + handle[1], memory=10)

    def nvmlDeviceGetMemoryInfo(handle):
        return real.c_nvmlMemory_t(total=141 * 2**30, free=100 * 2**30, used=41 * 2**30)

    def nvmlDeviceGetTemperature(handle, sensor):
        assert sensor == real.NVML_TEMPERATURE_GPU
        return 55

    def nvmlDeviceGetPowerUsage(handle):
        return 350_000  # milliwatts

    def nvmlDeviceGetFanSpeed(handle):
        raise real.NVMLError(real.NVML_ERROR_NOT_SUPPORTED)  # passively cooled

    for function in (
        nvmlInit, nvmlDeviceGetCount, nvmlDeviceGetHandleByIndex, nvmlDeviceGetName,
        nvmlDeviceGetUtilizationRates, nvmlDeviceGetMemoryInfo, nvmlDeviceGetTemperature,
        nvmlDeviceGetPowerUsage, nvmlDeviceGetFanSpeed,
    ):  # fmt: skip
        original = getattr(real, function.__name__)
        assert inspect.signature(function) == inspect.signature(original), function.__name__
        setattr(fake, function.__name__, function)
    fake.NVML_TEMPERATURE_GPU = real.NVML_TEMPERATURE_GPU
    return fake


def test_the_gpu_collector_writes_only_catalogued_names(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = fake_nvml()
    package = types.ModuleType("py3nvml")
    package.py3nvml = fake  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "py3nvml", package)
    monkeypatch.setitem(sys.modules, "py3nvml.py3nvml", fake)
    reading = GpuCollector(driver_paths=()).collect()
    assert reading.ok, reading.unavailable
    assert reading.metrics["gpu.1.util"] == 41 and reading.metrics["gpu.0.power_w"] == 350
    assert {"gpu.0.mem_percent", "gpu.0.temp", "gpu.1.mem_total"} <= set(reading.metrics)
    assert unknown(reading.metrics) == []


async def test_the_docker_collector_writes_only_catalogued_names(tmp_path: Any) -> None:
    web = FakeContainer("web.frontend", health="healthy")  # a dot: one segment still
    engine = FakeDockerEngine([web, FakeContainer("db", state="exited", restarts=2)])
    async with engine.serve_unix(tmp_path / "docker.sock"):
        collector = DockerCollector(engine.url)
        try:
            await collector.collect()
            web.cpu_total += 500_000
            engine.system_cpu += 5_000_000
            reading = await collector.collect()  # CPU % from the second reading on
        finally:
            await collector.close()
    assert reading.ok, reading.unavailable
    assert {
        "container.web_frontend.cpu",
        "container.web_frontend.mem",
        "container.db.running",
    } <= set(reading.metrics)
    assert unknown(reading.metrics) == []


async def test_the_source_offers_the_catalogue_and_why_a_collector_is_unavailable(
    monitoring_ctx: Any, monitor: Monitor
) -> None:
    source = MonitorMetrics(monitor)
    assert source.catalogue is CATALOGUE
    monitor.sampler.latest = Snapshot(
        monitor.host,
        time.time(),
        {"cpu.percent": 1.0},
        {},
        {"system": "ok", "gpu": "NVML is not available: no NVIDIA driver", "docker": "ok"},
    )
    await monitor.refresh_hosts(force=True)
    [local] = source.hosts(GUILD_ID)
    assert source.unavailable(GUILD_ID, local.key) == {
        "gpu": "NVML is not available: no NVIDIA driver"
    }
    assert source.unavailable(GUILD_ID, "h999") == {}
    await monitor.registry.set_shared(GUILD_ID, False)
    assert source.unavailable(GUILD_ID, local.key) == {}  # not shared with that server: nothing
    await source.close()
