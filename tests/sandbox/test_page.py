"""The Sandbox page's routes through the web editor: sign-in, owners only, CSRF, and real
interactions reaching the offline bot."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import nextcord
import pytest
from aiohttp.test_utils import TestClient

from bot.offline import world_path
from sandbox.page import SANDBOX_KEY
from sandbox.world_file import parse_world
from tests.sandbox.conftest import PUBLIC_URL, OfflineStack, StackStarter
from web.app import create_app

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
JSON = {"Accept": "application/json"}


@pytest.fixture
async def stack(start_offline_stack: StackStarter) -> OfflineStack:
    return await start_offline_stack(web=False)


@pytest.fixture
async def client(stack: OfflineStack, aiohttp_client: Any) -> TestClient:
    app = create_app(stack.process.web_context)
    app[SANDBOX_KEY] = stack.server
    return await aiohttp_client(app)


LINK_TOKEN = re.compile(r'<input type="hidden" name="token" value="([^"]+)">')


async def redeem_link(client: TestClient, stack: OfflineStack, user_id: int | None) -> None:
    """Open a one-time link (it only shows a Sign in button) and press the button."""
    link = await stack.sign_in_link(user_id)
    page = await client.get(link.removeprefix(PUBLIC_URL))
    match = LINK_TOKEN.search(await page.text())
    assert page.status == 200 and match
    response = await client.post(
        "/login/link", data={"token": match.group(1)}, allow_redirects=False
    )
    assert response.status == 303, await response.text()


async def page_csrf(client: TestClient, page: str) -> str:
    response = await client.get(page)
    assert response.status == 200, await response.text()
    match = CSRF_META.search(await response.text())
    assert match
    return match.group(1)


async def sign_in(client: TestClient, stack: OfflineStack, user_id: int | None = None) -> str:
    """Sign in with a one-time link; returns the session's CSRF token."""
    await redeem_link(client, stack, user_id)
    return await page_csrf(client, "/sandbox")


def ids(stack: OfflineStack, member: str = "alice", channel: str = "general") -> dict[str, str]:
    guild = stack.server.state.find_guild("Foundry Homelab")
    return {
        "guild": str(guild.id),
        "channel": str(guild.channel(channel).id),
        "as": str(guild.member(member).user.id),
    }


async def post(client: TestClient, path: str, csrf: str, body: dict[str, Any]) -> Any:
    response = await client.post(path, json=body, headers={**JSON, "X-CSRF-Token": csrf})
    return response.status, await response.json()


async def test_page_needs_sign_in_and_an_owner(client: TestClient, stack: OfflineStack) -> None:
    response = await client.get("/sandbox", allow_redirects=False)
    assert (response.status, response.headers["Location"]) == (302, "/login?next=/sandbox")
    refused = await client.post("/sandbox/api/message", json={}, headers=JSON)
    assert refused.status == 401
    bob = stack.server.state.find_user("bob").id
    await redeem_link(client, stack, bob)
    response = await client.get("/sandbox/api/view", headers=JSON)
    assert response.status == 403
    assert "owners" in (await response.json())["error"]


async def test_signed_in_non_owner_is_refused_everywhere(
    client: TestClient, stack: OfflineStack
) -> None:
    await redeem_link(client, stack, stack.server.state.find_user("bob").id)
    page = await client.get("/sandbox")
    assert page.status == 403
    assert "owners" in await page.text()
    csrf = await page_csrf(client, "/guilds")  # a valid token: only ownership is missing
    message = {**ids(stack), "message": "1"}
    bodies = {
        "message": {**ids(stack), "content": "hello"},
        "command": {**ids(stack), "command": "guild list", "options": {}},
        "press": {**message, "custom_id": "open"},
        "choose": {**message, "custom_id": "size", "values": ["M"]},
        "submit": {**ids(stack), "interaction": "1", "values": {"idea": "x"}},
    }
    dispatched = len(stack.server.dispatches)
    for endpoint, body in bodies.items():
        status, answer = await post(client, f"/sandbox/api/{endpoint}", csrf, body)
        assert status == 403, (endpoint, answer)
        assert "owners" in answer["error"], endpoint
    assert len(stack.server.dispatches) == dispatched
    assert (await client.get("/sandbox/reset")).status == 403
    reset = await client.post("/sandbox/reset", data={"csrf_token": csrf, "confirm": "yes"})
    assert reset.status == 403 and len(stack.server.state.guilds) == 1


