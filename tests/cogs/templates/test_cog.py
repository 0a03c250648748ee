"""The template feature end to end: FoundryCord against the sandbox, driven as a member."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from cogs.templates.document import load_document, to_document
from cogs.templates.plan import ApplyOptions
from cogs.templates.planning.model import OPERATOR
from cogs.templates.snapshot import snapshot
from sandbox.mentions_audit import mentions_audit
from tests.cogs.templates.conftest import (
    APPLIER,
    apply_and_confirm,
    approve,
    last_job_id,
    run,
    service,
    wait_job,
)
from tests.foundry import Foundry

VIEW_CHANNEL = 1 << 10

SOURCE: dict[str, Any] = {
    "guilds": [
        {
            "name": "Source",
            "owner": "alice",
            "roles": [
                {
                    "name": "Staff",
                    "permissions": ["manage_messages"],
                    "hoist": True,
                    "color": 3447003,
                },
                {"name": "Member", "color": 9807270},
            ],
            "members": [{"name": "alice"}],
            "categories": [
                {
                    "name": "Info",
                    "channels": [
                        {"name": "rules", "topic": "Be kind."},
                        {"name": "news", "rate_limit_per_user": 30},
                    ],
                },
                {
                    "name": "Staff Room",
                    "overwrites": {
                        "@everyone": {"deny": ["view_channel"]},
                        "Staff": {"allow": ["view_channel"]},
                    },
                    "channels": [
                        {
                            "name": "staff-chat",
                            "overwrites": {
                                "@everyone": {"deny": ["view_channel"]},
                                "Staff": {"allow": ["view_channel"]},
                            },
                        },
                        {"name": "Staff Voice", "type": "voice", "user_limit": 5},
                    ],
                },
            ],
            "channels": [{"name": "lobby"}, {"name": "help", "type": "forum"}],
        },
        {"name": "Empty", "owner": "alice", "members": [{"name": "alice"}]},
    ]
}


def writes(foundry: Foundry, since: int) -> list[dict[str, Any]]:
    """Write requests to guild structure (not messages or interaction answers) since a mark."""
    return [
        call
        for call in foundry.server.calls[since:]
        if call["method"] != "GET"
        and call["route"] is not None
        and (
            call["route"].startswith("/guilds/{guild_id}")
            or call["route"].startswith("/channels/{channel_id}")
        )
        and "/messages" not in call["route"]
    ]


async def snapshot_of(foundry: Foundry, guild_id: int, name: str = "t"):  # type: ignore[no-untyped-def]
    return snapshot(await service(foundry).api(guild_id).fetch(), name)


def comparable(template) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    doc = to_document(template, with_ids=False)
    doc.pop("settings", None)
    return doc


async def apply_direct(foundry: Foundry, guild_id: int, template, ref: str, **options: Any) -> str:  # type: ignore[no-untyped-def]
    svc = service(foundry)
    prepared = await svc.prepare(
        guild_id, ref, template, ApplyOptions(**options), actor_id=OPERATOR
    )
    assert not prepared.refused, prepared.refused
    if prepared.plan.empty:
        return "empty"
    before = await last_job_id(foundry)
    await svc.start(prepared, OPERATOR)  # the bot's own rights, as the command line has
    return await wait_job(foundry, before)


async def load_source(foundry: Foundry):  # type: ignore[no-untyped-def]
    source, empty = foundry.server.load(SOURCE)
    await foundry.server.wait_for_dispatch("GUILD_CREATE") if False else None
    for _ in range(100):
        if foundry.bot.get_guild(empty.id) is not None:
            break
        await asyncio.sleep(0.05)
    return source, empty


async def test_round_trip_then_second_apply_sends_no_writes(foundry: Foundry) -> None:
    source, empty = await load_source(foundry)
    original = await snapshot_of(foundry, source.id, "copy")
    status = await apply_direct(foundry, empty.id, original, "test:copy")
    assert status == "done"
    copied = await snapshot_of(foundry, empty.id, "copy")
    assert comparable(copied) == comparable(original)

    mark = foundry.server.mark()
    assert await apply_direct(foundry, empty.id, original, "test:copy") == "empty"
    assert writes(foundry, mark) == []


async def test_private_channels_are_never_visible_to_everyone(foundry: Foundry) -> None:
    source, empty = await load_source(foundry)
    mark = foundry.server.mark()
    await apply_direct(foundry, empty.id, await snapshot_of(foundry, source.id), "test:p")
    private = {"Staff Room", "staff-chat"}
    seen: set[str] = set()
    for call in writes(foundry, mark):
        channel = call["response"] if isinstance(call["response"], dict) else None
        if channel is None or channel.get("name") not in private:
            continue
        seen.add(channel["name"])
        everyone = [o for o in channel["permission_overwrites"] if o["id"] == str(empty.id)]
        assert everyone and int(everyone[0]["deny"]) & VIEW_CHANNEL, call
    assert seen == private  # each was created (with its overwrites in that very call)
    creates = [
        c for c in writes(foundry, mark) if c["method"] == "POST" and "channels" in c["route"]
    ]
    assert all("permission_overwrites" in c["json"] for c in creates)
    assert not [c for c in writes(foundry, mark) if "/permissions/" in c["route"]]


async def test_apply_command_previews_confirms_and_is_idempotent(foundry: Foundry) -> None:
    driver = await approve(foundry)
    refused = await driver.member("carol").run("template list", channel="general")
    assert "Manage Server" in refused.content

    answer = await run(driver, "apply", name="homelab", user=APPLIER)
    embed = answer.message.embeds[0]
    assert "to create" in embed["title"] and "+" in embed["description"]
    stranger = await driver.member("bob").press(answer.message, "template:confirm")
    assert "Only the person who ran the command" in stranger.content
    before = await last_job_id(foundry)
    await driver.member(APPLIER).press(answer.message, "template:confirm")
    assert await wait_job(foundry, before) == "done"
    names = {c.name for c in foundry.guild.channels.values()}
    assert {"welcome", "alerts", "networking", "Lab Voice"} <= names
    general = foundry.guild.channel("general").id

    def progress_done() -> list[str] | None:
        texts = [m.content for m in foundry.server.state.channel_messages(general)]
        return [t for t in texts if t.startswith("Apply done")] or None

    assert await driver.until(progress_done, "report the end on the progress message")

    mark = foundry.server.mark()
    again = await run(driver, "apply", name="homelab", user=APPLIER)
    assert "already matches" in again.content
    assert writes(foundry, mark) == []

    async with foundry.process.services.db.session() as session:
        from sqlalchemy import select

        from bot.models import AuditEntry

        entries = (
            await session.scalars(select(AuditEntry).where(AuditEntry.action == "template.apply"))
        ).all()
    assert [e.detail["status"] for e in entries] == ["done"]


async def test_cancel_button_on_the_preview_changes_nothing(foundry: Foundry) -> None:
    driver = await approve(foundry)
    answer = await run(driver, "apply", name="gaming-community", user=APPLIER)
    mark = foundry.server.mark()
    cancelled = await driver.member(APPLIER).press(answer.message, "template:abort")
    assert "nothing changed" in cancelled.content
    assert writes(foundry, mark) == []


async def test_rename_is_an_update_not_a_delete_and_create(foundry: Foundry) -> None:
    driver = await approve(foundry)
    await run(driver, "save", name="lab")
    status = foundry.guild.channel("status")
    foundry.server.state.channels[status.id].name = "renamed-by-hand"  # drift on the live side
    mark = foundry.server.mark()
    assert await apply_and_confirm(driver, foundry, "lab") == "done"
    calls = writes(foundry, mark)
    assert [(c["method"], c["route"]) for c in calls] == [("PATCH", "/channels/{channel_id}")]
    assert foundry.server.state.channels[status.id].name == "status"


async def test_prune_keeps_channels_holding_messages_unless_named(foundry: Foundry) -> None:
    driver = await approve(foundry)
    driver.member("carol").post("status", "an important message")
    assert await apply_and_confirm(driver, foundry, "project-team", prune=True) == "done"
    names = {c.name for c in foundry.guild.channels.values()}
    assert "status" in names  # holds messages: kept
    assert "general" in names  # matched and moved into Work, not deleted
    answer = await run(driver, "apply", name="project-team", prune=True, user=APPLIER)
    assert "kept" in answer.content.lower() and "status" in answer.content
    assert (
        await apply_and_confirm(
            driver, foundry, "project-team", prune=True, delete_with_messages="status"
        )
        == "done"
    )
    assert "status" not in {c.name for c in foundry.guild.channels.values()}


async def test_undo_restores_the_server_before_the_last_apply(foundry: Foundry) -> None:
    driver = await approve(foundry)
    before = comparable(await snapshot_of(foundry, foundry.guild.id))
    assert await apply_and_confirm(driver, foundry, "gaming-community") == "done"
    assert comparable(await snapshot_of(foundry, foundry.guild.id)) != before
    answer = await run(driver, "undo", user=APPLIER)
    job = await last_job_id(foundry)
    await driver.member(APPLIER).press(answer.message, "template:confirm")
    assert await wait_job(foundry, job) == "done"
    assert comparable(await snapshot_of(foundry, foundry.guild.id)) == before
    nothing = await run(driver, "undo")
    assert "no apply to undo" in nothing.content


async def test_a_restart_mid_apply_resumes_without_duplicates(foundry: Foundry) -> None:
    driver = await approve(foundry)
    foundry.server.faults.slow(0.4, route="POST /guilds/{guild_id}/channels")
    answer = await run(driver, "apply", name="gaming-community", user=APPLIER)
    before = await last_job_id(foundry)
    await driver.member(APPLIER).press(answer.message, "template:confirm")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while True:  # hold the job mid-way: some steps done, most not
        from tests.cogs.templates.conftest import last_job

        job = await last_job(foundry)
        if job is not None and job.id > before and job.done >= 5:
            break
        assert loop.time() < deadline, "the job did not get going"
        await asyncio.sleep(0.05)
    await foundry.restart()
    foundry.server.faults.clear()
    assert await wait_job(foundry, before) == "done"
    job = await last_job(foundry)
    assert job.done == len(job.steps)
    general = foundry.guild.channel("general").id

    def reported() -> bool | None:
        texts = [m.content for m in foundry.server.state.channel_messages(general)]
        return True if any(t.startswith("Apply done") for t in texts) else None

    # the new process kept editing the same progress message
    assert await driver.until(reported, "report the resumed job's end")
    names = [c.name for c in foundry.guild.channels.values()]
    template = service(foundry)
    expected = [
        n.name for n in (await template.find(foundry.guild.id, "gaming-community"))[1].walk()
    ]
    for name in expected:
        assert names.count(name) == 1 or name == "general", (name, names)
    roles = [r.name for r in foundry.guild.roles.values()]
    assert sorted(r for r in roles if r in {"Moderator", "Event Host", "Gamer"}) == [
        "Event Host",
        "Gamer",
        "Moderator",
    ]
    # The restart cut the held request on purpose; the sandbox logs that as a lost connection
    # once its delayed reply fails to go out.
    for _ in range(100):
        if foundry.server.handler_errors:
            break
        await asyncio.sleep(0.05)
    assert all(isinstance(e, ConnectionResetError) for e in foundry.server.handler_errors)
    foundry.server.handler_errors.clear()


async def test_refused_templates_send_nothing_and_list_every_error(foundry: Foundry) -> None:
    driver = await approve(foundry)
    bad = {
        "version": 2,
        "name": "bad",
        "channels": [
            {"name": "x" * 101, "type": "text"},
            {"name": "dup", "type": "text"},
            {"name": "dup", "type": "text"},
            {"name": "odd", "type": "hologram"},
            {"name": "priv", "type": "text", "overwrites": [{"role": "Ghost", "deny": "1024"}]},
        ],
    }
    await service(foundry).store.save(foundry.guild.id, "bad", bad, 1)
    mark = foundry.server.mark()
    answer = await run(driver, "apply", name="bad")
    for needle in (
        "$.channels[0].name",
        "$.channels[2].name",
        "$.channels[3].type",
        "$.channels[4].overwrites[0].role",
    ):
        assert needle in answer.content
    assert writes(foundry, mark) == []
    # a plan the live server refuses: overwrites naming roles that roles=False will not make
    answer = await run(driver, "apply", name="gaming-community", roles=False)
    assert "Nothing was changed" in answer.content and "Moderator" in answer.content
    assert writes(foundry, mark) == []


async def test_missing_bot_permissions_are_listed_before_any_write(foundry: Foundry) -> None:
    weak = {
        "guilds": [
            {
                "name": "Weak",
                "owner": "alice",
                "bot": {"permissions": ["manage_channels"]},
                "roles": [{"name": "Moderator"}],
                "members": [{"name": "alice"}],
                "channels": [{"name": "general"}],
            }
        ]
    }
    guild = foundry.server.load(weak)[0]
    for _ in range(100):
        if foundry.bot.get_guild(guild.id) is not None:
            break
        await asyncio.sleep(0.05)
    guild.role("Moderator").position = 10  # above the bot's own role
    template = load_document(
        {
            "version": 2,
            "name": "t",
            "roles": [{"name": "Moderator", "color": 5}],
            "channels": [{"name": "general", "type": "text"}],
        }
    )
    prepared = await service(foundry).prepare(
        guild.id, "test:t", template, ApplyOptions(), actor_id=OPERATOR
    )
    assert "Manage Roles" in prepared.missing
    assert prepared.refused == ["I need: Manage Roles; my role must be above Moderator"]


async def test_import_from_a_discord_server_template_code(foundry: Foundry) -> None:
    from nextcord.http import Route

    driver = await approve(foundry)
    # The sandbox serves Discord's server-template routes; a missing route fails here.
    made = await foundry.bot.http.request(
        Route("POST", "/guilds/{guild_id}/templates", guild_id=foundry.guild.id),
        json={"name": "lab"},
    )
    answer = await run(
        driver, "import", name="from-discord", code=f"https://discord.new/{made['code']}"
    )
    assert "Imported **from-discord**" in answer.content
    _, imported = await service(foundry).find(foundry.guild.id, "from-discord")
    assert [n.name for n in imported.walk()] == ["general", "status"]
    missing = await run(driver, "import", name="nope", code="doesnotexist")
    assert "no server template with code 'doesnotexist'" in missing.content


async def test_guild_settings_are_sent_once_and_then_match(foundry: Foundry) -> None:
    await approve(foundry)
    template = load_document(
        {
            "version": 2,
            "name": "settings",
            "channels": [{"name": "general", "type": "text"}, {"name": "status", "type": "text"}],
            "settings": {"system_channel": "status", "afk_timeout": 900},
        }
    )
    mark = foundry.server.mark()
    assert await apply_direct(foundry, foundry.guild.id, template, "test:s") == "done"
    patches = [c for c in writes(foundry, mark) if c["route"] == "/guilds/{guild_id}"]
    assert [c["json"] for c in patches] == [
        {"afk_timeout": 900, "system_channel_id": str(foundry.guild.channel("status").id)}
    ]
    # the sandbox stores guild settings: what was sent is what it answers
    assert patches[0]["response"].get("afk_timeout") == 900
    assert patches[0]["response"].get("system_channel_id") == str(
        foundry.guild.channel("status").id
    )
    mark = foundry.server.mark()
    assert await apply_direct(foundry, foundry.guild.id, template, "test:s") == "empty"
    assert writes(foundry, mark) == []


async def test_show_pages_with_buttons_for_the_invoker_only(foundry: Foundry) -> None:
    driver = await approve(foundry)
    big = {
        "version": 2,
        "name": "big",
        "channels": [{"name": f"room-{i}", "type": "text"} for i in range(40)],
    }
    await service(foundry).store.save(foundry.guild.id, "big", big, 1)
    answer = await run(driver, "show", name="big")
    assert answer.message.embeds[0]["footer"]["text"] == "Page 1 of 2"
    refused = await driver.member("alice").press(answer.message, "template:next")
    assert "Only the person who ran the command" in refused.content
    turned = await driver.member("bob").press(answer.message, "template:next")
    assert turned.message.embeds[0]["footer"]["text"] == "Page 2 of 2"
    assert "room-39" in turned.message.embeds[0]["description"]
    back = await driver.member("bob").press(answer.message, "template:prev")
    assert back.message.embeds[0]["footer"]["text"] == "Page 1 of 2"
    assert mentions_audit(foundry.server.calls, strict=True) == []


async def test_export_sends_a_json_file_that_loads_back(foundry: Foundry) -> None:
    driver = await approve(foundry)
    answer = await run(driver, "export", name="project-team")
    attachment = answer.message.attachments[0]
    assert attachment.filename == "project-team.json"
    template = load_document(attachment.data)
    assert [n.name for n in template.walk()][:2] == ["announcements", "Work"]
    odd = {"version": 2, "name": "../lab <b>", "channels": [{"name": "a", "type": "text"}]}
    await service(foundry).store.save(foundry.guild.id, "odd", odd, 1)
    answer = await run(driver, "export", name="odd")
    attachment = answer.message.attachments[0]
    assert attachment.filename == "lab-b.json"  # no path, no markup
    assert load_document(attachment.data).name == "../lab <b>"


async def test_list_shows_own_shared_and_built_in_templates(foundry: Foundry) -> None:
    driver = await approve(foundry)
    await run(driver, "save", name="mine")
    other_guild = 4242
    store = service(foundry).store
    await store.save(other_guild, "theirs", {"version": 2, "name": "theirs", "channels": []}, 1)
    await store.save(other_guild, "secret", {"version": 2, "name": "secret", "channels": []}, 1)
    await store.set_shared(other_guild, "theirs", True)
    listed = (await run(driver, "list")).content
    assert "**mine**" in listed and "**homelab** (built in)" in listed
    assert f"**theirs@{other_guild}** (shared by a server (server id {other_guild}))" in listed
    assert "secret" not in listed
    shared = await run(driver, "share", name="mine", shared=True)
    assert "now shared" in shared.content
    # usable over there now, by its full name
    ref, _ = await service(foundry).find(other_guild, f"mine@{foundry.guild.id}")
    assert ref.startswith("db:")


POISON: dict[str, Any] = {
    "version": 2,
    "name": "homelab",
    "roles": [{"name": "Administrator", "permissions": ["administrator"]}],
    "everyone": {"permissions": ["manage_channels", "mention_everyone"]},
    "channels": [{"name": "poisoned", "type": "text"}],
}


async def test_another_servers_shared_template_never_shadows_and_names_its_origin(
    foundry: Foundry,
) -> None:
    driver = await approve(foundry)
    (other,) = foundry.server.load(
        {"guilds": [{"name": "Elsewhere", "owner": "carol", "members": [{"name": "carol"}]}]}
    )
    for _ in range(100):
        if foundry.bot.get_guild(other.id) is not None:
            break
        await asyncio.sleep(0.05)
    store = service(foundry).store
    for name in ("homelab", "only-there"):
        await store.save(other.id, name, {**POISON, "name": name}, 1)
        await store.set_shared(other.id, name, True)

    built_in = (await run(driver, "apply", name="homelab", user=APPLIER)).message.embeds[0]
    assert "poisoned" not in built_in["description"]
    assert "Administrator" not in built_in["description"]
    assert "From another server" not in built_in["description"]
    assert "#networking" in built_in["description"]  # the built-in homelab
    plain = await run(driver, "apply", name="only-there")
    assert "No template called 'only-there'" in plain.content

    qualified = (await run(driver, "apply", name=f"homelab@{other.id}", user=APPLIER)).message
    qualified = qualified.embeds[0]
    assert "From another server" in qualified["description"]
    assert f"Elsewhere (server id {other.id})" in qualified["description"]
    assert "poisoned" in qualified["description"]
    shown = (await run(driver, "show", name=f"only-there@{other.id}")).message.embeds[0]
    assert f"shared by Elsewhere (server id {other.id})" in shown["title"]
    listed = (await run(driver, "list")).content
    assert f"**homelab@{other.id}** (shared by Elsewhere (server id {other.id}))" in listed

    await store.set_shared(other.id, "homelab", False)
    gone = await run(driver, "apply", name=f"homelab@{other.id}")
    assert "No template called" in gone.content
    # naming this server itself never reaches a shared copy of its own
    mine = await run(driver, "apply", name=f"homelab@{foundry.guild.id}")
    assert "No template called" in mine.content


async def test_the_confirmation_expires(foundry: Foundry, monkeypatch) -> None:
    import sys

    # the loaded extension's own module (a restart reloads it)
    monkeypatch.setattr(sys.modules["cogs.templates.cog"], "CONFIRM_TIMEOUT", 0.3)
    driver = await approve(foundry)
    answer = await run(driver, "apply", name="homelab", user=APPLIER)
    mark = foundry.server.mark()

    def expired() -> bool | None:
        message = driver.message(answer.message.id)
        return True if "expired" in message.content and not message.components else None

    assert await driver.until(expired, "expire the confirmation", timeout=5)
    assert writes(foundry, mark) == []


async def test_the_cancel_button_stops_a_running_apply(foundry: Foundry) -> None:
    driver = await approve(foundry)
    foundry.server.faults.slow(0.3, route="POST /guilds/{guild_id}/channels")
    answer = await run(driver, "apply", name="gaming-community", user=APPLIER)
    before = await last_job_id(foundry)
    await driver.member(APPLIER).press(answer.message, "template:confirm")
    general = foundry.guild.channel("general").id

    def progress_message():  # type: ignore[no-untyped-def]
        for message in foundry.server.state.channel_messages(general):
            if message.content.startswith("Step") and message.components:
                return message
        return None

    message = await driver.until(progress_message, "post the progress message")
    pressed = await driver.member("bob").press(message, "template:cancel-job")
    assert "Cancelling" in pressed.content
    assert await wait_job(foundry, before) == "cancelled"
    foundry.server.faults.clear()


class Upload:
    """What read_import needs of a nextcord Attachment."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.size = len(data)
        self.reads = 0

    async def read(self) -> bytes:
        self.reads += 1
        return self.data


