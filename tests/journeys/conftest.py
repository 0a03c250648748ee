"""Fixtures for the journeys: the real bot process, Chromium, and a page signed in to it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import chromium
from tests.journeys.harness import UI_TIMEOUT_MS, RunningBot, sign_in, watch_problems

# Samples every 3 s, so rules fire and charts fill quickly.
MONITORING_INTERVAL = "3"


@pytest.fixture
def bot(tmp_path: Path) -> Iterator[RunningBot]:
    """`python -m bot` offline, started and ready; stopped after the test."""
    running = RunningBot(tmp_path, settings={"MONITORING_INTERVAL": MONITORING_INTERVAL})
    running.start()
    try:
        yield running
    finally:
        running.close()


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async with chromium() as launched:
        yield launched


@pytest.fixture
async def page(browser: Any, bot: RunningBot) -> AsyncIterator[Any]:
    """A Chromium page signed in to the bot's web editor as its owner. `page.problems`
    lists the script errors and HTTP 5xx answers it met."""
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(UI_TIMEOUT_MS)
    opened = await context.new_page()
    opened.problems = watch_problems(opened)
    await sign_in(opened, bot)
    try:
        yield opened
    finally:
        await context.close()
