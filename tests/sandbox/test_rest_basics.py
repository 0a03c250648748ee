"""Auth, unknown routes, users, gateway discovery and the call log."""

from __future__ import annotations

from typing import Any

import aiohttp

from sandbox.server import SandboxServer
from sandbox.state import Guild
from tests.sandbox.conftest import RestClient


async def test_missing_or_bad_token_is_401(api: RestClient) -> None:
    assert (await api.request("GET", "/users/@me", auth=False))[:2] == (
        401,
        {"message": "401: Unauthorized", "code": 0},
    )
    status, _, _ = await api.request("GET", "/users/@me", auth="Bot wrong")
    assert status == 401


async def test_unknown_route_is_404_and_wrong_method_405(api: RestClient) -> None:
    assert (await api.request("GET", "/nothing/here"))[:2] == (
        404,
        {"message": "404: Not Found", "code": 0},
    )
    status, body, _ = await api.request("PUT", "/users/@me")
    assert (status, body["code"]) == (405, 0)


async def test_me_user_and_gateway(api: RestClient, sandbox: SandboxServer) -> None:
    status, me, headers = await api.request("GET", "/users/@me")
    assert status == 200 and me["id"] == str(sandbox.bot_user_id) and me["bot"] is True
    assert headers["Content-Type"] == "application/json"
    _, gateway, _ = await api.request("GET", "/gateway")
    assert gateway == {"url": sandbox.gateway_url}
    _, bot_gateway, _ = await api.request("GET", "/gateway/bot")
    assert bot_gateway["shards"] == 1
    assert bot_gateway["session_start_limit"]["max_concurrency"] == 1
    _, app, _ = await api.request("GET", "/oauth2/applications/@me")
    assert app["id"] == str(sandbox.application_id)
    status, body, _ = await api.request("GET", "/users/123")
    assert (status, body) == (404, {"message": "Unknown User", "code": 10013})


async def test_calls_are_logged_with_route_templates(
    api: RestClient, sandbox: SandboxServer, demo: Guild
) -> None:
    mark = sandbox.mark()
    await api.request("GET", f"/channels/{demo.channel('general').id}")
    call = await sandbox.wait_for_call(route="/channels/{channel_id}", since=mark)
    assert call["method"] == "GET" and call["status"] == 200
    assert call["path"] == f"/channels/{demo.channel('general').id}"


async def test_dm_channel_and_leaving_a_guild(
    api: RestClient, sandbox: SandboxServer, demo: Guild
) -> None:
    alice = demo.member("alice").user
    status, dm, _ = await api.request(
        "POST", "/users/@me/channels", {"recipient_id": str(alice.id)}
    )
    assert status == 200 and dm["type"] == 1
    status, message, _ = await api.request(
        "POST", f"/channels/{dm['id']}/messages", {"content": "hi"}
    )
    assert status == 200 and "guild_id" not in message
    mark = len(sandbox.dispatches)
    status, _, _ = await api.request("DELETE", f"/users/@me/guilds/{demo.id}")
    assert status == 204
    deleted = await sandbox.wait_for_dispatch("GUILD_DELETE", since=mark)
    assert deleted["data"] == {"id": str(demo.id)}
    status, body, _ = await api.request("GET", f"/guilds/{demo.id}")
    assert (status, body["code"]) == (403, 50001)


async def test_a_body_discord_cannot_read_is_50109(api: RestClient, demo: Guild) -> None:
    """Not JSON, a lone surrogate escape (no UTF-8 text holds one) anywhere in the body or
    in a multipart payload_json, or nesting too deep to parse: 50109, and nothing sent."""
    invalid = {"message": "The request body contains invalid JSON.", "code": 50109}
    # One channel per request: a channel takes 5 messages per 5 s, and Discord counts a
    # refused body against the limit too.
    channels = [c.id for c in demo.channels.values() if c.type == 0]
    bodies: list[Any] = [
        b"{not json",
        b'{"content": "a\\ud800"}',
        b'{"content": "ok", "embeds": [{"title": "\\udc00"}]}',
        b'{"content": "ok", "allowed_mentions": {"\\ud800": []}}',
        b"[" * 100_000 + b"]" * 100_000,
    ]
    form = aiohttp.FormData()
    form.add_field("payload_json", '{"content": "\\ud83d"}', content_type="application/json")
    bodies.append(form)
    assert len(channels) >= 2  # at most 4 requests each
    for index, data in enumerate(bodies):
        channel = channels[index % len(channels)]
        status, body, _ = await api.request("POST", f"/channels/{channel}/messages", data=data)
        assert (status, body) == (400, invalid), index
    assert not any(api.server.state.messages.get(channel) for channel in channels)
    pair = b'{"content": "\\ud83d\\ude00", "allowed_mentions": {"parse": []}}'  # a valid pair
    status, body, _ = await api.request("POST", f"/channels/{channels[-1]}/messages", data=pair)
    assert status == 200 and body["content"] == "\U0001f600"