async def test_page_shows_guild_channels_members_and_commands(
    client: TestClient, stack: OfflineStack
) -> None:
    await sign_in(client, stack)
    html = await (await client.get("/sandbox")).text()
    assert "Foundry Homelab" in html
    for name in ("Information", "welcome", "announcements", "general", "mod-log", "help"):
        assert name in html
    assert re.search(r'<option value="\d+" selected>alice</option>', html)
    assert '<option value="guild list">/guild list' in html
    assert '<option value="guild approve">/guild approve' in html
    assert '<script src="/sandbox/static/sandbox.js"></script>' in html
    assert "<script>" not in html
    nav = re.search(r'<a class="nav-link active" href="/sandbox">Sandbox</a>', html)
    assert nav is not None
    script = await client.get("/sandbox/static/sandbox.js")
    assert script.status == 200 and script.content_type == "text/javascript"
    assert (await client.get("/sandbox/static/nothing.js")).status == 404
    assert (await client.get("/sandbox/static/..%2Fpage.py")).status == 404


async def test_run_command_from_the_page_is_a_real_interaction(
    client: TestClient, stack: OfflineStack
) -> None:
    csrf = await sign_in(client, stack)
    body = {**ids(stack), "command": "guild list", "options": {}}
    refused = await client.post("/sandbox/api/command", json=body, headers=JSON)
    assert refused.status == 403
    status, answer = await post(client, "/sandbox/api/command", csrf, body)
    assert status == 200, answer
    assert answer["answered"] and answer["ephemeral"] and answer["type"] == 4
    assert "**Foundry Homelab**: approved" in answer["content"]
    created = [d for d in stack.server.dispatches if d["event"] == "INTERACTION_CREATE"]
    assert created[-1]["data"]["data"]["options"] == [{"name": "list", "type": 1, "options": []}]

    view = await (await client.get("/sandbox/api/view", params=ids(stack), headers=JSON)).json()
    assert "<strong>Foundry Homelab</strong>: approved" in view["messages"]
    assert "Only you can see this" in view["messages"]
    assert "alice used /guild list" in view["messages"]
    as_bob = await client.get("/sandbox/api/view", params=ids(stack, "bob"), headers=JSON)
    assert "approved" not in (await as_bob.json())["messages"]


async def test_command_errors_are_sentences(client: TestClient, stack: OfflineStack) -> None:
    csrf = await sign_in(client, stack)
    status, body = await post(
        client, "/sandbox/api/command", csrf, {**ids(stack), "command": "nope", "options": {}}
    )
    assert (status, body["error"]) == (400, "The bot has not registered a slash command /nope.")
    status, body = await post(
        client,
        "/sandbox/api/command",
        csrf,
        {**ids(stack), "command": "guild approve", "options": {"colour": "red"}},
    )
    assert (status, body["error"]) == (400, "/guild approve has no option 'colour'.")
    status, body = await post(client, "/sandbox/api/message", csrf, {**ids(stack), "content": ""})
    assert (status, body["error"]) == (400, "Type a message first.")
    status, body = await post(
        client, "/sandbox/api/message", csrf, {**ids(stack), "as": "12345", "content": "hi"}
    )
    assert status == 400 and "not in this guild" in body["error"]


