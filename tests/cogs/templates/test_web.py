"""The templates' web pages on a running FoundryCord: the JSON API, and the tree editor in
a real Chromium (move a channel, add a role, save, see the diff, apply, see the sandbox
change)."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import aiohttp
from sqlalchemy import text as text_sql

from tests.browser import chromium, requires_chromium
from tests.cogs.templates.conftest import (
    APPLIER,
    apply_from_editor,
    approve,
    nested_channels,
    run,
    service,
)
from tests.foundry import Foundry

LINK_TOKEN = re.compile(r'<input type="hidden" name="token" value="([^"]+)">')
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
SCREENSHOT = Path("/tmp/foundrycord-template-editor.png")


async def signed_in(foundry: Foundry, session: aiohttp.ClientSession, user: str) -> str:
    """Sign `session` in as `user`; returns the session's CSRF token."""
    base = foundry.process.web_url
    user_id = foundry.server.state.find_user(user).id
    link = await foundry.process.web_context.signin.issue(user_id)
    async with session.get(link) as page:
        token = LINK_TOKEN.search(await page.text()).group(1)
    async with session.post(f"{base}/login/link", data={"token": token}) as response:
        assert response.status == 200
    async with session.get(f"{base}/guilds") as page:
        return CSRF_META.search(await page.text()).group(1)


async def test_the_json_api_validates_plans_and_guards_access(foundry: Foundry) -> None:
    await approve(foundry)
    base = foundry.process.web_url
    gid = foundry.guild.id
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        csrf = await signed_in(foundry, session, APPLIER)  # homelab gives Administrator
        headers = {"X-CSRF-Token": csrf}
        async with session.get(f"{base}/guilds/{gid}/templates") as page:
            text = await page.text()
            assert page.status == 200 and "homelab" in text and "Templates" in text
        bad = {"version": 2, "name": "b", "channels": [{"name": "x", "type": "hologram"}]}
        async with session.post(
            f"{base}/guilds/{gid}/templates/api/save", json={"document": bad}, headers=headers
        ) as response:
            assert response.status == 400
            errors = (await response.json())["errors"]
            assert any(e.startswith("$.channels[0].type: unknown channel type") for e in errors)
        async with session.get(
            f"{base}/guilds/{gid}/templates/api/document?name=homelab"
        ) as response:
            homelab = await response.json()
        mark = foundry.server.mark()
        async with session.post(
            f"{base}/guilds/{gid}/templates/api/plan", json={"document": homelab}, headers=headers
        ) as response:
            plan = await response.json()
        assert "to create" in plan["summary"] and plan["refused"] == []
        assert any(line.startswith("+") and "#networking" in line for line in plan["tree"])
        assert not [
            c
            for c in foundry.server.calls[mark:]
            if c["method"] != "GET" and "/interactions/" not in c["path"]
        ]
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        await signed_in(foundry, session, "carol")  # no Manage Server
        async with session.get(f"{base}/guilds/{gid}/templates") as page:
            assert page.status == 403


