"""The system collector, on this machine, for real."""

from __future__ import annotations

import time
from pathlib import Path

import psutil
import pytest

from cogs.monitoring.collectors.system import (
    SystemCollector,
    cpu_model,
    read_mounts,
    read_net_dev,
    top_processes,
    usage_path,
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


def fake_procfs(root: Path) -> Path:
    """A /proc as a container sees it with the host's /proc mounted: `self` is the
    container (overlay root, eth0), PID 1 is the host (two disks, enp3s0 and wlan0)."""
    proc = root / "proc"
    (proc / "self" / "net").mkdir(parents=True)
    (proc / "1" / "net").mkdir(parents=True)
    (proc / "filesystems").write_text("nodev\tsysfs\nnodev\tproc\nnodev\toverlay\n\text4\n\txfs\n")
    (proc / "self" / "mounts").write_text(
        "overlay / overlay rw,relatime 0 0\n/dev/vdz9 /etc/hosts ext4 rw 0 0\n"
    )
    (proc / "1" / "mounts").write_text(
        "/dev/sda1 / ext4 rw 0 0\nproc /proc proc rw 0 0\n/dev/sdb1 /mnt/big\\040data xfs rw 0 0\n"
    )
    header = "Inter-|   Receive  |  Transmit\n face |bytes packets|bytes packets\n"
    (proc / "self" / "net" / "dev").write_text(
        header + "  eth0: 111 1 0 0 0 0 0 0 222 2 0 0 0 0 0 0\n"
    )
    (proc / "1" / "net" / "dev").write_text(
        header
        + "enp3s0: 5000000 9 0 0 0 0 0 0 7000000 9 0 0 0 0 0 0\n"
        + " wlan0: 10 1 0 0 0 0 0 0 20 2 0 0 0 0 0 0\n"
    )
    (proc / "net").symlink_to("self/net")  # as in a real /proc: net is self/net
    for entry in Path("/proc").iterdir():  # the kernel-wide files (stat, meminfo, ...)
        if not entry.name.isdigit() and not (proc / entry.name).exists():
            (proc / entry.name).symlink_to(entry)
    # PID 1's root, where the host's mount points are statted from a container
    (proc / "1" / "root" / "mnt" / "big data").mkdir(parents=True)
    return proc


@pytest.fixture
def restore_procfs(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(psutil, "PROCFS_PATH", psutil.PROCFS_PATH)
    # the globals use_host_proc sets (the very module this test imported)
    monkeypatch.setitem(use_host_proc.__globals__, "_host_proc", None)


def test_host_proc_reads_mounts_and_network_through_the_hosts_pid_1(
    tmp_path: Path, restore_procfs: None
) -> None:
    proc = fake_procfs(tmp_path)
    use_host_proc(str(proc))
    collector = SystemCollector()
    assert collector._partitions(0.0) == [("/", "/dev/sda1"), ("/mnt/big data", "/dev/sdb1")]
    assert read_net_dev() == {"enp3s0": (5000000, 7000000), "wlan0": (10, 20)}
    assert usage_path("/mnt/big data") == f"{proc}/1/root/mnt/big data"
    reading = collector.collect()
    assert reading.ok, reading.unavailable
    m = reading.metrics
    assert m["net.enp3s0.rx_total"] == 5000000 and m["net.wlan0.tx_total"] == 20
    assert not any(key.startswith("net.eth0") for key in m)  # the container's interface
    assert m["disk./mnt/big_data.total"] > 0 and "disk./.percent" in m
    assert [row["mount"] for row in reading.info["mounts"]] == ["/", "/mnt/big data"]


def test_without_host_proc_the_process_own_view_is_read(
    tmp_path: Path, restore_procfs: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    proc = fake_procfs(tmp_path)
    monkeypatch.setattr(psutil, "PROCFS_PATH", str(proc))  # not HOST_PROC: our own view
    assert read_net_dev() == {"eth0": (111, 222)}
    assert [m for _, m, _ in read_mounts()] == ["/etc/hosts"]
    assert usage_path("/") == "/"


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


def test_cpu_use_is_the_same_whichever_thread_reads_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sampler reads collectors on a pool of threads. psutil.cpu_percent(None) keeps its
    starting point per thread, so a reading on a thread that never primed said 0 % (a false
    recovery after each restart). CPU use comes from the collector's own cpu_times()."""
    import threading
    from collections import namedtuple

    times = namedtuple("scputimes", "user nice system idle iowait")
    readings = iter(
        [
            (times(0, 0, 0, 0, 0), [times(0, 0, 0, 0, 0)] * 2),  # when the collector is made
            (times(100, 0, 50, 800, 50), [times(50, 0, 25, 400, 25)] * 2),
            (times(200, 0, 100, 850, 50), [times(100, 0, 50, 425, 25)] * 2),
        ]
    )
    current: list = []

    def cpu_times(percpu: bool = False):  # type: ignore[no-untyped-def]
        if not percpu:
            current[:] = [next(readings)]
            return current[0][0]
        return current[0][1]

    monkeypatch.setattr(psutil, "cpu_times", cpu_times)
    collector = SystemCollector()
    results: list = []
    for _ in range(2):  # each reading on a thread of its own, as the sampler's pool may
        thread = threading.Thread(target=lambda: results.append(collector.collect()))
        thread.start()
        thread.join()
    # 150 busy of 1,000 since the collector was made: 15 %.
    assert results[0].metrics["cpu.percent"] == 15.0
    # 150 busy of 200 elapsed: 75 %, on each core alike.
    assert results[1].metrics["cpu.percent"] == 75.0
    assert results[1].metrics["cpu.core.0"] == 75.0
