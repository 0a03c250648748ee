"""Channels: create, edit, reorder, delete, overwrites; limits and permission checks."""

from __future__ import annotations

from sandbox import permissions as perm
from sandbox.demo import DEMO
from sandbox.server import SandboxServer
from sandbox.state import Guild
from tests.sandbox.conftest import RestClient, forgive_request_violations


async def test_create_channel_in_category_with_overwrites(
    api: RestClient, sandbox: SandboxServer, demo: Guild
) -> None:
    info = demo.channel("Info")
    mod = demo.role("Mod")
    mark = len(sandbox.dispatches)
    status, channel, _ = await api.request(
        "POST",
        f"/guilds/{demo.id}/channels",
        {
            "name": "Mod Talk",
            "type": 0,
            "parent_id": str(info.id),
            "topic": "staff only",
            "permission_overwrites": [
                {"id": str(demo.id), "type": 0, "deny": str(perm.VIEW_CHANNEL)},
                {"id": str(mod.id), "type": 0, "allow": str(perm.VIEW_CHANNEL)},
            ],
        },
    )
    assert status == 201
    assert channel["name"] == "mod-talk" and channel["parent_id"] == str(info.id)
    created = await sandbox.wait_for_dispatch("CHANNEL_CREATE", since=mark)
    assert created["data"]["id"] == channel["id"]
    stored = demo.channels[int(channel["id"])]
    assert not demo.channel_permissions(demo.member("carol").user.id, stored) & perm.VIEW_CHANNEL
    assert demo.channel_permissions(demo.member("bob").user.id, stored) & perm.VIEW_CHANNEL


async def test_channel_in_category_uses_its_own_overwrites(demo: Guild) -> None:
    # "rules" denies sending; its category "Info" has no overwrites of its own
    carol = demo.member("carol").user.id
    assert not demo.channel_permissions(carol, demo.channel("rules")) & perm.SEND_MESSAGES
    assert demo.channel_permissions(carol, demo.channel("Info")) & perm.SEND_MESSAGES


async def test_invalid_channel_fields_are_50035_with_paths(
    api: RestClient, sandbox: SandboxServer, demo: Guild
) -> None:
    status, body, _ = await api.request(
        "POST",
        f"/guilds/{demo.id}/channels",
        {"name": "", "type": 0, "topic": "x" * 1025, "rate_limit_per_user": 21601},
    )
    assert status == 400 and body["code"] == 50035 and body["message"] == "Invalid Form Body"
    assert body["errors"]["name"]["_errors"][0] == {
        "code": "BASE_TYPE_BAD_LENGTH",
        "message": "Must be between 1 and 100 in length.",
    }
    assert body["errors"]["topic"]["_errors"][0]["code"] == "BASE_TYPE_MAX_LENGTH"
    assert body["errors"]["rate_limit_per_user"]["_errors"][0]["code"] == "NUMBER_TYPE_MAX"
    forgive_request_violations(sandbox)


async def test_forum_topic_tags_voice_and_stage_limits(
    api: RestClient, sandbox: SandboxServer, demo: Guild
) -> None:
    demo.features.append("COMMUNITY")  # stage channels need it
    url = f"/guilds/{demo.id}/channels"
    ok, _, _ = await api.request("POST", url, {"name": "f", "type": 15, "topic": "x" * 4096})
    assert ok == 201
    tags = [{"name": f"t{i}"} for i in range(21)]
    status, body, _ = await api.request(
        "POST", url, {"name": "f2", "type": 15, "available_tags": tags}
    )
    assert status == 400 and "available_tags" in body["errors"]
    status, body, _ = await api.request(
        "POST", url, {"name": "v", "type": 2, "bitrate": 128000, "user_limit": 100}
    )
    assert set(body["errors"]) == {"bitrate", "user_limit"}
    status, body, _ = await api.request("POST", url, {"name": "s", "type": 13, "bitrate": 96000})
    assert (status, body["code"]) == (400, 30052)
    forgive_request_violations(sandbox)


async def test_500_channels_per_guild_and_50_per_category(
    api: RestClient, sandbox: SandboxServer, demo: Guild
) -> None:
    info = demo.channel("Info")
    for i in range(49):
        sandbox.add_channel(demo, f"c{i}", parent=info)
    status, body, _ = await api.request(
        "POST", f"/guilds/{demo.id}/channels", {"name": "one-too-many", "parent_id": str(info.id)}
    )
    assert status == 400
    assert body["errors"]["parent_id"]["_errors"][0]["code"] == "CHANNEL_PARENT_MAX_CHANNELS"
    while len(demo.channels) < 500:
        sandbox.add_channel(demo, f"x{len(demo.channels)}")
    status, body, _ = await api.request("POST", f"/guilds/{demo.id}/channels", {"name": "more"})
    assert (status, body["code"]) == (400, 30013)


