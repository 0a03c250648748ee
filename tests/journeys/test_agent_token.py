"""Journey (d): create an agent token on the Monitoring tab, run the real
`python -m bot agent --url <web editor> --token <token> --once` as another machine would, and
see the token's "Last used" change and the agent's host join the host picker with values."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tests.browser import requires_chromium
from tests.journeys.harness import RunningBot, open_guild_tab, run_agent, until

pytestmark = requires_chromium

AGENT_HOST = "journey-agent"


async def host_options(page: Any) -> dict[str, str]:
    """value -> label of each host in the Monitoring tab's host picker."""
    options = page.locator("#host-picker option")
    values = await options.evaluate_all("options => options.map(o => o.value)")
    labels = await options.all_inner_texts()
    return dict(zip(values, (label.strip() for label in labels), strict=True))


async def test_an_agent_posts_with_its_token_and_joins_the_host_picker(
    page: Any, bot: RunningBot, tmp_path: Path
) -> None:
    guild_id = await open_guild_tab(page, bot, "Monitoring")
    tab = f"{bot.url}/guilds/{guild_id}/monitoring"
    hosts_before = await host_options(page)

    await page.get_by_label("Host name of the agent").fill(AGENT_HOST)
    await page.get_by_role("button", name="Create token").click()
    token = (await page.get_by_test_id("new-token").locator("code").inner_text()).strip()
    assert token, "no token shown"
    await page.goto(tab)
    tokens = page.get_by_test_id("tokens").locator("tbody tr")
    assert await tokens.count() == 1
    last_used = tokens.first.locator("td").nth(2)
    assert (await last_used.inner_text()).strip() == "never"

    agent = await asyncio.to_thread(
        run_agent, ["--url", bot.url, "--token", token, "--once"], tmp_path / "agent"
    )
    assert agent.returncode == 0, (
        f"python -m bot agent exited with {agent.returncode}:\n{agent.stdout}{agent.stderr}"
    )
    assert token not in agent.stdout + agent.stderr  # a secret is never printed

    async def used() -> str | None:
        await page.goto(tab)
        text = (await last_used.inner_text()).strip()
        return text if text != "never" else None

    await until(used, "the token's Last used after the agent posted", timeout=20)

    hosts_after = await host_options(page)
    # (the offline demo world's game servers join the picker as "game servers" on their
    # first poll, whenever that falls)
    new = {
        value: label
        for value, label in hosts_after.items()
        if value not in hosts_before and label != "game servers"
    }
    assert len(new) == 1, f"host picker before {hosts_before}, after {hosts_after}"
    [value] = new

    # Picking it shows what the agent sent: this machine's memory use, for one.
    async with page.expect_navigation():
        await page.locator("#host-picker").select_option(value)
    assert await page.locator("#host-picker").input_value() == value
    live = page.get_by_test_id("live-values")
    await live.locator('[data-metric="mem.percent"]').wait_for()
    assert "%" in await live.locator('[data-metric="mem.percent"]').inner_text()

    # This server's own token names the host it was given, to this server's managers.
    await page.goto(tab)
    host_cell = tokens.first.locator("td").first
    assert AGENT_HOST in await host_cell.inner_text(), await host_cell.inner_text()
    assert page.problems == []