async def test_an_uploaded_file_is_checked_before_use() -> None:
    from cogs.templates.cog import read_import
    from cogs.templates.document import MAX_DOCUMENT_BYTES, TemplateError

    good = Upload(b'{"version": 2, "name": "up", "channels": [{"name": "a", "type": "text"}]}')
    assert [n.name for n in (await read_import(None, good, None)).walk()] == ["a"]
    huge = Upload(b" " * (MAX_DOCUMENT_BYTES + 1))
    with pytest.raises(TemplateError, match="at most"):
        await read_import(None, huge, None)
    assert huge.reads == 0  # refused on its size, never downloaded
    with pytest.raises(TemplateError, match="not valid JSON"):
        await read_import(None, Upload(b"{oops"), None)
    with pytest.raises(TemplateError, match="not a server template code"):
        await read_import(None, None, "two words")


MESSAGE_ROUTES = (
    "/channels/{channel_id}/messages",
    "/channels/{channel_id}/messages/{message_id}",
    "/interactions/{interaction_id}/{interaction_token}/callback",
    "/webhooks/{application_id}/{interaction_token}",
    "/webhooks/{application_id}/{interaction_token}/messages/@original",
)


def unspelt_mentions(foundry: Foundry, since: int) -> list[dict[str, Any]]:
    """Message writes with text that do not say, field by field, that nothing pings."""
    bad = []
    for call in foundry.server.calls[since:]:
        if call["method"] == "GET" or call["route"] not in MESSAGE_ROUTES:
            continue
        body = call["json"] if isinstance(call["json"], dict) else {}
        body = body.get("data", body) if "type" in body else body
        if not isinstance(body, dict) or not body.get("content"):
            continue
        mentions = body.get("allowed_mentions")
        if (
            mentions is None
            or mentions.get("parse")
            or mentions.get("roles")
            or mentions.get("users")
        ):
            bad.append(call)
    return bad


