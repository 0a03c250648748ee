"""The registry through which a feature package adds its web pages, and the per-feature
migration folders."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp import web
from sqlalchemy import inspect

from bot import database
from bot.database import Database
from bot.features import FeatureRegistry, FeatureWeb, GuildTab
from bot.migrate import migration_heads


def test_contributions_are_collected_in_order() -> None:
    registry = FeatureRegistry()
    first, second = web.RouteTableDef(), web.RouteTableDef()
    key = web.AppKey("thing", str)
    registry.add_web(
        FeatureWeb(
            "alpha",
            routes=[first],
            templates=Path("/a/templates"),
            static=Path("/a/static"),
            nav_links=[("Alpha", "/alpha")],
            guild_tabs=[GuildTab("Alpha", "alpha")],
            app_keys={key: "value"},
        )
    )
    registry.add_web(FeatureWeb("beta", routes=[second], guild_tabs=[GuildTab("Beta", "beta")]))
    assert registry.routes == [first, second]
    assert registry.template_dirs == [Path("/a/templates")]
    assert registry.static_dirs == {"alpha": Path("/a/static")}
    assert registry.nav_links == [("Alpha", "/alpha")]
    assert [tab.slug for tab in registry.guild_tabs] == ["alpha", "beta"]
    assert registry.app_keys == {key: "value"}


@pytest.mark.parametrize(
    ("name", "message"),
    [("not a name", "identifier"), ("vendor", "reserved"), ("css", "reserved")],
)
def test_bad_feature_names_are_refused(name: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FeatureRegistry().add_web(FeatureWeb(name))


def test_token_paths_are_collected() -> None:
    registry = FeatureRegistry()
    registry.add_web(FeatureWeb("alpha", token_paths=["/api/alpha/ingest"]))
    registry.add_web(FeatureWeb("beta"))
    assert registry.token_paths == frozenset({"/api/alpha/ingest"})


def test_a_feature_cannot_register_twice() -> None:
    registry = FeatureRegistry()
    registry.add_web(FeatureWeb("alpha"))
    with pytest.raises(ValueError, match="twice"):
        registry.add_web(FeatureWeb("alpha"))


FEATURE_MIGRATION = """
import sqlalchemy as sa
from alembic import op

revision = "demo_0001"
down_revision = "0001"
branch_labels = ("demo",)
depends_on = None


def upgrade() -> None:
    op.create_table("demo_things", sa.Column("id", sa.Integer, primary_key=True))


def downgrade() -> None:
    op.drop_table("demo_things")
"""


async def test_a_features_own_migration_folder_is_upgraded_beside_the_shared_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cogs = tmp_path / "cogs"
    (cogs / "demo" / "migrations").mkdir(parents=True)
    (cogs / "demo" / "migrations" / "demo_0001_things.py").write_text(FEATURE_MIGRATION)
    monkeypatch.setattr(database, "COGS_DIR", cogs)
    assert database.migration_dirs()[-1] == cogs / "demo" / "migrations"
    assert "demo_0001" in migration_heads()

    db = await Database.connect(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    try:
        await db.upgrade()
        async with db.engine.connect() as connection:
            tables = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
        assert {"demo_things", "guilds"} <= set(tables)
        await db.downgrade()
        async with db.engine.connect() as connection:
            tables = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
        assert "demo_things" not in tables
    finally:
        await db.dispose()


def test_features_offer_services_under_typed_keys() -> None:
    from bot.features import FeatureServices, ServiceKey
    from bot.metrics import METRICS_SERVICE, MetricsSource

    class Clock:
        pass

    clock_key = ServiceKey[Clock]("clock")
    services = FeatureServices()
    assert services.get(clock_key) is None
    clock = Clock()
    services.provide(clock_key, clock)
    assert services.get(clock_key) is clock
    assert services.get(ServiceKey[Clock]("clock")) is clock  # equal keys, same service
    with pytest.raises(ValueError, match="already provided"):
        services.provide(clock_key, Clock())
    services.provide(clock_key, replacement := Clock(), replace=True)
    assert services.get(clock_key) is replacement

    # METRICS_SERVICE stays importable from bot.metrics, now a typed key.
    assert isinstance(METRICS_SERVICE, ServiceKey) and METRICS_SERVICE.name == "metrics"
    source: MetricsSource = object()  # type: ignore[assignment]
    services.provide(METRICS_SERVICE, source)
    assert services.get(METRICS_SERVICE) is source
    # Only a typed key reaches a service: a bare name is refused, not silently untyped.
    with pytest.raises(TypeError, match="ServiceKey"):
        services.get("metrics")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="ServiceKey"):
        services.provide("metrics", source)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="ServiceKey"):
        services.get(42)  # type: ignore[arg-type]


def test_feature_web_of_a_package_is_built_by_convention(tmp_path: Path) -> None:
    from bot.features import FeatureWeb

    package = tmp_path / "gadgets"
    (package / "templates" / "gadgets").mkdir(parents=True)
    (package / "static").mkdir()
    (package / "web.py").write_text("")
    routes = web.RouteTableDef()
    part = FeatureWeb.of_package(
        package / "web.py", routes=[routes], guild_tabs=[GuildTab("Gadgets", "gadgets")]
    )
    assert part.name == "gadgets"
    assert part.templates == package / "templates"
    assert part.static == package / "static"
    assert list(part.routes) == [routes]
    assert list(part.guild_tabs) == [GuildTab("Gadgets", "gadgets")]
    # `tab` is the same tab, its slug the feature's name
    assert list(FeatureWeb.of_package(package, tab="Gadgets").guild_tabs) == list(part.guild_tabs)

    bare = tmp_path / "bare"
    bare.mkdir()
    assert FeatureWeb.of_package(bare).templates is None
    assert FeatureWeb.of_package(bare).static is None

    clashing = tmp_path / "clashing"
    (clashing / "templates").mkdir(parents=True)
    (clashing / "templates" / "page.html").write_text("")
    with pytest.raises(ValueError, match="clashing/"):
        FeatureWeb.of_package(clashing)
