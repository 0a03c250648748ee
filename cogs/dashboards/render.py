"""The pure renderer: layout + data snapshot + view state -> the exact message payload, kept
inside Discord's limits with overflow cut visibly, and a hash of it. No I/O here."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import nextcord

from bot.mentions import no_mentions
from bot.metrics import GameServerView, HostView, StatusItem, format_value
from cogs.dashboards import limits
from cogs.dashboards.layout import (
    BUTTON_STYLES,
    Action,
    Layout,
    Widget,
    action_rows,
    grid_rows,
    spacers_after,
)

ELLIPSIS = "…"
BLANK = "\u200b"  # Discord refuses empty field names and values
UNAVAILABLE = "unavailable"
CUSTOM_ID_PREFIX = "fcd"
BAR_CELLS = 10
SPARK = "▁▂▃▄▅▆▇█"
NO_PINGS = no_mentions().to_dict()  # shared by every payload; never mutated


@dataclass(frozen=True, slots=True)
class WidgetData:
    """What one widget shows; `unavailable` (a reason) wins over everything else."""

    value: float | None = None
    history: tuple[float, ...] = ()
    items: tuple[StatusItem, ...] | None = None
    games: tuple[GameServerView, ...] | None = None
    rows: tuple[tuple[str, str], ...] | None = None
    text: str | None = None
    unavailable: str | None = None
    unit: str = ""  # the value's unit (the widget's own, else the metric catalogue's)


@dataclass(frozen=True)
class Snapshot:
    widgets: dict[str, WidgetData] = field(default_factory=dict)
    hosts: tuple[HostView, ...] = ()  # as the dashboard's guild may see them
    disks: tuple[str, ...] = ()
    host_label: str = ""  # the chosen host, named as that guild may see it
    games: tuple[GameServerView, ...] = ()  # the guild's game servers, for the "game" select


@dataclass(frozen=True, slots=True)
class ViewState:
    """What the people looking at the message chose: its page, host, disk and game server."""

    page: int = 0
    host: str = ""
    disk: str = ""
    game: str = ""

    def to_json(self) -> dict[str, Any]:
        out = {"page": self.page, "host": self.host, "disk": self.disk}
        return {**out, "game": self.game} if self.game else out

    @classmethod
    def from_json(cls, data: Any) -> ViewState:
        if not isinstance(data, dict):
            return cls()
        page = data.get("page", 0)
        return cls(
            page=page if isinstance(page, int) and page >= 0 else 0,
            host=str(data.get("host") or ""),
            disk=str(data.get("disk") or ""),
            game=str(data.get("game") or ""),
        )


@dataclass(frozen=True, slots=True)
class Chart:
    """A history chart, drawn to PNG only when it is sent (see charts.py)."""

    filename: str
    title: str
    points: tuple[float, ...]
    unit: str = ""


@dataclass(frozen=True, slots=True)
class Rendered:
    payload: dict[str, Any]
    charts: tuple[Chart, ...] = ()
    digest: str = ""


# text cutting


def cut(text: str, limit: int) -> str:
    """`text` if it fits, else its start and an ellipsis, `limit` characters in all."""
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)] + ELLIPSIS


def fit_lines(lines: Sequence[str], limit: int) -> str:
    """As many whole lines as fit in `limit`, then "(+N more)" for the rest."""
    if not lines:
        return ""
    out: list[str] = []
    used = 0
    for i, line in enumerate(lines):
        line = cut(line, limit)
        rest = len(lines) - i - 1
        tail = len(f"\n(+{rest} more)") if rest else 0
        extra = len(line) + (1 if out else 0)
        if used + extra + tail <= limit:
            out.append(line)
            used += extra
            continue
        more = f"(+{len(lines) - i} more)"
        while out and used + 1 + len(more) > limit:
            used -= len(out.pop()) + (1 if out else 0)
            more = f"(+{len(lines) - len(out)} more)"
        out.append(more)
        return "\n".join(out)
    return "\n".join(out)


# formats


def with_unit(value: float, unit: str) -> str:
    """A value rounded to what a person reads, in human units (bot.metrics.format_value)."""
    return format_value(value, unit)


def bar(value: float, scale: float, unit: str) -> str:
    share = min(max(value / scale, 0.0), 1.0) if scale > 0 else 0.0
    filled = round(share * BAR_CELLS)
    return f"`{'█' * filled}{'░' * (BAR_CELLS - filled)}` {with_unit(value, unit)}"


def sparkline(points: Sequence[float], width: int) -> str:
    points = list(points)[-width:]
    if not points:
        return ""
    low, high = min(points), max(points)
    span = high - low
    if span == 0:
        return SPARK[0] * len(points)
    return "".join(SPARK[round((p - low) / span * (len(SPARK) - 1))] for p in points)


def status_line(item: StatusItem) -> str:
    mark = "🟢" if item.ok else "🔴"
    return f"{mark} {item.name}" + (f" · {item.detail}" if item.detail else "")


def _plain(text: str) -> str:
    """Text a game server chose, shown literally (markdown escaped, mentions broken)."""
    escaped = nextcord.utils.escape_markdown(text)
    return escaped.replace("@", "@\u200b").replace("<", "<\u200b")


def game_line(view: GameServerView) -> str:
    """One game server: status dot, name, players/max, map, ping (or why it is offline)."""
    name = f"**{_plain(cut(view.name, 32))}**"
    if view.online is None:
        return f"⚪ {name} · not polled yet"
    if not view.online:
        return f"🔴 {name} · offline"
    players = f"{view.players}/{view.max_players}" if view.max_players else f"{view.players}"
    parts = [f"🟢 {name}", players]
    if view.map:
        parts.append(_plain(cut(view.map, 24)))
    if view.ping_ms is not None:
        parts.append(f"{view.ping_ms:.0f} ms")
    return " · ".join(parts)


def player_list(view: GameServerView | None) -> str:
    """The player list of the chosen game server, or why it cannot be shown."""
    if view is None:
        return "(no game server)"
    head = f"**{_plain(view.name)}**: {view.players or 0} playing"
    if not view.online:
        return f"**{_plain(view.name)}** is offline"
    if view.player_names is None:
        return f"{head} (player names are hidden in this server's settings)"
    if not view.player_names:
        return head
    lines = [head] + [f"• {_plain(name)}" for name in view.player_names]
    return fit_lines(lines, limits.FIELD_VALUE)


def chunk_lines(lines: Sequence[str], limit: int) -> list[str]:
    """Whole lines grouped into texts of at most `limit` characters each."""
    chunks: list[str] = []
    current = ""
    for line in lines:
        line = cut(line, limit)
        if current and len(current) + 1 + len(line) > limit:
            chunks.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current:
        chunks.append(current)
    return chunks


def table(rows: Sequence[tuple[str, str]]) -> str:
    """A monospace two-column table in a code block, cut to whole rows."""
    if not rows:
        return "(empty)"
    wide = min(max(len(k) for k, _ in rows), 24)
    lines = [f"{cut(k, wide):<{wide}}  {v}" for k, v in rows]
    inner = limits.FIELD_VALUE - len("```\n\n```")
    return f"```\n{fit_lines(lines, inner)}\n```"


def cut_block(text: str, limit: int) -> str:
    """`cut`, but a code block stays one: cut by whole lines inside its fences."""
    if len(text) <= limit or not (text.startswith("```\n") and text.endswith("\n```")):
        return cut(text, limit)
    inner = text[4:-4]
    room = limit - len("```\n\n```")
    if room < len("(+9 more)"):
        return cut(text.replace("`", ""), limit)
    return f"```\n{fit_lines(inner.splitlines(), room)}\n```"


def widget_value(widget: Widget, data: WidgetData | None) -> str:
    """One field's value text (uncut; the caller cuts)."""
    if data is None:
        return UNAVAILABLE
    if data.unavailable is not None:
        return f"{UNAVAILABLE} ({data.unavailable})" if data.unavailable else UNAVAILABLE
    fmt = widget.format
    kind = widget.source.kind
    if kind == "markdown" or kind == "links":
        return data.text or BLANK
    if kind == "games":
        games = data.games or ()
        if fmt == "status":
            return fit_lines([game_line(g) for g in games], limits.FIELD_VALUE) or "(none)"
        if fmt == "table":
            return data.text or "(no game server)"
        online = sum(1 for g in games if g.online)
        return f"**{online}/{len(games)}** online"
    if kind in ("containers", "services"):
        items = data.items or ()
        if fmt == "status":
            return fit_lines([status_line(i) for i in items], limits.FIELD_VALUE) or "(none)"
        if fmt == "table":
            return table([(i.name, ("up" if i.ok else "down")) for i in items])
        up = sum(1 for i in items if i.ok)
        return f"**{up}/{len(items)}** up"
    if fmt == "table":
        return table(data.rows or ())
    if data.value is None:
        return UNAVAILABLE
    unit = data.unit or widget.unit
    if fmt == "bar":
        return bar(data.value, widget.max, unit)
    if fmt == "sparkline":
        width = 12 if widget.width < limits.GRID_COLUMNS else 40
        line = sparkline(data.history, width)
        shown = with_unit(data.value, unit)
        return f"`{line}` {shown}" if line else shown
    return f"**{with_unit(data.value, unit)}**"