@requires_chromium[1]
async def test_tree_editor_moves_a_channel_and_applies_it(foundry: Foundry) -> None:
    await approve(foundry)
    guild = foundry.guild
    ops = foundry.server.add_channel(guild, "Ops", "category")
    await asyncio.sleep(0.2)  # the bot sees the new category
    await service(foundry).save_snapshot(guild.id, "lab", foundry.server.state.find_user("bob").id)
    base = foundry.process.web_url
    link = await foundry.process.web_context.signin.issue(foundry.server.state.find_user("bob").id)
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1300, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
        await page.goto(link)
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_url(f"{base}/guilds")
        await page.goto(f"{base}/guilds/{guild.id}/templates")
        await page.get_by_role("link", name="Templates").wait_for()
        await page.locator('a[href$="/templates/edit?name=lab"]').click()
        tree = page.get_by_test_id("template-tree")
        status_node = tree.locator("a.jstree-anchor", has_text="status")
        ops_node = tree.locator("a.jstree-anchor", has_text="Ops")
        await status_node.wait_for()
        # drag #status onto the Ops category with the mouse, as a person would
        source = await status_node.bounding_box()
        target = await ops_node.bounding_box()
        await page.mouse.move(source["x"] + 10, source["y"] + source["height"] / 2)
        await page.mouse.down()
        for step in range(1, 11):
            await page.mouse.move(
                source["x"] + 10 + (target["x"] + 20 - source["x"] - 10) * step / 10,
                source["y"] + (target["y"] - source["y"]) * step / 10 + target["height"] / 2,
            )
            await asyncio.sleep(0.02)
        await page.mouse.up()
        await page.get_by_test_id("template-status").get_by_text("into Ops").wait_for()

        roles = page.get_by_test_id("template-roles")
        assert await roles.get_by_label("Role name").first.input_value() == "Admins"
        await page.get_by_role("button", name="Add role").click()
        await roles.get_by_label("Role name").last.fill("Ops Team")
        await roles.get_by_label("Role name").last.press("Tab")

        await page.get_by_role("button", name="Save").click()
        await page.get_by_test_id("template-status").get_by_text("Saved lab.").wait_for()
        await page.get_by_role("button", name="Show diff").click()
        diff = page.get_by_test_id("template-diff")
        await diff.get_by_text("into Ops").wait_for()
        assert ">" in await diff.inner_text()
        assert "+  @Ops Team" in await diff.inner_text()

        assert await apply_from_editor(page, foundry) == "done"
        await page.screenshot(path=str(SCREENSHOT), full_page=True)
        assert errors == []
    assert foundry.server.state.channels[guild.channel("status").id].parent_id == ops.id
    assert "Ops Team" in {role.name for role in guild.roles.values()}


IMG = "<img src=x onerror=window.pwned=1>"
META = '<meta http-equiv=refresh content="1;url=/x">'
# What a name must never become: an element of the page (or a navigation).
INJECTED = "img[src='x'], meta[http-equiv], b.markup-probe, [onerror]"


@requires_chromium[1]
async def test_names_are_text_on_every_templates_page(foundry: Foundry) -> None:
    await approve(foundry)
    guild = foundry.guild
    store = service(foundry).store
    markup = {
        "version": 2,
        "name": "markup",
        "roles": [{"name": IMG}, {"name": META}],
        "channels": [
            {"name": IMG, "type": "category", "channels": [{"name": META, "type": "voice"}]},
            {"name": "<b class=markup-probe>bold</b>", "type": "voice"},
        ],
    }
    await store.save(guild.id, "markup", markup, 1)
    (other,) = foundry.server.load(
        {"guilds": [{"name": IMG, "owner": "carol", "members": [{"name": "carol"}]}]}
    )
    await store.save(other.id, META, {**markup, "name": META}, 1)
    await store.set_shared(other.id, META, True)
    base = foundry.process.web_url
    link = await foundry.process.web_context.signin.issue(foundry.server.state.find_user("bob").id)
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1300, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
        # every Content-Security-Policy refusal on the page (jsTree's blob: worker was one)
        await page.add_init_script(
            "window.__csp = [];"
            "document.addEventListener('securitypolicyviolation',"
            " (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"
        )
        console: list[str] = []
        page.on("console", lambda message: console.append(message.text))
        navigations: list[str] = []
        page.on(
            "framenavigated",
            lambda frame: navigations.append(frame.url) if frame == page.main_frame else None,
        )
        await page.goto(link)
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_url(f"{base}/guilds")

        async def visit(url: str) -> None:
            await page.goto(url)
            navigations.clear()

        async def assert_inert(where: str) -> None:
            await asyncio.sleep(1.5)  # longer than the meta refresh's one second
            assert await page.locator(INJECTED).count() == 0, where
            assert navigations == [], (where, navigations)
            assert await page.evaluate("window.__csp") == [], where
            assert [t for t in console if "Content Security Policy" in t] == [], where

        await visit(f"{base}/guilds/{guild.id}/templates")
        listing = page.get_by_test_id("template-list")
        await listing.get_by_text(f"{META}@{other.id}").wait_for()
        await listing.get_by_text(f"shared by {IMG}").wait_for()
        await assert_inert("list")

        for name in ("markup", f"{META}@{other.id}"):
            await visit(f"{base}/guilds/{guild.id}/templates/edit?name={quote(name)}")
            tree = page.get_by_test_id("template-tree")
            await tree.locator("a.jstree-anchor", has_text=IMG).wait_for()
            await tree.locator("a.jstree-anchor", has_text=META).wait_for()
            await tree.locator("a.jstree-anchor", has_text="<b class=markup-probe>").wait_for()
            roles = page.get_by_test_id("template-roles").get_by_label("Role name")
            assert await roles.first.input_value() == IMG
            await tree.locator("a.jstree-anchor", has_text=META).click()
            await page.get_by_test_id("node-panel").get_by_label("Name").wait_for()
            await assert_inert(f"editor {name}")
            await page.get_by_role("button", name="Show diff").click()
            diff = page.get_by_test_id("template-diff")
            await diff.get_by_text(META, exact=False).first.wait_for()
            await assert_inert(f"diff {name}")
        # the shared template's origin banner names the other server, as text
        await page.get_by_test_id("template-origin").get_by_text(IMG).wait_for()
        assert await page.locator(INJECTED).count() == 0
        assert errors == []


