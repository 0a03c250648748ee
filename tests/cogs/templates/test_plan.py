"""The pure plan: matching, the safe order, minimal writes, Discord's request rules."""

from __future__ import annotations

from typing import Any

from cogs.templates.document import load_document
from cogs.templates.live import LiveGuild
from cogs.templates.plan import ApplyOptions, make_plan
from cogs.templates.snapshot import snapshot

GUILD = 100
VIEW = 1 << 10
ORDER = [
    "create_role",
    "create_channel",
    "edit_channel",
    "edit_guild",
    "reorder_channels",
    "edit_role",
    "reorder_roles",
    "delete_channel",
    "delete_role",
]

TEMPLATE = {
    "version": 2,
    "name": "t",
    "roles": [{"name": "Mod", "permissions": ["manage_messages"]}, {"name": "Member"}],
    "channels": [
        {"name": "welcome", "type": "text", "topic": "hi"},
        {
            "name": "Staff",
            "type": "category",
            "overwrites": [
                {"role": "@everyone", "deny": ["view_channel"]},
                {"role": "Mod", "allow": ["view_channel"]},
            ],
            "channels": [
                {"name": "mod-chat", "type": "text", "sync": True},
                {"name": "Mod Voice", "type": "voice"},
            ],
        },
        {"name": "Games", "type": "category", "channels": [{"name": "lfg", "type": "text"}]},
    ],
}


def role(id: int, name: str, position: int, permissions: int = 0, **extra: Any) -> dict[str, Any]:
    return {
        "id": str(id),
        "name": name,
        "position": position,
        "permissions": str(permissions),
        **extra,
    }


def channel(
    id: int, name: str, type: int = 0, position: int = 0, parent: int | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "id": str(id),
        "name": name,
        "type": type,
        "position": position,
        "parent_id": str(parent) if parent else None,
        "permission_overwrites": [],
        **extra,
    }


def guild(channels: list[dict[str, Any]], roles: list[dict[str, Any]] | None = None) -> LiveGuild:
    base = [role(GUILD, "@everyone", 0, 104324673), role(1, "Bot", 5, 8, managed=True)]
    return LiveGuild.from_api({"id": str(GUILD), "name": "G"}, channels, base + (roles or []))


def kinds(plan) -> list[str]:  # type: ignore[no-untyped-def]
    return [step.kind for step in plan.steps]


def test_an_empty_server_gets_creates_in_the_safe_order() -> None:
    plan = make_plan(load_document(TEMPLATE), guild([]))
    assert not plan.errors
    order = kinds(plan)
    assert order == sorted(order, key=ORDER.index)
    assert order.count("create_role") == 2 and order.count("create_channel") == 6
    roles_created = [s.payload for s in plan.steps if s.kind == "create_role"]
    assert all(p["permissions"] == "0" for p in roles_created)  # permissions come last
    creates = {s.payload["name"]: s.payload for s in plan.steps if s.kind == "create_channel"}
    categories_first = [s.payload["type"] for s in plan.steps if s.kind == "create_channel"]
    assert categories_first[:2] == [4, 4]
    private = creates["mod-chat"]["permission_overwrites"]  # synced: the category's, in the call
    assert {"id": str(GUILD), "type": 0, "allow": "0", "deny": str(VIEW)} in private
    assert {"id": {"$ref": "r:name:Mod"}, "type": 0, "allow": str(VIEW), "deny": "0"} in private
    assert creates["mod-chat"]["parent_id"] == {"$ref": "c:category:/Staff"}
    # created at their template positions: no reorder request is needed afterwards
    assert "reorder_channels" not in order
    assert [s.payload for s in plan.steps if s.kind == "edit_role"] == [
        {"permissions": str(1 << 13)}
    ]


