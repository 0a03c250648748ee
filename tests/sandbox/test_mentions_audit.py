"""The sandbox records every message body with its allowed_mentions, and the audit lists the
messages that may ping everyone or do not say who may be pinged."""

from __future__ import annotations

import io
from typing import Any

import nextcord
import pytest
from nextcord.ext import commands

from sandbox.driver import SandboxDriver
from sandbox.mentions_audit import mentions_audit, sent_message
from sandbox.state import Guild
from tests.sandbox.conftest import BotStarter, make_bot

NONE: dict[str, Any] = {"parse": [], "users": [], "roles": [], "replied_user": False}
EVERYONE: dict[str, Any] = {"parse": ["everyone", "users", "roles"], "replied_user": True}
MESSAGES = "/channels/{channel_id}/messages"
CALLBACK = "/interactions/{interaction_id}/{interaction_token}/callback"
WEBHOOK = "/webhooks/{webhook_id}/{webhook_token}"


def call(method: str, route: str, body: Any, status: int = 200) -> dict[str, Any]:
    return {"method": method, "route": route, "path": route, "status": status, "json": body}


@pytest.mark.parametrize(
    ("logged", "reasons"),
    [
        (call("POST", MESSAGES, {"content": "hi", "allowed_mentions": NONE}), []),
        (call("POST", MESSAGES, {"content": "hi"}), ["no allowed_mentions"]),
        (call("POST", MESSAGES, {"content": "hi", "allowed_mentions": EVERYONE}), ["parse"]),
        (call("POST", MESSAGES, {"content": "hi", "allowed_mentions": []}), ["not an object"]),
        (call("POST", MESSAGES, {"content": "hi"}, status=403), []),  # refused: nothing sent
        (call("POST", MESSAGES, {"embeds": [{"title": "x"}]}), []),  # nothing can ping
        (call("PATCH", MESSAGES + "/{message_id}", {"content": "@everyone"}), ["no allowed"]),
        (call("POST", WEBHOOK, {"content": "x", "allowed_mentions": EVERYONE}), ["parse"]),
        (call("PATCH", WEBHOOK + "/messages/@original", {"content": "x"}), ["no allowed"]),
        (call("PATCH", WEBHOOK + "/messages/{message_id}", {"content": "x"}), ["no allowed"]),
        (call("POST", CALLBACK, {"type": 4, "data": {"content": "x"}}), ["no allowed"]),
        (
            call("POST", CALLBACK, {"type": 7, "data": {"content": "x", "allowed_mentions": NONE}}),
            [],
        ),
        (call("POST", CALLBACK, {"type": 5}), []),  # a deferral sends no message yet
        (call("POST", CALLBACK, {"type": 9, "data": {"title": "form"}}), []),
        (
            call(
                "POST", "/channels/{channel_id}/threads", {"name": "t", "message": {"content": "x"}}
            ),
            ["no allowed"],
        ),
        (call("POST", "/channels/{channel_id}/threads", {"name": "t"}), []),
        (call("GET", MESSAGES, None), []),
        (call("DELETE", MESSAGES + "/{message_id}", None), []),
    ],
)
def test_audit_lists_messages_that_may_ping_everyone(
    logged: dict[str, Any], reasons: list[str]
) -> None:
    problems = mentions_audit([logged])
    assert len(problems) == len(reasons)
    for problem, reason in zip(problems, reasons, strict=True):
        assert reason in problem.reason
        assert problem.index == 0 and problem.route == logged["route"]


def test_strict_also_lists_messages_without_content() -> None:
    logged = [call("POST", MESSAGES, {"embeds": [{"title": "x"}]})]
    assert mentions_audit(logged) == []
    [problem] = mentions_audit(logged, strict=True)
    assert "call #0 POST /channels/{channel_id}/messages: no allowed_mentions" in str(problem)


def test_interaction_callback_message_is_its_data() -> None:
    body = {"type": 4, "data": {"content": "x", "allowed_mentions": NONE}}
    assert sent_message(call("POST", CALLBACK, body)) == body["data"]


async def test_recorded_bodies_carry_allowed_mentions_for_every_way_of_sending(
    sandbox: Any, demo: Guild, start_bot: BotStarter
) -> None:
    """Channel sends (JSON and multipart), edits, webhooks, interaction answers and follow-ups:
    each recorded body shows the ``allowed_mentions`` nextcord sent."""
    none = nextcord.AllowedMentions.none()
    bot: commands.Bot = make_bot(allowed_mentions=none)

    @bot.slash_command(name="hello", description="Answers and follows up")
    async def hello(interaction: nextcord.Interaction) -> None:
        await interaction.response.send_message("answer", allowed_mentions=none)
        await interaction.followup.send("@everyone follow-up", allowed_mentions=EVERYONE_AM)

    await start_bot(bot)
    channel = bot.get_channel(demo.channel("general").id)
    assert isinstance(channel, nextcord.TextChannel)
    sent = await channel.send("plain", allowed_mentions=none)
    await channel.send("file", file=nextcord.File(io.BytesIO(b"{}"), "t.json"))
    await sent.edit(content="edited @everyone", allowed_mentions=EVERYONE_AM)
    hook = await channel.create_webhook(name="hook")
    await hook.send("hooked", allowed_mentions=none, wait=True)
    await sandbox.wait_for_command("hello")
    await SandboxDriver(sandbox).member("bob").run("hello", channel="general")
    await sandbox.wait_for_call(
        lambda c: (c["json"] or {}).get("content") == "@everyone follow-up", since=0
    )

    bodies = [m for c in sandbox.calls if (m := sent_message(c)) is not None]
    assert [b.get("content") for b in bodies] == [
        "plain",
        "file",
        "edited @everyone",
        "hooked",
        "answer",
        "@everyone follow-up",
    ]
    assert all("allowed_mentions" in b for b in bodies), bodies
    problems = mentions_audit(sandbox.calls)
    assert [p.content for p in problems] == ["edited @everyone", "@everyone follow-up"]
    assert all("lets @everyone" in p.reason for p in problems)


EVERYONE_AM = nextcord.AllowedMentions(everyone=True, users=True, roles=True)
