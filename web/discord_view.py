"""Discord messages as the web editor draws them: the safe markdown subset, embeds and
components. One component for every page that shows a Discord message (the Sandbox page and
the dashboard editor's preview), so that they can never disagree. Pure; no aiohttp here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from markupsafe import Markup

from web.discord_markdown import Names, render_markdown

__all__ = ["AttachmentView", "MessageView", "Names", "markdown", "payload_view", "safe_url"]

BUTTON_STYLES = {1: "primary", 2: "secondary", 3: "success", 4: "danger", 5: "link", 6: "premium"}
STRING_SELECT, USER_SELECT, ROLE_SELECT, MENTIONABLE_SELECT, CHANNEL_SELECT = 3, 5, 6, 7, 8
SelectOptions = Callable[[dict[str, Any]], list[dict[str, Any]]]


# -- markdown ----------------------------------------------------------------------------------


def safe_url(url: Any) -> str | None:
    """``url`` if it is http(s); anything else (javascript:, data:) is dropped."""
    return url if isinstance(url, str) and url.startswith(("https://", "http://")) else None


def markdown(text: str, names: Names | None = None, *, now: datetime | None = None) -> Markup:
    """Discord's markdown as safe HTML (see :mod:`web.discord_markdown`): code blocks with a
    language, inline code, bold, italic, underline, strike, spoilers, quotes, headings, lists,
    masked links, mentions and timestamps. Everything is escaped first; only the tags made
    there reach the page."""
    return render_markdown(text, names, now=now)


@dataclass
class AttachmentView:
    """A file on a message: an image is drawn, anything else is a link to download it."""

    name: str
    url: str
    size: str  # "1.2 KB"
    image: bool


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
    attachments: list[AttachmentView] = field(default_factory=list)


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