# the payload


def custom_id(dashboard_id: int, key: str) -> str:
    return f"{CUSTOM_ID_PREFIX}:{dashboard_id}:{key}"[: limits.CUSTOM_ID]


def parse_custom_id(value: str) -> tuple[int, str] | None:
    parts = value.split(":", 2)
    if len(parts) != 3 or parts[0] != CUSTOM_ID_PREFIX:
        return None
    if not (parts[1].isascii() and parts[1].isdigit()):  # not "²", which int() refuses
        return None
    return int(parts[1]), parts[2]


def _fields(widgets: Sequence[Widget], snapshot: Snapshot) -> list[dict[str, Any]]:
    fields: list[dict[str, Any]] = []
    rows = grid_rows(widgets)
    for i, row in enumerate(rows):
        for widget in row:
            data = snapshot.widgets.get(widget.id)
            values = [widget_value(widget, data)]
            if (
                widget.source.kind == "games"
                and widget.format == "status"
                and widget.width == limits.GRID_COLUMNS
                and data is not None
                and data.unavailable is None
                and data.games
            ):  # a full-width list of game servers runs on over as many fields as it needs
                values = chunk_lines([game_line(g) for g in data.games], limits.FIELD_VALUE)
            title = cut(widget.title or BLANK, limits.FIELD_NAME)
            for part, value in enumerate(values):
                fields.append(
                    {
                        "name": title if not part else BLANK,
                        "value": cut_block(value, limits.FIELD_VALUE),
                        "inline": widget.width < limits.GRID_COLUMNS,
                    }
                )
        for _ in range(spacers_after(rows, i)):
            fields.append({"name": BLANK, "value": BLANK, "inline": True})
    if len(fields) > limits.FIELDS:  # the validator refuses this; never send it anyway
        hidden = len(fields) - limits.FIELDS + 1
        fields = fields[: limits.FIELDS - 1]
        fields.append({"name": BLANK, "value": f"(+{hidden} more)", "inline": False})
    return fields


