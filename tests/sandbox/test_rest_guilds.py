"""PATCH /guilds/{g}: the settings a server template may set."""

from __future__ import annotations

from sandbox.server import SandboxServer
from sandbox.state import Guild
from tests.sandbox.conftest import RestClient, forgive_request_violations


async def test_patch_guild_sets_channels_timeouts_and_levels(
    api: RestClient, sandbox: SandboxServer, demo: Guild
) -> None:
    general, lounge = demo.channel("general"), demo.channel("Lounge")
    mark = len(sandbox.dispatches)
    body = {
        "system_channel_id": str(general.id),
        "afk_channel_id": str(lounge.id),
        "afk_timeout": 900,
        "verification_level": 2,
        "default_message_notifications": 1,
        "explicit_content_filter": 2,
    }
    status, guild, _ = await api.request("PATCH", f"/guilds/{demo.id}", body)
    assert status == 200
    assert {k: guild[k] for k in body} == body
    update = await sandbox.wait_for_dispatch("GUILD_UPDATE", since=mark)
    assert update["data"]["afk_channel_id"] == str(lounge.id)
    status, fetched, _ = await api.request("GET", f"/guilds/{demo.id}")
    assert {k: fetched[k] for k in body} == body
    status, cleared, _ = await api.request(
        "PATCH", f"/guilds/{demo.id}", {"system_channel_id": None, "afk_channel_id": None}
    )
    assert (cleared["system_channel_id"], cleared["afk_channel_id"]) == (None, None)
    assert cleared["afk_timeout"] == 900  # untouched fields stay


async def test_patch_guild_refuses_wrong_values_and_applies_nothing(
    api: RestClient, sandbox: SandboxServer, demo: Guild
) -> None:
    general, lounge = demo.channel("general"), demo.channel("Lounge")
    body = {
        "name": "Renamed",
        "system_channel_id": str(lounge.id),  # a voice channel
        "afk_channel_id": str(general.id),  # a text channel
        "afk_timeout": 301,
        "verification_level": 7,
    }
    status, error, _ = await api.request("PATCH", f"/guilds/{demo.id}", body)
    assert (status, error["code"]) == (400, 50035)
    assert set(error["errors"]) == {
        "system_channel_id",
        "afk_channel_id",
        "afk_timeout",
        "verification_level",
    }
    assert error["errors"]["afk_timeout"]["_errors"][0]["code"] == "BASE_TYPE_CHOICES"
    assert demo.name == "Demo" and demo.system_channel_id is None and demo.afk_timeout == 300
    forgive_request_violations(sandbox)


async def test_patch_guild_needs_manage_guild(api: RestClient, sandbox: SandboxServer) -> None:
    guild = sandbox.add_guild("Plain", bot_permissions=["view_channel"])
    status, error, _ = await api.request("PATCH", f"/guilds/{guild.id}", {"afk_timeout": 60})
    assert (status, error["code"]) == (403, 50013)
    assert guild.afk_timeout == 300
