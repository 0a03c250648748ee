"""The mention audit of the `foundry` fixture (tests/foundry.py) catches what it is for: a
message sent without an explicit allowed_mentions, and one letting @everyone ping, on every
route that sends a message. Through the real bot and sandbox, nextcord's stock
`AllowedMentions(roles=...)` is caught and `bot.mentions.only` passes."""

from __future__ import annotations

from typing import Any

import nextcord
import pytest

from bot.mentions import no_mentions, only
from tests.foundry import Foundry, approve, mention_problems

EVERYONE = {"parse": ["everyone", "users", "roles"], "replied_user": True}
SAFE = {"parse": []}


def call(method: str, route: str, body: Any, path: str = "/x") -> dict[str, Any]:
    return {"method": method, "route": route, "path": path, "json": body, "status": 200}


POST = ("POST", "/channels/{channel_id}/messages")
PATCH = ("PATCH", "/channels/{channel_id}/messages/{message_id}")
EXECUTE = ("POST", "/webhooks/{webhook_id}/{webhook_token}")
EDIT_ORIGINAL = ("PATCH", "/webhooks/{webhook_id}/{webhook_token}/messages/@original")
CALLBACK = ("POST", "/interactions/{interaction_id}/{interaction_token}/callback")


@pytest.mark.parametrize(
    ("route", "body"),
    [
        (POST, {"content": "hi"}),
        (POST, {"embeds": [{"title": "t"}]}),  # every message names what may ping
        (PATCH, {"embeds": [{"title": "t"}]}),
        (PATCH, {"content": "edited"}),
        (EXECUTE, {"content": "follow-up"}),
        (EDIT_ORIGINAL, {"content": "edited"}),
        (CALLBACK, {"type": 4, "data": {"content": "answer"}}),
        (CALLBACK, {"type": 7, "data": {"content": "updated"}}),
    ],
)
def test_a_message_without_allowed_mentions_is_a_problem(
    route: tuple[str, str], body: dict[str, Any]
) -> None:
    assert len(mention_problems([call(*route, body)])) == 1
    with_safe = body | {"allowed_mentions": SAFE}
    if route == CALLBACK:
        with_safe = body | {"data": body["data"] | {"allowed_mentions": SAFE}}
    assert mention_problems([call(*route, with_safe)]) == []


@pytest.mark.parametrize("route", [POST, PATCH, EXECUTE, EDIT_ORIGINAL])
def test_everyone_is_a_problem_unless_allowed(route: tuple[str, str]) -> None:
    sent = call(*route, {"content": "@everyone", "allowed_mentions": EVERYONE})
    assert "@everyone" in mention_problems([sent])[0]
    assert mention_problems([sent], everyone_ok=True) == []


def test_what_sends_no_message_is_not_a_problem() -> None:
    assert mention_problems([call(*CALLBACK, {"type": 5})]) == []  # deferred
    refused = call(*POST, {"content": "x"}) | {"status": 403}  # Discord sent nothing
    assert mention_problems([refused]) == []
    assert mention_problems([call("PUT", "/guilds/{guild_id}/roles", {"name": "x"})]) == []


def test_secrets_in_paths_are_not_repeated() -> None:
    problem = mention_problems(
        [call(*EXECUTE, {"content": "x"}, path="/webhooks/123/very-secret-token")]
    )[0]
    assert "very-secret-token" not in problem and "/webhooks/123/" in problem


async def test_real_sends_through_nextcord_are_audited(foundry: Foundry) -> None:
    channel = foundry.bot.get_channel(foundry.guild.channel("general").id)
    role = next(r for r in foundry.guild.roles.values() if r.name == "Admins")
    mark = foundry.server.mark()
    await channel.send("named role", allowed_mentions=only(roles=[role.id]))
    await channel.send("nothing", allowed_mentions=no_mentions())
    await channel.send("the client default")  # no_mentions(), set on the client
    assert mention_problems(foundry.server.calls[mark:]) == []

    # Merged into the client's default no_mentions(), even the stock object is safe...
    await channel.send("merged", allowed_mentions=nextcord.AllowedMentions(roles=[role]))
    assert mention_problems(foundry.server.calls[mark:]) == []
    # ...but on its own (raw REST, a webhook without the bot's state) it allows everything.
    stock = nextcord.AllowedMentions(roles=[role]).to_dict()
    await foundry.bot.http.send_message(channel.id, "stock", allowed_mentions=stock)
    await foundry.bot.http.send_message(channel.id, "raw, with no default applied")
    problems = mention_problems(foundry.server.calls[mark:])
    assert len(problems) == 2
    assert "@everyone" in problems[0] and "'stock'" in problems[0]
    assert "no allowed_mentions" in problems[1]
    foundry.server.calls.clear()  # caught on purpose: the fixture's own audit passes


async def test_a_component_update_names_what_may_ping(foundry: Foundry) -> None:
    """nextcord's `response.edit_message` sends no allowed_mentions of its own."""
    driver = await approve(foundry)
    sent = await driver.member("bob").run("update", channel="general")
    mark = foundry.server.mark()
    updated = await driver.member("bob").press(sent.message, "feature:update")
    assert updated.type == 7 and updated.content == "updated @everyone"
    (callback,) = [c for c in foundry.server.calls[mark:] if c["route"].endswith("/callback")]
    assert callback["json"]["data"]["allowed_mentions"] == {"parse": []}
