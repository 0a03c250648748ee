"""The dashboards' web routes: layout errors by path, nothing saved on bad input, only
members with Manage Server, and a save that reaches the live message."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
from sqlalchemy import text as text_sql

from sandbox.driver import SandboxDriver
from tests.bot.test_state_cache import QueryCounter
from tests.cogs.dashboards.test_end_to_end import calls, create, eventually, service
from tests.foundry import Foundry

EDIT = "PATCH /channels/{channel_id}/messages/{message_id}"


@asynccontextmanager
async def signed_in(
    foundry: Foundry, user: str
) -> AsyncIterator[tuple[aiohttp.ClientSession, str]]:
    """A web session signed in as `user`, and its CSRF token."""
    user_id = foundry.server.state.find_user(user).id
    link = await foundry.process.web_context.signin.issue(user_id)
    base = foundry.process.web_url
    token = link.split("token=", 1)[1]
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        async with session.post(base + "/login/link", data={"token": token}) as page:
            assert page.status == 200
            csrf = re.search(r'name="csrf-token" content="([^"]+)"', await page.text()).group(1)
        yield session, csrf


async def test_preview_refuses_a_bad_layout_naming_each_path(foundry: Foundry) -> None:
    await create(foundry, "server")
    base = f"{foundry.process.web_url}/guilds/{foundry.guild.id}/dashboards/1"
    bad = {
        "title": "x" * 300,
        "widgets": [{"id": "a", "title": "A", "width": 5, "source": {"kind": "nope"}}],
    }
    async with signed_in(foundry, "bob") as (session, csrf):
        headers = {"X-CSRF-Token": csrf}
        async with session.post(base + "/preview", json=bad, headers=headers) as response:
            assert response.status == 422
            errors = (await response.json())["errors"]
        assert "title: is 300 characters; Discord allows at most 256" in errors
        assert "widgets[0].width: must be between 1 and 3" in errors
        async with session.post(base + "/layout", json=bad, headers=headers) as response:
            assert response.status == 422
        async with session.post(
            base + "/layout",
            data=b"{not json",
            headers=headers | {"Content-Type": "application/json"},
        ) as response:
            assert response.status == 400
        # Nothing was saved.
        assert service(foundry).records[1].layout.title == "Server statistics"
        # The editor page shows the layout and a preview of the live message.
        async with session.get(base) as page:
            text = await page.text()
            assert page.status == 200 and "Server statistics" in text
            assert 'data-testid="preview"' in text and "dc-embed-field" in text


async def test_only_managers_reach_the_pages(foundry: Foundry) -> None:
    await create(foundry, "server")
    base = f"{foundry.process.web_url}/guilds/{foundry.guild.id}/dashboards"
    async with signed_in(foundry, "bob") as (session, _), session.get(base) as page:
        text = await page.text()
        assert page.status == 200 and "Refresh loop: running: last pass" in text
    async with signed_in(foundry, "carol") as (session, csrf):
        async with session.get(base) as page:
            assert page.status == 403
        async with session.post(
            base + "/1/layout", json={"title": "t", "widgets": []}, headers={"X-CSRF-Token": csrf}
        ) as response:
            assert response.status == 403
    assert service(foundry).records[1].layout.title == "Server statistics"


async def test_saving_updates_the_live_message(foundry: Foundry) -> None:
    driver, message = await create(foundry, "server")
    base = f"{foundry.process.web_url}/guilds/{foundry.guild.id}/dashboards/1"
    layout = {
        "title": "Renamed",
        "widgets": [
            {
                "id": "m",
                "title": "Members",
                "width": 3,
                "source": {"kind": "server", "stat": "members"},
                "format": "value",
            }
        ],
    }
    async with (
        signed_in(foundry, "bob") as (session, csrf),
        session.post(base + "/layout", json=layout, headers={"X-CSRF-Token": csrf}) as response,
    ):
        assert response.status == 200
        body = await response.json()
    assert body["payload"]["embeds"][0]["title"] == "Renamed"
    await eventually(lambda: True if calls(foundry, EDIT, 200) else None, "edit the message")
    edited = SandboxDriver(foundry.server).message(message.id)
    assert edited.embeds[0]["title"] == "Renamed"
    assert edited.embeds == body["payload"]["embeds"]
    del driver


async def test_new_from_a_preset_and_remove_from_the_list(foundry: Foundry) -> None:
    driver, first = await create(foundry, "server")
    base = f"{foundry.process.web_url}/guilds/{foundry.guild.id}/dashboards"
    general = foundry.guild.channel("general").id
    async with signed_in(foundry, "bob") as (session, csrf):
        form = {"csrf_token": csrf, "preset": "containers", "channel": str(general), "name": ""}
        async with session.post(base, data=form) as page:
            assert page.status == 200 and str(page.url).endswith("/dashboards/2")
        async with session.post(
            base, data=form | {"channel": "123"}, allow_redirects=False
        ) as refused:
            assert refused.status == 400
        dash = service(foundry)
        await eventually(lambda: dash.scheduler.entries[2].message_id, "post the new one")
        async with session.post(base + "/1/remove", data={"csrf_token": csrf}) as page:
            assert page.status == 200 and "Containers" in await page.text()
    assert [r.id for r in await dash.store.list()] == [2]
    status = foundry.guild.channel("status").id
    assert first.id not in [m.id for m in foundry.server.state.channel_messages(status)]
    del driver


async def test_hostile_layout_bodies_get_a_400_and_nothing_is_saved(foundry: Foundry) -> None:
    await create(foundry, "server")
    base = f"{foundry.process.web_url}/guilds/{foundry.guild.id}/dashboards/1"
    deep = "[" * 10_000 + "]" * 10_000
    infinite = (
        '{"title": "t", "widgets": [{"id": "a", "title": "A", "source": {"kind": "metric",'
        ' "metric": "cpu.percent"}, "format": "bar", "max": 1e999}]}'
    )
    async with signed_in(foundry, "bob") as (session, csrf):
        headers = {"X-CSRF-Token": csrf, "Content-Type": "application/json"}
        for path in ("/preview", "/layout"):
            for body in (deep, infinite, '{"title": NaN, "widgets": []}'):
                async with session.post(base + path, data=body, headers=headers) as response:
                    assert response.status == 400, (path, body[:40], response.status)
                    assert (await response.json())["errors"]
            huge = '{"title": "' + "x" * 300_000 + '", "widgets": []}'
            async with session.post(base + path, data=huge, headers=headers) as response:
                assert response.status == 413
    assert service(foundry).records[1].layout.title == "Server statistics"
    assert (await service(foundry).store.get(1)).layout.title == "Server statistics"


async def test_a_layout_naming_an_unknown_metric_is_refused_with_close_names(
    foundry: Foundry,
) -> None:
    await create(foundry, "server")
    base = f"{foundry.process.web_url}/guilds/{foundry.guild.id}/dashboards/1"
    layout = {
        "title": "Drifted",
        "widgets": [
            {
                "id": "m",
                "title": "Memory",
                "source": {"kind": "metric", "metric": "memory.percent"},
                "format": "bar",
            }
        ],
    }
    async with signed_in(foundry, "bob") as (session, csrf):
        headers = {"X-CSRF-Token": csrf}
        for path in ("/preview", "/layout"):
            async with session.post(base + path, json=layout, headers=headers) as response:
                assert response.status == 422
                [error] = (await response.json())["errors"]
                assert error.startswith("widgets[0].source.metric: unknown metric")
                assert "mem.percent" in error
        # The editor's metric picker offers the catalogue, served by the metrics service.
        async with session.get(base) as page:
            text = await page.text()
            assert '"name": "mem.percent"' in text and '"name": "gpu.{index}.util"' in text
    assert (await service(foundry).store.get(1)).layout.title == "Server statistics"


async def test_the_list_follows_writes_made_elsewhere_and_is_kept_meanwhile(
    foundry: Foundry,
) -> None:
    """The list is kept while the 'dashboards' counter stays (migration dash_0003): no
    query for the dashboards on a repeat, a write by any process (plain SQL here) shows on
    the next request, and the scheduler's bookkeeping on each edit leaves it alone."""
    await create(foundry, "server")
    dash = service(foundry)
    url = f"{foundry.process.web_url}/guilds/{foundry.guild.id}/dashboards"
    queries = QueryCounter(dash.store.db)

    async def counter() -> int:
        async with dash.store.db.session() as session:
            found = await session.execute(
                text_sql("SELECT version FROM state_versions WHERE scope = 'dashboards'")
            )
            return int(found.scalar_one())

    async with signed_in(foundry, "bob") as (session, _):
        async with session.get(url) as page:
            assert ">Server statistics</a>" in await page.text()
        queries.statements.clear()
        async with session.get(url) as page:
            assert page.status == 200 and "Server statistics" in await page.text()
        assert not [q for q in queries.statements if "FROM dashboards" in q]

        before = await counter()
        await dash.store.message_edited(1, "another digest")  # what every refresh writes
        assert await counter() == before
        async with dash.store.db.session() as db_session, db_session.begin():
            await db_session.execute(
                text_sql("UPDATE dashboards SET name = 'Renamed elsewhere' WHERE id = 1")
            )
        assert await counter() == before + 1
        async with session.get(url) as page:
            text = await page.text()
        assert ">Renamed elsewhere</a>" in text and ">Server statistics</a>" not in text
        async with dash.store.db.session() as db_session, db_session.begin():
            await db_session.execute(
                text_sql("UPDATE dashboards SET error = 'the channel is gone' WHERE id = 1")
            )
        async with session.get(url) as page:
            assert "stopped: the channel is gone" in await page.text()


