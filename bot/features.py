"""What a feature package contributes beyond its cog: web pages, their templates and static
files, navbar links and per-server tabs. A feature's `setup(bot)` registers them here;
`bot/` and `web/` read this registry and never import a feature by name."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

# Names already served under /static/ by the web editor itself.
RESERVED_STATIC_NAMES = frozenset({"css", "js", "vendor"})


@dataclass(frozen=True)
class GuildTab:
    """A tab on every server's pages, linking to `/guilds/{guild_id}/{slug}`."""

    title: str
    slug: str


@dataclass(frozen=True)
class FeatureWeb:
    """One feature's part of the web editor.

    `routes` get the same sign-in gate and CSRF check as the built-in pages; `templates` is
    a folder of Jinja2 templates (name them `<feature>/...` to avoid clashes); `static` is
    served at `/static/<name>/`; `app_keys` are set on the aiohttp application, so routes
    can reach the feature's own objects with `request.config_dict[key]`.
    `token_paths` are exact paths whose handlers authenticate each request by a bearer
    token of their own (machine clients, no cookies): they skip the sign-in gate and CSRF.
    """

    name: str
    routes: Sequence[web.RouteTableDef] = ()
    templates: Path | None = None
    static: Path | None = None
    nav_links: Sequence[tuple[str, str]] = ()
    guild_tabs: Sequence[GuildTab] = ()
    app_keys: Mapping[web.AppKey[Any], Any] = field(default_factory=dict)
    token_paths: Sequence[str] = ()


class FeatureRegistry:
    """Every feature's web contributions, in registration order."""

    def __init__(self) -> None:
        self._web: dict[str, FeatureWeb] = {}

    def add_web(self, contribution: FeatureWeb) -> None:
        if not contribution.name.isidentifier():
            raise ValueError(f"feature name {contribution.name!r} must be a Python identifier")
        if contribution.name in RESERVED_STATIC_NAMES:
            raise ValueError(f"feature name {contribution.name!r} is reserved by the web editor")
        if contribution.name in self._web:
            raise ValueError(f"feature {contribution.name!r} registered its web pages twice")
        self._web[contribution.name] = contribution

    @property
    def web(self) -> list[FeatureWeb]:
        return list(self._web.values())

    @property
    def routes(self) -> list[web.RouteTableDef]:
        return [table for part in self._web.values() for table in part.routes]

    @property
    def template_dirs(self) -> list[Path]:
        return [part.templates for part in self._web.values() if part.templates is not None]

    @property
    def static_dirs(self) -> dict[str, Path]:
        return {name: part.static for name, part in self._web.items() if part.static is not None}

    @property
    def nav_links(self) -> list[tuple[str, str]]:
        return [link for part in self._web.values() for link in part.nav_links]

    @property
    def guild_tabs(self) -> list[GuildTab]:
        return [tab for part in self._web.values() for tab in part.guild_tabs]

    @property
    def token_paths(self) -> frozenset[str]:
        return frozenset(path for part in self._web.values() for path in part.token_paths)

    @property
    def app_keys(self) -> dict[web.AppKey[Any], Any]:
        keys: dict[web.AppKey[Any], Any] = {}
        for part in self._web.values():
            keys.update(part.app_keys)
        return keys


class FeatureServices:
    """Objects one feature offers others by name (for example monitoring's metrics for
    dashboards), so features use each other through an interface and never by import."""

    def __init__(self) -> None:
        self._provided: dict[str, Any] = {}

    def provide(self, name: str, service: Any, *, replace: bool = False) -> None:
        """Offer `service` as `name`; `replace` swaps out one already offered (tests)."""
        if name in self._provided and not replace:
            raise ValueError(f"a service named {name!r} is already provided")
        self._provided[name] = service

    def get(self, name: str) -> Any | None:
        """The service, or None when no loaded feature provides it."""
        return self._provided.get(name)
