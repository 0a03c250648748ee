"""Game servers: opengsq against local servers that speak the real protocols
(sandbox/game_servers.py: A2S over UDP, Minecraft's server-list ping over TCP), the address
rule, the poller's rounds and failed-poll counts, and the monitor storing rounds as metrics
of each Discord server's own game-servers host, where alert rules and MetricsSource read
them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cogs.monitoring.catalogue import CATALOGUE
from cogs.monitoring.collectors.services import TargetPolicy
from cogs.monitoring.config_store import GameServerLimit
from cogs.monitoring.games import (
    MAX_GAME_SERVERS_PER_GUILD,
    GamePoller,
    GameServer,
    GameServerError,
    games_host_key,
    poll_one,
)
from cogs.monitoring.metrics_source import MonitorMetrics
from cogs.monitoring.monitor import Monitor
from sandbox.game_servers import (
    RAKNET_MAGIC,
    A2SServer,
    BedrockServer,
    GameState,
    MinecraftServer,
)
from tests.web.conftest import GUILD_ID

OTHER_GUILD = 1
CONSENT = TargetPolicy(allow_private=True)  # the owner lets the bot reach 127.0.0.1


@pytest.fixture
async def a2s() -> AsyncIterator[A2SServer]:
    server = await A2SServer().start()
    yield server
    await server.stop()


@pytest.fixture
async def minecraft() -> AsyncIterator[MinecraftServer]:
    server = await MinecraftServer().start()
    yield server
    await server.stop()


def game(port: int, protocol: str = "source", server_id: int = 1, guild: int = GUILD_ID):
    return GameServer(server_id, guild, "CS", protocol, "127.0.0.1", port)


async def test_an_a2s_server_answers_with_its_name_map_players_and_ping(a2s: A2SServer) -> None:
    a2s.state.players = ["alice", "bob", "<@&1> @everyone"]
    status = await poll_one(game(a2s.port), CONSENT)
    assert status.online, status.error
    assert status.answer.title == "Foundry Test Server"
    assert status.answer.map == "de_dust2"
    assert (status.answer.players, status.answer.max_players) == (3, 16)
    assert status.answer.player_names == ("alice", "bob", "<@&1> @everyone")
    assert status.ping_ms is not None and status.ping_ms >= 0


async def test_a_minecraft_server_answers_the_server_list_ping(
    minecraft: MinecraftServer,
) -> None:
    status = await poll_one(game(minecraft.port, "minecraft"), CONSENT)
    assert status.online, status.error
    assert status.answer.title == "A Foundry Minecraft world"
    assert status.answer.game == "Minecraft 1.21.4"
    assert (status.answer.players, status.answer.max_players) == (2, 16)
    assert status.answer.player_names == ("alice", "bob")


async def test_a_bedrock_server_answers_the_raknet_ping() -> None:
    server = await BedrockServer().start()
    try:
        status = await poll_one(game(server.port, "bedrock"), CONSENT)
        assert status.online, status.error
        assert status.answer.title == "A Foundry Bedrock world"
        assert status.answer.map == "Bedrock level"  # the pong's second MOTD line: the level
        assert status.answer.game == "Minecraft Bedrock 1.21.50"
        assert (status.answer.players, status.answer.max_players) == (2, 16)
        assert status.answer.player_names == ()  # the pong names no players
        assert server.state.queries == 1
    finally:
        await server.stop()


NOT_A_PONG = "BedrockAnswerError: the answer is not a RakNet unconnected pong"
NOT_BEDROCK = "BedrockAnswerError: the pong's server id is not Bedrock's 'MCPE;name;"


@pytest.mark.parametrize(
    ("pong", "why"),
    [
        (b"\x1c", NOT_A_PONG),  # cut short
        (b"\x1c" + bytes(16) + b"\xff" * 16 + b"\x00\x04MCPE", NOT_A_PONG),  # wrong magic
        (b"\x1c" + bytes(16) + RAKNET_MAGIC + b"\x00\x09MCPE;only", NOT_BEDROCK),  # fields
        (b"\x1c" + bytes(16) + RAKNET_MAGIC + b"\x10\x00MCPE;", NOT_BEDROCK),  # too long
        (b"\x1c" + bytes(16) + RAKNET_MAGIC + b"\x00\x0cMCPE;a;b;\xff\xfe;", NOT_BEDROCK),
    ],
)
async def test_a_broken_bedrock_answer_is_offline_with_the_reason(pong: bytes, why: str) -> None:
    server = await BedrockServer().start()
    server.answer_with = pong
    try:
        status = await poll_one(game(server.port, "bedrock"), CONSENT, timeout_s=2)
        assert not status.online and status.error.startswith(why), status
        assert status.answer.title == ""
    finally:
        await server.stop()


def test_the_first_poll_after_a_start_does_not_time_the_query_librarys_import() -> None:
    """A fresh process imports opengsq on the first poll (120 ms here): that must happen
    before the ping's clock starts, or every restart would chart (and alert on) a spike."""
    import subprocess
    import sys

    script = (
        "import asyncio, sys\n"
        "from cogs.monitoring.games import GameServer, QueryAnswer, poll_one\n"
        "from cogs.monitoring.collectors.services import TargetPolicy\n"
        "assert 'opengsq.protocols' not in sys.modules\n"
        "seen = []\n"
        "async def query(*args, **kwargs):\n"
        "    seen.append('opengsq.protocols' in sys.modules)\n"
        "    return QueryAnswer('x', '', '', 0, 0)\n"
        "server = GameServer(1, 1, 'CS', 'source', '127.0.0.1', 27015)\n"
        "status = asyncio.run(poll_one(server, TargetPolicy(allow_private=True), query=query))\n"
        "print(seen, status.online)\n"
    )
    root = Path(__file__).resolve().parents[3]
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=root,
    )
    assert done.stdout.split() == ["[True]", "True"], done.stdout + done.stderr


