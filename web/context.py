"""Everything the web editor needs from the running bot, passed in one object."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.features import GuildTab
from bot.state_cache import GuildStateCache, StateVersions, Versions
from web.sessions import WebSessions
from web.signin import SignInLinks

if TYPE_CHECKING:
    from bot.cache import Cache
    from bot.database import Database
    from bot.guild_access import GuildAccess
    from bot.guild_settings import GuildSettingsStore
    from bot.live import LiveState
    from bot.logbuffer import LogBuffer
    from bot.settings import Settings


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class WebContext:
    """The bot's services as the web editor sees them.

    `extra_routes` takes RouteTableDefs from features (they get the same sign-in and CSRF
    protection as the built-in pages), `nav_links` adds (title, url) entries to the navbar,
    `guild_tabs` adds tabs to every server's pages, `static_dirs` serves each folder at
    `/static/<name>/`, `app_keys` are set on the application, and `token_paths`
    authenticate by bearer token instead of a session (see `bot.features`).
    `signin` is built from the other fields: the bot's `/web` command calls
    `ctx.signin.issue(user_id)` for a one-time link.
    """

    settings: Settings
    db: Database
    cache: Cache
    live: LiveState
    guild_access: GuildAccess
    guild_settings: GuildSettingsStore
    log_buffer: LogBuffer
    session_key: bytes = field(repr=False)
    extra_routes: list[web.RouteTableDef] = field(default_factory=list)
    nav_links: list[tuple[str, str]] = field(default_factory=list)
    template_dirs: list[Path] = field(default_factory=list)
    static_dirs: dict[str, Path] = field(default_factory=dict)
    guild_tabs: list[GuildTab] = field(default_factory=list)
    app_keys: dict[web.AppKey[Any], Any] = field(default_factory=dict)
    token_paths: frozenset[str] = frozenset()
    # Offline (sandbox mode): no Discord to run /web in; pages point to `python -m bot signin`.
    offline: bool = False
    clock: Callable[[], datetime] = utc_now
    # More than one bot process: the internal URL of the process holding a guild when that
    # is another one (bot.cluster), so its pages are forwarded there (web.forward).
    holder_of: Callable[[int], Awaitable[str | None]] | None = None
    signin: SignInLinks = field(init=False, repr=False)
    versions: StateVersions = field(init=False, repr=False)
    guild_state: GuildStateCache = field(init=False, repr=False)
    web_sessions: WebSessions = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if len(self.session_key) != 32:
            raise ValueError(
                f"the web session key must be 32 bytes, got {len(self.session_key)}; "
                "derive it from SECRET_KEY with a 32-byte hash"
            )
        self.signin = SignInLinks(
            self.db, self.session_key, self.settings.public_url, clock=self.clock
        )
        self.versions = StateVersions(self.db)
        self.guild_state = GuildStateCache(self.db, self.guild_settings.registry, self.versions)
        self.web_sessions = WebSessions(self.db, self.clock)

    def is_owner(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.settings.owner_ids


CONTEXT_KEY = web.AppKey("foundrycord_web_context", WebContext)


def get_context(request: web.Request) -> WebContext:
    return request.config_dict[CONTEXT_KEY]


async def state_versions(request: web.Request) -> Versions:
    """The shared state counters for this request (read once per request, see
    bot.state_cache): pass them to `ctx.guild_state` reads."""
    return await get_context(request).versions.for_request(request)
