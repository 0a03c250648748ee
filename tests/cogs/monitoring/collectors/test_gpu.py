"""The GPU collector on a machine without NVML: a clean "unavailable" with the reason."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from cogs.monitoring.collectors.gpu import GpuCollector


def nvml_present() -> bool:
    try:
        from py3nvml import py3nvml

        py3nvml.nvmlInit()
        py3nvml.nvmlShutdown()
        return True
    except Exception:
        return False


@pytest.mark.skipif(nvml_present(), reason="this machine has NVML: see test_reads_real_gpus")
def test_without_nvml_it_is_unavailable_with_the_reason() -> None:
    # driver_paths=(): skip the cheap driver check, so py3nvml itself is asked
    collector = GpuCollector(driver_paths=())
    reading = collector.collect()
    assert not reading.ok and reading.metrics == {}
    assert reading.unavailable.startswith("NVML is not available")
    # the failure is remembered: the next tick does not retry the driver
    assert collector.collect().unavailable == reading.unavailable


def test_without_a_driver_py3nvml_is_not_even_imported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(sys.modules, "py3nvml", raising=False)
    monkeypatch.delitem(sys.modules, "py3nvml.py3nvml", raising=False)
    reading = GpuCollector(driver_paths=[str(tmp_path / "nvidiactl")]).collect()
    assert reading.unavailable == (
        f"NVML is not available: no NVIDIA driver on this host (no {tmp_path / 'nvidiactl'})"
    )
    assert "py3nvml" not in sys.modules


@pytest.mark.skipif(not nvml_present(), reason="no NVIDIA driver (NVML) on this machine")
def test_reads_real_gpus() -> None:
    reading = GpuCollector().collect()
    assert reading.ok, reading.unavailable
    print(reading.metrics, reading.info)  # quoted in the closing note when run on a GPU host
    assert 0 <= reading.metrics["gpu.0.util"] <= 100
    assert reading.metrics["gpu.0.mem_total"] > 0
    assert reading.info["gpus"][0]["name"]
    assert shutil.which("nvidia-smi") is None or reading.metrics["gpu.0.mem_used"] >= 0