async def test_deep_and_malformed_bodies_get_a_400_naming_the_problem(foundry: Foundry) -> None:
    await approve(foundry)
    base = foundry.process.web_url
    gid = foundry.guild.id
    deep_json = "[" * 10_000 + "]" * 10_000
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        csrf = await signed_in(foundry, session, "bob")
        headers = {"X-CSRF-Token": csrf, "Content-Type": "application/json"}
        for action in ("save", "plan", "apply"):
            url = f"{base}/guilds/{gid}/templates/api/{action}"
            for body, needle in (
                (deep_json, "nests 10000 levels deep"),
                ('{"document": ' + deep_json + "}", "nests 10001 levels deep"),
                (json.dumps({"document": nested_channels(300)}), "levels deep"),
                ('{"document": {"version": 2, "name": NaN}}', "NaN"),
                ("{oops", "not valid JSON"),
                (json.dumps({"document": {}, "delete_with_messages": 5}), "list of channel"),
            ):
                async with session.post(url, data=body, headers=headers) as response:
                    assert response.status == 400, (action, needle, await response.text())
                    errors = (await response.json())["errors"]
                    assert any(needle in e for e in errors), (action, errors)
    assert await service(foundry).store.find(gid, "deep") is None  # nothing stored


async def test_the_list_deletes_own_templates_with_csrf_and_manage_server(
    foundry: Foundry,
) -> None:
    await approve(foundry)
    base = foundry.process.web_url
    gid = foundry.guild.id
    store = service(foundry).store
    await store.save(gid, "old", {"version": 2, "name": "old", "channels": []}, 1)
    await store.save(4242, "theirs", {"version": 2, "name": "theirs", "channels": []}, 1)
    await store.set_shared(4242, "theirs", True)
    url = f"{base}/guilds/{gid}/templates/delete"
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        await signed_in(foundry, session, "carol")  # no Manage Server
        csrf = CSRF_META.search(await (await session.get(f"{base}/guilds")).text()).group(1)
        async with session.post(url, data={"name": "old", "csrf_token": csrf}) as response:
            assert response.status == 403
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        csrf = await signed_in(foundry, session, "bob")
        async with session.get(f"{base}/guilds/{gid}/templates") as page:
            text = await page.text()
        assert text.count('action="/guilds/' + str(gid) + '/templates/delete"') == 1  # own only
        async with session.post(url, data={"name": "old"}) as response:
            assert response.status == 403  # no CSRF token
        assert await store.find(gid, "old") is not None
        async with session.post(
            url, data={"name": "theirs@4242", "csrf_token": csrf}, allow_redirects=False
        ) as response:
            assert response.status == 303
        assert await store.find_shared(4242, "theirs") is not None
        async with session.post(
            url, data={"name": "old", "csrf_token": csrf}, allow_redirects=False
        ) as response:
            assert response.status == 303
        assert await store.find(gid, "old") is None
        async with session.get(f"{base}/guilds/{gid}/templates") as page:
            assert "Deleted old." in await page.text()


