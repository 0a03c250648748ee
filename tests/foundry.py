"""pytest plugin (loaded by tests/conftest.py): FoundryCord itself against a fresh sandbox,
the ground of the end-to-end tests, and the helpers every such test shares.

- `foundry`: the fixture; `Foundry` its type (sandbox, the Lab guild, settings, process).
- `eventually(check, what)`: the one way to wait for something the bot does in the
  background.
- `approve(foundry)`: the owner approves the Lab guild with `/guild approve`.
- The mention audit: at teardown, every message the bot sent through the sandbox (message
  create and edit, webhook execute and edit, interaction callbacks and follow-ups) must
  carry an explicit `allowed_mentions`, and none may let @everyone ping. A test where a
  server manager asked for @everyone says so with `@pytest.mark.everyone_mentions_allowed`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from bot.runtime import BotProcess
from bot.settings import Settings, load_settings, with_changes
from sandbox.client import point_nextcord_at, restore_nextcord
from sandbox.driver import SandboxDriver
from sandbox.mentions_audit import mentions_audit
from sandbox.server import SandboxServer
from sandbox.state import Guild

LAB: dict[str, Any] = {
    "guilds": [
        {
            "name": "Lab",
            "owner": "alice",
            "roles": [{"name": "Admins", "permissions": ["manage_guild"]}],
            "members": [{"name": "alice"}, {"name": "bob", "roles": ["Admins"]}, {"name": "carol"}],
            "channels": [{"name": "general"}, {"name": "status"}],
        }
    ]
}

EVERYONE_MARKER = "everyone_mentions_allowed"
SANDBOX_PAGE_MARKER = "sandbox_page"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{EVERYONE_MARKER}: a server manager asked for @everyone in this test, so the "
        "mention audit lets parse contain 'everyone'",
    )
    config.addinivalue_line(
        "markers",
        f"{SANDBOX_PAGE_MARKER}: the web editor also serves the Sandbox page on the test's "
        "sandbox, as the offline bot does",
    )


# --- waiting ----------------------------------------------------------------------------

POLL_S = 0.02
DEFAULT_TIMEOUT_S = 10.0


async def eventually[T](
    check: Callable[[], T | Awaitable[T]], what: str, timeout: float = DEFAULT_TIMEOUT_S
) -> T:
    """Re-check `check()` (awaited when it returns an awaitable) every 20 ms until its result
    is truthy, and return that result; AssertionError naming `what` after `timeout` s.

    For state that changes in the background (database rows, caches, the sandbox's world);
    to wait for a REST call, `server.wait_for_call` wakes on the call itself."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result  # type: ignore[return-value]
        if loop.time() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting until {what}")
        await asyncio.sleep(POLL_S)


# --- the fixture --------------------------------------------------------------------------


@dataclasses.dataclass
class Foundry:
    """A sandbox with the Lab guild and a running FoundryCord process connected to it."""

    server: SandboxServer
    guild: Guild
    settings: Settings
    process: BotProcess
    web_extras: Any = None  # the Sandbox page's routes (SANDBOX_PAGE_MARKER), else None

    @property
    def bot(self):  # type: ignore[no-untyped-def]
        return self.process.bot

    async def restart(self, **changes: Any) -> None:
        """Stop the bot and start a new process on the same database and sandbox state."""
        await self.process.stop()
        self.settings = with_changes(self.settings, **changes)  # a feature's own too
        self.process = await start_process(
            self.settings, self.server.token, web_extras=self.web_extras
        )


async def start_process(settings: Settings, token: str, web_extras: Any = None) -> BotProcess:
    """A FoundryCord process, started: ready, commands synced, every guild admitted."""
    process = BotProcess(
        settings,
        token,
        extra_extensions=["tests.bot.feature_cog"],
        migrate_in_process=True,
        web_extras=web_extras,
    )
    try:
        await process.start()
        await process.wait_ready(10)
    except BaseException:
        await process.stop()
        raise
    return process


@pytest.fixture
async def foundry(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Foundry]:
    server = SandboxServer()
    await server.start()
    guild = server.load(LAB)[0]
    point_nextcord_at(server)
    settings = dataclasses.replace(
        load_settings(environ={}, env_file=None),
        data_dir=tmp_path,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        web_port=0,
        public_url="http://127.0.0.1:0",
        owner_ids=frozenset({server.state.find_user("alice").id}),
        auto_approve=False,
        db_connect_retries=0,
    )
    extras = None
    if request.node.get_closest_marker(SANDBOX_PAGE_MARKER) is not None:
        from bot.offline import _web_extras

        extras = _web_extras(server)
    process = await start_process(settings, server.token, web_extras=extras)
    harness = Foundry(server, guild, settings, process, extras)
    try:
        yield harness
    finally:
        await harness.process.stop()
        await server.stop()
        restore_nextcord()
    assert server.handler_errors == []
    assert server.spec_violations == []
    everyone_ok = request.node.get_closest_marker(EVERYONE_MARKER) is not None
    assert mention_problems(server.calls, everyone_ok=everyone_ok) == []


async def approve(foundry: Foundry, driver: SandboxDriver | None = None) -> SandboxDriver:
    """The owner (alice) approves the Lab guild with `/guild approve`, once the bot has
    registered the command and recorded the guild; the driver used."""
    driver = driver or SandboxDriver(foundry.server, timeout=10)
    await foundry.server.wait_for_command("guild", timeout=10)
    access = foundry.process.services.guild_access

    async def known() -> bool:
        return await access.status(foundry.guild.id) is not None

    await eventually(known, "the bot records the Lab guild")
    answer = await driver.member("alice").run("guild approve", channel="general")
    assert "approved" in answer.content, answer.content
    return driver


# --- the mention audit --------------------------------------------------------------------

_SECRET = re.compile(r"/(webhooks|interactions)/(\d+)/[^/]+")


def mention_problems(calls: Iterable[dict[str, Any]], *, everyone_ok: bool = False) -> list[str]:
    """One line per message the bot sent (create or edit, on any route that sends one)
    without an explicit `allowed_mentions`, or letting @everyone ping: the sandbox's audit
    (sandbox/mentions_audit.py) in its strict form, which asks it of messages without text
    too. Webhook and interaction tokens are left out of the lines."""
    problems = []
    for problem in mentions_audit(calls, strict=True):
        if everyone_ok and "everyone" in problem.reason:
            continue
        path = _SECRET.sub(r"/\1/\2/…", problem.path)
        problems.append(f"{problem.method} {path}: {problem.reason} ({problem.content[:60]!r})")
    return problems
