"""Discord messages as the web editor draws them: the safe markdown subset, embeds and
components. One component for every page that shows a Discord message (the Sandbox page and
the dashboard editor's preview), so that they can never disagree. Pure; no aiohttp here."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from markupsafe import Markup, escape

BUTTON_STYLES = {1: "primary", 2: "secondary", 3: "success", 4: "danger", 5: "link", 6: "premium"}
STRING_SELECT, USER_SELECT, ROLE_SELECT, MENTIONABLE_SELECT, CHANNEL_SELECT = 3, 5, 6, 7, 8
SelectOptions = Callable[[dict[str, Any]], list[dict[str, Any]]]


# -- markdown ----------------------------------------------------------------------------------

_CODE = re.compile(r"(`[^`\n]+`)")
_INLINE = re.compile(
    r"\*\*(?P<bold>.+?)\*\*"
    r"|~~(?P<strike>.+?)~~"
    r"|\*(?P<em>[^*\s][^*]*?)\*"
    r"|\[(?P<label>[^\]]+)\]\((?P<href>https?://[^\s)]+)\)"
    r"|(?P<url>https?://[^\s<]+)"
    r"|&lt;(?P<kind>@!?|@&amp;|#)(?P<id>\d+)&gt;"
)


@dataclass
class Names:
    """Resolves mention ids to names for :func:`markdown`."""

    users: dict[int, str] = field(default_factory=dict)
    roles: dict[int, str] = field(default_factory=dict)
    channels: dict[int, str] = field(default_factory=dict)


def _inline(text: str, names: Names) -> str:
    """Escaped ``text`` with bold, strike, italics, links and mentions as HTML."""

    def replace(match: re.Match[str]) -> str:
        if match["bold"] is not None:
            return f"<strong>{_inline(match['bold'], names)}</strong>"
        if match["strike"] is not None:
            return f"<s>{_inline(match['strike'], names)}</s>"
        if match["em"] is not None:
            return f"<em>{_inline(match['em'], names)}</em>"
        if match["href"] is not None:
            return _link(match["href"], _inline(match["label"], names))
        if match["url"] is not None:
            return _link(match["url"], match["url"])
        target = int(match["id"])
        if match["kind"] == "#":
            label = "#" + names.channels.get(target, "unknown-channel")
        elif match["kind"] == "@&amp;":
            label = "@" + names.roles.get(target, "unknown-role")
        else:
            label = "@" + names.users.get(target, "unknown-user")
        return f'<span class="dc-mention">{escape(label)}</span>'

    # the text arrives escaped; a second pass over the already escaped parts is safe
    return _INLINE.sub(replace, text)


def safe_url(url: Any) -> str | None:
    """``url`` if it is http(s); anything else (javascript:, data:) is dropped."""
    return url if isinstance(url, str) and url.startswith(("https://", "http://")) else None


def _link(href: str, label: str) -> str:
    return f'<a href="{href}" target="_blank" rel="noopener noreferrer">{label}</a>'


def markdown(text: str, names: Names | None = None) -> Markup:
    """Discord's markdown subset as safe HTML: **bold**, *italic*, ~~strike~~, `code`,
    [links](https://…), bare URLs, <@user>/<@&role>/<#channel> mentions and line breaks.
    Everything is escaped first; only the tags made here reach the page."""
    names = names or Names()
    parts = []
    for piece in _CODE.split(text or ""):
        if piece.startswith("`") and piece.endswith("`") and len(piece) > 1:
            parts.append(f"<code>{escape(piece[1:-1])}</code>")
        else:
            parts.append(_inline(str(escape(piece)), names))
    return Markup("".join(parts).replace("\n", "<br>"))


@dataclass
class MessageView:
    id: int
    author: str
    author_colour: str | None
    avatar_colour: str
    initials: str
    bot: bool
    time: str
    iso_time: str
    content: Markup
    embeds: list[dict[str, Any]]
    rows: list[list[dict[str, Any]]]
    ephemeral: bool
    loading: bool
    edited: bool
    used: str | None  # "alice used /guild list"
    reply_to: str | None


def embed_view(raw: dict[str, Any], names: Names | None = None) -> dict[str, Any]:
    names = names or Names()
    timestamp = raw.get("timestamp")
    when = None
    if timestamp:
        try:
            when = datetime.fromisoformat(str(timestamp)).astimezone(UTC).strftime("%d/%m/%Y %H:%M")
        except ValueError:
            when = str(timestamp)
    colour = raw.get("color")
    return {
        "colour": f"#{int(colour):06x}" if colour is not None else "#1e1f22",
        "author": (raw.get("author") or {}).get("name"),
        "title": raw.get("title"),
        "url": safe_url(raw.get("url")),
        "description": markdown(raw.get("description") or "", names),
        "fields": [
            {
                "name": markdown(f.get("name", ""), names),
                "value": markdown(f.get("value", ""), names),
                "inline": bool(f.get("inline")),
            }
            for f in raw.get("fields") or []
        ],
        "footer": (raw.get("footer") or {}).get("text"),
        "image": _image((raw.get("image") or {}).get("url")),
        "timestamp": when,
    }


def component_view(
    raw: dict[str, Any], select_options: SelectOptions | None = None
) -> dict[str, Any]:
    """One button or select as the template draws it; `select_options` lists the choices of
    user, role and channel selects (which need a guild)."""
    kind = raw.get("type")
    if kind == 2:
        emoji = (raw.get("emoji") or {}).get("name")
        return {
            "kind": "button",
            "style": BUTTON_STYLES.get(raw.get("style", 2), "secondary"),
            "label": raw.get("label") or "",
            "emoji": emoji,
            "custom_id": raw.get("custom_id"),
            "url": safe_url(raw.get("url")),
            "disabled": bool(raw.get("disabled")),
        }
    if kind in (STRING_SELECT, USER_SELECT, ROLE_SELECT, MENTIONABLE_SELECT, CHANNEL_SELECT):
        return {
            "kind": "select",
            "custom_id": raw.get("custom_id"),
            "placeholder": raw.get("placeholder") or "Make a selection",
            "options": string_options(raw)
            if kind == STRING_SELECT
            else (select_options(raw) if select_options else []),
            "multiple": int(raw.get("max_values") or 1) > 1,
            "disabled": bool(raw.get("disabled")),
        }
    return {"kind": "unsupported", "type": kind}


def _image(url: Any) -> dict[str, Any] | None:
    """An embed image: an http(s) URL is shown; an attachment:// one is named (a preview
    has no file behind it)."""
    if not isinstance(url, str):
        return None
    if url.startswith("attachment://"):
        return {"url": None, "name": url.removeprefix("attachment://")}
    safe = safe_url(url)
    return {"url": safe, "name": safe} if safe else None


def string_options(component: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "label": o.get("label", ""),
            "value": o.get("value", ""),
            "description": o.get("description"),
            "selected": bool(o.get("default")),
        }
        for o in component.get("options") or []
    ]


def payload_view(
    payload: dict[str, Any],
    *,
    author: str = "FoundryCord",
    message_id: int = 0,
    when: datetime | None = None,
    names: Names | None = None,
) -> MessageView:
    """A bot message drawn straight from a message payload (a preview of what is sent)."""
    names = names or Names()
    moment = when or datetime.now(UTC)
    rows = []
    for row in payload.get("components") or []:
        children = row.get("components") if row.get("type") == 1 else [row]
        rows.append([component_view(c) for c in children or []])
    return MessageView(
        id=message_id,
        author=author,
        author_colour=None,
        avatar_colour="#5865f2",
        initials=author[:1].upper() or "?",
        bot=True,
        time=moment.astimezone(UTC).strftime("%H:%M"),
        iso_time=moment.isoformat(),
        content=markdown(payload.get("content") or "", names),
        embeds=[embed_view(e, names) for e in payload.get("embeds") or []],
        rows=rows,
        ephemeral=False,
        loading=False,
        edited=False,
        used=None,
        reply_to=None,
    )
