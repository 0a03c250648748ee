"""Dashboards belong to one server: presses, channels and hosts of another server never
reach them (two servers in one sandbox, the attacker a plain member of the second)."""

from __future__ import annotations

import asyncio
from typing import Any

from sandbox.driver import SandboxDriver
from sandbox.mentions_audit import mentions_audit
from tests.cogs.dashboards.test_end_to_end import create, eventually, metrics, service
from tests.foundry import Foundry

__all__ = ["metrics"]

OTHER: dict[str, Any] = {
    "guilds": [
        {
            "name": "Elsewhere",
            "owner": "mallory",
            "members": [{"name": "mallory"}],
            "channels": [{"name": "lounge"}],
        }
    ]
}


async def second_server(foundry: Foundry):  # type: ignore[no-untyped-def]
    [guild] = foundry.server.load(OTHER)
    for _ in range(200):
        if foundry.bot.get_guild(guild.id) is not None:
            return guild
        await asyncio.sleep(0.02)
    raise AssertionError("the bot never saw the second server")


def forged_press(foundry: Foundry, user: Any, channel: Any, message: Any, custom_id: str):  # type: ignore[no-untyped-def]
    """A component interaction naming `custom_id` on `message`, whatever that message holds."""
    return foundry.server.create_interaction(
        3,
        user=user,
        channel=channel,
        data={"custom_id": custom_id, "component_type": 2},
        message=message,
    )


async def test_a_press_from_another_server_is_not_answered_with_this_dashboard(
    foundry: Foundry, metrics: Any
) -> None:
    driver, _message = await create(foundry)
    other = await second_server(foundry)
    mallory = other.member("mallory")
    lounge = other.channel("lounge")
    bait = foundry.server.post_message_as(mallory, lounge, "anything")
    inter = forged_press(foundry, mallory, lounge, bait, "fcd:1:details")
    answer = await driver.answer(inter, "answer the forged press")
    assert answer.ephemeral
    assert "lab-1" not in answer.content and "CPU" not in answer.content
    assert "no longer exists" in answer.content


async def test_a_press_on_another_message_of_the_same_server_is_refused(
    foundry: Foundry, metrics: Any
) -> None:
    driver, message = await create(foundry)
    carol = foundry.guild.member("carol")
    general = foundry.guild.channel("general")
    bait = foundry.server.post_message_as(carol, general, "not a dashboard")
    inter = forged_press(foundry, carol, general, bait, "fcd:1:details")
    answer = await driver.answer(inter, "answer the press on the wrong message")
    assert "no longer exists" in answer.content and "lab-1" not in answer.content
    # The dashboard's own message still answers.
    own = await driver.member("carol").press(message, "fcd:1:details")
    assert "**CPU**" in own.content
    assert service(foundry).records[1].guild_id == foundry.guild.id
    assert isinstance(driver, SandboxDriver)


async def test_a_channel_of_another_server_is_refused_when_saved_and_when_used(
    foundry: Foundry, metrics: Any
) -> None:
    from bot.guild_objects import ForeignObject
    from cogs.dashboards.presets import preset
    from tests.cogs.dashboards.test_web import signed_in

    _driver, _message = await create(foundry)
    other = await second_server(foundry)
    lounge = other.channel("lounge")
    dash = service(foundry)
    bob = foundry.guild.member("bob").user.id
    # When saved: the service (slash and web both go through it) and the web form.
    try:
        await dash.create(foundry.guild.id, lounge.id, "x", preset("server"), bob)
    except ForeignObject as exc:
        assert "not a text channel of this server" in exc.message
    else:
        raise AssertionError("a channel of another server was accepted")
    base = f"{foundry.process.web_url}/guilds/{foundry.guild.id}/dashboards"
    async with signed_in(foundry, "bob") as (session, csrf):
        form = {"csrf_token": csrf, "preset": "server", "channel": str(lounge.id), "name": ""}
        async with session.post(base, data=form, allow_redirects=False) as refused:
            assert refused.status == 400
        for bad in ("²", "9" * 25):
            async with session.post(
                base, data=form | {"channel": bad}, allow_redirects=False
            ) as refused:
                assert refused.status == 400
    assert [r.id for r in await dash.store.list()] == [1]
    # When used: a row that names another server's channel (stored before this check, or
    # written by hand) is never posted; the dashboard stops with the reason.
    record = await dash.store.create(foundry.guild.id, lounge.id, "x", preset("server"), bob)
    await dash.sync()

    async def stopped() -> str | None:
        stored = await dash.store.get(record.id)
        return stored.error if stored is not None else None

    reason = await eventually(lambda: dash.scheduler.entries[record.id].stopped, "stop it")
    assert "not a text channel of this server" in reason
    assert "not a text channel" in await eventually(stopped, "record why")
    # (The only message there is the bot's own "waiting for approval" notice.)
    assert [m for m in foundry.server.state.channel_messages(lounge.id) if m.embeds] == []


def message_bodies(foundry: Foundry) -> list[tuple[str, dict[str, Any]]]:
    """Every message body the bot sent: posts, edits, interaction answers, follow-ups."""
    out = []
    for call in foundry.server.calls:
        body = call.get("json")
        if not isinstance(body, dict) or call["method"] not in ("POST", "PATCH"):
            continue
        route = call["route"]
        if route.endswith("/callback"):
            if body.get("type") in (4, 7):
                out.append((route, body.get("data") or {}))
        elif "/messages" in route or route.startswith("/webhooks/"):
            out.append((route, body))
    return out


async def test_every_message_names_who_may_be_pinged(foundry: Foundry, metrics: Any) -> None:
    driver, message = await create(foundry)
    carol = driver.member("carol")
    await carol.press(message, "fcd:1:details")
    await carol.press(message, "fcd:1:refresh")
    await driver.member("bob").run("dashboard list", channel="general")
    await driver.member("bob").run("dashboard refresh", {"id": 9}, channel="general")
    bodies = [(r, b) for r, b in message_bodies(foundry) if "embeds" in b or "content" in b]
    assert len(bodies) >= 5
    assert mentions_audit(foundry.server.calls) == []  # the sandbox's own audit agrees
    for route, body in bodies:
        mentions = body.get("allowed_mentions")
        assert mentions is not None, (route, body)
        assert "everyone" not in mentions.get("parse", []), (route, body)


async def test_a_layout_pinning_a_host_of_another_server_is_refused_when_saved(
    foundry: Foundry, metrics: Any
) -> None:
    from tests.cogs.dashboards.test_web import signed_in

    await create(foundry, "server")
    metrics.visible = {foundry.guild.id + 1}  # lab-1 belongs to another server
    layout = {
        "title": "Pinned",
        "widgets": [
            {
                "id": "cpu",
                "title": "CPU",
                "source": {"kind": "metric", "metric": "cpu.percent", "host": "lab-1"},
                "format": "bar",
            }
        ],
    }
    base = f"{foundry.process.web_url}/guilds/{foundry.guild.id}/dashboards/1"
    async with signed_in(foundry, "bob") as (session, csrf):
        headers = {"X-CSRF-Token": csrf}
        for path in ("/preview", "/layout"):
            async with session.post(base + path, json=layout, headers=headers) as response:
                assert response.status == 422
                [error] = (await response.json())["errors"]
                assert error.startswith("widgets[0].source.host: not a host this server can see")
    assert (await service(foundry).store.get(1)).layout.title == "Server statistics"
