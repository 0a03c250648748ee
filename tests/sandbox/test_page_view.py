"""The Sandbox page's view model: safe markdown, ephemeral visibility, command forms."""

from __future__ import annotations

from sandbox import page_view as view
from sandbox.server import SandboxServer
from sandbox.state import EPHEMERAL, Guild, Message


def test_markdown_escapes_first_then_formats() -> None:
    names = view.Names(users={1: "alice"}, roles={2: "Mod"}, channels={3: "general"})
    html = view.markdown(
        '<script>x</script> **b *i* c** ~~s~~ `<b>` [site](https://a.example/?q=1&r="2") '
        "https://b.example <@1> <@&2> <#3>\nnext",
        names,
    )
    assert "<script>" not in html and "&lt;script&gt;x&lt;/script&gt;" in html
    assert "<strong>b <em>i</em> c</strong>" in html
    assert "<s>s</s> <code>&lt;b&gt;</code>" in html
    assert 'href="https://a.example/?q=1&amp;r=&#34;2&#34;"' in html
    assert '<a href="https://b.example"' in html
    mentions = '<span class="dc-mention">@alice</span> <span class="dc-mention">@Mod</span>'
    assert mentions + ' <span class="dc-mention">#general</span><br>next' in html
    assert "<a" not in view.markdown("[x](javascript:alert(1))")
    assert view.safe_url("javascript:alert(1)") is None


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
