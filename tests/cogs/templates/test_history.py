"""Scheduled snapshots: taken when due for approved servers only, kept N days, compared two
at a time on the web, restored as a template opened in the editor (the usual apply), and
never read across servers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import aiohttp

from cogs.templates.document import load_document
from cogs.templates.history import due, snapshot_diff
from tests.cogs.templates.conftest import approve
from tests.cogs.templates.test_web import signed_in
from tests.foundry import Foundry

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def test_due_follows_the_interval_and_zero_turns_it_off() -> None:
    assert due(None, 24, NOW) and not due(None, 0, NOW)
    assert not due(NOW - timedelta(hours=23), 24, NOW)
    assert due(NOW - timedelta(hours=24), 24, NOW)


def test_the_diff_names_what_changed() -> None:
    a = load_document(
        {"version": 2, "name": "a", "channels": [{"name": "general", "type": "text"}]}
    )
    b = load_document(
        {
            "version": 2,
            "name": "b",
            "channels": [
                {
                    "name": "chat",
                    "type": "text",
                    "overwrites": [{"role": "@everyone", "deny": ["send_messages"]}],
                }
            ],
        }
    )
    diff = snapshot_diff(a, b, older_name="one", newer_name="two")
    assert "-#general (text)" in diff and "+#chat (text)" in diff
    assert any(line.startswith("+    @@everyone: allow=0 deny=") for line in diff)
    assert snapshot_diff(a, a, older_name="x", newer_name="y") == []


async def test_snapshots_are_scheduled_compared_restored_and_pruned(foundry: Foundry) -> None:
    cog = foundry.bot.get_cog("TemplatesCog")
    assert await cog.take_due_snapshots(NOW) == 0  # not approved yet: nothing read
    await approve(foundry)
    assert await cog.take_due_snapshots(NOW) == 1
    assert await cog.take_due_snapshots(NOW + timedelta(hours=1)) == 0  # not due
    general = foundry.server.state.channels[foundry.guild.channel("general").id]
    general.name = "chat"
    assert await cog.take_due_snapshots(NOW + timedelta(hours=24)) == 1
    [(newer, _), (older, _)] = await cog.drifts.snapshots.list(foundry.guild.id)

    base, gid = foundry.process.web_url, foundry.guild.id
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        csrf = await signed_in(foundry, session, "bob")
        page = f"{base}/guilds/{gid}/templates/history"
        async with session.get(page, params={"a": str(newer), "b": str(older)}) as shown:
            text = await shown.text()
            assert shown.status == 200
            assert "-#general (text)" in text and "+#chat (text)" in text
        async with session.get(page, params={"a": str(older), "b": "99999"}) as missing:
            assert missing.status == 404
        async with session.post(
            f"{page}/{older}/restore", data={"csrf_token": csrf}, allow_redirects=False
        ) as restored:
            assert restored.status == 303
            assert (
                "/templates/edit?name=snapshot%202026-12-02%201200" in restored.headers["Location"]
            )
    found = await cog.service.lookup(gid, "snapshot 2026-12-02 1200")
    assert "general" in [node.name for node in found.template.walk()]

    await cog.take_due_snapshots(NOW + timedelta(days=30, hours=12))  # the first is 30.5 days old
    listed = await cog.drifts.snapshots.list(gid)
    assert older not in [sid for sid, _ in listed] and newer in [sid for sid, _ in listed]
    assert await cog.drifts.snapshots.get(gid + 1, newer) is None  # never another server's