async def test_a_malformed_server_id_is_a_404_not_a_500(foundry: Foundry) -> None:
    await approve(foundry)
    base = foundry.process.web_url
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        await signed_in(foundry, session, "bob")
        for raw in ("²", "9" * 20, "12x"):
            async with session.get(f"{base}/guilds/{quote(raw)}/templates") as page:
                assert page.status == 404, raw
                assert "not a server id" in await page.text()


async def test_a_snapshot_name_with_url_characters_opens_its_editor(foundry: Foundry) -> None:
    await approve(foundry)
    base = foundry.process.web_url
    gid = foundry.guild.id
    name = "a&b #1?"
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        csrf = await signed_in(foundry, session, "bob")
        async with session.post(
            f"{base}/guilds/{gid}/templates/snapshot",
            data={"name": name, "csrf_token": csrf},
            allow_redirects=False,
        ) as response:
            assert response.status == 303
            location = response.headers["Location"]
        assert parse_qs(urlsplit(location).query)["name"] == [name]
        async with session.get(f"{base}{location}") as page:
            assert f'data-name="{name.replace("&", "&amp;")}"' in await page.text()
    assert await service(foundry).store.find(gid, name) is not None


async def test_the_document_shows_each_save_on_the_next_read(foundry: Foundry) -> None:
    await approve(foundry)
    base = foundry.process.web_url
    gid = foundry.guild.id
    url = f"{base}/guilds/{gid}/templates/api/document?name=mine"
    store = service(foundry).store
    bob = foundry.server.state.find_user("bob").id
    first = {"version": 2, "name": "mine", "channels": [{"name": "one", "type": "text"}]}
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        await signed_in(foundry, session, "bob")
        async with session.get(url) as response:
            assert response.status == 404  # none yet
        await store.save(gid, "mine", first, bob)
        async with session.get(url) as response:
            assert [c["name"] for c in (await response.json())["channels"]] == ["one"]
        second = {**first, "channels": [{"name": "two", "type": "text"}]}
        await store.save(gid, "mine", second, bob)  # as /template save or another process
        async with session.get(url) as response:
            assert [c["name"] for c in (await response.json())["channels"]] == ["two"]
        await store.remove(gid, "mine")
        async with session.get(url) as response:
            assert response.status == 404
        await store.save(12345, "mine", first, bob)  # another server's template of that name
        async with session.get(url) as response:
            assert response.status == 404
        async with session.get(f"{base}/guilds/{gid}/templates") as page:
            text = await page.text()
            assert page.status == 200 and "homelab" in text and "mine" not in text


