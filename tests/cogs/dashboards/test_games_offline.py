"""`make run` offline: the demo world has a game server (sandbox/game_servers.py, A2S on
loopback) which monitoring lists in the demo server without any consent setting, and the
"Game servers" preset shows it online, with its players once names are shown."""

from __future__ import annotations

from bot.metrics import METRICS_SERVICE
from cogs.dashboards import DASHBOARDS_SERVICE
from cogs.dashboards.presets import preset
from tests.foundry import eventually
from tests.sandbox.conftest import StackStarter


async def test_the_demo_world_has_a_game_server_the_preset_shows(
    start_offline_stack: StackStarter,
) -> None:
    stack = await start_offline_stack(web=False)
    guild = stack.server.state.find_guild("Foundry Homelab")
    metrics = stack.process.bot.services.provided.get(METRICS_SERVICE)
    assert metrics is not None

    def demo_online() -> bool:
        return any(
            g.name == "Demo game server" and g.online for g in metrics.game_servers(guild.id)
        )

    await eventually(demo_online, "the demo game server is listed and online")
    service = stack.process.bot.services.provided.get(DASHBOARDS_SERVICE)
    rendered = await service.preview(preset("games"), guild.id)
    text = "\n".join(f["value"] for f in rendered.payload["embeds"][0]["fields"])
    assert "🟢 **Demo game server** · 3/16" in text
    assert "player names are hidden" in text
    metrics.show_players.set(guild.id, True)  # as the "Show player names" setting does
    rendered = await service.preview(preset("games"), guild.id)
    assert "• carol" in rendered.payload["embeds"][0]["fields"][-1]["value"]
    # the owner's consent for loopback is still off: only the demo world's own server passes
    monitor = stack.process.bot.get_cog("MonitoringCog").monitor
    assert monitor.games.policy.allow_private is False
