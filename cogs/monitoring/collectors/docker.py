"""Containers through the Docker Engine API over its unix socket (or tcp://), with aiohttp
and no Docker SDK. Per container: name, image, state, health, restarts, CPU and memory."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from cogs.monitoring.collectors import Reading, metric_key, unavailable

API = "v1.41"  # Docker 20.10+; newer engines answer older API versions too


class DockerCollector:
    name = "docker"

    def __init__(self, docker_host: str = "unix:///var/run/docker.sock", *, timeout: float = 4):
        self.docker_host = docker_host
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None
        self._closed = False  # a collect still running at shutdown must not open a new session
        self._cpu: dict[str, tuple[int, int]] = {}  # container id -> (its usage, system usage)

    def _base(self) -> tuple[str, aiohttp.BaseConnector]:
        if self.docker_host.startswith("unix://"):
            path = self.docker_host.removeprefix("unix://")
            return "http://docker", aiohttp.UnixConnector(path=path)
        url = self.docker_host.replace("tcp://", "http://", 1).rstrip("/")
        return url, aiohttp.TCPConnector()

    async def _get(self, path: str) -> Any:
        if self._closed:
            raise DockerError("the monitor is stopping")
        if self._session is None or self._session.closed:
            base, connector = self._base()
            self._base_url = base
            self._session = aiohttp.ClientSession(
                connector=connector, timeout=aiohttp.ClientTimeout(total=self.timeout)
            )
        async with self._session.get(f"{self._base_url}/{API}{path}") as response:
            if response.status != 200:
                raise DockerError(f"GET {path} answered HTTP {response.status}")
            return await response.json()

    async def close(self) -> None:
        self._closed = True
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def collect(self) -> Reading:
        try:
            listing = await self._get("/containers/json?all=1")
        except (aiohttp.ClientConnectorError, FileNotFoundError, PermissionError) as exc:
            return unavailable(
                f"cannot reach the Docker API at {self.docker_host} ({exc.__class__.__name__}); "
                "mount /var/run/docker.sock or set DOCKER_HOST"
            )
        except (aiohttp.ClientError, TimeoutError, DockerError, ValueError) as exc:
            return unavailable(f"the Docker API failed: {type(exc).__name__}: {exc}")
        details = await asyncio.gather(
            *(self._container(entry) for entry in listing), return_exceptions=True
        )
        metrics: dict[str, float] = {}
        containers: list[dict[str, Any]] = []
        live_ids = set()
        for entry, detail in zip(listing, details, strict=True):
            if isinstance(detail, BaseException):
                detail = {"error": f"{type(detail).__name__}: {detail}"}
            names = entry.get("Names") or [entry.get("Id", "?")[:12]]
            name = names[0].lstrip("/")
            live_ids.add(entry.get("Id"))
            row = {
                "name": name,
                "image": entry.get("Image", ""),
                "state": entry.get("State", "unknown"),
                "status": entry.get("Status", ""),
                **detail,
            }
            containers.append(row)
            key = f"container.{metric_key(name)}"
            metrics[f"{key}.running"] = 1.0 if row["state"] == "running" else 0.0
            if "restarts" in row:
                metrics[f"{key}.restarts"] = float(row["restarts"])
            for field in ("cpu", "mem", "mem_percent"):
                if row.get(field) is not None:
                    metrics[f"{key}.{field}"] = float(row[field])
        self._cpu = {k: v for k, v in self._cpu.items() if k in live_ids}
        return Reading(metrics, {"containers": containers})

    async def _container(self, entry: dict[str, Any]) -> dict[str, Any]:
        cid = entry["Id"]
        inspect = await self._get(f"/containers/{cid}/json")
        state = inspect.get("State") or {}
        out: dict[str, Any] = {
            "restarts": int(inspect.get("RestartCount") or 0),
            "health": (state.get("Health") or {}).get("Status", "none"),
        }
        if entry.get("State") != "running":
            return out
        stats = await self._get(f"/containers/{cid}/stats?stream=false&one-shot=true")
        cpu_stats = stats.get("cpu_stats") or {}
        total = int((cpu_stats.get("cpu_usage") or {}).get("total_usage") or 0)
        system = int(cpu_stats.get("system_cpu_usage") or 0)
        cpus = int(cpu_stats.get("online_cpus") or 1)
        previous = self._cpu.get(cid)
        self._cpu[cid] = (total, system)
        # one-shot stats carry no "precpu": CPU % is the change since our previous tick.
        if previous and system > previous[1]:
            out["cpu"] = 100.0 * cpus * (total - previous[0]) / (system - previous[1])
        memory = stats.get("memory_stats") or {}
        usage = memory.get("usage")
        if usage is not None:
            cache = (memory.get("stats") or {}).get("inactive_file", 0)
            out["mem"] = max(0, int(usage) - int(cache))
            limit = memory.get("limit")
            if limit:
                out["mem_percent"] = 100.0 * out["mem"] / int(limit)
        return out


class DockerError(Exception):
    pass