async def test_every_message_spells_out_that_nothing_pings(foundry: Foundry) -> None:
    driver = await approve(foundry)
    mark = foundry.server.mark()
    await run(driver, "list")
    await run(driver, "show", name="homelab")
    await run(driver, "cancel")
    preview = await run(driver, "apply", name="project-team", user=APPLIER)
    await driver.member("bob").press(preview.message, "template:confirm")  # not the invoker
    await driver.member(APPLIER).press(preview.message, "template:abort")
    pings = {
        "version": 2,
        "name": "pings",
        "roles": [{"name": "@here crew"}],
        "channels": [{"name": "@everyone news", "type": "category"}],
    }
    await service(foundry).store.save(foundry.guild.id, "pings", pings, 1)
    assert await apply_and_confirm(driver, foundry, "pings") == "done"
    general = foundry.guild.channel("general").id

    def progress_done() -> bool | None:
        texts = [m.content for m in foundry.server.state.channel_messages(general)]
        return True if any(t.startswith("Apply done") for t in texts) else None

    assert await driver.until(progress_done, "report the end on the progress message")
    await run(driver, "export", name="pings")
    await run(driver, "show", name="pings")
    texts = [c for c in foundry.server.calls[mark:] if c["route"] in MESSAGE_ROUTES]
    assert len(texts) > 10  # the scan really saw the messages
    assert unspelt_mentions(foundry, mark) == []
    assert mentions_audit(foundry.server.calls, strict=True) == []


