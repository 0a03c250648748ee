"""The template document: loading, migration, schema errors by JSON path, Discord's limits."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from cogs.templates.document import (
    MAX_DOCUMENT_BYTES,
    TemplateError,
    dump,
    load_document,
    to_document,
)


def doc(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "version": 2,
        "name": "t",
        "roles": [{"name": "Mod", "permissions": ["manage_messages"]}],
        "channels": [
            {"name": "general", "type": "text"},
            {
                "name": "Staff",
                "type": "category",
                "overwrites": [
                    {"role": "@everyone", "deny": ["view_channel"]},
                    {"role": "Mod", "allow": ["view_channel"]},
                ],
                "channels": [{"name": "mods", "type": "text", "sync": True}],
            },
        ],
    }
    base.update(changes)
    return base


def errors_of(raw: Any) -> list[str]:
    with pytest.raises(TemplateError) as caught:
        load_document(raw)
    return caught.value.errors


def test_a_valid_document_round_trips_through_json() -> None:
    template = load_document(json.dumps(doc()))
    assert [n.name for n in template.walk()] == ["general", "Staff", "mods"]
    assert template.roles[0].permissions == 1 << 13
    again = load_document(dump(template))
    assert to_document(again) == to_document(template)


def test_malformed_and_oversized_json_are_refused() -> None:
    assert errors_of("{not json")[0].startswith("$: not valid JSON")
    huge = json.dumps(doc(description="x" * 10)) + " " * MAX_DOCUMENT_BYTES
    assert "at most" in errors_of(huge)[0]
    assert errors_of("[1, 2]") == ["$: a template is a JSON object"]


def test_schema_errors_are_listed_by_json_path() -> None:
    bad = doc()
    bad["roles"][0]["color"] = "red"
    bad["channels"][0]["nsfw"] = "yes"
    errors = errors_of(bad)
    assert any(e.startswith("$.roles[0].color:") for e in errors)
    assert any(e.startswith("$.channels[0].nsfw:") for e in errors)


def test_every_limit_and_consistency_problem_is_listed_at_once() -> None:
    bad = doc(
        channels=[
            {"name": "x" * 101, "type": "text"},
            {"name": "dup", "type": "text"},
            {"name": "DUP", "type": "text"},
            {"name": "odd", "type": "hologram"},
            {"name": "p", "type": "text", "overwrites": [{"role": "Ghost", "deny": "1024"}]},
            {"name": "v", "type": "voice", "topic": "voice has no topic"},
        ]
    )
    errors = errors_of(bad)
    assert any(e.startswith("$.channels[0].name: 101 characters") for e in errors)
    assert any(e.startswith("$.channels[2].name: 'dup' appears twice") for e in errors)
    assert any(e.startswith("$.channels[3].type: unknown channel type 'hologram'") for e in errors)
    assert any(
        e.startswith("$.channels[4].overwrites[0].role: no role called 'Ghost'") for e in errors
    )
    assert any(e.startswith("$.channels[5].topic: not a property of a voice") for e in errors)


def test_channel_and_category_counts_are_capped() -> None:
    crowded = [{"name": f"c{i}", "type": "text"} for i in range(51)]
    errors = errors_of(doc(channels=[{"name": "Big", "type": "category", "channels": crowded}]))
    assert any("$.channels[0].channels: 51 channels" in e for e in errors)
    many = [
        {
            "name": f"cat{i}",
            "type": "category",
            "channels": [{"name": f"c{j}", "type": "text"} for j in range(49)],
        }
        for i in range(11)
    ]
    errors = errors_of(doc(channels=many))
    assert any(e.startswith("$.channels: 550 channels") for e in errors)


def test_unknown_permission_names_and_duplicate_roles() -> None:
    bad = doc(roles=[{"name": "Mod", "permissions": ["fly"]}, {"name": "Mod"}])
    errors = errors_of(bad)
    assert "$.roles[0].permissions: unknown permission 'fly'" in errors
    assert any(e.startswith("$.roles[1].name: the role name 'Mod' is used twice") for e in errors)


def test_version_one_documents_migrate_on_load() -> None:
    old = {
        "version": 1,
        "name": "old",
        "roles": [{"name": "Mod"}],
        "channels": [
            {
                "name": "chat",
                "type": "text",
                "rate_limit_per_user": 10,
                "overwrites": {"@everyone": {"deny": ["send_messages"]}, "Mod": {"allow": "2048"}},
            }
        ],
    }
    template = load_document(old)
    node = template.channels[0]
    assert node.props == {"slowmode": 10}
    assert [(o.role, o.allow, o.deny) for o in node.overwrites] == [
        ("@everyone", 0, 2048),
        ("Mod", 2048, 0),
    ]
    assert to_document(template)["version"] == 2
    assert errors_of({**old, "version": 7}) == ["$.version: 7 is not a known version (1 to 2)"]


def test_text_channel_names_are_stored_as_discord_stores_them() -> None:
    template = load_document(
        doc(
            channels=[
                {"name": "Team Chat", "type": "text"},
                {"name": "Team Voice", "type": "voice"},
            ]
        )
    )
    assert [n.name for n in template.walk()] == ["team-chat", "Team Voice"]


def test_jsonschema_is_imported_only_when_a_document_is_loaded() -> None:
    code = (
        "import sys, cogs.templates, cogs.templates.cog, cogs.templates.service;"
        "assert 'jsonschema' not in sys.modules, 'imported at start';"
        "from cogs.templates.service import load_builtin; load_builtin('homelab');"
        "assert 'jsonschema' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_template_nested_300_deep_is_refused_without_recursing() -> None:
    from tests.cogs.templates.conftest import nested_channels

    deep = nested_channels(300)
    for raw in (deep, json.dumps(deep), json.dumps({**deep, "version": 1})):
        with pytest.raises(TemplateError) as refused:
            load_document(raw)  # type: ignore[arg-type]
        assert "levels deep" in refused.value.errors[0]
    with pytest.raises(TemplateError, match="nests 10000 levels deep"):
        load_document("[" * 10_000 + "]" * 10_000)


def test_an_id_or_permission_string_with_a_trailing_newline_is_refused() -> None:
    """Python's "$" matches before a final newline; every pattern of the schema must end
    the string."""
    bad = doc(
        roles=[{"id": "1577999583898894343\n", "name": "Mod", "permissions": "8\n"}],
        channels=[
            {
                "id": "42\n",
                "name": "general",
                "type": "text",
                "overwrites": [{"member": "7\n", "allow": ["view_channel\n"]}],
            }
        ],
    )
    errors = errors_of(bad)
    for path in (
        "$.roles[0].id",
        "$.roles[0].permissions",
        "$.channels[0].id",
        "$.channels[0].overwrites[0].member",
    ):
        assert any(e.startswith(f"{path}: ") for e in errors), (path, errors)
    assert not any(e.startswith("$.channels[0].overwrites[0].allow: unknown") for e in errors)
    assert any(e.startswith("$.channels[0].overwrites[0].allow") for e in errors), errors
    good = load_document(doc(roles=[{"id": "1577999583898894343", "name": "Mod"}]))
    assert good.roles[0].id == "1577999583898894343"


def test_permission_values_outside_discords_permissions_are_refused() -> None:
    huge = "99999999999999999999"  # past 2**64 - 1, with the Administrator bit among them
    bad = doc(
        roles=[{"name": "Mod", "permissions": huge}],
        channels=[
            {
                "name": "general",
                "type": "text",
                "overwrites": [{"role": "Mod", "allow": str(1 << 60), "deny": "0"}],
            }
        ],
    )
    errors = errors_of(bad)
    assert any(
        e.startswith(f"$.roles[0].permissions: {huge} is not a permission value of role 'Mod'")
        for e in errors
    ), errors
    assert any(
        e.startswith(f"$.channels[0].overwrites[0].allow: {1 << 60} is not a permission value")
        and "the overwrite for 'Mod' in 'general'" in e
        for e in errors
    ), errors
    assert errors_of({**doc(), "everyone": {"permissions": str(1 << 63)}})[0].startswith(
        "$.everyone.permissions: "
    )
    # every bit Discord defines is accepted, named by nextcord or not (send_polls: 1 << 49)
    fine = load_document(doc(roles=[{"name": "Mod", "permissions": str(8 | 1 << 49)}]))
    assert fine.roles[0].permissions == 8 | 1 << 49


def test_strings_that_are_not_text_are_refused_naming_the_field() -> None:
    bad = doc(
        name="a\ud800",
        channels=[{"name": "a\udc00b", "type": "text", "topic": "fine"}],
    )
    errors = errors_of(bad)
    assert any(e.startswith("$.name: 'a\\ud800' holds a lone surrogate") for e in errors)
    assert any(
        e.startswith("$.channels[0].name: 'a\\udc00b' holds a lone surrogate") for e in errors
    )
    keyed = errors_of({**doc(), "x\udfff": 1})
    assert any("the key 'x\\udfff' holds a lone surrogate" in e for e in keyed), keyed
