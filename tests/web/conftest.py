"""Fixtures for the web editor: a real SQLite database, a fake view of the live bot, and an
aiohttp test client with sign-in and CSRF helpers."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from bot.cache import MemoryCache
from bot.database import Database
from bot.guild_access import GuildAccess
from bot.guild_settings import GuildSettingsRegistry, GuildSettingsStore, SettingSpec
from bot.live import GuildSummary, NamedId
from bot.logbuffer import LogBuffer
from bot.settings import Settings
from web.app import create_app
from web.context import WebContext

OWNER_ID = 100000000000000001
ADMIN_ID = 200000000000000002
MEMBER_ID = 300000000000000003
GUILD_ID = 400000000000000004
OTHER_GUILD_ID = 500000000000000005
PENDING_GUILD_ID = 600000000000000006
GUILD_CHANNEL_ID = 700000000000000007
GUILD_ROLE_ID = 710000000000000007
OTHER_CHANNEL_ID = 800000000000000008
OTHER_ROLE_ID = 810000000000000008
PUBLIC_URL = "http://127.0.0.1:8080"
SESSION_KEY = bytes(range(32))

SPECS = (
    SettingSpec("welcome_enabled", "Welcome messages", "bool", False, help="Greet new members."),
    SettingSpec("max_channels", "Channel limit", "int", 50, min=1, max=500),
    SettingSpec("prefix", "Command prefix", "str", "!", max=5),
    SettingSpec("theme", "Dashboard theme", "choice", "dark", choices=("dark", "light")),
    SettingSpec("log_channel", "Log channel", "channel", None),
)


@dataclass
class FakeLive:
    """The bot's live state without a gateway: guilds, who may manage them, user names."""

    connected: bool = True
    latency: float | None = 42.5
    started: datetime = field(default_factory=lambda: datetime.now(UTC) - timedelta(hours=2))
    summaries: dict[int, GuildSummary] = field(default_factory=dict)
    managers: set[tuple[int, int]] = field(default_factory=set)
    names: dict[int, str] = field(default_factory=dict)
    channels: dict[int, list[NamedId]] = field(default_factory=dict)
    role_lists: dict[int, list[NamedId]] = field(default_factory=dict)

    def gateway_connected(self) -> bool:
        return self.connected

    def latency_ms(self) -> float | None:
        return self.latency

    def started_at(self) -> datetime:
        return self.started

    def guilds(self) -> list[GuildSummary]:
        return list(self.summaries.values())

    def guild(self, guild_id: int) -> GuildSummary | None:
        return self.summaries.get(guild_id)

    async def can_manage(self, guild_id: int, user_id: int) -> bool:
        return (guild_id, user_id) in self.managers

    async def user_name(self, user_id: int) -> str | None:
        return self.names.get(user_id)

    def text_channels(self, guild_id: int) -> list[NamedId]:
        return list(self.channels.get(guild_id, []))

    def roles(self, guild_id: int) -> list[NamedId]:
        return list(self.role_lists.get(guild_id, []))

    def add_guild(self, guild_id: int, name: str, *managers: int) -> None:
        self.summaries[guild_id] = GuildSummary(guild_id, name, None, 12)
        self.managers.update((guild_id, user_id) for user_id in managers)


class Clock:
    """A settable clock for expiry tests."""

    def __init__(self) -> None:
        self.now = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@pytest.fixture
async def db(sqlite_url: str) -> AsyncIterator[Database]:
    database = await Database.connect(sqlite_url)
    await database.upgrade()
    yield database
    await database.dispose()


@pytest.fixture
def live() -> FakeLive:
    fake = FakeLive(names={OWNER_ID: "owner", ADMIN_ID: "admin", MEMBER_ID: "member"})
    fake.add_guild(GUILD_ID, "Forge Guild", ADMIN_ID, OWNER_ID)
    fake.add_guild(OTHER_GUILD_ID, "Other Place", MEMBER_ID)
    fake.add_guild(PENDING_GUILD_ID, "Waiting Room", ADMIN_ID)
    fake.channels[GUILD_ID] = [
        NamedId(GUILD_CHANNEL_ID, "general"),
        NamedId(700000000000000017, "alerts"),
    ]
    fake.role_lists[GUILD_ID] = [NamedId(GUILD_ROLE_ID, "Admins")]
    fake.channels[OTHER_GUILD_ID] = [NamedId(OTHER_CHANNEL_ID, "elsewhere")]
    fake.role_lists[OTHER_GUILD_ID] = [NamedId(OTHER_ROLE_ID, "Theirs")]
    return fake


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_settings(tmp_path: Path, sqlite_url: str) -> Callable[..., Settings]:
    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "owner_ids": frozenset({OWNER_ID}),
            "data_dir": tmp_path,
            "database_url": sqlite_url,
            "public_url": PUBLIC_URL,
        }
        values.update(overrides)
        return Settings(**values)

    return build


@pytest.fixture
def left_guilds() -> list[int]:
    return []


@pytest.fixture
async def ctx(
    db: Database,
    live: FakeLive,
    clock: Clock,
    make_settings: Callable[..., Settings],
    left_guilds: list[int],
) -> WebContext:
    async def leave(guild_id: int) -> None:
        left_guilds.append(guild_id)

    access = GuildAccess(db, auto_approve=False, leave_guild=leave)
    for guild_id, name in ((GUILD_ID, "Forge Guild"), (OTHER_GUILD_ID, "Other Place")):
        await access.joined(guild_id, name)
        await access.approve(guild_id, OWNER_ID)
    await access.joined(PENDING_GUILD_ID, "Waiting Room")
    registry = GuildSettingsRegistry()
    registry.register("tests", *SPECS)
    return WebContext(
        settings=make_settings(),
        db=db,
        cache=MemoryCache(),
        live=live,
        guild_access=access,
        guild_settings=GuildSettingsStore(db, registry),
        log_buffer=LogBuffer(),
        session_key=SESSION_KEY,
        clock=clock,
    )


@pytest.fixture
async def client(ctx: WebContext, aiohttp_client: Any) -> TestClient:
    return await aiohttp_client(create_app(ctx))


LINK_TOKEN = re.compile(r'<input type="hidden" name="token" value="([^"]+)">')


async def open_link(client: TestClient, link: str) -> str:
    """Open a sign-in link as a browser would; returns the token its Sign in form posts."""
    page = await client.get(link.removeprefix(PUBLIC_URL))
    text = await page.text()
    assert page.status == 200, text
    match = LINK_TOKEN.search(text)
    assert match, "the sign-in link page has no Sign in form"
    return match.group(1)


async def press_sign_in(client: TestClient, token: str, **headers: str) -> ClientResponse:
    """Press the Sign in button of a link page: POST the token, without following."""
    return await client.post(
        "/login/link", data={"token": token}, headers=headers, allow_redirects=False
    )


async def sign_in(client: TestClient, ctx: WebContext, user_id: int) -> None:
    """Sign the test client in as `user_id` with a one-time link."""
    token = await open_link(client, await ctx.signin.issue(user_id))
    response = await press_sign_in(client, token)
    assert response.status == 303, await response.text()


CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


async def csrf_token(client: TestClient, page: str = "/guilds") -> str:
    """The CSRF token of the client's session, read from a page's meta tag."""
    response = await client.get(page)
    match = CSRF_META.search(await response.text())
    assert match, "page has no CSRF meta tag"
    return match.group(1)