async def test_messages_are_escaped_and_reach_the_bot(
    client: TestClient, stack: OfflineStack
) -> None:
    csrf = await sign_in(client, stack)
    seen: asyncio.Queue[str] = asyncio.Queue()

    async def on_message(message: nextcord.Message) -> None:
        seen.put_nowait(message.author.name)

    stack.process.bot.add_listener(on_message)
    content = f"<img src=x onerror=alert(1)> **bold** `code` <@{stack.owner_id}>"
    status, body = await post(
        client, "/sandbox/api/message", csrf, {**ids(stack, "carol"), "content": content}
    )
    assert status == 200, body
    view = await (await client.get("/sandbox/api/view", params=ids(stack), headers=JSON)).json()
    html = view["messages"]
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<img" not in html
    assert "<strong>bold</strong> <code>code</code>" in html
    assert '<span class="dc-mention">@alice</span>' in html
    # FoundryBot has no message-content intent, so it sees who wrote, not what
    assert await asyncio.wait_for(seen.get(), 5) == "carol"


async def test_buttons_selects_and_modals_from_the_page(
    client: TestClient, stack: OfflineStack
) -> None:
    csrf = await sign_in(client, stack)
    bot = stack.process.bot

    class Idea(nextcord.ui.Modal):
        def __init__(self) -> None:
            super().__init__("Suggest", custom_id="suggest", timeout=None)
            self.text = nextcord.ui.TextInput(label="Idea", custom_id="idea")
            self.add_item(self.text)

        async def callback(self, interaction: nextcord.Interaction) -> None:
            await interaction.response.send_message(f"idea: {self.text.value}")

    class Panel(nextcord.ui.View):
        def __init__(self) -> None:
            super().__init__(timeout=None)

        @nextcord.ui.button(label="Open", custom_id="open", style=nextcord.ButtonStyle.success)
        async def open(self, button: nextcord.ui.Button, interaction: nextcord.Interaction) -> None:
            await interaction.response.send_modal(Idea())

        @nextcord.ui.button(label="Off", custom_id="off", disabled=True)
        async def off(self, button: nextcord.ui.Button, interaction: nextcord.Interaction) -> None:
            return None

        @nextcord.ui.select(
            custom_id="size", options=[nextcord.SelectOption(label=s) for s in ("S", "M", "L")]
        )
        async def size(self, select: nextcord.ui.Select, interaction: nextcord.Interaction) -> None:
            await interaction.response.edit_message(content=f"size {select.values[0]}")

    guild = stack.server.state.find_guild("Foundry Homelab")
    channel = bot.get_channel(guild.channel("general").id)
    panel = await channel.send(
        embed=nextcord.Embed(title="Panel", description="pick", colour=0x3BA55C).add_field(
            name="Rack", value="42U", inline=True
        ),
        view=Panel(),
    )
    view = await (await client.get("/sandbox/api/view", params=ids(stack), headers=JSON)).json()
    html = view["messages"]
    assert 'class="dc-embed" style="border-left-color: #3ba55c"' in html
    assert 'class="dc-embed-field dc-inline"' in html
    assert re.search(r'class="dc-button dc-success"[^>]*data-custom-id="open">Open<', html, re.S)
    assert re.search(r'data-custom-id="off" disabled>Off<', html)

    message = {**ids(stack, "bob"), "message": str(panel.id)}
    status, chosen = await post(
        client, "/sandbox/api/choose", csrf, {**message, "custom_id": "size", "values": ["M"]}
    )
    assert status == 200 and chosen["type"] == 7 and chosen["content"] == "size M"

    status, opened = await post(
        client, "/sandbox/api/press", csrf, {**message, "custom_id": "open"}
    )
    assert status == 200 and opened["modal"], opened
    view = await (
        await client.get("/sandbox/api/view", params=ids(stack, "bob"), headers=JSON)
    ).json()
    assert view["modal_id"] and 'name="idea"' in view["modal"] and "Suggest" in view["modal"]
    alice_view = await (
        await client.get("/sandbox/api/view", params=ids(stack), headers=JSON)
    ).json()
    assert alice_view["modal_id"] is None

    status, done = await post(
        client,
        "/sandbox/api/submit",
        csrf,
        {**ids(stack, "bob"), "interaction": view["modal_id"], "values": {"idea": "more racks"}},
    )
    assert status == 200 and done["content"] == "idea: more racks"
    view = await (
        await client.get("/sandbox/api/view", params=ids(stack, "bob"), headers=JSON)
    ).json()
    assert view["modal_id"] is None
    status, missing = await post(client, "/sandbox/api/press", csrf, {**message, "custom_id": "x"})
    assert (status, missing["error"]) == (400, "That message has no such button.")


