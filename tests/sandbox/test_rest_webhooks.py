"""Channel webhooks: create and list, execute (with ?wait), edit and delete their messages."""

from __future__ import annotations

import nextcord
from nextcord.ext import commands

from sandbox.server import SandboxServer
from sandbox.state import Guild
from tests.sandbox.conftest import RestClient


async def test_nextcord_creates_a_webhook_sends_and_edits(
    sandbox: SandboxServer, demo: Guild, nextcord_bot: commands.Bot
) -> None:
    general = demo.channel("general")
    channel = nextcord_bot.get_channel(general.id)
    assert isinstance(channel, nextcord.TextChannel)
    hook = await channel.create_webhook(name="Status")
    assert hook.token and hook.channel_id == general.id
    assert [h.id for h in await channel.webhooks()] == [hook.id]

    mark = len(sandbox.dispatches)
    sent = await hook.send("all green", username="Monitor", wait=True)
    assert sent.content == "all green" and sent.author.name == "Monitor"
    stored = sandbox.state.message(general.id, sent.id)
    assert stored.webhook_id == hook.id and stored.author.id == hook.id
    created = await sandbox.wait_for_dispatch("MESSAGE_CREATE", since=mark)
    assert created["data"]["webhook_id"] == str(hook.id) and "member" not in created["data"]

    edited = await hook.edit_message(sent.id, content="all green (edited)")
    assert edited.content == "all green (edited)"
    assert stored.content == "all green (edited)" and stored.edited_timestamp
    await hook.delete_message(sent.id)
    assert sent.id not in sandbox.state.messages[general.id]


async def test_execute_without_wait_is_204_and_tokens_are_checked(
    api: RestClient, sandbox: SandboxServer, demo: Guild
) -> None:
    general = demo.channel("general")
    status, hook, _ = await api.request(
        "POST", f"/channels/{general.id}/webhooks", {"name": "Relay"}
    )
    assert status == 200 and hook["type"] == 1 and hook["user"]["id"] == str(sandbox.bot_user_id)
    url = f"/webhooks/{hook['id']}/{hook['token']}"
    status, body, _ = await api.request("POST", url, {"content": "quiet"}, auth=False)
    assert status == 204 and body is None
    assert sandbox.state.channel_messages(general.id)[-1].content == "quiet"
    status, body, _ = await api.request(
        "POST", f"/webhooks/{hook['id']}/wrong", {"content": "x"}, auth=False
    )
    assert (status, body["code"]) == (401, 50027)
    status, body, _ = await api.request(
        "POST", f"/webhooks/{general.id}/x", {"content": "x"}, auth=False
    )
    assert (status, body["code"]) == (404, 10015)
    status, body, _ = await api.request("POST", url, {}, auth=False)
    assert (status, body["code"]) == (400, 50006)

    # someone else's message is not the webhook's to edit
    other = sandbox.post_message_as("alice", general, "mine")
    status, body, _ = await api.request(
        "PATCH", f"{url}/messages/{other.id}", {"content": "hijack"}, auth=False
    )
    assert (status, body["code"]) == (404, 10008) and other.content == "mine"


async def test_webhook_in_a_forum_posts_threads_and_replies_in_them(
    api: RestClient, sandbox: SandboxServer, demo: Guild
) -> None:
    ideas = demo.channel("ideas")
    status, hook, _ = await api.request("POST", f"/channels/{ideas.id}/webhooks", {"name": "Feed"})
    url = f"/webhooks/{hook['id']}/{hook['token']}"
    status, body, _ = await api.request("POST", url + "?wait=true", {"content": "x"}, auth=False)
    assert (status, body["code"]) == (400, 220001)
    status, post, _ = await api.request(
        "POST", url + "?wait=true", {"content": "first", "thread_name": "News"}, auth=False
    )
    assert status == 200 and post["channel_id"] == post["id"]
    thread = demo.threads[int(post["id"])]
    assert thread.name == "News" and thread.parent_id == ideas.id
    status, reply, _ = await api.request(
        "POST", f"{url}?wait=true&thread_id={thread.id}", {"content": "second"}, auth=False
    )
    assert status == 200 and reply["channel_id"] == str(thread.id)
    status, edited, _ = await api.request(
        "PATCH",
        f"{url}/messages/{reply['id']}?thread_id={thread.id}",
        {"content": "second!"},
        auth=False,
    )
    assert status == 200 and edited["content"] == "second!"


async def test_webhooks_need_manage_webhooks_and_stop_at_15(
    api: RestClient, sandbox: SandboxServer, demo: Guild
) -> None:
    plain = sandbox.add_guild("Plain", bot_permissions=["view_channel", "send_messages"])
    text = sandbox.add_channel(plain, "text")
    status, body, _ = await api.request("POST", f"/channels/{text.id}/webhooks", {"name": "x"})
    assert (status, body["code"]) == (403, 50013)
    general = demo.channel("general")
    for i in range(15):
        status, _, _ = await api.request(
            "POST", f"/channels/{general.id}/webhooks", {"name": f"h{i}"}
        )
        assert status == 200
    status, body, _ = await api.request(
        "POST", f"/channels/{general.id}/webhooks", {"name": "one more"}
    )
    assert (status, body["code"]) == (400, 30007)
