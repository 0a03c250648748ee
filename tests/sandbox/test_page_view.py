"""The Sandbox page's view model: safe markdown, ephemeral visibility, command forms."""

from __future__ import annotations

from sandbox import page_view as view
from sandbox.server import SandboxServer
from sandbox.state import EPHEMERAL, Guild, Message


def test_ephemeral_messages_show_only_to_their_user(sandbox: SandboxServer, demo: Guild) -> None:
    general = demo.channel("general")
    alice, bob = demo.member("alice").user, demo.member("bob").user
    sandbox.post_message_as(alice, general, "hello")
    secret = Message(
        id=sandbox.state.new_id(),
        channel_id=general.id,
        guild_id=demo.id,
        author=sandbox.bot_user,
        content="for alice",
        flags=EPHEMERAL,
        interaction_metadata={"id": "1", "type": 3, "user": alice.to_dict()},
    )
    sandbox.store_message(secret)
    seen_by_alice = view.message_views(sandbox, general, alice.id)
    assert [(m.content, m.ephemeral) for m in seen_by_alice] == [
        ("hello", False),
        ("for alice", True),
    ]
    assert [m.content for m in view.message_views(sandbox, general, bob.id)] == ["hello"]


def test_channel_tree_marks_what_a_member_cannot_see(sandbox: SandboxServer, demo: Guild) -> None:
    tree = view.channel_tree(demo, demo.member("carol").user.id)
    assert [group.name for group in tree] == [None, "Info"]
    top = {c.name: c for c in tree[0].channels}
    assert top["general"].selectable and not top["Lounge"].selectable
    assert all(c.visible for group in tree for c in group.channels)
    assert view.first_text_channel(demo).name == "general"  # uncategorised come first