async def test_reset_world_asks_first_then_the_bot_sees_the_old_guild_go_and_a_new_one_come(
    client: TestClient, stack: OfflineStack
) -> None:
    csrf = await sign_in(client, stack)
    server = stack.server
    old = server.state.find_guild("Foundry Homelab")
    server.post_message_as("bob", old.channel("general"), "from the old world")
    bob = server.state.find_user("bob").id

    question = await client.get("/sandbox/reset")
    text = await question.text()
    assert question.status == 200 and "Reset the sandbox world?" in text
    assert "Foundry Homelab" in text and 'name="confirm" value="yes"' in text
    unconfirmed = await client.post(
        "/sandbox/reset", data={"csrf_token": csrf}, allow_redirects=False
    )
    assert (unconfirmed.status, unconfirmed.headers["Location"]) == (303, "/sandbox/reset")
    forged = await client.post("/sandbox/reset", data={"confirm": "yes"}, allow_redirects=False)
    assert forged.status == 403
    assert list(server.state.guilds) == [old.id]  # neither touched the world

    done = await client.post(
        "/sandbox/reset", data={"csrf_token": csrf, "confirm": "yes"}, allow_redirects=False
    )
    assert (done.status, done.headers["Location"]) == (303, "/sandbox")
    new = server.state.find_guild("Foundry Homelab")
    assert new.id != old.id and list(server.state.guilds) == [new.id]
    assert server.state.find_user("bob").id == bob  # accounts stay: the owner is still one
    await server.wait_for_dispatch("GUILD_DELETE", lambda d: d["id"] == str(old.id), since=0)
    await server.wait_for_dispatch("GUILD_CREATE", lambda d: d["id"] == str(new.id), since=0)

    bot = stack.process.bot
    access = stack.process.services.guild_access
    for _ in range(250):
        record = await access.get(old.id)
        fresh = await access.get(new.id)
        if bot.get_guild(new.id) and record and record.left_at and fresh:
            break
        await asyncio.sleep(0.02)
    assert bot.get_guild(old.id) is None and bot.get_guild(new.id) is not None
    assert record is not None and record.left_at is not None  # kept, marked left
    assert fresh is not None and fresh.status == "approved" and fresh.left_at is None

    page = await client.get("/sandbox")
    text = await page.text()
    assert page.status == 200 and "The sandbox world was reset" in text
    assert "from the old world" not in text and f'data-guild="{new.id}"' in text

    saved = world_path(stack.session.settings)  # the change hook saves the new world
    for _ in range(250):
        if str(new.id) in saved.read_text() and str(old.id) not in saved.read_text():
            break
        await asyncio.sleep(0.02)
    world = parse_world(saved.read_text())
    assert list(world.state["guilds"]) == [new.id]