async def test_a_progress_message_is_never_edited_in_another_server(foundry: Foundry) -> None:
    from cogs.templates.executor import Progress

    await approve(foundry)
    (other,) = foundry.server.load(
        {
            "guilds": [
                {
                    "name": "Elsewhere",
                    "owner": "carol",
                    "members": [{"name": "carol"}],
                    "channels": [{"name": "theirs"}],
                }
            ]
        }
    )
    for _ in range(100):
        if foundry.bot.get_guild(other.id) is not None:
            break
        await asyncio.sleep(0.05)
    theirs = other.channel("theirs")
    posted = await foundry.bot.get_channel(theirs.id).send("a message of the other server")
    cog = foundry.bot.get_cog("TemplatesCog")
    mark = foundry.server.mark()
    report = cog._progress_to(foundry.guild.id, theirs.id, posted.id)
    await report(Progress(1, 1, "", status="done"))
    assert [c for c in foundry.server.calls[mark:] if c["method"] == "PATCH"] == []
    own = foundry.guild.channel("general")
    mine = await foundry.bot.get_channel(own.id).send("progress")
    await cog._progress_to(foundry.guild.id, own.id, mine.id)(Progress(1, 1, "", status="done"))
    assert [c["method"] for c in foundry.server.calls[mark:]][-1] == "PATCH"


