"""Discord's markdown as safe HTML, drawn the way the Discord client draws it.

Blocks: fenced code blocks (```lang), block quotes (``> `` per line, ``>>> `` to the end),
headings (``#``, ``##``, ``###``), subtext (``-#``), bulleted and numbered lists (nested by
indentation). Inline: ``code``, **bold**, *italic* / _italic_, __underline__, ~~strike~~,
||spoilers||, masked links [text](https://…), bare and <angle> links (http/https only),
user/role/channel mentions, @everyone/@here, custom emoji and <t:…:R> timestamps, and
backslash escapes.

Every piece of the author's text goes through :func:`markupsafe.escape`; the only tags in the
output are the ones made here, and link targets are http(s) URLs escaped for an attribute.
Names are attacker-controlled (anyone may name a channel or a role): they are escaped too.
Nesting is capped, so hostile input (``**`` a thousand times) cannot recurse deeply.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from markupsafe import Markup, escape

MAX_NESTING = 12
LIST_LEVELS = 3


@dataclass
class Names:
    """Resolves mention ids to names."""

    users: dict[int, str] = field(default_factory=dict)
    roles: dict[int, str] = field(default_factory=dict)
    channels: dict[int, str] = field(default_factory=dict)


# -- inline ------------------------------------------------------------------------------------

_INLINE = re.compile(
    r"\\(?P<escaped>[^\sA-Za-z0-9])"
    r"|(?<!`)(?P<ticks>`+)(?!`)(?P<code>.+?)(?<!`)(?P=ticks)(?!`)"
    r"|\|\|(?P<spoiler>.+?)\|\|"
    r"|\*\*(?P<bold>.+?)\*\*(?!\*)"
    r"|__(?P<underline>.+?)__(?!_)"
    r"|~~(?P<strike>.+?)~~"
    r"|\*(?P<em>[^*\s](?:.*?[^*\s])?)\*(?!\*)"
    r"|(?<![\w_])_(?P<em2>[^_\s](?:.*?[^_\s])?)_(?![\w_])"
    r"|\[(?P<label>[^\[\]\n]+)\]\(<?(?P<href>https?://[^\s()<>]+)>?\)"
    r"|<(?P<angle>https?://[^\s<>]+)>"
    r"|(?P<url>https?://[^\s<>]*[^\s<>.,:;\"')\]])"
    r"|<(?P<kind>@!?|@&|#)(?P<id>\d{1,20})>"
    r"|<t:(?P<ts>-?\d{1,13})(?::(?P<style>[tTdDfFR]))?>"
    r"|<a?:(?P<emoji>\w{1,32}):\d{1,20}>"
    r"|(?P<everyone>@(?:everyone|here))\b",
    re.DOTALL,
)


def _link(href: str, label: str) -> str:
    return f'<a href="{escape(href)}" target="_blank" rel="noopener noreferrer">{label}</a>'


def _mention(label: str) -> str:
    return f'<span class="dc-mention">{escape(label)}</span>'


class _Inline:
    """Inline markdown of one block of text; ``now`` is the time relative stamps count from."""

    def __init__(self, names: Names, now: datetime) -> None:
        self.names = names
        self.now = now

    def render(self, text: str, depth: int = 0) -> str:
        if depth >= MAX_NESTING:
            return str(escape(text))
        out: list[str] = []
        position = 0
        for match in _INLINE.finditer(text):
            out.append(str(escape(text[position : match.start()])))
            out.append(self._token(match, depth))
            position = match.end()
        out.append(str(escape(text[position:])))
        return "".join(out)

    def _wrap(self, tag: str, inner: str, depth: int, css: str = "") -> str:
        attrs = f' class="{css}"' if css else ""
        return f"<{tag}{attrs}>{self.render(inner, depth + 1)}</{tag}>"

    def _token(self, match: re.Match[str], depth: int) -> str:
        group = match.lastgroup
        if match["escaped"] is not None:
            return str(escape(match["escaped"]))
        if match["code"] is not None:
            code = match["code"]
            if len(match["ticks"]) > 1:
                code = code.strip(" ")  # ``  `x`  `` shows `x`
            return f"<code>{escape(code)}</code>"
        wrappers: dict[str | None, tuple[str, str]] = {
            "bold": ("strong", ""),
            "underline": ("u", ""),
            "strike": ("s", ""),
            "em": ("em", ""),
            "em2": ("em", ""),
        }
        if group == "spoiler":  # hidden until clicked (web/static/js/app.js), as on Discord
            inner = self.render(match[group], depth + 1)
            return (
                '<span class="dc-spoiler" role="button" tabindex="0" aria-expanded="false">'
                f"{inner}</span>"
            )
        if group in wrappers:
            tag, css = wrappers[group]
            return self._wrap(tag, match[group], depth, css)
        if match["href"] is not None:
            return _link(match["href"], self.render(match["label"], depth + 1))
        for plain in ("angle", "url"):
            if match[plain] is not None:
                return _link(match[plain], str(escape(match[plain])))
        if match["id"] is not None:
            return self._id_mention(match["kind"], int(match["id"]))
        if match["ts"] is not None:
            return self._timestamp(match)
        if match["emoji"] is not None:
            return f'<span class="dc-emoji-name">:{escape(match["emoji"])}:</span>'
        return _mention(match["everyone"])

    def _id_mention(self, kind: str, target: int) -> str:
        if kind == "#":
            return _mention("#" + self.names.channels.get(target, "unknown-channel"))
        if kind == "@&":
            return _mention("@" + self.names.roles.get(target, "unknown-role"))
        return _mention("@" + self.names.users.get(target, "unknown-user"))

    def _timestamp(self, match: re.Match[str]) -> str:
        try:
            moment = datetime.fromtimestamp(int(match["ts"]), UTC)
        except (ValueError, OverflowError, OSError):
            return str(escape(match.group()))
        style = match["style"] or "f"
        text = relative_time(moment, self.now) if style == "R" else _TIME_STYLES[style](moment)
        full = _TIME_STYLES["F"](moment)
        # Drawn in UTC; the reader's browser shows it in their own zone and keeps a relative
        # one current (web/static/js/app.js), since a drawn page is kept while nothing changes.
        return (
            f'<time class="dc-timestamp" datetime="{moment.isoformat()}" data-style="{style}" '
            f'title="{escape(full)} UTC">{escape(text)}</time>'
        )


def _day(moment: datetime) -> str:
    return f"{moment.day} {moment:%B %Y}"


_TIME_STYLES: dict[str, Callable[[datetime], str]] = {
    "t": lambda m: f"{m:%H:%M}",
    "T": lambda m: f"{m:%H:%M:%S}",
    "d": lambda m: f"{m:%d/%m/%Y}",
    "D": _day,
    "f": lambda m: f"{_day(m)} {m:%H:%M}",
    "F": lambda m: f"{m:%A}, {_day(m)} {m:%H:%M}",
}
_UNITS = (("year", 365 * 86400), ("month", 30 * 86400), ("day", 86400), ("hour", 3600))
_SMALL_UNITS = (("minute", 60), ("second", 1))


def relative_time(moment: datetime, now: datetime) -> str:
    """``in 5 minutes`` / ``3 hours ago``, as Discord's <t:…:R> shows."""
    seconds = (moment - now).total_seconds()
    span = abs(seconds)
    if span < 1:
        return "now"
    for unit, size in (*_UNITS, *_SMALL_UNITS):
        if span >= size:
            count = round(span / size)  # 2 h 59 min is "in 3 hours", as on Discord
            amount = (
                f"{'a' if unit != 'hour' else 'an'} {unit}" if count == 1 else f"{count} {unit}s"
            )
            return f"in {amount}" if seconds > 0 else f"{amount} ago"
    return "now"


