"""The layout model: an ordered three-column grid of widgets plus actions, parsed from JSON
with every error named by its path, and refused when Discord could not show it."""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.metrics import MetricCatalogue, UnknownMetric
from cogs.dashboards import limits

SOURCE_KINDS = ("metric", "containers", "services", "games", "server", "markdown", "links")
SERVER_STATS = ("members", "online", "boosts", "channels")
FORMATS = ("value", "bar", "sparkline", "table", "status", "chart")
# Which formats make sense for which source.
FORMATS_FOR: dict[str, tuple[str, ...]] = {
    "metric": ("value", "bar", "sparkline", "table", "chart"),
    "containers": ("status", "table", "value"),
    "services": ("status", "table", "value"),
    # status: a line per game server; value: how many are online; table: the player list
    # of the server chosen with the "game" select
    "games": ("status", "value", "table"),
    "server": ("value",),
    "markdown": ("value",),
    "links": ("value",),
}
BUTTON_ACTIONS = ("refresh", "prev_page", "next_page", "run", "details")
SELECT_ACTIONS = ("host", "disk", "page", "game")
BUTTON_STYLES = {"primary": 1, "secondary": 2, "success": 3, "danger": 4}
MIN_INTERVAL = 10
DEFAULT_INTERVAL = 30
MAX_INTERVAL = 86_400
MAX_PAGES = limits.SELECT_OPTIONS
MARKDOWN_MAX = limits.FIELD_VALUE
MAX_LINKS = 10
MAX_SCALE = 1e15  # a bar's full scale: beyond any byte count or rate a host reports
# Used with fullmatch: `$` would also match before a trailing newline.
_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
_METRIC = re.compile(r"[A-Za-z0-9_./{}*:-]{1,120}")


@dataclass(frozen=True, slots=True)
class Link:
    label: str
    url: str


@dataclass(frozen=True, slots=True)
class Source:
    """Where a widget's data comes from. `host` empty means the dashboard's chosen host; a
    metric may name `{disk}` (the chosen disk) and, for tables, end in `*`."""

    kind: str
    host: str = ""
    metric: str = ""
    stat: str = ""
    text: str = ""
    links: tuple[Link, ...] = ()


@dataclass(frozen=True, slots=True)
class Widget:
    id: str
    title: str
    width: int
    source: Source
    format: str
    page: int = 0
    unit: str = ""
    max: float = 100.0  # the full scale of a bar


@dataclass(frozen=True, slots=True)
class Action:
    kind: str  # "button" or "select"
    action: str
    label: str = ""
    style: str = "secondary"
    run: str = ""  # the named action a "run" button starts

    @property
    def key(self) -> str:
        """The custom_id suffix that identifies this action on the message."""
        return f"run:{self.run}" if self.action == "run" else self.action


@dataclass(frozen=True, slots=True)
class Layout:
    title: str
    widgets: tuple[Widget, ...]
    actions: tuple[Action, ...] = ()
    description: str = ""
    color: int = 0x5865F2
    interval: int = DEFAULT_INTERVAL
    page_names: tuple[str, ...] = ()

    @property
    def page_count(self) -> int:
        return max([w.page for w in self.widgets] + [len(self.page_names) - 1, 0]) + 1

    def page_name(self, page: int) -> str:
        if page < len(self.page_names) and self.page_names[page]:
            return self.page_names[page]
        return f"Page {page + 1}"

    def page_widgets(self, page: int) -> list[Widget]:
        return [w for w in self.widgets if w.page == page]


@dataclass
class LayoutError(ValueError):
    """Every problem found, each as "path: message"; nothing of the layout was applied."""

    errors: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return "; ".join(self.errors)


class _Errors:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, path: str, message: str) -> None:
        self.items.append(f"{path}: {message}" if path else message)


def _text(
    errors: _Errors,
    data: dict[str, Any],
    key: str,
    path: str,
    *,
    limit: int,
    default: str | None = None,
) -> str:
    value = data.get(key, default)
    where = f"{path}.{key}" if path else key
    if value is None:
        errors.add(where, "is required")
        return ""
    if not isinstance(value, str):
        errors.add(where, "must be text")
        return ""
    if len(value) > limit:
        errors.add(where, f"is {len(value)} characters; Discord allows at most {limit}")
    return value


def _int(
    errors: _Errors, data: dict[str, Any], key: str, path: str, default: int, lo: int, hi: int
) -> int:
    value = data.get(key, default)
    where = f"{path}.{key}" if path else key
    if isinstance(value, bool) or not isinstance(value, int):
        errors.add(where, "must be a whole number")
        return default
    if not lo <= value <= hi:
        errors.add(where, f"must be between {lo} and {hi}")
        return default
    return value