async def test_without_manage_channels_the_bot_gets_50013(
    api: RestClient, sandbox: SandboxServer
) -> None:
    guild = sandbox.add_guild("Plain", bot_permissions=["view_channel", "send_messages"])
    channel = sandbox.add_channel(guild, "general")
    for method, path, body in [
        ("POST", f"/guilds/{guild.id}/channels", {"name": "new"}),
        ("PATCH", f"/channels/{channel.id}", {"name": "renamed"}),
        ("DELETE", f"/channels/{channel.id}", None),
        ("PUT", f"/channels/{channel.id}/permissions/{guild.id}", {"type": 0, "allow": "0"}),
    ]:
        status, error, _ = await api.request(method, path, body)
        assert (status, error) == (403, {"message": "Missing Permissions", "code": 50013})


async def test_unknown_channel_is_10003(api: RestClient) -> None:
    status, body, _ = await api.request("GET", "/channels/42")
    assert (status, body) == (404, {"message": "Unknown Channel", "code": 10003})


async def test_edit_and_delete_channel_dispatch_updates(
    api: RestClient, sandbox: SandboxServer, demo: Guild
) -> None:
    general = demo.channel("general")
    mark = len(sandbox.dispatches)
    status, body, _ = await api.request(
        "PATCH", f"/channels/{general.id}", {"name": "General Chat", "rate_limit_per_user": 5}
    )
    assert status == 200 and body["name"] == "general-chat" and body["rate_limit_per_user"] == 5
    await sandbox.wait_for_dispatch("CHANNEL_UPDATE", since=mark)
    info = demo.channel("Info")
    status, _, _ = await api.request("DELETE", f"/channels/{info.id}")
    assert status == 200
    assert demo.channel("rules").parent_id is None
    await sandbox.wait_for_dispatch("CHANNEL_DELETE", since=mark)


async def test_overwrite_put_and_delete(api: RestClient, demo: Guild) -> None:
    general = demo.channel("general")
    mod = demo.role("Mod")
    status, _, _ = await api.request(
        "PUT",
        f"/channels/{general.id}/permissions/{mod.id}",
        {"type": 0, "allow": str(perm.MANAGE_MESSAGES), "deny": "0"},
    )
    assert status == 204 and general.overwrites[mod.id].allow == perm.MANAGE_MESSAGES
    status, _, _ = await api.request("DELETE", f"/channels/{general.id}/permissions/{mod.id}")
    assert status == 204 and mod.id not in general.overwrites


async def test_bulk_positions_allow_one_parent_change(api: RestClient, demo: Guild) -> None:
    info, general, lounge = demo.channel("Info"), demo.channel("general"), demo.channel("Lounge")
    status, body, _ = await api.request(
        "PATCH",
        f"/guilds/{demo.id}/channels",
        [
            {"id": str(general.id), "parent_id": str(info.id)},
            {"id": str(lounge.id), "parent_id": str(info.id)},
        ],
    )
    assert (status, body["code"]) == (400, 40009)
    assert body["message"] == "Only one channel can have a parent_id modified at a time"
    status, _, _ = await api.request(
        "PATCH",
        f"/guilds/{demo.id}/channels",
        [{"id": str(general.id), "parent_id": str(info.id), "position": 7}],
    )
    assert status == 204 and general.parent_id == info.id and general.position == 7


async def test_stage_and_announcement_channels_need_a_community_guild(
    api: RestClient, sandbox: SandboxServer, demo: Guild
) -> None:
    assert "COMMUNITY" not in demo.features
    url = f"/guilds/{demo.id}/channels"
    status, body, _ = await api.request("POST", url, {"name": "stage", "type": 13})
    assert (status, body["code"]) == (400, 50024)
    assert body["message"] == "Cannot execute action on this channel type"
    status, body, _ = await api.request("POST", url, {"name": "news", "type": 5})
    assert (status, body["code"]) == (400, 50035)
    assert body["errors"]["type"]["_errors"][0]["code"] == "BASE_TYPE_CHOICES"
    general = demo.channel("general")
    status, body, _ = await api.request("PATCH", f"/channels/{general.id}", {"type": 5})
    assert (status, body["code"]) == (400, 50035) and general.type == 0
    assert not {"stage", "news"} & {c.name for c in demo.channels.values()}

    demo.features.append("COMMUNITY")
    status, stage, _ = await api.request("POST", url, {"name": "stage", "type": 13})
    assert status == 201 and stage["type"] == 13
    status, news, _ = await api.request("POST", url, {"name": "news", "type": 5})
    assert status == 201 and news["type"] == 5
    status, got, _ = await api.request("GET", f"/guilds/{demo.id}")
    assert got["features"] == ["COMMUNITY"]


def test_the_demo_guild_is_a_community_guild(sandbox: SandboxServer) -> None:
    guild = sandbox.load(DEMO)[0]
    assert "COMMUNITY" in guild.features
    assert {c.type for c in guild.channels.values()} >= {5}
