"""The container collector against a small fake Docker Engine API on a unix socket."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from cogs.monitoring.collectors.docker import DockerCollector

CONTAINERS = [
    {"Id": "aaa", "Names": ["/web"], "Image": "nginx:1.27", "State": "running", "Status": "Up"},
    {"Id": "bbb", "Names": ["/db"], "Image": "postgres:17", "State": "exited", "Status": "Exited"},
]


class FakeDocker:
    def __init__(self) -> None:
        self.cpu_total = 1_000_000
        self.system = 10_000_000
        self.requests: list[str] = []

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/v1.41/containers/json", self.listing)
        app.router.add_get("/v1.41/containers/{id}/json", self.inspect)
        app.router.add_get("/v1.41/containers/{id}/stats", self.stats)
        return app

    async def listing(self, request: web.Request) -> web.Response:
        self.requests.append(request.path_qs)
        assert request.query["all"] == "1"
        return web.json_response(CONTAINERS)

    async def inspect(self, request: web.Request) -> web.Response:
        cid = request.match_info["id"]
        state: dict[str, Any] = {"Status": "running" if cid == "aaa" else "exited"}
        if cid == "aaa":
            state["Health"] = {"Status": "healthy"}
        return web.json_response(
            {"Id": cid, "RestartCount": 3 if cid == "bbb" else 0, "State": state}
        )

    async def stats(self, request: web.Request) -> web.Response:
        assert request.query["stream"] == "false"
        body = {
            "cpu_stats": {
                "cpu_usage": {"total_usage": self.cpu_total},
                "system_cpu_usage": self.system,
                "online_cpus": 2,
            },
            "memory_stats": {
                "usage": 60_000_000,
                "limit": 200_000_000,
                "stats": {"inactive_file": 10_000_000},
            },
        }
        return web.json_response(body)


@pytest.fixture
async def docker_socket(tmp_path: Path) -> AsyncIterator[tuple[str, FakeDocker]]:
    fake = FakeDocker()
    runner = web.AppRunner(fake.app())
    await runner.setup()
    path = tmp_path / "docker.sock"
    site = web.UnixSite(runner, str(path))
    await site.start()
    yield f"unix://{path}", fake
    await runner.cleanup()


async def test_reads_containers_over_the_unix_socket(docker_socket: tuple[str, FakeDocker]) -> None:
    url, fake = docker_socket
    collector = DockerCollector(url)
    try:
        first = await collector.collect()
        assert first.ok, first.unavailable
        by_name = {c["name"]: c for c in first.info["containers"]}
        assert by_name["web"]["health"] == "healthy" and by_name["web"]["image"] == "nginx:1.27"
        assert by_name["db"]["state"] == "exited" and by_name["db"]["restarts"] == 3
        assert first.metrics["container.web.running"] == 1.0
        assert first.metrics["container.db.running"] == 0.0
        assert first.metrics["container.db.restarts"] == 3.0
        assert first.metrics["container.web.mem"] == 50_000_000
        assert first.metrics["container.web.mem_percent"] == 25.0
        assert "container.web.cpu" not in first.metrics  # needs a previous tick

        fake.cpu_total += 500_000  # 0.5 ms of container CPU over 10 ms of system CPU
        fake.system += 10_000_000
        second = await collector.collect()
        assert second.metrics["container.web.cpu"] == pytest.approx(10.0)  # 2 CPUs * 5 %
    finally:
        await collector.close()


async def test_a_missing_socket_is_unavailable_with_the_reason(tmp_path: Path) -> None:
    collector = DockerCollector(f"unix://{tmp_path / 'nope.sock'}")
    try:
        reading = await collector.collect()
    finally:
        await collector.close()
    assert not reading.ok
    assert "cannot reach the Docker API" in reading.unavailable
    assert "DOCKER_HOST" in reading.unavailable