# -- blocks ------------------------------------------------------------------------------------

_FENCE_LANGUAGE = re.compile(r"([A-Za-z0-9_+\-.#]{1,32})\n")
_HEADING = re.compile(r"(#{1,3}) +(\S.*)")
_SUBTEXT = re.compile(r"-# +(\S.*)")
_LIST_ITEM = re.compile(r"( *)([-*]|\d{1,9}\.) +(\S.*)")


def split_code_blocks(text: str) -> list[tuple[str | None, str, bool]]:
    """``(language, body, is_code)`` pieces: fenced code blocks apart from the text around
    them. An unclosed fence is text, as in Discord."""
    pieces: list[tuple[str | None, str, bool]] = []
    position = 0
    while True:
        start = text.find("```", position)
        end = text.find("```", start + 3) if start != -1 else -1
        if start == -1 or end == -1:
            pieces.append((None, text[position:], False))
            return pieces
        inner = text[start + 3 : end]
        if not inner.strip():  # ``` ``` with nothing inside stays text
            pieces.append((None, text[position : end + 3], False))
            position = end + 3
            continue
        pieces.append((None, text[position:start], False))
        language = None
        found = _FENCE_LANGUAGE.match(inner)
        if found:
            language, inner = found.group(1), inner[found.end() :]
        elif inner.startswith("\n"):
            inner = inner[1:]
        pieces.append((language, inner.removesuffix("\n"), True))
        position = end + 3


