"""Threads: forum posts through nextcord and raw REST, and a guild's active threads."""

from __future__ import annotations

import nextcord
from nextcord.ext import commands

from sandbox.server import SandboxServer
from sandbox.state import Guild
from tests.sandbox.conftest import RestClient, forgive_request_violations


async def test_nextcord_creates_a_forum_post_and_lists_active_threads(
    sandbox: SandboxServer, demo: Guild, nextcord_bot: commands.Bot
) -> None:
    ideas = demo.channel("ideas")
    tag_id = int(ideas.available_tags[0]["id"])
    forum = nextcord_bot.get_channel(ideas.id)
    assert isinstance(forum, nextcord.ForumChannel)
    mark = len(sandbox.dispatches)
    tag = forum.get_tag(tag_id)
    assert tag is not None
    post = await forum.create_thread(name="Dark mode", content="Please add it", applied_tags=[tag])
    assert post.name == "Dark mode" and post.parent_id == ideas.id
    assert [t.id for t in post.applied_tags] == [tag_id]
    stored = demo.threads[post.id]
    assert stored.owner_id == sandbox.bot_user_id
    starter = sandbox.state.message(post.id, post.id)  # the first message shares the thread's id
    assert starter.content == "Please add it"
    events = [d["event"] for d in sandbox.dispatches[mark:]]
    assert events.index("THREAD_CREATE") < events.index("MESSAGE_CREATE")
    assert post.id not in demo.channels  # threads are not listed among the guild's channels

    active = await nextcord_bot.get_guild(demo.id).active_threads()
    assert [t.id for t in active] == [post.id]
    sandbox.post_message_as("bob", stored, "+1")
    assert stored.message_count == 1


async def test_forum_post_rules(api: RestClient, sandbox: SandboxServer, demo: Guild) -> None:
    ideas = demo.channel("ideas")
    url = f"/channels/{ideas.id}/threads"
    status, body, _ = await api.request("POST", url, {"name": "no message"})
    assert (status, body["code"]) == (400, 50035) and "message" in body["errors"]
    status, body, _ = await api.request(
        "POST",
        url,
        {"name": "t", "message": {"content": "x"}, "applied_tags": ["1", "2", "3", "4", "5", "6"]},
    )
    assert status == 400 and "applied_tags" in body["errors"]
    status, body, _ = await api.request(
        "POST", url, {"name": "t", "message": {"content": "x" * 2001}}
    )
    assert (status, body["code"]) == (400, 50035)
    status, body, _ = await api.request(
        "POST", url, {"name": "t", "message": {"content": "x"}, "auto_archive_duration": 5}
    )
    assert body["errors"]["auto_archive_duration"]["_errors"][0]["code"] == "BASE_TYPE_CHOICES"
    assert demo.threads == {}  # nothing half-created
    forgive_request_violations(sandbox)

    status, created, _ = await api.request(
        "POST", url, {"name": "ok", "message": {"content": "first"}, "auto_archive_duration": 60}
    )
    assert status == 201
    assert created["message"]["id"] == created["id"]
    assert created["thread_metadata"]["auto_archive_duration"] == 60
    status, active, _ = await api.request("GET", f"/guilds/{demo.id}/threads/active")
    assert status == 200 and [t["id"] for t in active["threads"]] == [created["id"]]

    # deleting the forum takes its posts along
    assert (await api.request("DELETE", f"/channels/{ideas.id}"))[0] == 200
    status, active, _ = await api.request("GET", f"/guilds/{demo.id}/threads/active")
    assert active["threads"] == []


async def test_thread_without_message_in_a_text_channel(
    api: RestClient, sandbox: SandboxServer, demo: Guild
) -> None:
    general = demo.channel("general")
    status, thread, _ = await api.request(
        "POST", f"/channels/{general.id}/threads", {"name": "side talk", "type": 11}
    )
    assert status == 201 and thread["type"] == 11 and thread["parent_id"] == str(general.id)
    status, sent, _ = await api.request(
        "POST", f"/channels/{thread['id']}/messages", {"content": "in the thread"}
    )
    assert status == 200 and sent["channel_id"] == thread["id"]
    lounge = demo.channel("Lounge")
    status, body, _ = await api.request(
        "POST", f"/channels/{lounge.id}/threads", {"name": "x", "type": 11}
    )
    assert (status, body["code"]) == (400, 50024)