def _embed_chars(embed: dict[str, Any]) -> int:
    total = len(embed.get("title", "")) + len(embed.get("description", ""))
    total += len(embed.get("footer", {}).get("text", ""))
    total += sum(len(f["name"]) + len(f["value"]) for f in embed.get("fields", []))
    return total


def _fit_total(embeds: list[dict[str, Any]]) -> None:
    """Cut the longest texts to one common length so the message holds at most 6000
    characters: the largest cap that fits (found by bisection), and the characters still
    free handed out one each, so the message uses its whole allowance."""
    if sum(_embed_chars(e) for e in embeds) <= limits.MESSAGE_TOTAL:
        return
    slots: list[tuple[dict[str, Any], str]] = []
    for embed in embeds:
        slots += [(embed, key) for key in ("title", "description") if embed.get(key)]
        if "footer" in embed:
            slots.append((embed["footer"], "text"))
        for f in embed.get("fields", []):
            slots += [(f, "name"), (f, "value")]
    lengths = [len(holder[key]) for holder, key in slots]
    low, high = 1, max(lengths)
    while low < high:
        mid = (low + high + 1) // 2
        if sum(min(n, mid) for n in lengths) <= limits.MESSAGE_TOTAL:
            low = mid
        else:
            high = mid - 1
    spare = limits.MESSAGE_TOTAL - sum(min(n, low) for n in lengths)
    for (holder, key), length in zip(slots, lengths, strict=True):
        if length > low:
            extra = 1 if spare > 0 else 0
            spare -= extra
            holder[key] = cut_block(holder[key], low + extra)


def _button(dashboard_id: int, action: Action, state: ViewState, pages: int) -> dict[str, Any]:
    labels = {
        "refresh": "Refresh",
        "prev_page": "◀ Previous",
        "next_page": "Next ▶",
        "details": "Details",
        "run": f"Run {action.run}",
    }
    button: dict[str, Any] = {
        "type": 2,
        "style": BUTTON_STYLES[action.style],
        "label": cut(action.label or labels[action.action], limits.BUTTON_LABEL),
        "custom_id": custom_id(dashboard_id, action.key),
    }
    if action.action == "prev_page" and state.page <= 0:
        button["disabled"] = True
    if action.action == "next_page" and state.page >= pages - 1:
        button["disabled"] = True
    return button


def _options(values: Sequence[tuple[str, str]], chosen: str) -> tuple[list[dict[str, Any]], int]:
    shown = values[: limits.SELECT_OPTIONS]
    options = [
        {
            "label": cut(label, limits.OPTION_TEXT),
            "value": value[: limits.OPTION_TEXT],
            **({"default": True} if value == chosen else {}),
        }
        for label, value in shown
    ]
    return options, len(values) - len(shown)


