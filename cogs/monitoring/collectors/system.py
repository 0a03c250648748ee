"""The host itself through psutil: CPU, load, memory, disks, network, sensors, uptime.

Blocking and cheap (well under a millisecond or two per call on Linux); the sampler runs it
in a worker thread. Rates (disk and network bytes per second) are the difference since the
previous call, so the first call has totals but no rates."""

from __future__ import annotations

import os
import re
import threading
import time
from dataclasses import dataclass
from typing import Any

import psutil

from cogs.monitoring.collectors import Reading, metric_key, unavailable

# Pseudo and container file systems that say nothing about the host's disks.
SKIP_FSTYPES = frozenset(
    {"squashfs", "tmpfs", "devtmpfs", "overlay", "proc", "sysfs", "nsfs", "autofs", "tracefs"}
)
SKIP_NICS = ("lo", "veth", "docker", "br-", "virbr")


_host_proc: str | None = None


def use_host_proc(path: str | None) -> None:
    """Read the host through a mounted /proc (a container's HOST_PROC), if one is given.

    psutil reads most files at the top of that folder (the kernel's view: CPU, memory,
    disk I/O), but the mount table and network counters through `self/`, which is the
    container's own. Those are read through the host's PID 1 instead (`read_mounts`,
    `read_net_dev`), and disk usage through PID 1's root."""
    global _host_proc
    if path:
        if not os.path.isdir(path):
            raise ValueError(f"HOST_PROC={path!r} is not a folder: mount the host's /proc there")
        psutil.PROCFS_PATH = path
        _host_proc = path.rstrip("/") or "/"
    else:
        _host_proc = None


def _proc_of_host() -> str:
    """The /proc/<pid> folder whose view is the host's: PID 1's under HOST_PROC, else ours."""
    procfs = psutil.PROCFS_PATH.rstrip("/")
    return f"{procfs}/1" if _host_proc is not None else f"{procfs}/self"


def _unescape(field: str) -> str:
    """Mount table fields escape space, tab, newline and backslash as octal (\\040)."""
    if "\\" not in field:
        return field
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def read_mounts() -> list[tuple[str, str, str]]:
    """(device, mount point, file system) of the host's real file systems: those of the
    mount table of `_proc_of_host()` whose type is a block-device one in `filesystems`."""
    procfs = psutil.PROCFS_PATH.rstrip("/")
    real: set[str] = set()
    with open(f"{procfs}/filesystems", encoding="utf-8") as f:
        for line in f:
            kind, _, name = line.rstrip("\n").partition("\t")
            if kind != "nodev" or name == "zfs":
                real.add(name.strip())
    mounts = []
    with open(f"{_proc_of_host()}/mounts", encoding="utf-8") as f:
        for line in f:
            fields = line.split()
            if len(fields) < 3:
                continue
            device, mount, fstype = _unescape(fields[0]), _unescape(fields[1]), fields[2]
            if device in ("", "none") or fstype not in real:
                continue
            mounts.append((device, mount, fstype))
    return mounts


def read_net_dev() -> dict[str, tuple[int, int]]:
    """Interface -> (bytes received, bytes sent), from the host's network namespace."""
    counters: dict[str, tuple[int, int]] = {}
    with open(f"{_proc_of_host()}/net/dev", encoding="utf-8") as f:
        for line in f.readlines()[2:]:
            name, _, rest = line.rpartition(":")
            fields = rest.split()
            if name.strip() and len(fields) >= 9:
                counters[name.strip()] = (int(fields[0]), int(fields[8]))
    return counters


def usage_path(mount: str) -> str:
    """Where to stat a host mount point: through PID 1's root when reading the host from a
    container (the container's own "/" is not the host's)."""
    if _host_proc is None:
        return mount
    return f"{_host_proc}/1/root{mount}" if mount != "/" else f"{_host_proc}/1/root/"


@dataclass
class _Counters:
    at: float
    disk: dict[str, tuple[int, int]]
    net: dict[str, tuple[int, int]]