async def test_command_options_named_channel_or_timeout_run_from_the_page(
    client: TestClient, stack: OfflineStack
) -> None:
    """Regression: an option called ``channel`` (``/alert add``, ``/dashboard create``) met the
    driver's own ``channel`` parameter and the page answered HTTP 500."""
    csrf = await sign_in(client, stack)
    bot = stack.process.bot

    @bot.slash_command(name="where", description="Names a channel")
    async def where(
        interaction: nextcord.Interaction,
        channel: nextcord.abc.GuildChannel = nextcord.SlashOption(description="d"),  # noqa: B008
        timeout: int = nextcord.SlashOption(description="d"),
        command: str = nextcord.SlashOption(description="d"),
    ) -> None:
        await interaction.response.send_message(f"#{channel} {timeout} {command}", ephemeral=True)

    await bot.sync_all_application_commands()
    await stack.server.wait_for_command("where")
    status_channel = stack.server.state.find_guild("Foundry Homelab").channel("status")
    options = {"channel": str(status_channel.id), "timeout": "7", "command": "x"}
    status, answer = await post(
        client, "/sandbox/api/command", csrf, {**ids(stack), "command": "where", "options": options}
    )
    assert status == 200, answer
    assert answer["answered"] and answer["content"] == "#status 7 x"


