"""Discord server templates (GuildTemplate objects) converted into FoundryCord templates."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from cogs.templates.discord_template import from_discord_template, template_code
from cogs.templates.document import TemplateError
from sandbox.spec import SpecValidator

CHANNEL_DEFAULTS: dict[str, Any] = {
    "topic": None,
    "bitrate": 64000,
    "user_limit": 0,
    "nsfw": False,
    "rate_limit_per_user": 0,
    "parent_id": None,
    "permission_overwrites": [],
    "default_auto_archive_duration": None,
    "available_tags": None,
    "template": "",
    "default_reaction_emoji": None,
    "default_thread_rate_limit_per_user": None,
    "default_sort_order": None,
    "default_forum_layout": None,
    "default_tag_setting": None,
    "theme_color": None,
}


def ch(**fields: Any) -> dict[str, Any]:
    return {**CHANNEL_DEFAULTS, **fields}


# Shaped per the spec's GuildTemplateResponse: template-local ids, role 0 is @everyone.
FIXTURE: dict[str, Any] = {
    "code": "hgM48av5Q69A",
    "name": "Friends & Family",
    "description": "A place to hang out",
    "usage_count": 49605,
    "creator_id": "132837293881950208",
    "creator": None,
    "created_at": "2020-04-02T21:10:38+00:00",
    "updated_at": "2020-05-01T17:57:38+00:00",
    "source_guild_id": "678070694164299796",
    "is_dirty": None,
    "serialized_source_guild": {
        "name": "Friends & Family",
        "description": None,
        "region": "us-west",
        "verification_level": 1,
        "default_message_notifications": 1,
        "explicit_content_filter": 0,
        "preferred_locale": "en-US",
        "afk_channel_id": "4",
        "afk_timeout": 300,
        "system_channel_id": "2",
        "system_channel_flags": 0,
        "roles": [
            {
                "id": 0,
                "name": "@everyone",
                "permissions": "104324673",
                "color": 0,
                "colors": None,
                "hoist": False,
                "mentionable": False,
                "icon": None,
                "unicode_emoji": None,
            },
            {
                "id": 1,
                "name": "Member",
                "permissions": "0",
                "color": 3447003,
                "colors": None,
                "hoist": False,
                "mentionable": True,
                "icon": None,
                "unicode_emoji": None,
            },
            {
                "id": 2,
                "name": "Host",
                "permissions": "8192",
                "color": 15844367,
                "colors": {
                    "primary_color": 15844367,
                    "secondary_color": None,
                    "tertiary_color": None,
                },
                "hoist": True,
                "mentionable": False,
                "icon": None,
                "unicode_emoji": None,
            },
        ],
        "channels": [
            ch(id=1, type=4, name="Text Channels", position=0),
            ch(
                id=2,
                type=0,
                name="general",
                position=0,
                topic="hello",
                rate_limit_per_user=5,
                parent_id="1",
            ),
            ch(
                id=3,
                type=0,
                name="hosts",
                position=1,
                parent_id="1",
                permission_overwrites=[
                    {"id": "0", "type": 0, "allow": "0", "deny": "1024"},
                    {"id": "2", "type": 0, "allow": "1024", "deny": "0"},
                ],
            ),
            ch(id=4, type=2, name="Lounge", position=0, user_limit=8),
            ch(
                id=5,
                type=15,
                name="ideas",
                position=1,
                default_forum_layout=0,
                default_thread_rate_limit_per_user=0,
                default_auto_archive_duration=4320,
                available_tags=[
                    {
                        "id": 1,
                        "name": "done",
                        "emoji_id": None,
                        "emoji_name": "\u2705",
                        "moderated": False,
                    }
                ],
            ),
        ],
    },
}


def test_the_fixture_is_shaped_as_the_spec_documents() -> None:
    path = SpecValidator.default_path()
    if path is None:
        pytest.skip("Discord's OpenAPI spec is not beside the repository")
    problems = SpecValidator.from_path(path).validate_response(
        "GET", "/guilds/templates/hgM48av5Q69A", 200, FIXTURE
    )
    assert problems == []


def test_roles_channels_overwrites_and_settings_carry_over() -> None:
    template = from_discord_template(FIXTURE)
    assert template.name == "Friends & Family"
    assert [r.name for r in template.roles] == ["Host", "Member"]  # top-down
    assert template.roles[0].permissions == 8192 and template.roles[0].hoist
    assert template.everyone_permissions == 104324673
    tree = [(n.name, n.type, n.parent.name if n.parent else None) for n in template.walk()]
    assert tree == [
        ("Text Channels", "category", None),
        ("general", "text", "Text Channels"),
        ("hosts", "text", "Text Channels"),
        ("Lounge", "voice", None),
        ("ideas", "forum", None),
    ]
    hosts = template.channels[0].children[1]
    assert [(o.role, o.allow, o.deny) for o in hosts.overwrites] == [
        ("@everyone", 0, 1024),
        ("Host", 1024, 0),
    ]
    general = template.channels[0].children[0]
    assert general.sync and general.props["slowmode"] == 5 and general.props["topic"] == "hello"
    assert template.channels[2].props["tags"] == [
        {"name": "done", "moderated": False, "emoji_name": "✅"}
    ]
    assert template.settings == {
        "system_channel": "general",
        "afk_channel": "Lounge",
        "afk_timeout": 300,
        "verification_level": 1,
        "default_notifications": 1,
    }


def test_codes_and_links_are_read() -> None:
    assert template_code("hgM48av5Q69A") == "hgM48av5Q69A"
    assert template_code("https://discord.new/hgM48av5Q69A") == "hgM48av5Q69A"
    assert template_code("https://discord.com/template/hgM48av5Q69A") == "hgM48av5Q69A"
    assert template_code("no spaces allowed") is None


def test_a_template_breaking_discords_limits_is_refused() -> None:
    broken = copy.deepcopy(FIXTURE)
    broken["serialized_source_guild"]["channels"][1]["name"] = "g" * 101
    with pytest.raises(TemplateError) as caught:
        from_discord_template(broken)
    assert any("101 characters" in e for e in caught.value.errors)
