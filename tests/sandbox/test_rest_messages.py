"""Messages: send (JSON, multipart), history, edit, delete, bulk delete, limits."""

from __future__ import annotations

import json

import aiohttp

from sandbox.server import SandboxServer
from sandbox.state import Guild
from tests.sandbox.conftest import RestClient, forgive_request_violations


async def test_send_read_edit_delete(api: RestClient, sandbox: SandboxServer, demo: Guild) -> None:
    general = demo.channel("general")
    url = f"/channels/{general.id}/messages"
    status, sent, _ = await api.request(
        "POST", url, {"content": "hello", "embeds": [{"title": "T", "description": "D"}]}
    )
    assert status == 200 and sent["content"] == "hello" and sent["embeds"][0]["title"] == "T"
    status, edited, _ = await api.request("PATCH", f"{url}/{sent['id']}", {"content": "hi"})
    assert status == 200 and edited["content"] == "hi" and edited["edited_timestamp"]
    status, got, _ = await api.request("GET", f"{url}/{sent['id']}")
    assert got["content"] == "hi"
    assert (await api.request("DELETE", f"{url}/{sent['id']}"))[0] == 204
    status, body, _ = await api.request("GET", f"{url}/{sent['id']}")
    assert (status, body["code"]) == (404, 10008)


async def test_history_before_after_around(
    api: RestClient, sandbox: SandboxServer, demo: Guild
) -> None:
    general = demo.channel("general")
    ids = [sandbox.post_message_as("alice", general, str(i)).id for i in range(10)]
    url = f"/channels/{general.id}/messages"
    _, newest, _ = await api.request("GET", f"{url}?limit=3")
    assert [m["content"] for m in newest] == ["9", "8", "7"]
    _, before, _ = await api.request("GET", f"{url}?limit=2&before={ids[5]}")
    assert [m["content"] for m in before] == ["4", "3"]
    _, after, _ = await api.request("GET", f"{url}?limit=2&after={ids[5]}")
    assert [m["content"] for m in after] == ["7", "6"]
    _, around, _ = await api.request("GET", f"{url}?limit=3&around={ids[5]}")
    assert sorted(m["content"] for m in around) == ["4", "5", "6"]


async def test_multipart_upload_becomes_attachment(
    api: RestClient, sandbox: SandboxServer, demo: Guild
) -> None:
    general = demo.channel("general")
    form = aiohttp.FormData()
    form.add_field(
        "payload_json",
        json.dumps({"content": "see file", "attachments": [{"id": 0, "filename": "a.txt"}]}),
        content_type="application/json",
    )
    form.add_field("files[0]", b"file body", filename="a.txt", content_type="text/plain")
    status, message, _ = await api.request("POST", f"/channels/{general.id}/messages", data=form)
    assert status == 200
    attachment = message["attachments"][0]
    assert attachment["filename"] == "a.txt" and attachment["size"] == 9
    async with api.session.get(attachment["url"]) as response:
        assert await response.read() == b"file body"


async def test_others_messages_need_manage_messages(
    api: RestClient, sandbox: SandboxServer
) -> None:
    guild = sandbox.add_guild(
        "Small",
        bot_permissions=["view_channel", "send_messages", "read_message_history"],
        everyone_permissions=0,
    )
    channel = sandbox.add_channel(guild, "chat")
    sandbox.add_member(guild, "erin")
    theirs = sandbox.post_message_as("erin", channel, "mine")
    url = f"/channels/{channel.id}/messages/{theirs.id}"
    status, body, _ = await api.request("DELETE", url)
    assert (status, body["code"]) == (403, 50013)
    status, body, _ = await api.request("PATCH", url, {"content": "edited"})
    assert (status, body["code"]) == (403, 50005)
    status, body, _ = await api.request(
        "POST", f"/channels/{channel.id}/messages", {"content": "x", "embeds": [{"title": "e"}]}
    )
    assert (status, body["code"]) == (403, 50013)  # no EMBED_LINKS