async def test_delete_removes_only_this_servers_templates_and_completes_them(
    foundry: Foundry,
) -> None:
    driver = await approve(foundry)
    store = service(foundry).store
    await run(driver, "save", name="mine")
    await run(driver, "save", name="minor")
    await store.save(4242, "mine-too", {"version": 2, "name": "mine-too", "channels": []}, 1)
    await store.set_shared(4242, "mine-too", True)

    async def completions(user: str, typed: str) -> list[str]:
        member = driver.member(user)
        inter = foundry.server.autocomplete(
            "template",
            user=member.member,
            channel=foundry.guild.channel("general"),
            options={"delete": {"name": typed}},
            focused="name",
        )
        data = await driver.until(
            lambda: inter.response_data if inter.response_type else None, "complete"
        )
        return [choice["value"] for choice in data["choices"]]

    assert await completions("bob", "min") == ["mine", "minor"]  # never mine-too@4242
    assert await completions("carol", "min") == []  # no Manage Server: nothing revealed
    refused = await run(driver, "delete", name="mine-too@4242")
    assert "no template called" in refused.content
    assert await store.find_shared(4242, "mine-too") is not None
    builtin = await run(driver, "delete", name="homelab")
    assert "no template called" in builtin.content
    deleted = await run(driver, "delete", name="mine")
    assert "Deleted **mine**" in deleted.content
    assert await store.own_names(foundry.guild.id) == ["minor"]