def tiny_png() -> bytes:
    """A valid 1x1 PNG."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


PLAN = "```diff\n+ #new-channel\n  - #kept (indented)\n```"


async def send_plan_with_files(stack: OfflineStack) -> nextcord.Message:
    """A bot message as /template apply and /template export post them: a code block with a
    language, a JSON file, an image and a file that must never render as a page."""
    import io

    guild = stack.server.state.find_guild("Foundry Homelab")
    channel = stack.process.bot.get_channel(guild.channel("general").id)
    files = [
        nextcord.File(io.BytesIO(b'{"name": "homelab"}'), "template.json"),
        nextcord.File(io.BytesIO(tiny_png()), "chart.png"),
        nextcord.File(io.BytesIO(b"<svg onload=alert(1)></svg>"), "evil.svg"),
    ]
    return await channel.send(PLAN, files=files, allowed_mentions=nextcord.AllowedMentions.none())


async def test_code_blocks_and_attachments_are_drawn(
    client: TestClient, stack: OfflineStack
) -> None:
    """Regression: a ```diff block showed a literal "``diff" and lost its indentation, and
    attachments (the JSON of /template export) were not shown at all."""
    await sign_in(client, stack)
    await send_plan_with_files(stack)
    view = await (await client.get("/sandbox/api/view", params=ids(stack), headers=JSON)).json()
    html = view["messages"]
    assert '<pre class="dc-codeblock" data-language="diff">' in html
    assert "<code>+ #new-channel\n  - #kept (indented)</code></pre>" in html
    assert "``diff" not in html
    links = dict(re.findall(r'<a class="dc-file" href="([^"]+)" download="([^"]+)"', html))
    assert sorted(links.values()) == ["evil.svg", "template.json"]
    [image] = re.findall(r'<img class="dc-attachment-image" src="([^"]+)" alt="chart.png"', html)

    by_name = {name: url for url, name in links.items()}
    exported = await client.get(by_name["template.json"])
    assert exported.status == 200 and await exported.read() == b'{"name": "homelab"}'
    assert exported.headers["Content-Type"] == "application/octet-stream"
    assert exported.headers["Content-Disposition"] == "attachment; filename*=UTF-8''template.json"
    svg = await client.get(by_name["evil.svg"])
    assert svg.headers["Content-Type"] == "application/octet-stream"
    assert svg.headers["Content-Disposition"].startswith("attachment;")
    png = await client.get(image)
    assert png.headers["Content-Type"] == "image/png" and (await png.read()) == tiny_png()
    assert (await client.get("/sandbox/attachments/1/x.json")).status == 404
    assert (await client.get("/sandbox/attachments/abc/x.json")).status == 404


async def test_attachments_are_for_owners_only(client: TestClient, stack: OfflineStack) -> None:
    await send_plan_with_files(stack)
    attachment = next(iter(stack.server.attachments.values()))
    url = f"/sandbox/attachments/{attachment.id}/{attachment.filename}"
    assert (await client.get(url, allow_redirects=False)).status == 302  # sign in first
    await redeem_link(client, stack, stack.server.state.find_user("bob").id)
    assert (await client.get(url)).status == 403


async def test_the_channel_list_follows_channel_changes(
    client: TestClient, stack: OfflineStack
) -> None:
    """Regression: the list was drawn once with the page; after a template apply made or
    removed channels it stayed stale until a reload."""
    await sign_in(client, stack)
    before = await (await client.get("/sandbox/api/view", params=ids(stack), headers=JSON)).json()
    assert "brand-new" not in before["channels"] and ">general</a>" in before["channels"]
    guild = stack.process.bot.get_guild(stack.server.state.find_guild("Foundry Homelab").id)
    assert guild is not None
    created = await guild.create_text_channel("brand-new")
    after = await (await client.get("/sandbox/api/view", params=ids(stack), headers=JSON)).json()
    assert after["version"] != before["version"]
    assert f"channel={created.id}" in after["channels"] and ">brand-new</a>" in after["channels"]
    await guild.create_category('<img src=x onerror="alert(1)">')
    hostile = await (await client.get("/sandbox/api/view", params=ids(stack), headers=JSON)).json()
    assert "<img" not in hostile["channels"] and "&lt;img src=x" in hostile["channels"]


async def test_template_export_from_the_page_shows_the_json_file(
    client: TestClient, stack: OfflineStack
) -> None:
    """Regression (issue 14.7): /template export answered with a file the page never showed."""
    csrf = await sign_in(client, stack)
    await stack.server.wait_for_command("template")
    body = {**ids(stack), "command": "template export", "options": {"name": "homelab"}}
    status, answer = await post(client, "/sandbox/api/command", csrf, body)
    assert status == 200 and answer["answered"], answer
    view = await (await client.get("/sandbox/api/view", params=ids(stack), headers=JSON)).json()
    [(url, name)] = re.findall(
        r'<a class="dc-file" href="([^"]+)" download="([^"]+)"', view["messages"]
    )
    assert name == "homelab.json"
    download = await client.get(url)
    assert download.status == 200 and (await download.json(content_type=None))["name"]


async def test_the_view_shows_each_change_of_the_world_on_the_next_read(
    client: TestClient, stack: OfflineStack
) -> None:
    csrf = await sign_in(client, stack)
    first = await (await client.get("/sandbox/api/view", params=ids(stack), headers=JSON)).json()
    again = await (await client.get("/sandbox/api/view", params=ids(stack), headers=JSON)).json()
    assert again == first and "one more line" not in first["messages"]
    status, body = await post(
        client, "/sandbox/api/message", csrf, {**ids(stack, "carol"), "content": "one more line"}
    )
    assert status == 200, body
    later = await (await client.get("/sandbox/api/view", params=ids(stack), headers=JSON)).json()
    assert "one more line" in later["messages"] and later["version"] != first["version"]


async def test_actions_refuse_values_that_are_not_text(
    client: TestClient, stack: OfflineStack
) -> None:
    """A list where a message or command belongs is refused, not posted as its repr; a lone
    surrogate (which no Discord text can hold) is refused by the editor's JSON parser."""
    csrf = await sign_in(client, stack)
    channel = stack.server.state.find_guild("Foundry Homelab").channel("general")
    before = len(stack.server.state.messages.get(channel.id, {}))
    status, body = await post(
        client, "/sandbox/api/message", csrf, {**ids(stack), "content": ["a"]}
    )
    assert (status, body["error"]) == (400, "The message must be text.")
    status, body = await post(
        client, "/sandbox/api/command", csrf, {**ids(stack), "command": ["ping"]}
    )
    assert (status, body["error"]) == (400, "The command must be text.")
    response = await client.post(
        "/sandbox/api/message",
        data=f'{{"guild": "{ids(stack)["guild"]}", "channel": "{ids(stack)["channel"]}", '
        f'"as": "{ids(stack)["as"]}", "content": "a\\ud800"}}',
        headers={**JSON, "X-CSRF-Token": csrf, "Content-Type": "application/json"},
    )
    assert response.status == 400, await response.text()
    assert len(stack.server.state.messages.get(channel.id, {})) == before
