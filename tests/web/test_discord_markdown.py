"""Discord's markdown drawn as the Discord client draws it, from hostile text safely."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from web.discord_markdown import Names, relative_time, render_markdown, split_code_blocks

NAMES = Names(users={1: "alice"}, roles={2: "Mod"}, channels={3: "general", 4: "<b>x</b>"})
NOW = datetime(2026, 1, 2, 12, 0, tzinfo=UTC)
LINK = 'target="_blank" rel="noopener noreferrer"'
CASES = [
    # code blocks keep their language and every space
    (
        "```diff\n+ added\n  - kept indent\n```",
        '<pre class="dc-codeblock" data-language="diff"><span class="dc-code-language">diff'
        "</span><code>+ added\n  - kept indent</code></pre>",
    ),
    ("```\nplain\n```", '<pre class="dc-codeblock"><code>plain</code></pre>'),
    ("```one line```", '<pre class="dc-codeblock"><code>one line</code></pre>'),
    (
        "before\n```py\n**not bold** <b>\n```\nafter",
        'before<pre class="dc-codeblock" data-language="py"><span class="dc-code-language">py'
        "</span><code>**not bold** &lt;b&gt;</code></pre>after",
    ),
    ("```unclosed", "```unclosed"),
    # inline
    ("`a *b*`", "<code>a *b*</code>"),
    ("``a `b` c``", "<code>a `b` c</code>"),
    ("**bold**", "<strong>bold</strong>"),
    ("*it* and _it_", "<em>it</em> and <em>it</em>"),
    ("snake_case_name", "snake_case_name"),
    ("__under__", "<u>under</u>"),
    ("~~gone~~", "<s>gone</s>"),
    (
        "||secret **x**||",
        '<span class="dc-spoiler" role="button" tabindex="0" aria-expanded="false">'
        "secret <strong>x</strong></span>",
    ),
    ("***both***", "<strong><em>both</em></strong>"),
    ("__**u b**__", "<u><strong>u b</strong></u>"),
    (r"\*not\* \_em\_", "*not* _em_"),
    ("2 * 3 * 4", "2 * 3 * 4"),
    # links: http(s) only, escaped for the attribute
    (
        "[site](https://a.example/?a=1&b=2)",
        f'<a href="https://a.example/?a=1&amp;b=2" {LINK}>site</a>',
    ),
    ("[x](javascript:alert(1))", "[x](javascript:alert(1))"),
    ("<https://a.example>", f'<a href="https://a.example" {LINK}>https://a.example</a>'),
    ("see https://a.example.", f'see <a href="https://a.example" {LINK}>https://a.example</a>.'),
    # mentions, emoji, everyone
    (
        "<@1> <@!1> <@&2> <#3>",
        '<span class="dc-mention">@alice</span> '
        '<span class="dc-mention">@alice</span> <span class="dc-mention">@Mod</span> '
        '<span class="dc-mention">#general</span>',
    ),
    (
        "<#4> <@9>",
        '<span class="dc-mention">#&lt;b&gt;x&lt;/b&gt;</span> '
        '<span class="dc-mention">@unknown-user</span>',
    ),
    ("@everyone", '<span class="dc-mention">@everyone</span>'),
    ("<:blob:123>", '<span class="dc-emoji-name">:blob:</span>'),
    # timestamps
    (
        "<t:1767355200:R>",
        '<time class="dc-timestamp" datetime="2026-01-02T12:00:00+00:00" data-style="R" '
        'title="Friday, 2 January 2026 12:00 UTC">now</time>',
    ),
    ("<t:1767355200:d>", ">02/01/2026</time>"),
    ("<t:1767355200:t>", ">12:00</time>"),
    ("<t:1767355200>", ">2 January 2026 12:00</time>"),
    ("<t:9999999999999:R>", "&lt;t:9999999999999:R&gt;"),
    # blocks
    (
        "# Big\n## Mid\n### Small",
        '<h1 class="dc-heading">Big</h1><h2 class="dc-heading">Mid</h2>'
        '<h3 class="dc-heading">Small</h3>',
    ),
    ("#nope", "#nope"),
    ("-# fine print", '<small class="dc-subtext">fine print</small>'),
    ("> one\n> two\nafter", '<blockquote class="dc-quote">one<br>two</blockquote>after'),
    (">>> all\nof this", '<blockquote class="dc-quote">all<br>of this</blockquote>'),
    (
        "- a\n- b\n  - c\n- d",
        '<ul class="dc-list"><li>a</li><li>b<ul class="dc-list"><li>c'
        "</li></ul></li><li>d</li></ul>",
    ),
    ("1. one\n2. two", '<ol class="dc-list"><li>one</li><li>two</li></ol>'),
    ("3. three", '<ol class="dc-list" start="3"><li>three</li></ol>'),
    ("line\n\nnext", "line<br><br>next"),
]


@pytest.mark.parametrize(("text", "html"), CASES)
def test_markdown_as_discord_draws_it(text: str, html: str) -> None:
    assert html in str(render_markdown(text, NAMES, now=NOW))


HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '[x](https://a.example/"onmouseover="alert(1))',
    '```"><script>x</script>\n<script>y</script>\n```',
    "`<b>` **<i>** ||<u>|| > <s>\n# <h1>\n- <li>",
    "<t:1:R><script>",
    '<meta http-equiv=refresh content="1;url=https://evil.example">',
]


@pytest.mark.parametrize("text", HOSTILE)
def test_the_authors_text_never_becomes_markup(text: str) -> None:
    html = str(render_markdown(text, NAMES, now=NOW))
    made = set(re.findall(r"<(/?[a-z0-9]+)", html))
    allowed = {
        "a",
        "br",
        "code",
        "pre",
        "span",
        "strong",
        "em",
        "u",
        "s",
        "blockquote",
        "h1",
        "h2",
        "h3",
        "small",
        "ul",
        "ol",
        "li",
        "time",
    }
    assert made <= allowed | {"/" + tag for tag in allowed}, html
    assert "<script" not in html and "<img" not in html and "<meta" not in html
    assert 'onmouseover="' not in html


def test_deep_nesting_stays_text_instead_of_recursing() -> None:
    text = "**" * 2000 + "x" + "**" * 2000
    assert "x" in str(render_markdown(text))
    assert str(render_markdown("||" * 3000))


def test_code_block_split_and_relative_times() -> None:
    assert split_code_blocks("a```js\nb```c") == [
        (None, "a", False),
        ("js", "b", True),
        (None, "c", False),
    ]
    assert relative_time(datetime(2026, 1, 2, 12, 5, tzinfo=UTC), NOW) == "in 5 minutes"
    assert relative_time(datetime(2026, 1, 2, 14, 59, tzinfo=UTC), NOW) == "in 3 hours"
    assert relative_time(datetime(2026, 1, 2, 11, 0, tzinfo=UTC), NOW) == "an hour ago"
    assert relative_time(datetime(2025, 1, 1, tzinfo=UTC), NOW) == "a year ago"
