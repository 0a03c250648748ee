"""Drift end to end through the sandbox: a server pins a template; a member with Manage
Channels renames a channel and changes an overwrite; one report appears, shows both and who
did it; Revert (confirmed, by a manager only) restores them and the bot's own changes are
not reported; Accept saves the server as the template; a storm of 50 changes makes one
report."""

from __future__ import annotations

from typing import Any

from sandbox.driver import SandboxDriver
from tests.cogs.templates.conftest import last_job_id, run, wait_job
from tests.foundry import Foundry, approve, eventually

SEND_MESSAGES = 1 << 11


def reports(foundry: Foundry) -> list[Any]:
    status = foundry.guild.channel("status")
    return [
        m
        for m in foundry.server.state.channel_messages(status.id)
        if (m.embeds and "Drift from" in m.embeds[0].get("title", ""))
        or (m.embeds and "Back in shape" in m.embeds[0].get("title", ""))
    ]


async def pinned(foundry: Foundry) -> SandboxDriver:
    driver = await approve(foundry)
    cog = foundry.bot.get_cog("TemplatesCog")
    cog.drift.quiet_s = 0.3  # the quiet time after the last change, short for the test
    saved = await run(driver, "save", name="lab")
    assert "Saved" in saved.content
    answer = await run(driver, "pin", name="lab", channel="status")
    assert "Pinned **lab**" in answer.content and "It matches now." in answer.content
    return driver


async def settled(foundry: Foundry) -> None:
    """The watcher has compared and stored its report."""
    cog = foundry.bot.get_cog("TemplatesCog")
    await eventually(
        lambda: cog.drift.checks >= 1 and not cog.drift._timers and not cog.drift._checking,
        "the drift check done",
    )


def drift_by_hand(foundry: Foundry) -> None:
    """alice (the owner: Manage Channels) renames #general and denies Admins sending there."""
    general = foundry.guild.channel("general")
    admins = foundry.guild.role("Admins")
    foundry.server.edit_channel_as("alice", general, name="chat")
    foundry.server.edit_channel_as(
        "alice",
        general,
        permission_overwrites=[
            {"id": str(admins.id), "type": 0, "allow": "0", "deny": str(SEND_MESSAGES)}
        ],
    )


async def test_a_report_appears_once_shows_both_changes_and_revert_restores_them(
    foundry: Foundry,
) -> None:
    driver = await pinned(foundry)
    refused = await run(driver, "pin", user="carol", name="lab", channel="status")
    assert "Manage Server" in refused.content
    drift_by_hand(foundry)

    [report] = await eventually(lambda: reports(foundry), "a drift report")
    embed = report.embeds[0]
    assert embed["title"].startswith("Drift from lab: 0 to create, 1 to update")
    assert "~  #general  (renamed from chat; permissions)" in embed["description"]
    assert "Changed by: alice" in embed["description"]
    await settled(foundry)
    assert len(reports(foundry)) == 1

    stranger = await driver.member("carol").press(report, "templates:drift:revert")
    assert "Manage Server" in stranger.content
    preview = await driver.member("bob").press(report, "templates:drift:revert")
    assert preview.message is not None and "to update" in preview.message.embeds[0]["title"]
    before = await last_job_id(foundry)
    await driver.member("bob").press(preview.message, "template:confirm")
    assert await wait_job(foundry, before) == "done"
    general = foundry.server.state.channels[foundry.guild.channel("general").id]
    assert general.name == "general"
    assert foundry.guild.role("Admins").id not in general.overwrites

    def closed() -> bool:
        found = reports(foundry)
        return len(found) == 1 and found[0].embeds[0]["title"] == "Back in shape: lab"

    await eventually(closed, "the report closed, and no new report for the bot's revert")
    assert reports(foundry)[0].components == []


async def test_a_role_changed_by_hand_is_reported_and_reverted(foundry: Foundry) -> None:
    """Roles drift too: alice (the owner) renames Admins and gives it Manage Channels; the
    report names the role, and Revert restores its name and permissions."""
    driver = await pinned(foundry)
    admins = foundry.guild.role("Admins")
    permissions_before = admins.permissions
    foundry.server.edit_role_as(
        "alice", admins, name="Admins-renamed", permissions=str(permissions_before | (1 << 4))
    )
    [report] = await eventually(lambda: reports(foundry), "a drift report")
    embed = report.embeds[0]
    assert embed["title"].startswith("Drift from lab: 0 to create, 1 to update"), embed
    assert "Admins" in embed["description"], embed["description"]
    assert "Changed by: alice" in embed["description"]  # the audit log's ROLE_UPDATE
    await settled(foundry)
    # the owner reverts: Admins is bob's own highest role, which Discord lets him not edit
    preview = await driver.member("alice").press(report, "templates:drift:revert")
    assert preview.message is not None
    before = await last_job_id(foundry)
    await driver.member("alice").press(preview.message, "template:confirm")
    assert await wait_job(foundry, before) == "done"
    role = foundry.server.state.guilds[foundry.guild.id].roles[admins.id]
    assert (role.name, role.permissions) == ("Admins", permissions_before)
    await eventually(
        lambda: reports(foundry)[0].embeds[0]["title"] == "Back in shape: lab",
        "the report closed, and no new report for the bot's revert",
    )
    assert len(reports(foundry)) == 1