def _select(
    dashboard_id: int, action: Action, layout: Layout, snapshot: Snapshot, state: ViewState
) -> dict[str, Any]:
    if action.action == "host":
        # Shown by label; the value is the opaque key, never a name the guild may not see.
        values = [(h.label, h.key) for h in snapshot.hosts]
        chosen, what = state.host or (snapshot.hosts[0].key if snapshot.hosts else ""), "host"
    elif action.action == "disk":
        values = [(d, d) for d in snapshot.disks]
        chosen, what = state.disk or (snapshot.disks[0] if snapshot.disks else ""), "disk"
    elif action.action == "game":
        values = [(g.name, g.key) for g in snapshot.games]
        first = snapshot.games[0].key if snapshot.games else ""
        chosen, what = state.game or first, "game server"
    else:
        values = [(layout.page_name(p), str(p)) for p in range(layout.page_count)]
        chosen, what = str(state.page), "page"
    options, hidden = _options(values, chosen)
    placeholder = action.label or f"Choose a {what}"
    more = f" (+{hidden} more not listed)" if hidden else ""
    select: dict[str, Any] = {
        "type": 3,
        "custom_id": custom_id(dashboard_id, action.key),
        # The count of what is left out must stay visible: cut the label, not the count.
        "placeholder": cut(placeholder, limits.SELECT_PLACEHOLDER - len(more)) + more,
        "min_values": 1,
        "max_values": 1,
        "options": options or [{"label": f"no {what} available", "value": "-"}],
    }
    if not options:
        select["disabled"] = True
    return select


def components(
    dashboard_id: int, layout: Layout, snapshot: Snapshot, state: ViewState
) -> list[dict[str, Any]]:
    rows = []
    for row in action_rows(layout.actions)[: limits.ACTION_ROWS]:
        items = [
            _button(dashboard_id, a, state, layout.page_count)
            if a.kind == "button"
            else _select(dashboard_id, a, layout, snapshot, state)
            for a in row
        ]
        rows.append({"type": 1, "components": items})
    return rows


def render(
    layout: Layout, snapshot: Snapshot, state: ViewState = ViewState(), dashboard_id: int = 0
) -> Rendered:
    """The message payload (embeds and components) and the charts it refers to."""
    page = min(state.page, layout.page_count - 1)
    widgets = layout.page_widgets(page)
    embed: dict[str, Any] = {"color": layout.color, "type": "rich"}
    if layout.title:
        embed["title"] = cut(layout.title, limits.TITLE)
    if layout.description:
        embed["description"] = cut(layout.description, limits.DESCRIPTION)
    fields = _fields(widgets, snapshot)
    if fields:
        embed["fields"] = fields
    if not (layout.title or layout.description or fields):
        embed["description"] = "(nothing to show yet)"  # Discord refuses an empty embed
    footer = []
    if layout.page_count > 1:
        footer.append(f"{layout.page_name(page)} ({page + 1}/{layout.page_count})")
    if state.host and snapshot.host_label:
        footer.append(f"host {snapshot.host_label}")
    if footer:
        embed["footer"] = {"text": cut(" · ".join(footer), limits.FOOTER)}
    embeds = [embed]
    charts: list[Chart] = []
    for widget in widgets:
        if widget.format != "chart" or len(embeds) >= limits.EMBEDS:
            continue
        data = snapshot.widgets.get(widget.id)
        chart_embed: dict[str, Any] = {
            "title": cut(widget.title or BLANK, limits.TITLE),
            "color": layout.color,
            "type": "rich",
        }
        if data is None or data.unavailable is not None or not data.history:
            reason = data.unavailable if data is not None and data.unavailable else "no history"
            chart_embed["description"] = f"{UNAVAILABLE} ({reason})"
        else:
            chart = Chart(f"chart-{widget.id}.png", widget.title, data.history, widget.unit)
            charts.append(chart)
            chart_embed["image"] = {"url": f"attachment://{chart.filename}"}
        embeds.append(chart_embed)
    _fit_total(embeds)
    payload: dict[str, Any] = {
        "embeds": embeds,
        "components": components(
            dashboard_id, layout, snapshot, ViewState(page, state.host, state.disk, state.game)
        ),
        # Explicit, though embeds never ping: a name an agent controls must not either.
        "allowed_mentions": NO_PINGS,
    }
    return Rendered(payload, tuple(charts), payload_hash(payload, charts))


def payload_hash(payload: dict[str, Any], charts: Sequence[Chart] = ()) -> str:
    """A stable digest of everything the message shows, charts by their data."""
    canonical = json.dumps(
        {"payload": payload, "charts": [[c.filename, c.points, c.unit] for c in charts]},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def message_chars(payload: dict[str, Any]) -> int:
    """The characters Discord counts toward its 6000 limit."""
    return sum(_embed_chars(e) for e in payload.get("embeds", []))
