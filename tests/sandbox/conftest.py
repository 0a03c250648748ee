"""Fixtures for sandbox tests: a started server and real nextcord bots connected to it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import nextcord
import pytest
from nextcord.ext import commands

from bot.discord_http import use_corrected_http
from sandbox.client import point_nextcord_at, restore_nextcord
from sandbox.server import SandboxServer
from sandbox.spec import SpecValidator
from sandbox.state import Guild

DEMO: dict[str, Any] = {
    "guilds": [
        {
            "name": "Demo",
            "owner": "alice",
            "roles": [{"name": "Mod", "permissions": ["manage_guild", "manage_messages"]}],
            "members": [{"name": "alice"}, {"name": "bob", "roles": ["Mod"]}, {"name": "carol"}],
            "categories": [
                {
                    "name": "Info",
                    "channels": [
                        {
                            "name": "rules",
                            "overwrites": {"@everyone": {"deny": ["send_messages"]}},
                        }
                    ],
                }
            ],
            "channels": [
                {"name": "general"},
                {"name": "Lounge", "type": "voice"},
                {"name": "ideas", "type": "forum", "available_tags": [{"name": "bug"}]},
            ],
        }
    ]
}


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxServer]:
    server = SandboxServer()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
    assert server.handler_errors == []
    assert server.spec_violations == []


@pytest.fixture
def demo(sandbox: SandboxServer) -> Guild:
    return sandbox.load(DEMO)[0]


BotStarter = Callable[..., Awaitable[Any]]


@pytest.fixture
async def start_bot(sandbox: SandboxServer) -> AsyncIterator[BotStarter]:
    """``await start_bot(bot)`` connects ``bot`` to the sandbox and waits for on_ready."""
    point_nextcord_at(sandbox)
    started: list[tuple[nextcord.Client, asyncio.Task[None]]] = []

    async def start(bot: nextcord.Client, timeout: float = 5.0) -> nextcord.Client:
        task = asyncio.create_task(bot.start(sandbox.token))
        started.append((bot, task))
        ready = asyncio.create_task(bot.wait_until_ready())
        done, _ = await asyncio.wait({ready, task}, timeout=timeout, return_when="FIRST_COMPLETED")
        if ready not in done:
            ready.cancel()
            if task in done:
                task.result()
            raise TimeoutError("the bot did not become ready")
        return bot

    try:
        yield start
    finally:
        for bot, task in started:
            await bot.close()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, 5)
        restore_nextcord()


class QuickBot(commands.Bot):
    """nextcord sleeps 5 s before every IDENTIFY after the first; the sandbox needs no pause."""

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        return None


def make_bot(*, stock_http: bool = False, **kwargs: Any) -> commands.Bot:
    """A bot with FoundryCord's corrected REST limiter (bot.discord_http), as production has;
    ``stock_http`` keeps nextcord's as shipped, for tests that document nextcord itself."""
    kwargs.setdefault("intents", nextcord.Intents.all())
    kwargs.setdefault("command_prefix", "!")
    kwargs.setdefault("guild_ready_timeout", 0.05)
    bot = QuickBot(**kwargs)
    if not stock_http:
        use_corrected_http(bot)
    return bot


@pytest.fixture
async def nextcord_bot(start_bot: BotStarter, demo: Guild) -> commands.Bot:
    """A connected commands.Bot (intents all) in the demo guild, with a ``!ping`` command."""
    bot = make_bot()

    @bot.command()
    async def ping(ctx: commands.Context) -> None:
        await ctx.reply("pong")

    return await start_bot(bot)


class RestClient:
    """A raw HTTP client for the sandbox's REST API (no nextcord in between)."""

    def __init__(self, server: SandboxServer, session: aiohttp.ClientSession) -> None:
        self.server = server
        self.session = session

    async def request(
        self,
        method: str,
        path: str,
        json: Any = None,
        *,
        auth: bool | str = True,
        data: Any = None,
    ) -> tuple[int, Any, Any]:
        headers = {}
        if auth is True:
            headers["Authorization"] = f"Bot {self.server.token}"
        elif isinstance(auth, str):
            headers["Authorization"] = auth
        async with self.session.request(
            method, self.server.base_url + path, json=json, data=data, headers=headers
        ) as response:
            body = await response.json() if response.status != 204 else None
            assert response.status == 204 or response.headers["Content-Type"] == "application/json"
            return response.status, body, response.headers


@pytest.fixture
async def api(sandbox: SandboxServer) -> AsyncIterator[RestClient]:
    async with aiohttp.ClientSession() as session:
        yield RestClient(sandbox, session)


def forgive_request_violations(server: SandboxServer) -> None:
    """For tests that send invalid bodies on purpose: the spec flags the request, not a reply."""
    assert all(" request: " in v for v in server.spec_violations), server.spec_violations
    server.spec_violations.clear()


PUBLIC_URL = "http://127.0.0.1:8080"


@dataclass
class OfflineStack:
    """The offline bot in-process: sandbox with the demo guild, database, bot and web editor."""

    session: Any  # bot.offline.OfflineSession
    process: Any  # bot.runtime.BotProcess

    @property
    def server(self) -> SandboxServer:
        return self.session.sandbox

    @property
    def owner_id(self) -> int:
        from sandbox.demo import DEMO_OWNER

        return self.server.state.find_user(DEMO_OWNER).id

    async def sign_in_link(self, user_id: int | None = None, base: str = PUBLIC_URL) -> str:
        """A one-time sign-in link (for the owner by default) on ``base``."""
        link = await self.process.web_context.signin.issue(user_id or self.owner_id)
        return base + link.removeprefix(PUBLIC_URL)


StackStarter = Callable[..., Awaitable[OfflineStack]]


@pytest.fixture
async def start_offline_stack(tmp_path: Path) -> AsyncIterator[StackStarter]:
    """``await start_offline_stack(web=True, record=None)``: the offline bot, ready, with the
    /guild command synced. Stopped (bot, web, database, sandbox) after the test."""
    from bot.offline import start_offline
    from bot.runtime import BotProcess
    from bot.settings import Settings
    from tests.foundry import mention_problems

    stacks: list[OfflineStack] = []

    async def start(*, web: bool = True, record: Path | None = None) -> OfflineStack:
        settings = Settings(
            data_dir=tmp_path / "data",
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
            web_enabled=web,
            web_host="127.0.0.1",
            web_port=0,
            public_url=PUBLIC_URL,
        )
        session = await start_offline(
            settings, record=record, spec_path=SpecValidator.default_path()
        )
        process = BotProcess(
            session.settings,
            session.token,
            web_extras=session.web_extras,
            guild_ready_timeout=0.05,
            migrate_in_process=True,
        )
        stack = OfflineStack(session, process)
        stacks.append(stack)
        await process.start()
        await process.wait_ready(timeout=10)
        await session.sandbox.wait_for_command("guild")
        # The demo guild is approved as the bot admits it, concurrently with on_ready.
        access = process.services.guild_access
        async with asyncio.timeout(10):
            for guild in process.bot.guilds:
                while True:
                    if await access.status(guild.id) == "approved":
                        break
                    await asyncio.sleep(0.01)
        return stack

    try:
        yield start
    finally:
        for stack in stacks:
            await stack.process.stop()
            await stack.session.stop()
        restore_nextcord()
    for stack in stacks:  # as with the plain sandbox fixture: Discord's contract holds
        assert stack.server.handler_errors == []
        assert stack.server.spec_violations == []
        assert mention_problems(stack.server.calls) == []  # as the foundry fixture checks