async def test_a_loopback_server_is_refused_without_the_owners_consent(a2s: A2SServer) -> None:
    status = await poll_one(game(a2s.port), TargetPolicy())
    assert not status.online
    assert "loopback" in status.error and "MONITORING_ALLOW_PRIVATE_TARGETS" in status.error
    assert a2s.state.queries == 0  # never asked


async def test_a_server_that_never_answers_is_offline_within_the_timeout() -> None:
    silent = await asyncio.get_running_loop().create_datagram_endpoint(
        asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0)
    )
    port = silent[0].get_extra_info("sockname")[1]
    try:
        status = await poll_one(game(port), CONSENT, timeout_s=0.3)
    finally:
        silent[0].close()
    assert not status.online and "no answer within 0.3 s" in status.error


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": " "}, "name"),
        ({"name": "x" * 65}, "name"),
        ({"protocol": "quake9"}, "protocol"),
        ({"address": ""}, "address"),
        ({"address": "http://mc.example.org"}, "address"),
        ({"address": "mc.example.org:25565"}, "address"),
        ({"port": 0}, "port"),
        ({"port": 70000}, "port"),
    ],
)
def test_a_wrong_field_is_named(changes: dict, field: str) -> None:
    base = {"name": "mc", "protocol": "minecraft", "address": "mc.example.org", "port": 25565}
    with pytest.raises(GameServerError) as caught:
        GameServer(0, GUILD_ID, **{**base, **changes}).validate()
    assert caught.value.field == field


async def test_the_poller_polls_each_server_once_a_round_and_counts_failed_polls(
    a2s: A2SServer, minecraft: MinecraftServer
) -> None:
    servers = [game(a2s.port), game(minecraft.port, "minecraft", 2, OTHER_GUILD)]

    async def load() -> list[GameServer]:
        return servers

    poller = GamePoller(load, CONSENT, timeout_s=0.5)
    first = await poller.poll_round()
    assert a2s.state.queries == 1 and minecraft.state.queries == 1
    assert first[GUILD_ID] == {
        "game.1.online": 1.0,
        "game.1.failed_polls": 0.0,
        "game.1.players": 2.0,
        "game.1.max_players": 16.0,
        "game.1.ping_ms": first[GUILD_ID]["game.1.ping_ms"],
    }
    assert set(first[OTHER_GUILD]) >= {"game.2.online", "game.2.players"}
    for names in first.values():  # every name is declared in monitoring's catalogue
        assert all(CATALOGUE.find(name) is not None for name in names)

    await a2s.stop()
    second = await poller.poll_round()
    third = await poller.poll_round()
    assert second[GUILD_ID] == {"game.1.online": 0.0, "game.1.failed_polls": 1.0}
    assert third[GUILD_ID]["game.1.failed_polls"] == 2.0
    assert poller.status[1].answer.title == "Foundry Test Server"  # last known name kept
    assert minecraft.state.queries == 3


