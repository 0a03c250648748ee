"""NVIDIA GPUs through NVML (py3nvml, imported on first use).

Without an NVIDIA driver the collector reports "unavailable" with NVML's reason and tries
again only every `retry_s`, so a GPU-less host pays nothing per tick."""

from __future__ import annotations

import os
import time
from typing import Any

from cogs.monitoring.collectors import Reading, unavailable

# Where an NVIDIA driver shows itself; without any of them py3nvml is not even imported.
DRIVER_PATHS = ("/dev/nvidiactl", "/proc/driver/nvidia/version")


class GpuCollector:
    name = "gpu"

    def __init__(self, *, retry_s: float = 600.0, driver_paths=DRIVER_PATHS) -> None:
        self.retry_s = retry_s
        self.driver_paths = tuple(driver_paths)
        self._nvml: Any = None
        self._failure: str | None = None
        self._failed_at = 0.0

    def _init(self) -> str | None:
        """Load and start NVML; the reason it cannot, or None."""
        if self._nvml is not None:
            return None
        if self._failure and time.monotonic() - self._failed_at < self.retry_s:
            return self._failure
        if self.driver_paths and not any(os.path.exists(p) for p in self.driver_paths):
            return self._fail(
                f"NVML is not available: no NVIDIA driver on this host (no {self.driver_paths[0]})"
            )
        try:
            from py3nvml import py3nvml as nvml

            nvml.nvmlInit()
        except ImportError as exc:
            return self._fail(f"py3nvml is not installed ({exc})")
        except Exception as exc:  # NVMLError: no driver, no library, no device
            return self._fail(f"NVML is not available: {exc}")
        self._nvml = nvml
        self._failure = None
        return None

    def _fail(self, reason: str) -> str:
        self._failure, self._failed_at = reason, time.monotonic()
        return reason

    def collect(self) -> Reading:
        reason = self._init()
        if reason is not None:
            return unavailable(reason)
        nvml = self._nvml
        try:
            count = nvml.nvmlDeviceGetCount()
        except Exception as exc:
            return unavailable(f"NVML failed: {exc}")
        metrics: dict[str, float] = {}
        gpus: list[dict[str, Any]] = []
        for index in range(count):
            try:
                handle = nvml.nvmlDeviceGetHandleByIndex(index)
                name = nvml.nvmlDeviceGetName(handle)
                util = nvml.nvmlDeviceGetUtilizationRates(handle)
                memory = nvml.nvmlDeviceGetMemoryInfo(handle)
            except Exception as exc:
                gpus.append({"index": index, "error": str(exc)})
                continue
            key = f"gpu.{index}"
            metrics[f"{key}.util"] = float(util.gpu)
            metrics[f"{key}.mem_used"] = float(memory.used)
            metrics[f"{key}.mem_total"] = float(memory.total)
            metrics[f"{key}.mem_percent"] = (
                100.0 * memory.used / memory.total if memory.total else 0
            )
            for suffix, read in (
                ("temp", lambda h: nvml.nvmlDeviceGetTemperature(h, nvml.NVML_TEMPERATURE_GPU)),
                ("power_w", lambda h: nvml.nvmlDeviceGetPowerUsage(h) / 1000.0),
                ("fan", nvml.nvmlDeviceGetFanSpeed),
            ):
                try:  # optional per board: passively cooled cards have no fan reading
                    metrics[f"{key}.{suffix}"] = float(read(handle))
                except Exception:
                    continue
            gpus.append({"index": index, "name": name})
        return Reading(metrics, {"gpus": gpus})
