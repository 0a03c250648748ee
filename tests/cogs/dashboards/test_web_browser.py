"""A real headless Chromium edits a dashboard in the Gridstack editor: adds a widget from
the palette, resizes it, saves, and the dashboard message in the sandbox changes."""

from __future__ import annotations

from pathlib import Path

from cogs.dashboards import DASHBOARDS_SERVICE
from cogs.dashboards.layout import parse_layout
from tests.browser import chromium, requires_chromium
from tests.foundry import eventually
from tests.sandbox.conftest import StackStarter

SCREENSHOT = Path("/tmp/foundrycord-dashboard-editor.png")
pytestmark = requires_chromium


async def test_add_resize_save_and_the_sandbox_message_changes(
    start_offline_stack: StackStarter,
) -> None:
    from playwright.async_api import expect

    stack = await start_offline_stack(web=True)
    web_url = stack.process.web_url
    assert web_url is not None
    guild = stack.server.state.find_guild("Foundry Homelab")
    channel = guild.channel("general")
    service = stack.process.bot.services.provided.get(DASHBOARDS_SERVICE)
    layout = parse_layout(
        {
            "title": "Lab",
            "widgets": [
                {
                    "id": "members",
                    "title": "Members",
                    "width": 1,
                    "source": {"kind": "server", "stat": "members"},
                    "format": "value",
                }
            ],
            "actions": [{"type": "button", "action": "refresh"}],
        }
    )
    record = await service.create(guild.id, channel.id, "Lab", layout, stack.owner_id)

    def dashboard_message():  # type: ignore[no-untyped-def]
        entry = service.scheduler.entries[record.id]
        if entry.message_id is None:
            return None
        return stack.server.state.messages.get(channel.id, {}).get(entry.message_id)

    message = await eventually(dashboard_message, "post the dashboard")
    assert [f["name"] for f in message.embeds[0]["fields"]] == ["Members"]

    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1400, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on(
            "response",
            lambda r: (
                errors.append(f"{r.status} {r.url}")
                if r.status >= 400 and not r.url.endswith("/favicon.ico")
                else None
            ),
        )
        await page.goto(await stack.sign_in_link(base=web_url))
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_url(f"{web_url}/guilds")
        await page.goto(f"{web_url}/guilds/{guild.id}/dashboards")
        await page.get_by_role("link", name="Lab").click()
        preview = page.get_by_test_id("preview")
        await preview.get_by_text("Members").wait_for(state="visible")

        # Add a text widget from the palette: it arrives full width, then is resized.
        await page.get_by_test_id("palette-markdown").click()
        widget = page.locator('.grid-stack-item[data-widget-id="markdown1"]')
        await widget.wait_for(state="visible")
        assert await widget.get_attribute("gs-w") == "3"
        await page.get_by_test_id("prop-text").fill("Backups ran at **03:00**")
        await page.get_by_test_id("prop-title").fill("Backups")
        # Resize by dragging the widget's right edge from three columns to one.
        await widget.hover()
        handle = widget.locator(".ui-resizable-e")
        box = await handle.bounding_box()
        grid_box = await page.get_by_test_id("grid").bounding_box()
        assert box is not None and grid_box is not None
        start_x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        await page.mouse.move(start_x, y)
        await page.mouse.down()
        for step in range(1, 11):
            await page.mouse.move(start_x - grid_box["width"] * 0.66 * step / 10, y)
        await page.mouse.up()
        await expect(widget).to_contain_text("1 col")  # gridstack drops gs-w at 1
        # The preview is redrawn from the renderer's payload.
        await preview.get_by_text("Backups ran at").wait_for(state="visible")
        # The redraw after the resize may land after the text's: wait for it.
        await expect(preview.locator(".dc-embed-field.dc-inline")).to_have_count(2)

        # Drag it before the Members widget: the order of the fields follows.
        members = page.locator('.grid-stack-item[data-widget-id="members"]')
        source, target = await widget.bounding_box(), await members.bounding_box()
        assert source is not None and target is not None
        await page.mouse.move(source["x"] + 20, source["y"] + 10)
        await page.mouse.down()
        for step in range(1, 11):
            await page.mouse.move(
                source["x"] + 20 + (target["x"] - source["x"]) * step / 10,
                source["y"] + 10 + (target["y"] - source["y"] - 10) * step / 10,
            )
        await page.mouse.up()
        names = preview.locator(".dc-embed-field-name")
        await expect(names.first).to_have_text("Backups")

        await page.get_by_test_id("save").click()
        await page.get_by_test_id("saved").wait_for(state="visible")
        await page.screenshot(path=str(SCREENSHOT), full_page=True)
        assert errors == []

    def changed():  # type: ignore[no-untyped-def]
        current = dashboard_message()
        if current is None:
            return None
        fields = current.embeds[0].get("fields", [])
        return fields if any(f["name"] == "Backups" for f in fields) else None

    fields = await eventually(changed, "edit in the saved widget")
    assert dashboard_message().id == message.id  # edited in place, not posted again
    assert {"name": "Backups", "value": "Backups ran at **03:00**", "inline": True} in fields
    saved = await service.store.get(record.id)
    assert [w.id for w in saved.layout.widgets] == ["markdown1", "members"]
    assert [f["name"] for f in fields] == ["Backups", "Members"]
