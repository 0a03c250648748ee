"""Server templates: snapshots with template-local ids, through nextcord and raw REST."""

from __future__ import annotations

from typing import Any

from nextcord.ext import commands

from sandbox.server import SandboxServer
from sandbox.state import Guild
from tests.sandbox.conftest import RestClient, forgive_request_violations

SOURCE: dict[str, Any] = {
    "guilds": [
        {
            "name": "Source",
            "owner": "alice",
            "features": ["COMMUNITY"],
            "roles": [{"name": "Mod", "permissions": ["manage_messages"], "color": 0x3498DB}],
            "members": [{"name": "alice"}, {"name": "bob", "roles": ["Mod"]}],
            "channels": [{"name": "lobby"}],
            "categories": [
                {
                    "name": "Info",
                    "channels": [
                        {
                            "name": "rules",
                            "overwrites": {
                                "@everyone": {"deny": ["send_messages"]},
                                "Mod": {"allow": ["send_messages"]},
                                "bob": {"allow": ["manage_messages"]},
                            },
                        },
                        {"name": "news", "type": "announcement"},
                    ],
                },
                {"name": "Talk", "channels": [{"name": "Voice", "type": "voice"}]},
            ],
        }
    ]
}


def by_name(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in items}


async def test_template_snapshot_uses_template_ids(api: RestClient, sandbox: SandboxServer) -> None:
    guild = sandbox.load(SOURCE)[0]
    guild.system_channel_id = guild.channel("lobby").id
    guild.afk_channel_id = guild.channel("Voice").id
    status, made, _ = await api.request(
        "POST", f"/guilds/{guild.id}/templates", {"name": "Base", "description": "our layout"}
    )
    assert status == 200 and len(made["code"]) == 12 and made["is_dirty"] is None
    status, fetched, _ = await api.request("GET", f"/guilds/templates/{made['code']}")
    assert status == 200 and fetched == made
    src = fetched["serialized_source_guild"]

    roles = src["roles"]
    assert [(r["id"], r["name"]) for r in roles] == [(0, "@everyone"), (1, "Mod")]  # no bot role
    assert roles[1]["permissions"] == str(guild.role("Mod").permissions)

    channels = src["channels"]
    assert [c["id"] for c in channels] == list(range(1, len(channels) + 1))
    assert [c["name"] for c in channels] == ["lobby", "Info", "rules", "news", "Talk", "Voice"]
    named = by_name(channels)
    assert named["rules"]["parent_id"] == str(named["Info"]["id"])
    assert named["Voice"]["parent_id"] == str(named["Talk"]["id"])
    assert named["lobby"]["parent_id"] is None
    assert named["news"]["type"] == 0  # announcement channels become text in a template
    overwrites = {o["id"]: o for o in named["rules"]["permission_overwrites"]}
    assert set(overwrites) == {"0", "1"}  # @everyone and Mod; bob's member overwrite dropped
    send = str(1 << 11)
    assert overwrites["0"]["deny"] == send and overwrites["1"]["allow"] == send
    assert src["system_channel_id"] == str(named["lobby"]["id"])
    assert src["afk_channel_id"] == str(named["Voice"]["id"])

    # the template is a snapshot: later changes make it dirty but do not alter it
    guild.channel("lobby").name = "hall"
    status, again, _ = await api.request("GET", f"/guilds/templates/{made['code']}")
    assert again["is_dirty"] is True
    assert again["serialized_source_guild"]["channels"][0]["name"] == "lobby"


async def test_one_template_per_guild_and_unknown_codes(
    api: RestClient, sandbox: SandboxServer, demo: Guild
) -> None:
    url = f"/guilds/{demo.id}/templates"
    assert (await api.request("POST", url, {"name": "first"}))[0] == 200
    status, body, _ = await api.request("POST", url, {"name": "second"})
    assert (status, body["code"]) == (400, 30031)
    status, listed, _ = await api.request("GET", url)
    assert [t["name"] for t in listed] == ["first"]
    status, body, _ = await api.request("GET", "/guilds/templates/nope")
    assert (status, body["code"]) == (404, 10057)
    status, body, _ = await api.request("POST", url, {"name": ""})
    assert (status, body["code"]) == (400, 50035)
    forgive_request_violations(sandbox)
    plain = sandbox.add_guild("Plain", bot_permissions=["view_channel"])
    status, body, _ = await api.request("POST", f"/guilds/{plain.id}/templates", {"name": "x"})
    assert (status, body["code"]) == (403, 50013)


async def test_nextcord_creates_and_fetches_a_template(
    sandbox: SandboxServer, demo: Guild, nextcord_bot: commands.Bot
) -> None:
    guild = nextcord_bot.get_guild(demo.id)
    assert guild is not None
    made = await guild.create_template(name="Demo layout")
    assert [t.code for t in await guild.templates()] == [made.code]
    # for a guild it is not in, nextcord builds the source guild from the snapshot itself
    elsewhere = sandbox.load({"guilds": [{**SOURCE["guilds"][0], "bot": False}]})[0]
    shared = sandbox.add_template(elsewhere, "Shared", creator="alice")
    fetched = await nextcord_bot.fetch_template(shared.code)
    source = fetched.source_guild
    assert source.name == "Source"
    assert {r.name for r in source.roles} == {"@everyone", "Mod"}
    assert {c.name for c in source.channels} == {"lobby", "Info", "rules", "news", "Talk", "Voice"}
    rules = next(c for c in source.channels if c.name == "rules")
    info = next(c for c in source.channels if c.name == "Info")
    assert rules.category_id == info.id
    assert {o.id for o in rules.overwrites} == {0, 1}


async def test_driver_can_make_a_template_for_a_guild_the_bot_is_not_in(
    api: RestClient, sandbox: SandboxServer
) -> None:
    elsewhere = sandbox.load({"guilds": [{**SOURCE["guilds"][0], "bot": False}]})[0]
    template = sandbox.add_template(elsewhere, "Shared", creator="alice")
    status, fetched, _ = await api.request("GET", f"/guilds/templates/{template.code}")
    assert status == 200 and fetched["creator"]["username"] == "alice"
    assert fetched["serialized_source_guild"]["name"] == "Source"
