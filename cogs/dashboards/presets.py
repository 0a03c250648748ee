"""The layouts `/dashboard create` offers, as layout JSON (parsed like any user's). Metric
names come from monitoring's catalogue (`MetricsSource.catalogue`); units too, so no widget
repeats one. `tests/cogs/dashboards/test_presets.py` checks each name against the catalogue
and renders every preset against this machine's real monitoring."""

from __future__ import annotations

from typing import Any

from cogs.dashboards.layout import Layout, parse_layout


def _metric(wid: str, title: str, metric: str, fmt: str, width: int = 1, **extra: Any) -> dict:
    return {
        "id": wid,
        "title": title,
        "width": width,
        "source": {"kind": "metric", "metric": metric},
        "format": fmt,
        **extra,
    }


REFRESH = {"type": "button", "action": "refresh", "style": "primary"}
DETAILS = {"type": "button", "action": "details"}
HOST_SELECT = {"type": "select", "action": "host", "label": "Choose a host"}

PRESETS: dict[str, dict[str, Any]] = {
    "system": {
        "title": "System overview",
        "widgets": [
            _metric("cpu", "CPU", "cpu.percent", "bar"),
            _metric("mem", "Memory", "mem.percent", "bar"),
            _metric("disk", "Disk", "disk.{disk}.percent", "bar"),
            _metric("load", "Load (1 min)", "load.1", "sparkline"),
            # The hottest sensor: chips are named differently on every machine.
            _metric("temp", "Temperature", "temp.*", "value"),
            _metric("net", "Network", "net.*", "table", width=3),
        ],
        "actions": [
            REFRESH,
            DETAILS,
            HOST_SELECT,
            {"type": "select", "action": "disk", "label": "Choose a disk"},
        ],
    },
    "gpu": {
        "title": "GPU",
        "widgets": [
            _metric("util", "Utilisation", "gpu.0.util", "bar"),
            _metric("vram", "Memory", "gpu.0.mem_percent", "bar"),
            _metric("temp", "Temperature", "gpu.0.temp", "value"),
            _metric("power", "Power", "gpu.0.power_w", "sparkline"),
            _metric("all", "All GPU metrics", "gpu.*", "table", width=3),
        ],
        "actions": [REFRESH, HOST_SELECT],
    },
    "containers": {
        "title": "Containers",
        "widgets": [
            {
                "id": "summary",
                "title": "Running",
                "width": 1,
                "source": {"kind": "containers"},
                "format": "value",
            },
            {
                "id": "list",
                "title": "Containers",
                "width": 3,
                "source": {"kind": "containers"},
                "format": "status",
            },
        ],
        "actions": [REFRESH, DETAILS, HOST_SELECT],
    },
    "services": {
        "title": "Services",
        "widgets": [
            {
                "id": "summary",
                "title": "Up",
                "width": 1,
                "source": {"kind": "services"},
                "format": "value",
            },
            {
                "id": "list",
                "title": "Services",
                "width": 3,
                "source": {"kind": "services"},
                "format": "status",
            },
        ],
        "actions": [REFRESH, DETAILS],
    },
    "games": {
        "title": "Game servers",
        "widgets": [
            {
                "id": "online",
                "title": "Online",
                "width": 1,
                "source": {"kind": "games"},
                "format": "value",
            },
            {
                "id": "list",
                "title": "Game servers",
                "width": 3,
                "source": {"kind": "games"},
                "format": "status",
            },
            {
                "id": "players",
                "title": "Players",
                "width": 3,
                "source": {"kind": "games"},
                "format": "table",
            },
        ],
        "actions": [
            REFRESH,
            {"type": "select", "action": "game", "label": "Show a game server's players"},
        ],
    },
    "server": {
        "title": "Server statistics",
        "widgets": [
            {
                "id": stat,
                "title": stat.capitalize(),
                "width": 1,
                "source": {"kind": "server", "stat": stat},
                "format": "value",
            }
            for stat in ("members", "online", "boosts", "channels")
        ],
        "actions": [REFRESH],
    },
}

PRESET_LABELS = {
    "system": "System overview",
    "gpu": "GPU",
    "containers": "Containers",
    "services": "Services",
    "games": "Game servers",
    "server": "Server statistics",
}


def preset(name: str) -> Layout:
    return parse_layout(PRESETS[name])
