"""Pairing template nodes with live channels and roles."""

from __future__ import annotations

from cogs.templates.document import load_document
from cogs.templates.matching import match
from tests.cogs.templates.test_plan import channel, guild, role


def test_id_map_then_parent_and_name_then_a_unique_name_anywhere() -> None:
    live = guild(
        [
            channel(10, "renamed"),
            channel(11, "Cat", 4),
            channel(12, "chat", parent=11),
            channel(13, "moved", parent=11),
            channel(14, "twin"),
            channel(15, "twin", parent=11),
        ],
        [role(20, "Mod", 2), role(21, "Mod", 1)],
    )
    template = load_document(
        {
            "version": 2,
            "name": "t",
            "roles": [{"name": "Mod"}],
            "channels": [
                {"id": "999", "name": "original", "type": "text"},
                {"name": "moved", "type": "text"},
                {
                    "name": "Cat",
                    "type": "category",
                    "channels": [
                        {"name": "chat", "type": "text"},
                        {"name": "twin", "type": "text"},
                    ],
                },
                {
                    "name": "Other",
                    "type": "category",
                    "channels": [{"name": "twin", "type": "text"}],
                },
            ],
        }
    )
    found = match(template, live, {"c:999": 10})
    assert found["c:999"] == 10  # the id map wins over names
    assert found["c:category:/Cat"] == 11
    assert found["c:text:Cat/chat"] == 12
    assert found["c:text:/moved"] == 13  # unique name: found in another category
    assert found["c:text:Cat/twin"] == 15
    assert "c:text:Other/twin" not in found  # 'twin' is not unique: never guessed
    assert found["r:name:Mod"] == 20  # the highest of two same-named roles, once


def test_a_saved_guilds_own_snowflakes_match_without_a_map() -> None:
    live = guild([channel(10, "now-called-this", 2)])
    template = load_document(
        {"version": 2, "name": "t", "channels": [{"id": "10", "name": "Voice", "type": "voice"}]}
    )
    assert match(template, live, {})["c:10"] == 10
    text = load_document(
        {"version": 2, "name": "t", "channels": [{"id": "10", "name": "v", "type": "forum"}]}
    )
    assert "c:10" not in match(text, live, {})  # a voice channel cannot become a forum