async def test_a_plan_past_the_daily_channel_creations_is_refused_before_any_write(
    foundry: Foundry,
) -> None:
    from datetime import timedelta

    from bot.models import utcnow
    from cogs.templates.models import ApplyJob

    driver = await approve(foundry)
    create = {"kind": "create_channel", "label": "create #x", "payload": {}, "key": None}
    edit = {"kind": "edit_channel", "label": "edit #x", "payload": {}, "key": None}

    def job(creates: int, done: int, age: timedelta) -> ApplyJob:
        return ApplyJob(
            guild_id=foundry.guild.id,
            template_ref="test:old",
            template_name="old",
            actor_id=1,
            status="done",
            steps=[create] * creates + [edit] * 5,
            done=done,
            id_map={},
            before=None,
            roles_created=0,
            created_at=utcnow() - age,
            updated_at=utcnow() - age,
        )

    async with foundry.process.services.db.session() as session:
        session.add(job(300, 305, timedelta(hours=2)))
        session.add(job(250, 198, timedelta(hours=20)))  # failed after 198 of its creates
        session.add(job(400, 405, timedelta(hours=25)))  # outside the day: Discord forgot it
        session.add(job(400, 405, timedelta(hours=24, minutes=1)))
        await session.commit()
    mark = foundry.server.mark()
    answer = await run(driver, "apply", name="homelab")
    assert "Nothing was changed" in answer.content
    assert "Discord lets a server create 500 a day" in answer.content
    assert "only 2 more are left" in answer.content
    assert writes(foundry, mark) == []


