"""The Monitoring tab's game servers: add (each wrong field named, nothing stored), the
poll shown, addresses hidden unless shown, remove; only this server's."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient

from cogs.monitoring.monitor import Monitor
from sandbox.game_servers import A2SServer
from tests.cogs.monitoring.test_web import admin, client  # noqa: F401
from tests.web.conftest import GUILD_ID, OTHER_GUILD_ID
from web.context import WebContext

PAGE = f"/guilds/{GUILD_ID}/monitoring"


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"name": ""}, "name", "1-64 characters"),
        ({"protocol": "doom"}, "protocol", "must be one of source, minecraft, bedrock"),
        ({"address": "play.example.org:25565"}, "address", "port in the port field"),
        ({"port": "99999"}, "port", "from 1 to 65535"),
        ({"port": "２７"}, "port", "from 1 to 65535"),
        ({"address": "127.0.0.1"}, "address", "MONITORING_ALLOW_PRIVATE_TARGETS"),
    ],
)
async def test_a_wrong_game_server_field_is_named_and_nothing_is_stored(
    client: TestClient,  # noqa: F811
    monitoring_ctx: WebContext,
    monitor: Monitor,
    changes: dict[str, str],
    field: str,
    words: str,
) -> None:
    token = await admin(client, monitoring_ctx)
    data = {"name": "cs", "protocol": "source", "address": "203.0.113.9", "port": "27015"}
    response = await client.post(PAGE + "/games", data={**data, **changes, "csrf_token": token})
    text = await response.text()
    assert response.status == 400, text
    assert f'data-testid="error-game-{field}"' in text and words in text
    assert await monitor.config.games(GUILD_ID) == []


async def test_a_game_server_is_added_shown_and_removed(
    client: TestClient,  # noqa: F811
    monitoring_ctx: WebContext,
    monitor: Monitor,
) -> None:
    monitor.games.policy.allow_private = True  # the owner's consent
    a2s = await A2SServer().start()
    try:
        token = await admin(client, monitoring_ctx)
        data = {"name": "<b>cs</b>", "protocol": "source", "address": "127.0.0.1"}
        response = await client.post(
            PAGE + "/games", data={**data, "port": str(a2s.port), "csrf_token": token}
        )
        assert response.status == 200  # followed the redirect to the page
        text = await response.text()
        table = text.split('data-testid="games"')[1].split("</table>")[0]
        assert "&lt;b&gt;cs&lt;/b&gt;" in table and "<b>cs" not in table
        assert "online · 2/16 players · de_dust2" in table
        assert "(address hidden)" in table and "127.0.0.1" not in table
        [game] = await monitor.config.games(GUILD_ID)

        other = f"/guilds/{OTHER_GUILD_ID}/monitoring/games/{game.id}/delete"
        response = await client.post(other, data={"csrf_token": token})
        assert response.status in (403, 404)
        response = await client.post(f"{PAGE}/games/{game.id}/delete", data={"csrf_token": token})
        assert response.status == 200
        assert await monitor.config.games(GUILD_ID) == []
    finally:
        await a2s.stop()
