"""The system dashboard fed by the real monitoring feature, each loaded as in production."""

from __future__ import annotations

import re
from pathlib import Path

from tests.cogs.dashboards.test_end_to_end import create, eventually, field_values, service
from tests.fakes.docker_engine import FakeContainer, FakeDockerEngine, closed_unix_socket
from tests.foundry import Foundry


async def test_the_system_dashboard_shows_this_hosts_sampled_cpu(foundry: Foundry) -> None:
    # By name: nextcord imports an extension's modules anew on every load.
    monitor = foundry.bot.get_cog("MonitoringCog").monitor
    await monitor.sampler.tick()  # one real sample of this machine, not waiting for the loop
    assert "cpu.percent" in monitor.sampler.latest.metrics
    driver, message = await create(foundry)
    dash = service(foundry)
    percent = re.compile(r"^`[█░]{10}` \d+(\.\d+)?%$")

    def shows_cpu() -> bool | None:
        dash.scheduler.request(1)
        value = field_values(driver.message(message.id)).get("CPU", "")
        return True if percent.match(value) else None

    await eventually(shows_cpu, "show the sampled CPU use")


async def test_the_containers_preset_against_a_docker_engine_with_containers(
    foundry: Foundry, tmp_path: Path
) -> None:
    """The real collector reads a fake Docker Engine API over its unix socket; the preset
    shows what it found, through the real monitoring."""
    engine = FakeDockerEngine(
        [
            FakeContainer("web", "nginx:1.27", health="healthy"),
            FakeContainer("db", "postgres:17", state="exited", restarts=2),
            FakeContainer("cache", "redis:7", health="unhealthy"),
        ]
    )
    async with engine.serve_unix(tmp_path / "docker.sock"):
        await foundry.restart(docker_host=engine.url, monitoring_interval=3600.0)
        monitor = foundry.bot.get_cog("MonitoringCog").monitor
        assert (await monitor.sampler.tick()).status["docker"] == "ok"
        _driver, message = await create(foundry, "containers")
    values = field_values(message)
    assert values["Running"] == "**1/3** up"
    assert sorted(values["Containers"].splitlines()) == [
        "🔴 cache · running, unhealthy",
        "🔴 db · exited",
        "🟢 web · running, healthy",
    ]


async def test_the_containers_preset_says_why_docker_cannot_be_reached(
    foundry: Foundry, tmp_path: Path
) -> None:
    await foundry.restart(docker_host=closed_unix_socket(tmp_path), monitoring_interval=3600.0)
    monitor = foundry.bot.get_cog("MonitoringCog").monitor
    why = (await monitor.sampler.tick()).status["docker"]
    assert why != "ok"
    _driver, message = await create(foundry, "containers")
    values = field_values(message)
    assert values["Running"] == f"unavailable (docker: {why})"
    assert values["Containers"].startswith("unavailable (docker: ")