async def test_every_subcommand_is_guarded_by_the_one_manage_server_check(
    foundry: Foundry,
) -> None:
    from bot.checks import NEEDS_MANAGE_GUILD

    cog = foundry.bot.get_cog("TemplatesCog")
    subcommands = cog.template.children
    assert {"save", "apply", "delete", "cancel"} <= set(subcommands)
    unguarded = [name for name, sub in subcommands.items() if not sub.checks]
    assert unguarded == []
    driver = await approve(foundry)
    for command, options in (("list", {}), ("delete", {"name": "x"}), ("undo", {})):
        refused = await driver.member("carol").run(
            f"template {command}", options, channel="general"
        )
        assert refused.content == NEEDS_MANAGE_GUILD, command
    # the Cancel button under a progress message goes through the same guard
    progress = await foundry.bot.get_channel(foundry.guild.channel("general").id).send(
        "progress", view=cog.cancel_view
    )
    pressed = await driver.member("carol").press(progress.id, "template:cancel-job")
    assert pressed.content == NEEDS_MANAGE_GUILD
    pressed = await driver.member("bob").press(progress.id, "template:cancel-job")
    assert pressed.content == "No apply is running here."


async def test_a_confirm_press_is_acknowledged_once(foundry: Foundry) -> None:
    """The press is answered by replacing its message; nextcord must know it was answered,
    or its view acknowledges it again (400, code 40060)."""
    driver = await approve(foundry)
    await run(driver, "save", name="lab")
    assert await apply_and_confirm(driver, foundry, "project-team") == "done"
    again = [
        call
        for call in foundry.server.calls
        if isinstance(call.get("response"), dict) and call["response"].get("code") == 40060
    ]
    assert again == []
