"""The bot applies a template for a person, so it keeps to Discord's rules for that person:
nobody gives a role or an overwrite a permission they lack, nobody but the owner touches a
role at or above their own highest; checked at the preview and again when the job runs.

In the Lab guild bob is a manager whose one role, Admins, has Manage Server only; alice
owns the server."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from cogs.templates.document import load_document
from cogs.templates.plan import ApplyOptions
from tests.browser import chromium, requires_chromium
from tests.cogs.templates.conftest import (
    apply_and_confirm,
    approve,
    last_job,
    last_job_id,
    run,
    service,
    wait_job,
)
from tests.cogs.templates.test_web import signed_in
from tests.foundry import Foundry

CHANNELS = [{"name": "general", "type": "text"}, {"name": "status", "type": "text"}]


def document(roles: list[dict[str, Any]], channels: list[dict[str, Any]] = CHANNELS) -> dict:
    return {"version": 2, "name": "t", "roles": roles, "channels": channels}


ESCALATE = document([{"name": "Admins", "permissions": ["administrator"]}])
NEW_ADMIN = document([{"name": "Boss", "permissions": ["administrator"]}])
OVERWRITE = document(
    [],
    [
        {
            "name": "general",
            "type": "text",
            "overwrites": [{"role": "@everyone", "allow": ["manage_messages"]}],
        },
        {"name": "status", "type": "text"},
    ],
)
HELPER = document([{"name": "Helper", "permissions": ["send_messages"]}])


def writes(foundry: Foundry, mark: int) -> list[dict]:
    return [
        c
        for c in foundry.server.calls[mark:]
        if c["method"] != "GET"
        and "/interactions/" not in c["path"]
        and "/messages" not in c["path"]
    ]


async def post(session: aiohttp.ClientSession, url: str, body: dict, csrf: str) -> tuple[int, Any]:
    async with session.post(url, json=body, headers={"X-CSRF-Token": csrf}) as response:
        return response.status, await response.json()


async def test_a_manager_cannot_give_permissions_or_edit_roles_above_them_on_the_web(
    foundry: Foundry,
) -> None:
    await approve(foundry)
    base = f"{foundry.process.web_url}/guilds/{foundry.guild.id}/templates/api"
    admins = foundry.guild.role("Admins")
    permissions_before = foundry.server.state.guilds[foundry.guild.id].roles[admins.id].permissions
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        csrf = await signed_in(foundry, session, "bob")
        for doc, needles in (
            (ESCALATE, ("edit @Admins: it is at or above your highest role", "Administrator")),
            (NEW_ADMIN, ("give @Boss Administrator: permissions you do not have",)),
            (OVERWRITE, ("#general's overwrite for @everyone on Manage Messages",)),
        ):
            status, planned = await post(session, f"{base}/plan", {"document": doc}, csrf)
            assert status == 200
            refused = " ".join(planned["refused"])
            assert "Not yours to change" in refused
            assert all(needle in refused for needle in needles), refused
            mark = foundry.server.mark()
            status, applied = await post(session, f"{base}/apply", {"document": doc}, csrf)
            assert status == 400, applied
            assert any("Not yours to change" in e for e in applied["errors"])
            assert writes(foundry, mark) == []
        status, planned = await post(session, f"{base}/plan", {"document": HELPER}, csrf)
        assert planned["refused"] == []  # bob has Send Messages (from @everyone)
    role = foundry.server.state.guilds[foundry.guild.id].roles[admins.id]
    assert role.permissions == permissions_before
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        csrf = await signed_in(foundry, session, "alice")  # the owner may do all of it
        for doc in (ESCALATE, NEW_ADMIN, OVERWRITE):
            status, planned = await post(session, f"{base}/plan", {"document": doc}, csrf)
            assert (status, planned["refused"]) == (200, [])


async def test_the_slash_command_refuses_what_the_invoker_may_not_do(foundry: Foundry) -> None:
    driver = await approve(foundry)
    await service(foundry).store.save(foundry.guild.id, "escalate", ESCALATE, 1)
    mark = foundry.server.mark()
    answer = await run(driver, "apply", name="escalate")
    assert "Nothing was changed" in answer.content
    assert "Not yours to change" in answer.content and "Administrator" in answer.content
    assert writes(foundry, mark) == []
    assert await apply_and_confirm(driver, foundry, "escalate", user="alice") == "done"


async def test_the_job_checks_the_member_again_when_it_runs(foundry: Foundry) -> None:
    """Allowed at the preview; by the time the job runs bob no longer has Send Messages."""
    await approve(foundry)
    gid = foundry.guild.id
    bob = foundry.server.state.find_user("bob").id
    svc = service(foundry)
    prepared = await svc.prepare(
        gid, "test:helper", load_document(HELPER), ApplyOptions(), actor_id=bob
    )
    assert prepared.refused == []
    everyone = foundry.server.state.guilds[gid].roles[gid]
    everyone.permissions &= ~(1 << 11)  # send_messages, taken away since the preview
    mark = foundry.server.mark()
    before = await last_job_id(foundry)
    await svc.start(prepared, bob)
    assert await wait_job(foundry, before) == "refused"
    job = await last_job(foundry)
    assert "give @Helper Send Messages" in job.error
    assert writes(foundry, mark) == []
    assert await svc.undo_target(gid) is None  # nothing ran: nothing to undo


async def test_a_manager_undoes_their_own_apply(foundry: Foundry) -> None:
    """Undo is planned for the person who asks, under the same rules: bob may remove the
    role and channel his apply made (below his own role)."""
    driver = await approve(foundry)
    doc = document([{"name": "Helper"}], [*CHANNELS, {"name": "helpers", "type": "text"}])
    await service(foundry).store.save(foundry.guild.id, "helper", doc, 1)
    assert await apply_and_confirm(driver, foundry, "helper", user="bob") == "done"
    assert "Helper" in {r.name for r in foundry.guild.roles.values()}
    answer = await run(driver, "undo")
    assert answer.message is not None and answer.message.embeds, answer.content
    before = await last_job_id(foundry)
    await driver.member("bob").press(answer.message, "template:confirm")
    assert await wait_job(foundry, before) == "done"
    assert "Helper" not in {r.name for r in foundry.guild.roles.values()}
    assert "helpers" not in {c.name for c in foundry.guild.channels.values()}


@requires_chromium[1]
async def test_the_editor_shows_a_manager_what_is_not_theirs_and_applies_nothing(
    foundry: Foundry,
) -> None:
    """The journey in Chromium: bob opens a template that would make a role Administrator,
    the diff lists the refusal in words, and Apply changes nothing on the server."""
    await approve(foundry)
    gid = foundry.guild.id
    await service(foundry).store.save(gid, "boss", NEW_ADMIN, 1)
    base = foundry.process.web_url
    link = await foundry.process.web_context.signin.issue(foundry.server.state.find_user("bob").id)
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1300, "height": 900})
        page_errors: list[str] = []
        page.on("pageerror", lambda exc: page_errors.append(str(exc)))
        page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
        await page.goto(link)
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_url(f"{base}/guilds")
        await page.goto(f"{base}/guilds/{gid}/templates/edit?name=boss")
        await page.get_by_test_id("template-tree").locator("a.jstree-anchor").first.wait_for()
        await page.get_by_role("button", name="Show diff").click()
        errors = page.locator("#template-errors")
        await errors.get_by_text("give @Boss Administrator").wait_for()
        assert "Not yours to change" in await errors.inner_text()
        mark = foundry.server.mark()
        await page.locator("#template-errors").evaluate("list => list.replaceChildren()")
        await page.get_by_role("button", name="Apply").click()
        await errors.get_by_text("give @Boss Administrator").wait_for()
        assert page_errors == []
    assert writes(foundry, mark) == []
    assert "Boss" not in {role.name for role in foundry.guild.roles.values()}
