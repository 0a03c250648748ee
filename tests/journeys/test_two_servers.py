"""Journey: one installation, two servers, two managers who are different people. The real
`python -m bot` (offline), driven from Chromium: a second server joins; its manager signs
in, sees only their own server, builds a dashboard there, and is refused, with a page that
says why, everything of the first server: its pages and JSON by address, and its channel
put into their own form by hand. After a restart it all still holds."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

from tests.browser import requires_chromium
from tests.journeys.harness import (
    UI_TIMEOUT_MS,
    RunningBot,
    open_guild_tab,
    watch_problems,
)

pytestmark = requires_chromium

SECOND = "Carol's Lab"


def add_second_server(bot: RunningBot) -> tuple[int, int, int]:
    """Into the stopped bot's saved sandbox world: a user carol who owns a server of her own
    with one text channel. (server id, carol's id, her channel's id)"""
    from bot.offline import WORLD_FILE
    from sandbox.server import SandboxServer
    from sandbox.world_file import load_saved_world, save_world

    path = bot.data_dir / WORLD_FILE
    world = SandboxServer()
    assert load_saved_world(world, path).restored
    carol = world.add_user("carol")
    guild = world.add_guild(SECOND, owner=carol)
    channel = world.add_channel(guild, "carol-status")
    save_world(world, path)
    return guild.id, carol.id, channel.id


def sign_in_link_for(bot: RunningBot, user_id: int) -> str:
    """`python -m bot signin --user ID`, as the operator runs it next to the bot."""
    result = subprocess.run(
        [sys.executable, "-m", "bot", "signin", "--user", str(user_id)],
        cwd=bot.cwd,
        env=bot.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    found = re.search(r"(http://\S+/login/link\?token=\S+)", result.stdout)
    assert found is not None, result.stdout
    return found.group(1)


async def status_of(page: Any, url: str) -> tuple[int, str]:
    response = await page.goto(url)
    assert response is not None
    return response.status, await page.content()


async def test_two_servers_each_manager_sees_only_their_own(
    bot: RunningBot, browser: Any, page: Any
) -> None:
    first = await open_guild_tab(page, bot, "Dashboards")  # the owner, alice, on her server
    first_channels = await page.locator("#new-channel option").evaluate_all(
        "options => options.map(option => option.value)"
    )
    assert first_channels, "the first server has text channels"

    bot.stop()
    second, carol, carol_channel = add_second_server(bot)
    bot.start()

    # Offline, the sandbox's servers are approved as they join (AUTO_APPROVE): the owner,
    # who is not a member of carol's server, does not get it in their list to manage.
    await page.goto(f"{bot.url}/guilds")
    assert SECOND not in await page.get_by_test_id("guild-list").inner_text()

    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(UI_TIMEOUT_MS)
    theirs = await context.new_page()
    problems = watch_problems(theirs)
    await theirs.goto(sign_in_link_for(bot, carol))
    await theirs.get_by_role("button", name="Sign in").click()
    await theirs.wait_for_url(f"{bot.url}/guilds")

    # Carol's server list: hers, not the first.
    listing = await theirs.content()
    assert SECOND.replace("'", "&#39;") in listing or SECOND in listing
    assert "Foundry Homelab" not in listing
    assert f"/guilds/{first}/" not in listing

    # Her Dashboards tab offers her channel only, and a dashboard made there is hers.
    await theirs.goto(f"{bot.url}/guilds/{second}/dashboards")
    options = await theirs.locator("#new-channel option").all_inner_texts()
    assert options == ["#carol-status"], options
    await theirs.locator("#new-preset").select_option("server")
    await theirs.get_by_role("button", name="New dashboard").click()
    await theirs.wait_for_url(re.compile(rf"/guilds/{second}/dashboards/\d+"))
    await theirs.get_by_test_id("preview").wait_for()

    # Everything of the first server is refused by address, with a page that says why.
    for path in (
        "/settings",
        "/dashboards",
        "/monitoring",
        "/monitoring/live.json",
        "/monitoring/series.json?metric=cpu.percent&range=1h",
        "/templates",
    ):
        status, body = await status_of(theirs, f"{bot.url}/guilds/{first}{path}")
        assert status == 403, (path, status)
        assert "You need the Manage Server permission in this server" in body, path
        assert "Foundry Homelab" not in body, path
        assert "Traceback" not in body, path

    # The first server's channel, put into her own form by hand, is refused and not stored.
    await theirs.goto(f"{bot.url}/guilds/{second}/dashboards")
    foreign = first_channels[0]
    assert int(foreign) != carol_channel
    await theirs.locator("#new-channel option").evaluate(
        "(option, id) => { option.value = id; }", foreign
    )
    await theirs.get_by_role("button", name="New dashboard").click()
    await theirs.get_by_text("Pick one of this server's text channels.").wait_for()
    await theirs.goto(f"{bot.url}/guilds/{second}/dashboards")
    rows = theirs.get_by_test_id("dashboard-list").locator("tbody tr")
    assert await rows.count() == 1  # only the one made from her own channel

    # Alice's list does not show carol's dashboard.
    await page.goto(f"{bot.url}/guilds/{first}/dashboards")
    assert "#carol-status" not in await page.content()

    # After a restart: still approved, still hers, still refused elsewhere.
    bot.restart()
    await theirs.goto(f"{bot.url}/guilds/{second}/dashboards")
    assert await theirs.get_by_test_id("dashboard-list").locator("tbody tr").count() == 1
    status, _ = await status_of(theirs, f"{bot.url}/guilds/{first}/dashboards")
    assert status in (403, 404)
    assert problems == []
    await context.close()
