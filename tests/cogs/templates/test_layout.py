"""The templates feature is laid out as every feature is: migrations named
`<feature>_NNNN_<slug>.py`, Jinja pages under `templates/<feature>/`."""

from __future__ import annotations

import re
from pathlib import Path

from bot.migrate import migration_heads

FEATURE = Path(__file__).resolve().parents[3] / "cogs" / "templates"


def test_migrations_are_named_for_the_feature() -> None:
    names = sorted(p.name for p in (FEATURE / "migrations").glob("*.py"))
    assert names and all(re.fullmatch(r"templates_\d{4}_[a-z0-9_]+\.py", n) for n in names)
    # the file was renamed, the revision chain was not: t001 is still its first link
    assert migration_heads([FEATURE / "migrations"]) == {"templates_0005_version"}
    first = (FEATURE / "migrations" / "templates_0001_channel_templates.py").read_text()
    assert 'revision: str = "t001"' in first


def test_pages_live_under_templates_of_the_feature() -> None:
    from cogs.templates.web import feature_web

    assert (FEATURE / "templates" / "templates" / "list.html").is_file()
    assert not (FEATURE / "web_templates").exists()
    assert feature_web(None).templates == FEATURE / "templates"  # type: ignore[arg-type]
