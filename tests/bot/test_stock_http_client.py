"""Everything that talks to Discord goes through the corrected REST client
(bot/discord_http.py): no module builds nextcord's stock HTTPClient, whose shared-bucket
defect the project corrected."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "cogs", "web")


def stock_client_builds(source: str) -> list[int]:
    """Lines where `source` calls `HTTPClient(...)` (bare or as `x.HTTPClient(...)`)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        if name == "HTTPClient":
            lines.append(node.lineno)
    return lines


def test_the_check_sees_a_stock_client_being_built() -> None:
    assert stock_client_builds("from nextcord.http import HTTPClient\nh = HTTPClient()") == [2]
    assert stock_client_builds("import nextcord\nh = nextcord.http.HTTPClient(None)") == [2]
    assert stock_client_builds("h = CorrectedHTTPClient(dispatch=None)") == []


def test_no_module_builds_the_stock_http_client() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        for line in stock_client_builds(path.read_text())
    ]
    assert found == [], "use bot.discord_http.CorrectedHTTPClient instead"