class SystemCollector:
    name = "system"

    def __init__(self, *, max_disks: int = 8, max_nics: int = 8) -> None:
        self.max_disks = max_disks
        self.max_nics = max_nics
        self._previous: _Counters | None = None
        self._lock = threading.Lock()
        self._mounts: list[tuple[str, str]] | None = None
        self._mounts_at = 0.0
        # CPU use is worked out here from cpu_times() differences, not with
        # psutil.cpu_percent(None): psutil keeps that call's "since last time" starting point
        # per thread, and the sampler reads collectors on a pool of threads, so a reading on a
        # thread that never primed said 0 % (a false recovery after every restart).
        self._cpu_times: tuple[Any, list[Any]] | None = _safe(
            lambda: (psutil.cpu_times(), psutil.cpu_times(percpu=True))
        )

    def collect(self) -> Reading:
        try:
            with self._lock:
                return self._collect()
        except Exception as exc:  # any psutil failure: say so, keep the loop alive
            return unavailable(f"psutil failed: {type(exc).__name__}: {exc}")

    def _collect(self) -> Reading:
        now = time.monotonic()
        m: dict[str, float] = {}
        info: dict[str, Any] = {}
        total, cores = psutil.cpu_times(), psutil.cpu_times(percpu=True)
        if self._cpu_times is not None:  # the first reading has nothing to compare with
            before_total, before_cores = self._cpu_times
            m["cpu.percent"] = cpu_percent_between(before_total, total)
            for index, (old, new) in enumerate(zip(before_cores, cores, strict=False)):
                m[f"cpu.core.{index}"] = cpu_percent_between(old, new)
        self._cpu_times = (total, cores)
        try:
            load = os.getloadavg()  # kernel-wide, the same inside a container
            m["load.1"], m["load.5"], m["load.15"] = load
        except (OSError, AttributeError):
            pass
        freq = _safe(psutil.cpu_freq)
        if freq is not None and freq.current:
            m["cpu.freq_mhz"] = float(freq.current)
        memory = psutil.virtual_memory()
        m["mem.percent"] = memory.percent
        m["mem.used"] = float(memory.total - memory.available)
        m["mem.total"] = float(memory.total)
        swap = _safe(psutil.swap_memory)
        if swap is not None:
            m["swap.percent"] = swap.percent
            m["swap.used"] = float(swap.used)
        self._sensors(m)

        disk_io = _safe(lambda: psutil.disk_io_counters(perdisk=True)) or {}
        counters = _Counters(
            now,
            {dev: (c.read_bytes, c.write_bytes) for dev, c in disk_io.items()},
            _safe(read_net_dev) or {},
        )
        previous, self._previous = self._previous, counters
        elapsed = now - previous.at if previous else 0.0

        mounts = []
        for mount, device in self._partitions(now):
            usage = _safe(lambda mount=mount: psutil.disk_usage(usage_path(mount)))
            if usage is None:
                info.setdefault("unreadable_mounts", []).append(mount)
                continue
            key = f"disk.{metric_key(mount)}"
            m[f"{key}.percent"] = usage.percent
            m[f"{key}.used"] = float(usage.used)
            m[f"{key}.total"] = float(usage.total)
            dev = os.path.basename(device)
            if previous and elapsed > 0 and dev in counters.disk and dev in previous.disk:
                (r1, w1), (r0, w0) = counters.disk[dev], previous.disk[dev]
                m[f"{key}.read_bps"] = max(0, r1 - r0) / elapsed
                m[f"{key}.write_bps"] = max(0, w1 - w0) / elapsed
            mounts.append({"mount": mount, "device": device})
        info["mounts"] = mounts

        nics = [n for n in sorted(counters.net) if not n.startswith(SKIP_NICS)][: self.max_nics]
        for nic in nics:
            key = f"net.{metric_key(nic)}"
            rx, tx = counters.net[nic]
            m[f"{key}.rx_total"] = float(rx)
            m[f"{key}.tx_total"] = float(tx)
            if previous and elapsed > 0 and nic in previous.net:
                rx0, tx0 = previous.net[nic]
                m[f"{key}.rx_bps"] = max(0, rx - rx0) / elapsed
                m[f"{key}.tx_bps"] = max(0, tx - tx0) / elapsed
        info["nics"] = nics
        m["uptime_s"] = max(0.0, time.time() - psutil.boot_time())
        m["procs"] = float(len(psutil.pids()))
        return Reading(m, info)

    def _partitions(self, now: float) -> list[tuple[str, str]]:
        # The mount table rarely changes: re-read it once a minute, not every tick.
        if self._mounts is None or now - self._mounts_at > 60:
            seen: set[str] = set()
            mounts: list[tuple[str, str]] = []
            for device, mountpoint, fstype in _safe(read_mounts) or []:
                if fstype in SKIP_FSTYPES or device in seen:
                    continue
                if mountpoint.startswith(("/snap/", "/boot/efi", "/var/lib/docker")):
                    continue
                seen.add(device)
                mounts.append((mountpoint, device))
            self._mounts = mounts[: self.max_disks]
            self._mounts_at = now
        return self._mounts

    def _sensors(self, m: dict[str, float]) -> None:
        temps = (
            _safe(psutil.sensors_temperatures) if hasattr(psutil, "sensors_temperatures") else None
        )
        for chip, entries in (temps or {}).items():
            hottest = max((e.current for e in entries if e.current is not None), default=None)
            if hottest is not None:
                m[f"temp.{metric_key(chip)}"] = float(hottest)
        fans = _safe(psutil.sensors_fans) if hasattr(psutil, "sensors_fans") else None
        for chip, entries in (fans or {}).items():
            for index, entry in enumerate(entries):
                m[f"fan.{metric_key(chip)}.{index}"] = float(entry.current)