def test_a_matching_server_plans_nothing_even_with_gappy_positions() -> None:
    live = guild(
        [
            channel(10, "welcome", position=7, topic="hi"),
            channel(
                11,
                "Staff",
                4,
                position=3,
                permission_overwrites=[
                    {"id": str(GUILD), "type": 0, "allow": "0", "deny": str(VIEW)},
                    {"id": "2", "type": 0, "allow": str(VIEW), "deny": "0"},
                ],
            ),
            channel(
                12,
                "mod-chat",
                0,
                position=40,
                parent=11,
                permission_overwrites=[
                    {"id": str(GUILD), "type": 0, "allow": "0", "deny": str(VIEW)},
                    {"id": "2", "type": 0, "allow": str(VIEW), "deny": "0"},
                ],
            ),
            channel(13, "Mod Voice", 2, position=2, parent=11),
            channel(14, "Games", 4, position=9),
            channel(15, "lfg", 0, position=1, parent=14),
        ],
        [role(2, "Mod", 3, 1 << 13), role(3, "Member", 2)],
    )
    plan = make_plan(load_document(TEMPLATE), live)
    assert plan.steps == [] and plan.errors == []
    # and a snapshot of that server, applied back to it, plans nothing either
    assert make_plan(snapshot(live, "s"), live).steps == []


def test_swapped_categories_need_one_bulk_reorder() -> None:
    live = guild([channel(11, "Staff", 4, position=5), channel(14, "Games", 4, position=1)])
    template = load_document(
        {
            "version": 2,
            "name": "t",
            "channels": [
                {"name": "Staff", "type": "category"},
                {"name": "Games", "type": "category"},
            ],
        }
    )
    plan = make_plan(template, live)
    assert kinds(plan) == ["reorder_channels"]
    assert plan.steps[0].payload == [{"id": "11", "position": 0}, {"id": "14", "position": 1}]


def test_several_parent_changes_are_split_one_per_request() -> None:
    live = guild(
        [
            channel(11, "A", 4, position=0),
            channel(12, "B", 4, position=1),
            channel(20, "one", parent=11),
            channel(21, "two", parent=11, position=1),
            channel(22, "three", parent=11, position=2),
        ]
    )
    template = load_document(
        {
            "version": 2,
            "name": "t",
            "channels": [
                {"name": "A", "type": "category", "channels": [{"name": "three", "type": "text"}]},
                {
                    "name": "B",
                    "type": "category",
                    "channels": [{"name": "one", "type": "text"}, {"name": "two", "type": "text"}],
                },
            ],
        }
    )
    plan = make_plan(template, live)
    batches = [s.payload for s in plan.steps if s.kind == "reorder_channels"]
    assert len(batches) == 2
    for batch in batches:
        assert sum("parent_id" in entry for entry in batch) <= 1
    moved = {e["id"]: e.get("parent_id") for b in batches for e in b if "parent_id" in e}
    assert moved == {"20": "12", "21": "12"}
    assert plan.counts["move"] >= 2 and plan.counts["create"] == 0


def test_a_rename_found_through_the_id_map_is_one_update() -> None:
    live = guild([channel(10, "old-name", topic="hi")])
    template = load_document(
        {
            "version": 2,
            "name": "t",
            "channels": [{"id": "555", "name": "new-name", "type": "text", "topic": "hi"}],
        }
    )
    plan = make_plan(template, live, {"c:555": 10})
    assert kinds(plan) == ["edit_channel"]
    assert plan.steps[0].target == 10 and plan.steps[0].payload == {"name": "new-name"}
    assert any("renamed from old-name" in line for line in plan.tree)


def test_forum_tags_keep_their_ids_when_updated() -> None:
    live = guild(
        [
            channel(
                10,
                "help",
                15,
                available_tags=[
                    {
                        "id": "77",
                        "name": "solved",
                        "moderated": False,
                        "emoji_id": None,
                        "emoji_name": None,
                    }
                ],
            )
        ]
    )
    template = load_document(
        {
            "version": 2,
            "name": "t",
            "channels": [
                {"name": "help", "type": "forum", "tags": [{"name": "solved"}, {"name": "bug"}]}
            ],
        }
    )
    step = make_plan(template, live).steps[0]
    assert step.payload["available_tags"][0]["id"] == "77"
    assert "id" not in step.payload["available_tags"][1]