def _code_block(language: str | None, body: str) -> str:
    attrs = f' data-language="{escape(language)}"' if language else ""
    label = f'<span class="dc-code-language">{escape(language)}</span>' if language else ""
    return f'<pre class="dc-codeblock"{attrs}>{label}<code>{escape(body)}</code></pre>'


class _Blocks:
    def __init__(self, inline: _Inline) -> None:
        self.inline = inline

    def render(self, text: str, *, in_quote: bool = False) -> str:
        """Lines of text (no code fences) as HTML: blocks stand alone, plain lines are joined
        with ``<br>``."""
        lines = text.split("\n")
        parts: list[tuple[bool, str]] = []  # (is_block, html)
        index = 0
        while index < len(lines):
            line = lines[index]
            if not in_quote and (line.startswith(">>> ") or line == ">>>"):
                rest = "\n".join([line[4:], *lines[index + 1 :]])
                parts.append((True, self._quote(rest)))
                break
            if not in_quote and (line.startswith("> ") or line == ">"):
                quoted = []
                while index < len(lines) and (lines[index].startswith("> ") or lines[index] == ">"):
                    quoted.append(lines[index][2:])
                    index += 1
                parts.append((True, self._quote("\n".join(quoted))))
                continue
            if _LIST_ITEM.fullmatch(line):
                items = []
                while index < len(lines) and (found := _LIST_ITEM.fullmatch(lines[index])):
                    items.append(found)
                    index += 1
                parts.append((True, self._list(items)))
                continue
            heading = _HEADING.fullmatch(line)
            if heading:
                level = len(heading.group(1))
                body = self.inline.render(heading.group(2))
                parts.append((True, f'<h{level} class="dc-heading">{body}</h{level}>'))
            elif subtext := _SUBTEXT.fullmatch(line):
                body = self.inline.render(subtext.group(1))
                parts.append((True, f'<small class="dc-subtext">{body}</small>'))
            else:
                parts.append((False, self.inline.render(line)))
            index += 1
        html = []
        for position, (is_block, piece) in enumerate(parts):
            if position > 0 and not is_block and not parts[position - 1][0]:
                html.append("<br>")
            html.append(piece)
        return "".join(html)

    def _quote(self, text: str) -> str:
        return f'<blockquote class="dc-quote">{self.render(text, in_quote=True)}</blockquote>'

    def _list(self, items: list[re.Match[str]]) -> str:
        """Items of one list; two more spaces of indentation nest one level (at most 3)."""
        html: list[str] = []
        open_tags: list[str] = []
        for item in items:
            level = min(len(item.group(1)) // 2, LIST_LEVELS - 1, len(open_tags))
            marker = item.group(2)
            tag = "ul" if marker in ("-", "*") else "ol"
            while len(open_tags) > level + 1:
                html.append(f"</li></{open_tags.pop()}>")
            if len(open_tags) == level + 1 and open_tags[-1] != tag:
                html.append(f"</li></{open_tags.pop()}>")
            if len(open_tags) == level:
                start = ""
                if tag == "ol" and marker != "1.":
                    start = f' start="{int(marker[:-1])}"'
                html.append(f'<{tag} class="dc-list"{start}>')
                open_tags.append(tag)
            else:
                html.append("</li>")
            html.append(f"<li>{self.inline.render(item.group(3))}")
        while open_tags:
            html.append(f"</li></{open_tags.pop()}>")
        return "".join(html)


def render_markdown(
    text: str, names: Names | None = None, *, now: datetime | None = None
) -> Markup:
    """``text`` (a message's content, an embed's description or field) as safe HTML."""
    inline = _Inline(names or Names(), now or datetime.now(UTC))
    blocks = _Blocks(inline)
    html = []
    pieces = split_code_blocks(text or "")
    for position, (language, body, is_code) in enumerate(pieces):
        if is_code:
            html.append(_code_block(language, body))
            continue
        if position > 0:
            body = body.removeprefix("\n")  # a code block is a block: no empty line after it
        if position < len(pieces) - 1:
            body = body.removesuffix("\n")
        if body:
            html.append(blocks.render(body))
    return Markup("".join(html))
