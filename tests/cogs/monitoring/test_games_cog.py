"""/gameserver through the sandbox with the real FoundryCord: only Manage Server adds or
removes, a loopback target needs the owner's consent, the list shows the poll, and the
offline alert comes after two failed polls and the back-online one when it answers again,
each once, pinging nobody."""

from __future__ import annotations

from sandbox.game_servers import A2SServer
from tests.cogs.monitoring.test_cog import command, status_messages
from tests.foundry import Foundry


async def test_gameserver_add_list_alerts_and_remove(foundry: Foundry) -> None:
    await command(foundry, "alice", "guild", approve={})
    a2s = await A2SServer().start()
    try:
        game = {"name": "CS *night*", "protocol": "source", "address": "127.0.0.1"}
        game["port"] = a2s.port

        # a game-server round every hour: the test polls by hand
        await foundry.restart(monitoring_game_interval=3600.0)
        refused = await command(foundry, "carol", "gameserver", add=game)
        assert "Manage Server" in refused["content"]
        private = await command(foundry, "bob", "gameserver", add=game)
        assert "address: 127.0.0.1 is a loopback address" in private["content"]
        assert "MONITORING_ALLOW_PRIVATE_TARGETS" in private["content"]
        bad = await command(foundry, "bob", "gameserver", add={**game, "address": "a:1"})
        assert "address: give the port in the port field" in bad["content"]

        await foundry.restart(
            monitoring_game_interval=3600.0, monitoring_allow_private_targets=True
        )
        added = await command(foundry, "bob", "gameserver", add={**game, "alert_channel": "status"})
        assert "Game server #1 **CS \\*night\\*** added; it answers." in added["content"]
        assert "Alert #1 tells" in added["content"]
        assert a2s.state.queries == 1  # polled once on adding

        listed = await command(foundry, "carol", "gameserver", list={})
        line = listed["embeds"][0]["description"]
        assert "🟢" in line and "2/16 players" in line and "de\\_dust2" in line
        assert "127.0.0.1" not in line  # addresses hidden by default

        monitor = foundry.bot.get_cog("MonitoringCog").monitor
        await a2s.stop()
        await monitor.games.tick()
        await monitor.delivery.run_once()
        assert status_messages(foundry) == []  # one failed poll is not yet offline
        await monitor.games.tick()
        await monitor.delivery.run_once()
        [offline] = status_messages(foundry)
        assert offline.embeds[0]["title"] == "Offline: CS \\*night\\*"
        assert "2 polls in a row" in offline.embeds[0]["description"]

        a2s = await A2SServer(a2s.state).start(a2s.port)
        await monitor.games.tick()
        await monitor.delivery.run_once()
        await monitor.delivery.run_once()
        messages = status_messages(foundry)
        assert [m.embeds[0]["title"] for m in messages] == [
            "Offline: CS \\*night\\*",
            "Back online: CS \\*night\\*",
        ]

        removed = await command(foundry, "bob", "gameserver", remove={"id": 1})
        assert "removed, with its alert rules" in removed["content"]
        listed = await command(foundry, "carol", "gameserver", list={})
        assert "No game servers yet" in listed["embeds"][0]["description"]
        assert await monitor.alerts.list(foundry.guild.id) == []
    finally:
        await a2s.stop()
