"""The system dashboard fed by the real monitoring feature, each loaded as in production."""

from __future__ import annotations

import re

from tests.cogs.dashboards.test_end_to_end import create, eventually, field_values, service
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