@pytest.fixture
async def monitor(db) -> AsyncIterator[Monitor]:  # type: ignore[no-untyped-def]
    from bot.models import GuildRecord

    async with db.session() as session, session.begin():
        session.add_all([GuildRecord(id=g, name=f"g{g}") for g in (GUILD_ID, OTHER_GUILD)])
    monitor = Monitor(db, host="web-host", interval_s=10)
    yield monitor
    await monitor.stop()


async def test_an_address_is_checked_when_saved_and_nothing_is_stored_when_refused(
    monitor: Monitor, a2s: A2SServer
) -> None:
    with pytest.raises(GameServerError) as caught:
        await monitor.add_game_server(GUILD_ID, "cs", "source", "127.0.0.1", a2s.port, 5)
    assert caught.value.field == "address" and "loopback" in caught.value.message
    with pytest.raises(GameServerError) as caught:
        await monitor.add_game_server(GUILD_ID, "cs", "source", "10.1.2.3", 27015, 5)
    assert "private" in caught.value.message
    assert await monitor.config.games(GUILD_ID) == []
    assert a2s.state.queries == 0


async def test_rounds_are_history_of_each_servers_own_host_and_rules_fire_after_n_polls(
    monitor: Monitor, a2s: A2SServer, minecraft: MinecraftServer
) -> None:
    monitor.games.policy.allow_private = True
    cs, status = await monitor.add_game_server(GUILD_ID, "cs", "source", "127.0.0.1", a2s.port, 5)
    assert status.online
    mc, _ = await monitor.add_game_server(
        OTHER_GUILD, "mc", "minecraft", "127.0.0.1", minecraft.port, 6
    )
    from cogs.monitoring.alerts import validate_rule

    rule, level = validate_rule(
        metric=cs.metric("failed_polls"), comparison=">=", threshold=2, cooldown_s=0,
        hysteresis=1.5,
    )  # fmt: skip
    added = await monitor.alerts.add(
        GUILD_ID, rule, host=games_host_key(GUILD_ID), severity=level, channel_id=1,
        role_id=None, created_by=5,
    )  # fmt: skip

    await monitor.games.tick()
    host = games_host_key(GUILD_ID)
    stored = await monitor.history.latest(host)
    assert stored is not None and stored[1]["game.1.players"] == 2.0
    assert "game.2.players" not in stored[1]  # another server's game server, another host
    assert (await monitor.history.latest(games_host_key(OTHER_GUILD)))[1]["game.2.online"] == 1

    await a2s.stop()
    await monitor.games.tick()
    assert (await monitor.alerts.list(GUILD_ID))[0].state == "ok"  # one failed poll
    await monitor.games.tick()
    assert (await monitor.alerts.list(GUILD_ID))[0].state == "firing"  # offline for 2 polls

    again = await A2SServer(a2s.state).start(a2s.port)  # back on the same port
    try:
        await monitor.games.tick()
    finally:
        await again.stop()
    assert (await monitor.alerts.list(GUILD_ID))[0].state == "ok"
    kinds = [event.kind for event in await monitor.alerts.unsent()]
    assert kinds == ["fire", "recover"], kinds

    assert await monitor.remove_game_server(GUILD_ID, cs.id)
    assert added.id not in {r.id for r in await monitor.alerts.list(GUILD_ID)}
    assert not await monitor.remove_game_server(GUILD_ID, mc.id)  # not this server's


async def test_each_server_sees_only_its_game_servers_and_player_names_when_shown(
    monitor: Monitor, a2s: A2SServer, minecraft: MinecraftServer
) -> None:
    monitor.games.policy.allow_private = True
    await monitor.add_game_server(GUILD_ID, "cs", "source", "127.0.0.1", a2s.port, 5)
    await monitor.add_game_server(OTHER_GUILD, "mc", "minecraft", "127.0.0.1", minecraft.port, 6)
    await monitor.games.tick()
    source = MonitorMetrics(monitor)
    [cs] = source.game_servers(GUILD_ID)
    assert (cs.name, cs.online, cs.players, cs.max_players, cs.map) == (
        "cs",
        True,
        2,
        16,
        "de_dust2",
    )
    assert cs.player_names is None  # hidden until the manager turns names on
    assert cs.host_key and source.history  # charted through the guild's own host
    assert cs.host_key in {view.key for view in source.hosts(GUILD_ID)}
    assert cs.host_key not in {view.key for view in source.hosts(OTHER_GUILD)}
    source.show_players.set(GUILD_ID, True)
    assert source.game_servers(GUILD_ID)[0].player_names == ("alice", "bob")
    assert [v.name for v in source.game_servers(OTHER_GUILD)] == ["mc"]
    assert source.game_servers(OTHER_GUILD)[0].player_names is None
    await source.close()


