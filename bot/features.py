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

    @classmethod
    def of_package(
        cls,
        package: str | Path,
        *,
        routes: Sequence[web.RouteTableDef] = (),
        nav_links: Sequence[tuple[str, str]] = (),
        tab: str | None = None,
        guild_tabs: Sequence[GuildTab] = (),
        app_keys: Mapping[web.AppKey[Any], Any] | None = None,
        token_paths: Sequence[str] = (),
    ) -> FeatureWeb:
        """The one way a feature describes its web part (cogs/README.md): named after its
        package folder, with that folder's `templates/` (holding `templates/<feature>/...`)
        and `static/` when they exist. `package` is the package folder or any file in it
        (pass `__file__` from the feature's `web.py`). `tab` titles the feature's tab on
        every server's pages, at `/guilds/{guild_id}/<feature>`."""
        folder = Path(package).resolve()
        if folder.is_file():
            folder = folder.parent
        templates, static = folder / "templates", folder / "static"
        if templates.is_dir() and not (templates / folder.name).is_dir():
            raise ValueError(
                f"{templates} must hold its pages in {folder.name}/, so their names cannot "
                "clash with another feature's"
            )
        return cls(
            folder.name,
            routes=routes,
            templates=templates if templates.is_dir() else None,
            static=static if static.is_dir() else None,
            nav_links=nav_links,
            guild_tabs=[*guild_tabs, *([GuildTab(tab, folder.name)] if tab else [])],
            app_keys=dict(app_keys or {}),
            token_paths=token_paths,
        )


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


@dataclass(frozen=True)
class ServiceKey[T]:
    """The typed name of a service one feature offers others: declare it once, where the
    contract lives (`METRICS_SERVICE = ServiceKey[MetricsSource]("metrics")` in
    bot/metrics.py), and both sides use that object, so `get` returns a `MetricsSource`."""

    name: str

    def __str__(self) -> str:
        return self.name


class FeatureServices:
    """Objects one feature offers others under a typed key (for example monitoring's
    metrics for dashboards), so features use each other through an interface and never by
    import."""

    def __init__(self) -> None:
        self._provided: dict[str, Any] = {}

    def provide[S](self, key: ServiceKey[S], service: S, *, replace: bool = False) -> None:
        """Offer `service` under `key`; `replace` swaps out one already offered (tests)."""
        name = _key_name(key)
        if name in self._provided and not replace:
            raise ValueError(f"a service named {name!r} is already provided")
        self._provided[name] = service

    def get[S](self, key: ServiceKey[S]) -> S | None:
        """The service, or None when no loaded feature provides it."""
        return self._provided.get(_key_name(key))


def _key_name(key: ServiceKey[Any]) -> str:
    if isinstance(key, ServiceKey):
        return key.name
    raise TypeError(f"a service key is a ServiceKey, not {type(key).__name__}")
