"""The "Game servers" preset: a line per server (status dot, players/max, map, ping), every
one of 25 shown inside Discord's limits, a select that shows one server's player list, names
only where the server's manager shows them, server-given text shown literally, and only the
dashboard's own server's game servers."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.metrics import GameServerView
from cogs.dashboards.dispatch import next_state
from cogs.dashboards.presets import preset
from cogs.dashboards.render import ViewState, render
from cogs.dashboards.sources import collect
from tests.cogs.dashboards.fakes import FakeMetrics
from tests.cogs.dashboards.test_render import check_limits

GUILD = 10
OTHER = 20


def view(index: int, **changes: object) -> GameServerView:
    base = {
        "key": f"gs{index}",
        "name": f"Server {index:02} " + "x" * 50,  # names as long as a manager may give
        "game": "Counter-Strike 2",
        "host_key": "h9",
        "metric_prefix": f"game.{index}.",
        "online": True,
        "title": "A server",
        "map": "de_" + "m" * 60,
        "players": 12,
        "max_players": 16,
        "ping_ms": 23.4,
        "player_names": tuple(f"player_{index}_{n}_" + "n" * 20 for n in range(64)),
    }
    return GameServerView(**{**base, **changes})  # type: ignore[arg-type]


async def shown(metrics: FakeMetrics, state: ViewState | None = None, guild: int = GUILD):  # type: ignore[no-untyped-def]
    state = state or ViewState()
    layout = preset("games")
    snapshot = await collect(layout, state, metrics, None, datetime.now(UTC), guild)
    return render(layout, snapshot, state, dashboard_id=7).payload


def field_text(payload: dict) -> str:
    return "\n".join(f["value"] for f in payload["embeds"][0]["fields"])


async def test_25_servers_each_get_a_line_inside_discords_limits() -> None:
    metrics = FakeMetrics(games={GUILD: [view(i) for i in range(1, 26)]})
    payload = await shown(metrics)
    check_limits(payload)
    text = field_text(payload)
    for index in range(1, 26):
        assert f"Server {index:02}" in text
    assert text.count("🟢") == 25 and "12/16" in text and "23 ms" in text
    listed = [f["value"] for f in payload["embeds"][0]["fields"][:-1]]
    assert not any("more)" in value for value in listed)  # no server left out of the list
    [select] = payload["components"][1]["components"]
    assert len(select["options"]) == 25 and select["options"][0]["default"] is True


async def test_the_select_shows_one_servers_player_list() -> None:
    metrics = FakeMetrics(games={GUILD: [view(1), view(2, player_names=("zoe", "yann"))]})
    layout = preset("games")
    state = next_state(layout, ViewState(), "game", ["gs2"])
    payload = await shown(metrics, state)
    check_limits(payload)
    players = payload["embeds"][0]["fields"][-1]["value"]
    assert "zoe" in players and "yann" in players and "player_1_" not in players
    first = field_text(await shown(metrics))
    assert "player\\_1\\_0\\_" in first  # the first server by default, names escaped
    [select] = payload["components"][1]["components"]
    assert [o.get("default") for o in select["options"]] == [None, True]


async def test_player_names_hidden_offline_and_markup_shown_literally() -> None:
    hidden = view(1, player_names=None, name="**bold** <@&1> @everyone")
    offline = view(2, online=False, players=0, ping_ms=None)
    metrics = FakeMetrics(games={GUILD: [hidden, offline]})
    payload = await shown(metrics)
    text = field_text(payload)
    assert "player names are hidden" in text and "player_" not in text
    assert "\\*\\*bold\\*\\*" in text and "<@&1>" not in text and "@everyone" not in text
    assert "🔴" in text and "offline" in text
    assert "**1/2** online" in text
    assert payload["allowed_mentions"]["parse"] == []


async def test_a_dashboard_shows_only_its_own_servers_game_servers() -> None:
    metrics = FakeMetrics(games={GUILD: [view(1)], OTHER: [view(2, name="theirs")]})
    text = field_text(await shown(metrics, guild=GUILD))
    assert "Server 01" in text and "theirs" not in text
    chosen = await shown(metrics, ViewState(game="gs2"), guild=GUILD)  # a forged choice
    assert "theirs" not in field_text(chosen)


async def test_without_game_servers_the_preset_says_so() -> None:
    payload = await shown(FakeMetrics())
    check_limits(payload)
    text = field_text(payload)
    assert "**0/0** online" in text and "(none)" in text and "unavailable" not in text