def test_prune_deletes_last_and_keeps_channels_with_messages() -> None:
    live = guild(
        [
            channel(10, "welcome", topic="hi"),
            channel(30, "chatty", last_message_id="999"),
            channel(31, "quiet"),
            channel(40, "Old", 4),
            channel(41, "old-chat", parent=40, last_message_id="5"),
        ],
        [role(7, "Stale", 1), role(8, "Held", 2)],
    )
    template = load_document(
        {
            "version": 2,
            "name": "t",
            "channels": [{"name": "welcome", "type": "text", "topic": "hi"}],
        }
    )
    assert make_plan(template, live).steps == []  # without prune nothing goes
    plan = make_plan(
        template, live, options=ApplyOptions(prune=True, assigned_roles=frozenset({8}))
    )
    deleted = [(s.kind, s.target) for s in plan.steps]
    assert deleted == [("delete_channel", 31), ("delete_role", 7)]
    assert set(plan.kept) == {"chatty", "old-chat", "Old", "@Held"}
    confirmed = make_plan(
        template,
        live,
        options=ApplyOptions(
            prune=True, roles=False, confirm_deletes=frozenset({"chatty", "old-chat"})
        ),
    )
    assert [s.target for s in confirmed.steps] == [
        30,
        31,
        41,
        40,
    ]  # the category after its channels


def test_live_limits_refuse_the_plan() -> None:
    live = guild([channel(i, f"c{i}", position=i) for i in range(1000, 1495)])
    template = load_document(
        {
            "version": 2,
            "name": "t",
            "roles": [{"name": f"r{i}"} for i in range(6)],
            "channels": [{"name": f"n{i}", "type": "text"} for i in range(6)],
        }
    )
    plan = make_plan(template, live, options=ApplyOptions(role_quota=3))
    assert any("would hold 501 channels" in e for e in plan.errors)
    assert any("only 3 more in the current 48 hours" in e for e in plan.errors)
    crowded = guild(
        [channel(5, "Cat", 4)] + [channel(2000 + i, f"x{i}", parent=5) for i in range(45)]
    )
    cat = load_document(
        {
            "version": 2,
            "name": "t",
            "channels": [
                {
                    "name": "Cat",
                    "type": "category",
                    "channels": [{"name": f"y{i}", "type": "text"} for i in range(6)],
                }
            ],
        }
    )
    assert any("would hold 51 channels" in e for e in make_plan(cat, crowded).errors)


def test_announcement_and_stage_need_a_community_server() -> None:
    template = load_document(
        {
            "version": 2,
            "name": "t",
            "channels": [
                {"name": "news", "type": "announcement"},
                {"name": "Talks", "type": "stage"},
            ],
        }
    )
    assert len(make_plan(template, guild([])).errors) == 2
    community = LiveGuild.from_api(
        {"id": str(GUILD), "features": ["COMMUNITY"]}, [], [role(GUILD, "@everyone", 0)]
    )
    assert make_plan(template, community).errors == []


def test_without_roles_an_overwrite_needs_the_role_to_exist() -> None:
    plan = make_plan(load_document(TEMPLATE), guild([]), options=ApplyOptions(roles=False))
    assert any("'Mod' does not exist here" in e for e in plan.errors)


def test_overwrites_of_a_bots_managed_role_are_left_alone() -> None:
    bot_overwrite = {"id": "1", "type": 0, "allow": str(VIEW), "deny": "0"}
    live = guild([channel(10, "logs", permission_overwrites=[bot_overwrite])])
    template = load_document(
        {"version": 2, "name": "t", "channels": [{"name": "logs", "type": "text"}]}
    )
    assert make_plan(template, live).steps == []  # the bot role's overwrite is not drift
    private = load_document(
        {
            "version": 2,
            "name": "t",
            "channels": [
                {
                    "name": "logs",
                    "type": "text",
                    "overwrites": [{"role": "@everyone", "deny": ["view_channel"]}],
                }
            ],
        }
    )
    step = make_plan(private, live).steps[0]
    assert bot_overwrite in step.payload["permission_overwrites"]  # kept by the update


def test_channel_creations_past_the_daily_quota_are_refused() -> None:
    template = load_document(
        {
            "version": 2,
            "name": "t",
            "channels": [{"name": f"c{i}", "type": "text"} for i in range(3)],
        }
    )
    live = LiveGuild.from_api({"id": "1"}, [], [])
    refused = make_plan(template, live, {}, ApplyOptions(channel_quota=2))
    assert any("creates 3 channels" in e and "only 2 more" in e for e in refused.errors)
    assert not make_plan(template, live, {}, ApplyOptions(channel_quota=3)).errors
