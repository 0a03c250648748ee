"""Journey (e): save this server as a template and `/template export` it from the Sandbox
page; the answer shows the exported file, as Discord shows an attachment, and the file is
the template."""

from __future__ import annotations

import json
from typing import Any

from tests.browser import requires_chromium
from tests.journeys.harness import RunningBot, open_sandbox_channel, run_slash_command

pytestmark = requires_chromium

NAME = "journey"


async def test_template_export_shows_the_file(page: Any, bot: RunningBot) -> None:
    await open_sandbox_channel(page, bot, "general")
    status = await run_slash_command(page, "template save", {"name": NAME})
    assert status == "", f"/template save: {status}\n{bot.log_tail()}"
    await page.get_by_test_id("message").filter(has_text="Saved").filter(has_text=NAME).wait_for()

    status = await run_slash_command(page, "template export", {"name": NAME})
    assert status == "", f"/template export: {status}\n{bot.log_tail()}"
    answer = page.get_by_test_id("message").filter(has_text="/template export")
    await answer.wait_for()
    filename = f"{NAME}.json"
    file = answer.get_by_text(filename)
    assert await file.count() >= 1, f"no {filename} shown: {await answer.inner_text()!r}"

    # The file can be opened from the message, and it is the saved template.
    link = answer.locator(f'a:has-text("{filename}"), a[href*="{filename}"]').first
    assert await link.count(), f"{filename} is shown but not as a link to the file"
    href = await link.get_attribute("href")
    assert href, "the file's link has no address"
    response = await page.request.get(href if "://" in href else bot.url + href)
    assert response.ok, f"HTTP {response.status} for {href}"
    document = json.loads(await response.text())
    assert document.get("name") == NAME, document
    assert page.problems == []
