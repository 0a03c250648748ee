"""The system collector, on this machine, for real."""

from __future__ import annotations

import time
from pathlib import Path

import psutil
import pytest

from cogs.monitoring.collectors.system import (
    SystemCollector,
    cpu_model,
    top_processes,
    use_host_proc,
)


def test_reads_this_machine() -> None:
    collector = SystemCollector()
    first = collector.collect()
    assert first.ok, first.unavailable
    time.sleep(0.2)
    reading = collector.collect()
    m = reading.metrics
    assert 0 <= m["cpu.percent"] <= 100
    assert sum(1 for key in m if key.startswith("cpu.core.")) == psutil.cpu_count()
    assert m["mem.total"] == psutil.virtual_memory().total
    assert 0 < m["mem.percent"] < 100
    assert m["procs"] > 1 and m["uptime_s"] > 0
    assert "load.1" in m
    assert any(k.startswith("disk.") and k.endswith(".percent") for k in m)
    # rates appear from the second reading on
    assert any(k.endswith(".rx_bps") for k in m) == bool(reading.info["nics"])
    assert "rx_bps" not in "".join(k for k in first.metrics)


def test_host_proc_must_be_a_folder(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="HOST_PROC"):
        use_host_proc(str(tmp_path / "missing"))


def test_host_proc_redirects_psutil(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(psutil, "PROCFS_PATH", psutil.PROCFS_PATH)
    use_host_proc("/proc")  # the host's /proc mounted at /proc: psutil reads it there
    assert psutil.PROCFS_PATH == "/proc"
    assert SystemCollector().collect().ok


def test_a_psutil_failure_is_reported_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    collector = SystemCollector()

    def broken() -> None:
        raise PermissionError("no /proc here")

    monkeypatch.setattr(psutil, "virtual_memory", broken)
    reading = collector.collect()
    assert reading.unavailable is not None and "no /proc here" in reading.unavailable


def test_top_processes_and_cpu_model() -> None:
    rows = top_processes(limit=3, sample_s=0.05)
    assert [r["rank"] for r in rows].count("cpu") <= 3
    assert any(r["mem"] > 0 for r in rows)
    model = cpu_model()
    assert model["threads"] == psutil.cpu_count() and model["model"]
