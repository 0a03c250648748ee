"""A fake Docker Engine API: the endpoints and JSON shapes of the real engine that the
monitoring collector uses, served over a unix socket (like /var/run/docker.sock) or TCP
(like DOCKER_HOST=tcp://...), holding containers a test can change between reads.

    async with FakeDockerEngine([FakeContainer("web"), FakeContainer("db", state="exited")]
                                ).serve_unix(tmp_path / "docker.sock") as engine:
        settings = replace(settings, docker_host=engine.url)

Endpoints (any `/v1.NN` prefix, or none, as the engine accepts):
- `GET /containers/json?all=1`: the list (without `all`, running ones only)
- `GET /containers/{id}/json`: inspect (`State`, `RestartCount`); 404 for an unknown id
- `GET /containers/{id}/stats?stream=false`: one stats sample (zeros for a stopped one)
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web


@dataclass
class FakeContainer:
    name: str
    image: str = "nginx:1.27"
    state: str = "running"  # running, exited, restarting, paused, created, dead
    health: str | None = None  # healthy, unhealthy, starting; None: no health check
    restarts: int = 0
    cpu_total: int = 1_000_000  # ns of CPU the container used, cumulative
    mem_usage: int = 60_000_000
    mem_cache: int = 10_000_000  # inactive_file, which `docker stats` leaves out
    mem_limit: int = 200_000_000
    id: str = ""

    def __post_init__(self) -> None:
        if not self.id:
            self.id = hashlib.sha256(self.name.encode()).hexdigest()

    def summary(self) -> dict[str, Any]:
        status = {"running": "Up 2 hours", "exited": "Exited (0) 1 hour ago"}
        return {
            "Id": self.id,
            "Names": [f"/{self.name}"],
            "Image": self.image,
            "State": self.state,
            "Status": status.get(self.state, self.state.capitalize()),
        }

    def inspect(self) -> dict[str, Any]:
        state: dict[str, Any] = {"Status": self.state, "Running": self.state == "running"}
        if self.health is not None:
            state["Health"] = {"Status": self.health, "FailingStreak": 0, "Log": []}
        return {
            "Id": self.id,
            "Name": f"/{self.name}",
            "RestartCount": self.restarts,
            "State": state,
            "Config": {"Image": self.image},
        }


@dataclass
class FakeDockerEngine:
    containers: list[FakeContainer] = field(default_factory=list)
    online_cpus: int = 2
    system_cpu: int = 10_000_000  # ns of host CPU, cumulative
    url: str = ""
    requests: list[str] = field(default_factory=list)

    def container(self, key: str) -> FakeContainer | None:
        for container in self.containers:
            if key in (container.id, container.name) or (
                len(key) >= 12 and container.id.startswith(key)
            ):
                return container
        return None

    def app(self) -> web.Application:
        app = web.Application()
        for prefix in ("", "/v{version:1\\.[0-9]+}"):
            app.router.add_get(prefix + "/containers/json", self._listing)
            app.router.add_get(prefix + "/containers/{id}/json", self._inspect)
            app.router.add_get(prefix + "/containers/{id}/stats", self._stats)
        return app

    async def _listing(self, request: web.Request) -> web.Response:
        self.requests.append(request.path_qs)
        everything = request.query.get("all") in ("1", "true")
        return web.json_response(
            [c.summary() for c in self.containers if everything or c.state == "running"]
        )

    def _found(self, request: web.Request) -> FakeContainer:
        self.requests.append(request.path_qs)
        container = self.container(request.match_info["id"])
        if container is None:
            raise web.HTTPNotFound(
                text=f'{{"message":"No such container: {request.match_info["id"]}"}}',
                content_type="application/json",
            )
        return container

    async def _inspect(self, request: web.Request) -> web.Response:
        return web.json_response(self._found(request).inspect())

    async def _stats(self, request: web.Request) -> web.Response:
        container = self._found(request)
        running = container.state == "running"
        return web.json_response(
            {
                "read": "2026-12-02T10:00:00.000000000Z",
                "cpu_stats": {
                    "cpu_usage": {"total_usage": container.cpu_total if running else 0},
                    "system_cpu_usage": self.system_cpu if running else 0,
                    "online_cpus": self.online_cpus if running else 0,
                },
                "memory_stats": (
                    {
                        "usage": container.mem_usage,
                        "limit": container.mem_limit,
                        "stats": {"inactive_file": container.mem_cache},
                    }
                    if running
                    else {}
                ),
            }
        )

    @asynccontextmanager
    async def serve_unix(self, path: Path) -> AsyncIterator[FakeDockerEngine]:
        """Serve on a unix socket; `self.url` is the DOCKER_HOST for it."""
        runner = web.AppRunner(self.app())
        await runner.setup()
        await web.UnixSite(runner, str(path)).start()
        self.url = f"unix://{path}"
        try:
            yield self
        finally:
            await runner.cleanup()

    @asynccontextmanager
    async def serve_tcp(self) -> AsyncIterator[FakeDockerEngine]:
        """Serve on 127.0.0.1 and a free port; `self.url` is tcp://127.0.0.1:PORT."""
        runner = web.AppRunner(self.app())
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"tcp://127.0.0.1:{port}"
        try:
            yield self
        finally:
            await runner.cleanup()


def closed_unix_socket(folder: Path) -> str:
    """A DOCKER_HOST where nothing listens (a host without Docker, made explicit)."""
    return f"unix://{folder / 'no-docker.sock'}"
