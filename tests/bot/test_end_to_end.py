"""FoundryCord against the sandbox: guild approval, the pending notice, the command gate,
/web sign-in links, health, restart and a clean shutdown."""

from __future__ import annotations

import asyncio
import re

import aiohttp

from bot.guild_gate import PENDING_NOTICE, PENDING_REPLY
from sandbox.driver import SandboxDriver
from tests.foundry import Foundry


def channel_texts(foundry: Foundry, name: str) -> list[str]:
    channel = foundry.guild.channel(name)
    return [m.content for m in foundry.server.state.channel_messages(channel.id)]


async def run(foundry: Foundry, user: str, name: str, **options):  # type: ignore[no-untyped-def]
    interaction = foundry.server.invoke_command(
        name, user=user, channel=foundry.guild.channel("general"), options=options
    )
    return await foundry.server.wait_for_response(interaction)


async def test_a_new_guild_is_pending_gets_one_notice_and_no_feature_commands(
    foundry: Foundry,
) -> None:
    assert await foundry.process.services.guild_access.status(foundry.guild.id) == "pending"
    # The notice goes out from GUILD_CREATE handling, which may finish just after READY.
    await SandboxDriver(foundry.server).until(
        lambda: channel_texts(foundry, "general").count(PENDING_NOTICE) == 1 or None,
        "post the approval notice",
    )

    answer = await run(foundry, "bob", "ping")
    assert answer.response_type == 4
    assert answer.response_data["content"] == PENDING_REPLY
    assert answer.response_data["flags"] & 64  # ephemeral

    await foundry.restart()  # the notice is not repeated after a restart
    assert channel_texts(foundry, "general").count(PENDING_NOTICE) == 1


async def test_owner_approves_with_the_slash_command_and_features_work(foundry: Foundry) -> None:
    refused = await run(foundry, "bob", "guild", approve={})
    assert "Only the bot's owners" in refused.response_data["content"]

    approved = await run(foundry, "alice", "guild", approve={})
    assert f"Server `{foundry.guild.id}` approved" in approved.response_data["content"]
    assert await foundry.process.services.guild_access.status(foundry.guild.id) == "approved"

    pong = await run(foundry, "bob", "ping")
    assert pong.response_data["content"] == "pong"

    await foundry.restart()  # the decision survives a restart
    pong = await run(foundry, "carol", "ping")
    assert pong.response_data["content"] == "pong"


async def test_rejecting_a_guild_makes_the_bot_leave(foundry: Foundry) -> None:
    since = foundry.server.mark()
    answer = await run(foundry, "alice", "guild", reject={"guild_id": str(foundry.guild.id)})
    assert "rejected" in answer.response_data["content"]
    await foundry.server.wait_for_call(
        method="DELETE", route="/users/@me/guilds/{guild_id}", since=since
    )
    assert await foundry.process.services.guild_access.status(foundry.guild.id) == "rejected"
    assert foundry.bot.get_guild(foundry.guild.id) is None


async def test_auto_approve_skips_the_wait(foundry: Foundry) -> None:
    await foundry.restart(auto_approve=True)
    assert await foundry.process.services.guild_access.status(foundry.guild.id) == "approved"
    assert (await run(foundry, "carol", "ping")).response_data["content"] == "pong"


async def test_web_command_link_signs_in_and_lists_the_managed_guild(foundry: Foundry) -> None:
    await run(foundry, "alice", "guild", approve={})
    answer = await run(foundry, "bob", "web")
    data = answer.response_data
    assert data["flags"] & 64 and data["flags"] & 4  # ephemeral, embeds suppressed
    link = re.search(r"http://\S+", data["content"]).group(0)
    base = foundry.process.web_url
    link = base + link[link.index("/login/") :]

    # unsafe=True: the jar keeps cookies from an IP-address host such as 127.0.0.1
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        async with session.get(link) as confirm:  # opening a link uses nothing up
            assert confirm.status == 200
            assert 'name="token"' in await confirm.text()
        token = link.split("token=", 1)[1]
        async with session.post(base + "/login/link", data={"token": token}) as page:
            assert page.status == 200
            assert str(page.url).endswith("/guilds")
            text = await page.text()
            assert "Lab" in text, text[text.find("<main") :][:1500]
        async with session.get(link) as reused:
            assert "already" in (await reused.text()).lower()
        async with session.get(base + "/healthz") as health:
            body = await health.json()
    assert health.status == 200
    assert body["gateway"] is True and body["database"] is True


async def test_web_guild_list_follows_live_permissions(foundry: Foundry) -> None:
    await run(foundry, "alice", "guild", approve={})
    carol = foundry.server.state.find_user("carol")
    live = foundry.process.web_context.live
    assert await live.can_manage(foundry.guild.id, carol.id) is False
    bob = foundry.server.state.find_user("bob")
    assert await live.can_manage(foundry.guild.id, bob.id) is True

    # bob loses the Admins role: the bot's live view follows the gateway event
    member = foundry.guild.member("bob")
    member.roles.remove(foundry.guild.role("Admins").id)
    foundry.server.emit_member_update(foundry.guild, member)
    for _ in range(500):  # the client handles the dispatch on its own schedule (up to 5 s)
        if not await live.can_manage(foundry.guild.id, bob.id):
            break
        await asyncio.sleep(0.01)
    assert await live.can_manage(foundry.guild.id, bob.id) is False


async def test_web_links_can_be_turned_off_per_guild(foundry: Foundry) -> None:
    from cogs.admin.cog import WEB_LINKS_OFF

    await run(foundry, "alice", "guild", approve={})
    alice = foundry.server.state.find_user("alice")
    store = foundry.process.services.guild_settings
    await store.update(foundry.guild.id, {"web_links": "false"}, alice.id)
    answer = await run(foundry, "bob", "web")
    assert answer.response_data["content"] == WEB_LINKS_OFF
    assert "http" not in answer.response_data["content"]


async def test_web_links_in_a_server_are_only_for_its_managers(foundry: Foundry) -> None:
    from cogs.admin.cog import WEB_NEEDS_MANAGE

    await run(foundry, "alice", "guild", approve={})
    refused = (await run(foundry, "carol", "web")).response_data["content"]
    assert refused == WEB_NEEDS_MANAGE and "http" not in refused
    assert "http://" in (await run(foundry, "bob", "web")).response_data["content"]
    assert "http://" in (await run(foundry, "alice", "web")).response_data["content"]


async def test_mention_commands_pass_the_same_gate(foundry: Foundry) -> None:
    general = foundry.guild.channel("general")
    mention = f"<@{foundry.server.bot_user_id}> ping"

    async def reply_to(content: str) -> str:
        since = foundry.server.mark()
        foundry.server.post_message_as("bob", general, content)
        call = await foundry.server.wait_for_call(
            method="POST", route="/channels/{channel_id}/messages", since=since
        )
        return call["json"]["content"]

    assert await reply_to(mention) == PENDING_REPLY
    await run(foundry, "alice", "guild", approve={})
    assert await reply_to(mention) == "pong"