async def test_message_limits(api: RestClient, sandbox: SandboxServer, demo: Guild) -> None:
    sandbox.limiter = None  # many sends in a row; the per-channel send limit is not tested here
    url = f"/channels/{demo.channel('general').id}/messages"
    status, body, _ = await api.request("POST", url, {"content": ""})
    assert (status, body["code"]) == (400, 50006)
    status, body, _ = await api.request("POST", url, {"content": "x" * 2001})
    assert body["errors"]["content"]["_errors"][0]["code"] == "BASE_TYPE_MAX_LENGTH"
    status, body, _ = await api.request("POST", url, {"embeds": [{"title": "t"}] * 11})
    assert "embeds" in body["errors"]
    big = [{"description": "d" * 4000}, {"description": "d" * 2001}]
    status, body, _ = await api.request("POST", url, {"embeds": big})
    assert body["errors"]["embeds"]["_errors"][0]["message"].endswith("6000")
    button = {"type": 2, "style": 1, "label": "b", "custom_id": "c"}
    row = {"type": 1, "components": [button] * 6}
    status, body, _ = await api.request("POST", url, {"content": "x", "components": [row]})
    assert "components" in body["errors"]["components"]["0"]
    rows = [{"type": 1, "components": [button]}] * 6
    status, body, _ = await api.request("POST", url, {"content": "x", "components": rows})
    assert body["errors"]["components"]["_errors"][0]["code"] == "BASE_TYPE_MAX_LENGTH"
    select = {
        "type": 3,
        "custom_id": "s" * 101,
        "options": [{"label": str(i), "value": str(i)} for i in range(26)],
    }
    status, body, _ = await api.request(
        "POST", url, {"content": "x", "components": [{"type": 1, "components": [select]}]}
    )
    errors = body["errors"]["components"]["0"]["components"]["0"]
    assert set(errors) == {"custom_id", "options"}
    long_label = {**button, "label": "l" * 81}
    status, body, _ = await api.request(
        "POST", url, {"content": "x", "components": [{"type": 1, "components": [long_label]}]}
    )
    assert "label" in body["errors"]["components"]["0"]["components"]["0"]
    forgive_request_violations(sandbox)


async def test_bulk_delete_and_typing(api: RestClient, sandbox: SandboxServer, demo: Guild) -> None:
    sandbox.limiter = None  # bulk delete allows 1 request per second
    general = demo.channel("general")
    ids = [str(sandbox.post_message_as("bob", general, str(i)).id) for i in range(3)]
    mark = len(sandbox.dispatches)
    url = f"/channels/{general.id}/messages/bulk-delete"
    status, body, _ = await api.request("POST", url, {"messages": ids[:1]})
    assert status == 400 and "messages" in body["errors"]
    assert (await api.request("POST", url, {"messages": ids}))[0] == 204
    bulk = await sandbox.wait_for_dispatch("MESSAGE_DELETE_BULK", since=mark)
    assert bulk["data"]["ids"] == ids
    assert (await api.request("POST", f"/channels/{general.id}/typing"))[0] == 204
    await sandbox.wait_for_dispatch("TYPING_START", since=mark)
    forgive_request_violations(sandbox)


async def test_reactions(api: RestClient, sandbox: SandboxServer, demo: Guild) -> None:
    general = demo.channel("general")
    message = sandbox.post_message_as("bob", general, "react")
    url = f"/channels/{general.id}/messages/{message.id}/reactions/%F0%9F%91%8D/@me"
    assert (await api.request("PUT", url))[0] == 204
    _, got, _ = await api.request("GET", f"/channels/{general.id}/messages/{message.id}")
    assert got["reactions"][0]["emoji"]["name"] == "👍" and got["reactions"][0]["me"]
    assert (await api.request("DELETE", url))[0] == 204
    assert not message.reactions["👍"]