async def test_the_list_and_document_follow_writes_made_elsewhere(foundry: Foundry) -> None:
    """Both are kept in memory while the 'templates' counter stays (migration
    templates_0005): a write by any process, even plain SQL, shows on the next request."""
    await approve(foundry)
    base = foundry.process.web_url
    gid = foundry.guild.id
    store = service(foundry).store
    bob = foundry.server.state.find_user("bob").id
    await store.save(gid, "mine", {"version": 2, "name": "mine", "channels": []}, bob)
    list_url = f"{base}/guilds/{gid}/templates"
    document_url = f"{base}/guilds/{gid}/templates/api/document?name="
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        await signed_in(foundry, session, "bob")
        for _ in range(2):  # the second answer comes from memory
            async with session.get(list_url) as page:
                assert "mine" in await page.text()
            async with session.get(document_url + "mine") as response:
                assert response.status == 200
        async with store.db.session() as db_session, db_session.begin():
            await db_session.execute(
                text_sql(
                    "UPDATE channel_templates SET name = 'renamed-elsewhere' "
                    "WHERE guild_id = :guild AND name = 'mine'"
                ),
                {"guild": gid},
            )
        async with session.get(list_url) as page:
            text = await page.text()
        assert "renamed-elsewhere" in text and "mine" not in text
        async with session.get(document_url + "mine") as response:
            assert response.status == 404
        async with session.get(document_url + "renamed-elsewhere") as response:
            assert response.status == 200


async def test_the_json_api_takes_json_booleans_only(foundry: Foundry) -> None:
    """bool("false") is True: a string once shared a template with every server and planned
    deletions with prune "off". Only JSON true and false are options."""
    await approve(foundry)
    gid = foundry.guild.id
    api = f"{foundry.process.web_url}/guilds/{gid}/templates/api"
    store = service(foundry).store
    doc = {"version": 2, "name": "notshared", "channels": [{"name": "general", "type": "text"}]}
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        headers = {"X-CSRF-Token": await signed_in(foundry, session, "bob")}
        for field, value, action in (
            ("shared", "false", "save"),
            ("shared", 0, "save"),
            ("shared", None, "save"),
            ("prune", "false", "plan"),
            ("roles", "false", "plan"),
            ("prune", 1, "apply"),
        ):
            body = {"document": doc, field: value}
            async with session.post(f"{api}/{action}", json=body, headers=headers) as response:
                assert response.status == 400, (field, value, action)
                errors = (await response.json())["errors"]
            assert errors == [f"$.{field}: {value!r} is not a boolean; send true or false"]
        assert await store.find(gid, "notshared") is None  # nothing stored
        body = {"document": doc, "shared": False}
        async with session.post(f"{api}/save", json=body, headers=headers) as response:
            assert response.status == 200
        assert not (await store.find(gid, "notshared")).shared
        body = {"document": doc, "shared": True}
        async with session.post(f"{api}/save", json=body, headers=headers) as response:
            assert response.status == 200
        assert (await store.find(gid, "notshared")).shared
        body = {"document": doc, "prune": False, "roles": False}
        async with session.post(f"{api}/plan", json=body, headers=headers) as response:
            assert response.status == 200
            assert "0 to delete" in (await response.json())["summary"]


async def test_a_template_name_with_an_at_sign_is_refused_everywhere(foundry: Foundry) -> None:
    """`name@<server id>` names another server's shared template: a server's own template
    of that name would hide it."""
    driver = await approve(foundry)
    gid = foundry.guild.id
    base = foundry.process.web_url
    store = service(foundry).store
    other = 4242
    await store.save(other, "homebase", {"version": 2, "name": "homebase", "channels": []}, 1)
    await store.set_shared(other, "homebase", True)
    evil = f"homebase@{other}"
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        csrf = await signed_in(foundry, session, "bob")
        async with session.post(
            f"{base}/guilds/{gid}/templates/snapshot", data={"name": evil, "csrf_token": csrf}
        ) as page:
            assert "contains &#39;@&#39;" in await page.text()
        doc = {"version": 2, "name": evil, "channels": []}
        async with session.post(
            f"{base}/guilds/{gid}/templates/api/save",
            json={"document": doc},
            headers={"X-CSRF-Token": csrf},
        ) as response:
            assert response.status == 400
            errors = (await response.json())["errors"]
        assert errors[0].startswith(f"name: {evil!r} contains '@'")
    answer = await run(driver, "save", name=evil)
    assert "contains '@'" in answer.content
    assert await store.own_names(gid) == []
    found = await service(foundry).lookup(gid, evil)
    assert found.origin_guild_id == other  # still the other server's