def _is_one_of(value: object, choices: Collection[str]) -> bool:
    """Whether a decoded JSON value is one of `choices`: text first, so a list or an object
    (unhashable) is simply not one, never a TypeError."""
    return isinstance(value, str) and value in choices


def _is_number_within(value: object, lo: float, hi: float) -> bool:
    """Whether a decoded JSON value is a finite number with lo < value <= hi. An int is
    compared as it is: math.isfinite raises OverflowError on one beyond a float's range."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if isinstance(value, float) and not math.isfinite(value):
        return False
    return lo < value <= hi


def _unknown(errors: _Errors, data: dict[str, Any], allowed: Sequence[str], path: str) -> None:
    for key in data:
        if key not in allowed:
            errors.add(f"{path}.{key}" if path else key, "is not a known field")


def _parse_source(errors: _Errors, data: Any, path: str) -> Source:
    if not isinstance(data, dict):
        errors.add(path, "must be an object")
        return Source("markdown")
    _unknown(errors, data, ("kind", "host", "metric", "stat", "text", "links"), path)
    kind = data.get("kind")
    if not _is_one_of(kind, SOURCE_KINDS):
        errors.add(f"{path}.kind", f"must be one of: {', '.join(SOURCE_KINDS)}")
        return Source("markdown")
    host = _text(errors, data, "host", path, limit=100, default="")
    if kind == "metric":
        metric = _text(errors, data, "metric", path, limit=120)
        if metric and not _METRIC.fullmatch(metric):
            errors.add(f"{path}.metric", "may hold letters, digits and . _ / - : { } *")
        return Source(kind, host=host, metric=metric)
    if kind == "server":
        stat = data.get("stat")
        if not _is_one_of(stat, SERVER_STATS):
            errors.add(f"{path}.stat", f"must be one of: {', '.join(SERVER_STATS)}")
            stat = "members"
        return Source(kind, stat=str(stat))
    if kind == "markdown":
        return Source(kind, text=_text(errors, data, "text", path, limit=MARKDOWN_MAX))
    if kind == "links":
        raw = data.get("links")
        if not isinstance(raw, list) or not raw:
            errors.add(f"{path}.links", "must be a list of {label, url}")
            return Source(kind)
        if len(raw) > MAX_LINKS:
            errors.add(f"{path}.links", f"has {len(raw)} links; at most {MAX_LINKS}")
        links = []
        for i, item in enumerate(raw[:MAX_LINKS]):
            where = f"{path}.links[{i}]"
            if not isinstance(item, dict):
                errors.add(where, "must be an object with label and url")
                continue
            label = _text(errors, item, "label", where, limit=80)
            url = _text(errors, item, "url", where, limit=300)
            if url and not url.startswith(("https://", "http://")):
                errors.add(f"{where}.url", "must start with https:// or http://")
            links.append(Link(label, url))
        return Source(kind, links=tuple(links))
    return Source(kind, host=host)  # containers, services


def _parse_widget(errors: _Errors, data: Any, path: str, seen: set[str]) -> Widget | None:
    if not isinstance(data, dict):
        errors.add(path, "must be an object")
        return None
    _unknown(
        errors, data, ("id", "title", "width", "source", "format", "page", "unit", "max"), path
    )
    widget_id = data.get("id")
    if not isinstance(widget_id, str) or not _ID.fullmatch(widget_id):
        errors.add(f"{path}.id", "must be 1-32 letters, digits, - or _")
        widget_id = ""
    elif widget_id in seen:
        errors.add(f"{path}.id", f"{widget_id!r} is used by another widget")
    seen.add(widget_id)
    title = _text(errors, data, "title", path, limit=limits.FIELD_NAME)
    width = _int(errors, data, "width", path, 1, 1, limits.GRID_COLUMNS)
    source = _parse_source(errors, data.get("source"), f"{path}.source")
    fmt = data.get("format", "value")
    if not _is_one_of(fmt, FORMATS):
        errors.add(f"{path}.format", f"must be one of: {', '.join(FORMATS)}")
        fmt = "value"
    elif fmt not in FORMATS_FOR[source.kind]:
        allowed = ", ".join(FORMATS_FOR[source.kind])
        errors.add(f"{path}.format", f"{fmt!r} does not suit a {source.kind} source ({allowed})")
    if "*" in source.metric and fmt in ("sparkline", "chart"):
        errors.add(
            f"{path}.source.metric",
            "a metric with * shows a table, or the highest of its values (value, bar)",
        )
    page = _int(errors, data, "page", path, 0, 0, MAX_PAGES - 1)
    unit = _text(errors, data, "unit", path, limit=12, default="")
    scale = data.get("max", 100.0)
    if not _is_number_within(scale, 0, MAX_SCALE):  # 1e999 parses as inf: never stored
        errors.add(f"{path}.max", f"must be a finite number above 0 and at most {MAX_SCALE:g}")
        scale = 100.0
    return Widget(widget_id, title, width, source, fmt, page, unit, float(scale))


def _parse_action(errors: _Errors, data: Any, path: str) -> Action | None:
    if not isinstance(data, dict):
        errors.add(path, "must be an object")
        return None
    _unknown(errors, data, ("type", "action", "label", "style", "run"), path)
    kind = data.get("type")
    if not _is_one_of(kind, ("button", "select")):
        errors.add(f"{path}.type", "must be button or select")
        return None
    choices = BUTTON_ACTIONS if kind == "button" else SELECT_ACTIONS
    action = data.get("action")
    if not _is_one_of(action, choices):
        errors.add(f"{path}.action", f"a {kind} must be one of: {', '.join(choices)}")
        return None
    limit = limits.BUTTON_LABEL if kind == "button" else limits.SELECT_PLACEHOLDER
    label = _text(errors, data, "label", path, limit=limit, default="")
    style = data.get("style", "secondary")
    if not _is_one_of(style, BUTTON_STYLES):
        errors.add(f"{path}.style", f"must be one of: {', '.join(BUTTON_STYLES)}")
        style = "secondary"
    run = ""
    if action == "run":
        run = _text(errors, data, "run", path, limit=32)
        if run and not _ID.fullmatch(run):
            errors.add(f"{path}.run", "must be 1-32 letters, digits, - or _")
    return Action(kind, action, label, style, run)


def parse_layout(data: Any) -> Layout:
    """A Layout from decoded JSON, or LayoutError listing every problem by path."""
    errors = _Errors()
    if not isinstance(data, dict):
        raise LayoutError(["the layout must be a JSON object"])
    _unknown(
        errors,
        data,
        ("title", "description", "color", "interval", "widgets", "actions", "pages"),
        "",
    )
    title = _text(errors, data, "title", "", limit=limits.TITLE)
    description = _text(errors, data, "description", "", limit=limits.DESCRIPTION, default="")
    color = _int(errors, data, "color", "", 0x5865F2, 0, 0xFFFFFF)
    interval = _int(errors, data, "interval", "", DEFAULT_INTERVAL, MIN_INTERVAL, MAX_INTERVAL)
    pages_raw = data.get("pages", [])
    page_names: list[str] = []
    if not isinstance(pages_raw, list) or not all(isinstance(p, str) for p in pages_raw):
        errors.add("pages", "must be a list of page names")
    elif len(pages_raw) > MAX_PAGES:
        errors.add("pages", f"has {len(pages_raw)} pages; at most {MAX_PAGES}")
    else:
        for i, name in enumerate(pages_raw):
            if len(name) > limits.OPTION_TEXT:
                errors.add(f"pages[{i}]", f"is longer than {limits.OPTION_TEXT} characters")
        page_names = list(pages_raw)
    widgets_raw = data.get("widgets")
    widgets: list[Widget] = []
    if not isinstance(widgets_raw, list):
        errors.add("widgets", "must be a list")
    else:
        seen: set[str] = set()
        for i, item in enumerate(widgets_raw):
            widget = _parse_widget(errors, item, f"widgets[{i}]", seen)
            if widget is not None:
                widgets.append(widget)
    actions_raw = data.get("actions", [])
    actions: list[Action] = []
    if not isinstance(actions_raw, list):
        errors.add("actions", "must be a list")
    else:
        keys: set[str] = set()
        for i, item in enumerate(actions_raw):
            action = _parse_action(errors, item, f"actions[{i}]")
            if action is None:
                continue
            if action.key in keys:
                errors.add(f"actions[{i}]", f"{action.key!r} appears twice")
            keys.add(action.key)
            actions.append(action)
    if errors.items:
        raise LayoutError(errors.items)
    layout = Layout(
        title=title,
        widgets=tuple(widgets),
        actions=tuple(actions),
        description=description,
        color=color,
        interval=interval,
        page_names=tuple(page_names),
    )
    problems = capacity_problems(layout)
    if problems:
        raise LayoutError(problems)
    return layout


def unknown_metrics(layout: Layout, catalogue: MetricCatalogue) -> list[str]:
    """ "path: why" for each metric widget naming a metric the producer never writes."""
    problems = []
    for index, widget in enumerate(layout.widgets):
        if widget.source.kind != "metric":
            continue
        try:
            catalogue.check(widget.source.metric, allow_glob=True)
        except UnknownMetric as exc:
            problems.append(f"widgets[{index}].source.metric: {exc}")
    return problems


def grid_rows(widgets: Sequence[Widget]) -> list[list[Widget]]:
    """Pack widgets, in order, into rows of at most three columns."""
    rows: list[list[Widget]] = []
    used = limits.GRID_COLUMNS
    for widget in widgets:
        if widget.format == "chart":
            continue  # drawn as an embed image, not a field
        if used + widget.width > limits.GRID_COLUMNS:
            rows.append([])
            used = 0
        rows[-1].append(widget)
        used += widget.width
    return rows


def spacers_after(rows: Sequence[Sequence[Widget]], index: int) -> int:
    """Blank inline fields that end row `index` early, so that Discord starts the next row
    of inline fields where the grid does (a full-width field breaks the row by itself)."""
    row = rows[index]
    if index + 1 >= len(rows) or len(row) >= limits.GRID_COLUMNS:
        return 0
    if any(w.width >= limits.GRID_COLUMNS for w in (*row, *rows[index + 1])):
        return 0
    return limits.GRID_COLUMNS - len(row)


def field_count(widgets: Sequence[Widget]) -> int:
    """Fields the grid needs: one per widget, plus the row spacers."""
    rows = grid_rows(widgets)
    return sum(len(row) + spacers_after(rows, i) for i, row in enumerate(rows))


def action_rows(actions: Sequence[Action]) -> list[list[Action]]:
    """Buttons five to a row in order; each select on a row of its own after them."""
    buttons = [a for a in actions if a.kind == "button"]
    rows = [
        buttons[i : i + limits.BUTTONS_PER_ROW]
        for i in range(0, len(buttons), limits.BUTTONS_PER_ROW)
    ]
    rows += [[a] for a in actions if a.kind == "select"]
    return rows


def capacity_problems(layout: Layout) -> list[str]:
    """What Discord could not show: too many fields, embeds or action rows."""
    problems = []
    for page in range(layout.page_count):
        widgets = layout.page_widgets(page)
        fields = field_count(widgets)
        if fields > limits.FIELDS:
            problems.append(
                f"widgets: {layout.page_name(page)} needs {fields} fields (widgets plus row "
                f"spacers); Discord shows at most {limits.FIELDS} fields in an embed"
            )
        charts = sum(1 for w in widgets if w.format == "chart")
        if charts + 1 > limits.EMBEDS:
            problems.append(
                f"widgets: {layout.page_name(page)} has {charts} charts; each needs an embed "
                f"and Discord allows at most {limits.EMBEDS} embeds per message (one is the "
                "dashboard's own)"
            )
    rows = len(action_rows(layout.actions))
    if rows > limits.ACTION_ROWS:
        problems.append(
            f"actions: need {rows} action rows (5 buttons to a row, one per select); "
            f"Discord allows at most {limits.ACTION_ROWS}"
        )
    return problems


def layout_to_json(layout: Layout) -> dict[str, Any]:
    """The JSON form parse_layout reads back unchanged."""

    def source(s: Source) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": s.kind}
        if s.kind in ("metric", "containers", "services") and s.host:
            out["host"] = s.host
        if s.kind == "metric":
            out["metric"] = s.metric
        if s.kind == "server":
            out["stat"] = s.stat
        if s.kind == "markdown":
            out["text"] = s.text
        if s.kind == "links":
            out["links"] = [{"label": x.label, "url": x.url} for x in s.links]
        return out

    def action(a: Action) -> dict[str, Any]:
        out: dict[str, Any] = {"type": a.kind, "action": a.action}
        if a.label:
            out["label"] = a.label
        if a.kind == "button":
            out["style"] = a.style
        if a.run:
            out["run"] = a.run
        return out

    data: dict[str, Any] = {
        "title": layout.title,
        "description": layout.description,
        "color": layout.color,
        "interval": layout.interval,
        "widgets": [
            {
                "id": w.id,
                "title": w.title,
                "width": w.width,
                "source": source(w.source),
                "format": w.format,
                "page": w.page,
                "unit": w.unit,
                "max": w.max,
            }
            for w in layout.widgets
        ],
        "actions": [action(a) for a in layout.actions],
    }
    if layout.page_names:
        data["pages"] = list(layout.page_names)
    return data
