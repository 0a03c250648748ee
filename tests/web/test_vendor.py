"""Front-end libraries served from web/node_modules by a whitelist."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from web.app import create_app
from web.context import WebContext
from web.vendor import NODE_MODULES, resolve_vendor_file


@pytest.fixture
def fake_node_modules(tmp_path: Path) -> Path:
    root = tmp_path / "node_modules"
    for sub in (
        "bootstrap/dist/css",
        "jquery/dist",
        "jstree/dist",
        "gridstack/dist",
        "chart.js/dist",
    ):
        (root / sub).mkdir(parents=True)
    (root / "bootstrap/dist/css/bootstrap.min.css").write_text("body{}")
    (root / "bootstrap/package.json").write_text("{}")
    (root / "secret.txt").write_text("not served")
    return root


def test_only_dist_files_of_listed_packages_resolve(fake_node_modules: Path) -> None:
    found = resolve_vendor_file(fake_node_modules, "bootstrap", "css/bootstrap.min.css")
    assert found == fake_node_modules / "bootstrap/dist/css/bootstrap.min.css"
    assert resolve_vendor_file(fake_node_modules, "bootstrap", "../package.json") is None
    assert resolve_vendor_file(fake_node_modules, "bootstrap", "../../secret.txt") is None
    assert resolve_vendor_file(fake_node_modules, "leftpad", "index.js") is None
    assert resolve_vendor_file(fake_node_modules, "bootstrap", "css") is None


async def test_vendor_route_serves_and_refuses(
    ctx: WebContext, fake_node_modules: Path, aiohttp_client: Any
) -> None:
    client: TestClient = await aiohttp_client(create_app(ctx, node_modules=fake_node_modules))
    response = await client.get("/static/vendor/bootstrap/css/bootstrap.min.css")
    assert response.status == 200
    assert response.content_type == "text/css"
    assert (await client.get("/static/vendor/bootstrap/%2E%2E/package.json")).status == 404
    assert (await client.get("/static/vendor/other/x.js")).status == 404
    assert (await client.get("/static/css/app.css")).status == 200


async def test_missing_node_modules_warns_once_and_pages_render(
    ctx: WebContext, tmp_path: Path, aiohttp_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="web.vendor"):
        client: TestClient = await aiohttp_client(
            create_app(ctx, node_modules=tmp_path / "missing")
        )
        response = await client.get("/login")
        assert response.status == 200
        assert (await client.get("/static/vendor/bootstrap/css/bootstrap.min.css")).status == 404
    warnings = [r for r in caplog.records if r.name == "web.vendor"]
    assert len(warnings) == 1
    assert "npm ci --prefix web" in warnings[0].getMessage()


@pytest.mark.skipif(not NODE_MODULES.is_dir(), reason="run `npm ci --prefix web` first")
def test_installed_libraries_have_the_files_the_pages_use() -> None:
    for package, path in (
        ("bootstrap", "css/bootstrap.min.css"),
        ("bootstrap", "js/bootstrap.bundle.min.js"),
        ("jquery", "jquery.min.js"),
        ("jstree", "jstree.min.js"),
        ("jstree", "themes/default/style.min.css"),
        ("gridstack", "gridstack-all.js"),
        ("gridstack", "gridstack.min.css"),
        ("chart.js", "chart.umd.min.js"),
    ):
        assert resolve_vendor_file(NODE_MODULES, package, path), f"{package}/{path} missing"