def _cpu_total(times: Any) -> float:
    total = sum(times)
    # On Linux guest time is counted in user and nice already (as psutil does).
    return total - getattr(times, "guest", 0.0) - getattr(times, "guest_nice", 0.0)


def cpu_percent_between(before: Any, after: Any) -> float:
    """The share of CPU time spent busy (not idle or waiting on I/O) between two
    psutil.cpu_times() readings, 0-100."""
    elapsed = _cpu_total(after) - _cpu_total(before)
    if elapsed <= 0:
        return 0.0
    idle = (after.idle - before.idle) + (
        getattr(after, "iowait", 0.0) - getattr(before, "iowait", 0.0)
    )
    return round(min(100.0, max(0.0, 100.0 * (elapsed - idle) / elapsed)), 1)


def _safe(call: Any) -> Any:
    try:
        return call()
    except (OSError, RuntimeError, NotImplementedError, AttributeError, ValueError):
        return None


def top_processes(limit: int = 5, sample_s: float = 0.5) -> list[dict[str, Any]]:
    """The busiest processes by CPU over `sample_s`, with their memory. Blocking: on demand
    only, in a worker thread."""
    procs = []
    for proc in psutil.process_iter(["pid", "name"]):
        try:
            proc.cpu_percent(None)
            procs.append(proc)
        except psutil.Error:
            continue
    time.sleep(sample_s)
    rows = []
    for proc in procs:
        try:
            rows.append(
                {
                    "pid": proc.pid,
                    "name": proc.info["name"] or "?",
                    "cpu": proc.cpu_percent(None),
                    "mem": proc.memory_info().rss,
                }
            )
        except psutil.Error:
            continue
    by_cpu = sorted(rows, key=lambda r: r["cpu"], reverse=True)[:limit]
    by_mem = sorted(rows, key=lambda r: r["mem"], reverse=True)[:limit]
    return [{**r, "rank": "cpu"} for r in by_cpu] + [{**r, "rank": "mem"} for r in by_mem]


_cpu_model: dict[str, Any] | None = None


def cpu_model() -> dict[str, Any]:
    """CPU model, cores and threads, read once (py-cpuinfo is slow and imported here only)."""
    global _cpu_model
    if _cpu_model is None:
        brand = "unknown"
        try:
            import cpuinfo

            brand = cpuinfo.get_cpu_info().get("brand_raw") or brand
        except Exception as exc:
            brand = f"unknown ({type(exc).__name__})"
        _cpu_model = {
            "model": brand,
            "cores": psutil.cpu_count(logical=False) or 0,
            "threads": psutil.cpu_count(logical=True) or 0,
        }
    return _cpu_model