async def test_a_server_may_watch_at_most_25_game_servers(monitor: Monitor) -> None:
    for index in range(MAX_GAME_SERVERS_PER_GUILD):
        await monitor.config.add_game(
            GameServer(0, GUILD_ID, f"s{index}", "source", "203.0.113.1", 27015 + index), 5
        )
    with pytest.raises(GameServerLimit, match="at most 25"):
        await monitor.config.add_game(
            GameServer(0, GUILD_ID, "one more", "source", "203.0.113.1", 28000), 5
        )


def test_a_games_host_can_never_be_an_agents_host() -> None:
    from cogs.monitoring.hosts import split_key

    guild, name = split_key(games_host_key(GUILD_ID))
    assert guild == GUILD_ID and " " in name  # agent host names have no spaces


def test_state_defaults_are_independent() -> None:
    assert GameState().players is not GameState().players


def test_the_games_host_is_called_game_servers_and_numbers_only_machines() -> None:
    from cogs.monitoring.hosts import Host, HostNames, agent_key

    hosts = [
        Host(1, "bot-box", None, "bot-box"),
        Host(2, games_host_key(GUILD_ID), GUILD_ID, "game servers"),
        Host(3, agent_key(GUILD_ID, "nas"), GUILD_ID, "nas"),
    ]
    hidden = HostNames(hosts, show=False)
    assert [hidden.label(h.key) for h in hosts] == ["host 1", "game servers", "host 2"]
    assert hidden.resolve("game servers") == games_host_key(GUILD_ID)
    shown = HostNames(hosts, show=True)
    assert [shown.label(h.key) for h in hosts] == ["bot-box", "game servers", "nas"]


async def test_the_minecraft_handshake_names_the_server_as_the_manager_gave_it(
    minecraft: MinecraftServer,
) -> None:
    """The connection goes to the checked address; the handshake carries the name (a proxy
    serving several worlds answers for that one) and the port big-endian, as a client's."""
    from cogs.monitoring.games import query_game_server

    answer = await query_game_server(
        "minecraft", "127.0.0.1", minecraft.port, 5, name="mc.example.org"
    )
    assert answer.title == "A Foundry Minecraft world"
    assert minecraft.handshakes == [("mc.example.org", minecraft.port)]

    asked: list[dict[str, object]] = []

    async def recording(protocol: str, address: str, port: int, timeout_s: float, **kw):  # type: ignore[no-untyped-def]
        asked.append({"address": address, **kw})
        return await query_game_server(protocol, address, port, timeout_s, **kw)

    status = await poll_one(game(minecraft.port, "minecraft"), CONSENT, query=recording)
    assert status.online, status.error
    assert asked == [{"address": "127.0.0.1", "name": "127.0.0.1"}]  # as the manager gave it
    assert minecraft.handshakes[-1] == ("127.0.0.1", minecraft.port)


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (b"\x05\x01\x03abc", "packet 1 where a status response (0) was expected"),
        (b"\x05\x00\x09abc", "shorter than it says"),
        (b"\x06\x00\x04{abc", "not JSON"),
        (b"\x04\x00\x02[]", "not a JSON object"),
        (b"\xff\xff\xff\x7f", "a status response of"),
        (b"\x03\x00\x80\x80", "ends inside a number"),
    ],
)
async def test_a_hostile_minecraft_answer_is_offline_with_the_reason(
    answer: bytes, why: str
) -> None:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1024)
        writer.write(answer)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        status = await poll_one(game(port, "minecraft"), CONSENT, timeout_s=5)
    finally:
        server.close()
        await server.wait_closed()
    assert not status.online and why in status.error, status.error
