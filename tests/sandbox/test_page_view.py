"""The Sandbox page's view model: safe markdown, ephemeral visibility, command forms."""

from __future__ import annotations

import pytest

from sandbox import page_view as view
from sandbox.server import SandboxServer
from sandbox.state import EPHEMERAL, Attachment, Guild, Message


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


def _attachment(name: str, content_type: str | None, size: int = 10) -> Attachment:
    return Attachment(
        id=len(name) + size,
        filename=name,
        data=b"x" * size,
        content_type=content_type,
        url="http://sandbox/x",
    )


@pytest.mark.parametrize(
    ("name", "content_type", "image"),
    [
        ("chart.png", "image/png", "image/png"),
        ("chart.PNG", None, "image/png"),
        ("photo.jpeg", "application/octet-stream", "image/jpeg"),
        ("chart.png", "text/html", None),  # a type that disagrees with the name: a download
        ("logo.svg", "image/svg+xml", None),  # SVG can carry script: never drawn
        ("page.html", "text/html", None),
        ("template.json", "application/json", None),
    ],
)
def test_which_attachments_are_drawn_as_images(
    name: str, content_type: str | None, image: str | None
) -> None:
    assert view.image_type(_attachment(name, content_type)) == image


def test_attachments_of_a_message(sandbox: SandboxServer, demo: Guild) -> None:
    general = demo.channel("general")
    message = Message(
        id=sandbox.state.new_id(),
        channel_id=general.id,
        guild_id=demo.id,
        author=sandbox.bot_user,
        embeds=[{"title": "CPU", "image": {"url": "attachment://cpu.png"}}],
        attachments=[
            _attachment("cpu.png", "image/png"),
            _attachment('a/b"<x>.json', None, 2048),
            _attachment("big.bin", None, 3 * 1024 * 1024),
        ],
    )
    sandbox.store_message(message)
    [shown] = view.message_views(sandbox, general, demo.owner_id)
    assert (
        shown.embeds[0]["image"]["url"]
        == f"/sandbox/attachments/{message.attachments[0].id}/cpu.png"
    )
    assert [(a.name, a.size, a.image) for a in shown.attachments] == [
        ('a/b"<x>.json', "2.0 KB", False),
        ("big.bin", "3.0 MB", False),
    ]
    assert shown.attachments[0].url.endswith("/a%2Fb%22%3Cx%3E.json")