async def test_accept_saves_the_live_server_as_the_template(foundry: Foundry) -> None:
    driver = await pinned(foundry)
    drift_by_hand(foundry)
    [report] = await eventually(lambda: reports(foundry), "a drift report")
    await settled(foundry)
    question = await driver.member("bob").press(report, "templates:drift:accept")
    assert "new version of **lab**" in question.content
    done = await driver.member("bob").press(question.message, "template:confirm")
    assert done is not None
    cog = foundry.bot.get_cog("TemplatesCog")

    async def saved() -> bool:
        found = await cog.service.lookup(foundry.guild.id, "lab")
        return "chat" in [node.name for node in found.template.walk()]

    await eventually(saved, "the live server saved as lab")
    await eventually(
        lambda: reports(foundry)[0].embeds[0]["title"] == "Back in shape: lab", "closed"
    )
    answer = await driver.member("bob").run("template drift", {}, channel="status")
    assert "matches **lab**" in answer.content


async def test_a_storm_of_50_changes_makes_one_report(foundry: Foundry) -> None:
    await pinned(foundry)
    general = foundry.guild.channel("general")
    for index in range(50):
        foundry.server.edit_channel_as("alice", general, topic=f"change {index}")
    [report] = await eventually(lambda: reports(foundry), "a drift report")
    cog = foundry.bot.get_cog("TemplatesCog")
    await eventually(lambda: not cog.drift._timers and not cog.drift._checking, "settled")
    assert len(reports(foundry)) == 1
    assert cog.drift.checks == 1, cog.drift.checks
    assert "topic" in report.embeds[0]["description"]


async def test_pin_drift_and_unpin_on_the_web(foundry: Foundry) -> None:
    import aiohttp

    from tests.cogs.templates.test_web import signed_in

    driver = await approve(foundry)
    await run(driver, "save", name="lab")
    base, gid = foundry.process.web_url, foundry.guild.id
    status = foundry.guild.channel("status")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        csrf = await signed_in(foundry, session, "bob")
        pin = f"{base}/guilds/{gid}/templates/pin"
        form = {"csrf_token": csrf, "name": "lab", "channel": "123456789012345678"}
        async with session.post(pin, data=form) as refused:  # not a channel of this server
            assert refused.status == 400
            assert "channel: not a text channel of this server" in await refused.text()
        async with session.post(pin, data={**form, "name": "nope@1", "channel": status.id}) as bad:
            assert bad.status == 400 and "name:" in await bad.text()
        async with session.post(pin, data={**form, "channel": str(status.id)}) as done:
            text = await done.text()
            assert done.status == 200 and "Pinned lab. It matches now." in text
            assert 'data-testid="drift-none"' in text
        foundry.bot.get_cog("TemplatesCog").drift.quiet_s = 0.3
        drift_by_hand(foundry)
        async with session.get(f"{base}/guilds/{gid}/templates/drift") as page:
            text = await page.text()
            assert "renamed from chat; permissions" in text and "0 to create, 1 to update" in text
        await eventually(lambda: reports(foundry), "the report of the same drift")
        await settled(foundry)
        async with session.post(
            f"{base}/guilds/{gid}/templates/unpin", data={"csrf_token": csrf}
        ) as page:
            assert "Unpinned." in await page.text()
    cog = foundry.bot.get_cog("TemplatesCog")
    assert await cog.pins.get(gid) is None and gid not in cog.drift.pinned


async def test_a_report_is_posted_once_when_recording_it_fails_after_discord_took_it(
    foundry: Foundry,
) -> None:
    await pinned(foundry)
    cog = foundry.bot.get_cog("TemplatesCog")
    real = cog.pins.set_report
    failures = []

    async def outage_once(guild_id: int, message_id: int | None) -> None:
        if not failures:
            failures.append(message_id)
            raise ConnectionError("the database went away after Discord took the report")
        await real(guild_id, message_id)

    cog.pins.set_report = outage_once
    drift_by_hand(foundry)
    [report] = await eventually(lambda: reports(foundry), "a drift report")
    await settled(foundry)
    assert failures == [report.id]
    pin = await cog.pins.get(foundry.guild.id)
    assert pin.report_message_id is None and pin.report_nonce  # claimed, never marked
    assert f"ref {pin.report_nonce}" in report.embeds[0]["footer"]["text"]

    general = foundry.guild.channel("chat")
    foundry.server.edit_channel_as("alice", general, topic="one more change")
    await eventually(lambda: cog.drift.checks >= 2, "the second check")
    await settled(foundry)
    assert [m.id for m in reports(foundry)] == [report.id]  # found by its nonce, edited
    assert "topic" in reports(foundry)[0].embeds[0]["description"]
    assert (await cog.pins.get(foundry.guild.id)).report_message_id == report.id