async def test_a_style_of_the_wrong_type_is_a_422_naming_it(foundry: Foundry) -> None:
    await create(foundry, "server")
    base = f"{foundry.process.web_url}/guilds/{foundry.guild.id}/dashboards/1"
    async with signed_in(foundry, "bob") as (session, csrf):
        headers = {"X-CSRF-Token": csrf}
        for style in ([], {}):
            layout = {
                "title": "t",
                "widgets": [],
                "actions": [{"type": "button", "action": "refresh", "style": style}],
            }
            for path in ("/preview", "/layout"):
                async with session.post(base + path, json=layout, headers=headers) as response:
                    assert response.status == 422, (path, style, await response.text())
                    [error] = (await response.json())["errors"]
                    assert error.startswith("actions[0].style: must be one of: primary")
    assert (await service(foundry).store.get(1)).layout.title == "Server statistics"


async def test_a_run_button_naming_an_action_nobody_provides_is_refused(
    foundry: Foundry,
) -> None:
    from cogs.dashboards.dispatch import ACTIONS_SERVICE
    from tests.cogs.dashboards.fakes import FakeActions

    await create(foundry, "server")
    base = f"{foundry.process.web_url}/guilds/{foundry.guild.id}/dashboards/1"
    layout = {
        "title": "Run",
        "widgets": [],
        "actions": [{"type": "button", "action": "run", "run": "zap"}],
    }
    async with signed_in(foundry, "bob") as (session, csrf):
        headers = {"X-CSRF-Token": csrf}
        async with session.post(base + "/layout", json=layout, headers=headers) as response:
            assert response.status == 422
            [error] = (await response.json())["errors"]
            assert error.startswith("actions[0].run: no loaded feature provides the action 'zap'")
        assert (await service(foundry).store.get(1)).layout.title == "Server statistics"
        # a feature that offers other actions: still refused, naming what there is
        offered = FakeActions(("backup",))
        foundry.bot.services.provided.provide(ACTIONS_SERVICE, offered, replace=True)
        async with session.post(base + "/layout", json=layout, headers=headers) as response:
            assert response.status == 422
            [error] = (await response.json())["errors"]
            assert "'zap' (available: backup)" in error
        # once a feature offers it, the layout saves
        offered.offered = ("backup", "zap")
        async with session.post(base + "/layout", json=layout, headers=headers) as response:
            assert response.status == 200, await response.text()
    assert (await service(foundry).store.get(1)).layout.title == "Run"
