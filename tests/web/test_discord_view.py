"""Discord messages as the web editor draws them, for the Sandbox page and the dashboard
preview alike: safe markdown, embeds, components, a payload drawn as a message."""

from __future__ import annotations

from web import discord_view


def test_markdown_escapes_first_then_formats() -> None:
    names = discord_view.Names(users={1: "alice"}, roles={2: "Mod"}, channels={3: "general"})
    html = discord_view.markdown(
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
    assert "<a" not in discord_view.markdown("[x](javascript:alert(1))")
    assert discord_view.safe_url("javascript:alert(1)") is None


def test_a_payload_is_drawn_as_a_bot_message() -> None:
    payload = {
        "embeds": [
            {
                "title": "Status",
                "color": 0x5865F2,
                "fields": [{"name": "CPU", "value": "**12%**", "inline": True}],
                "image": {"url": "attachment://chart-cpu.png"},
                "footer": {"text": "Page 1 (1/2)"},
            }
        ],
        "components": [
            {
                "type": 1,
                "components": [
                    {"type": 2, "style": 1, "label": "Refresh", "custom_id": "fcd:1:refresh"}
                ],
            },
            {
                "type": 1,
                "components": [
                    {
                        "type": 3,
                        "custom_id": "fcd:1:host",
                        "options": [{"label": "lab-1", "value": "lab-1", "default": True}],
                    }
                ],
            },
        ],
    }
    view = discord_view.payload_view(payload)
    assert view.bot and view.author == "FoundryCord"
    embed = view.embeds[0]
    assert embed["colour"] == "#5865f2" and embed["title"] == "Status"
    assert embed["fields"][0]["value"] == "<strong>12%</strong>" and embed["fields"][0]["inline"]
    assert embed["image"] == {"url": None, "name": "chart-cpu.png"}
    assert embed["footer"] == "Page 1 (1/2)"
    button, select = view.rows[0][0], view.rows[1][0]
    assert button == {
        "kind": "button",
        "style": "primary",
        "label": "Refresh",
        "emoji": None,
        "custom_id": "fcd:1:refresh",
        "url": None,
        "disabled": False,
    }
    assert select["kind"] == "select" and select["options"][0]["selected"]
