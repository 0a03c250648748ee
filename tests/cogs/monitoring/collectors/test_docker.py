"""The container collector against the fake Docker Engine API (tests/fakes), on a unix
socket and over TCP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cogs.monitoring.collectors.docker import DockerCollector
from tests.fakes.docker_engine import FakeContainer, FakeDockerEngine

CONTAINERS = [
    FakeContainer("web", "nginx:1.27", "running", health="healthy", id="aaa" * 4),
    FakeContainer("db", "postgres:17", "exited", restarts=3, id="bbb" * 4),
]


@pytest.fixture
async def docker_socket(tmp_path: Path) -> AsyncIterator[tuple[str, FakeDockerEngine]]:
    engine = FakeDockerEngine([FakeContainer(**vars(c)) for c in CONTAINERS])
    async with engine.serve_unix(tmp_path / "docker.sock"):
        yield engine.url, engine


async def test_reads_containers_over_the_unix_socket(
    docker_socket: tuple[str, FakeDockerEngine],
) -> None:
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

        fake.container("web").cpu_total += 500_000  # 0.5 ms of CPU over 10 ms of system CPU
        fake.system_cpu += 10_000_000
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


async def test_reads_containers_over_tcp() -> None:
    engine = FakeDockerEngine([FakeContainer("web"), FakeContainer("cache", state="exited")])
    async with engine.serve_tcp():
        collector = DockerCollector(engine.url)
        try:
            reading = await collector.collect()
        finally:
            await collector.close()
    assert reading.ok, reading.unavailable
    assert reading.metrics["container.web.running"] == 1.0
    assert reading.metrics["container.cache.running"] == 0.0
    assert engine.requests[0] == "/v1.41/containers/json?all=1"
