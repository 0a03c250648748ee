"""The dashboards' pages in the web editor, per server: the list, a new dashboard from a
preset, and the Gridstack editor whose preview is the renderer's own payload drawn by the
shared Discord message component (web/templates/discord/message.html)."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

import aiohttp_jinja2
from aiohttp import web
from jinja2.utils import htmlsafe_json_dumps
from markupsafe import Markup

from bot.features import FeatureWeb
from bot.guild_objects import ForeignObject
from cogs.dashboards.layout import (
    BUTTON_ACTIONS,
    BUTTON_STYLES,
    FORMATS_FOR,
    SELECT_ACTIONS,
    SERVER_STATS,
    LayoutError,
    layout_to_json,
    parse_layout,
)
from cogs.dashboards.presets import PRESET_LABELS, preset
from web import forms
from web.auth import User, flash
from web.context import state_versions
from web.discord_view import payload_view
from web.drawn_pages import render_page
from web.errors import PageError
from web.forms import form_snowflake, form_str, read_form
from web.guild_page import managed_guild, page_context
from web.json_body import read_json

if TYPE_CHECKING:
    from cogs.dashboards.service import DashboardService

SERVICE_KEY: web.AppKey[Any] = web.AppKey("foundrycord_dashboards", object)
routes = web.RouteTableDef()
MAX_LAYOUT_BYTES = 256 * 1024  # a full 25-widget layout at Discord's limits is ~20 KiB
MAX_LAYOUT_DEPTH = 16  # a layout nests 5 deep (layout, widgets, widget, source, links)
VERSION_SCOPE = "dashboards"  # its state_versions counter (migration dash_0003)


def feature_web(service: DashboardService) -> FeatureWeb:
    return FeatureWeb.of_package(
        __file__, routes=[routes], tab="Dashboards", app_keys={SERVICE_KEY: service}
    )


def _service(request: web.Request) -> DashboardService:
    return request.config_dict[SERVICE_KEY]


def _text_channels(request: web.Request, guild_id: int) -> list[tuple[int, str]]:
    guild = _service(request).bot.get_guild(guild_id)
    if guild is None:
        return []
    return [(c.id, c.name) for c in guild.text_channels]


async def _dashboard(request: web.Request) -> tuple[int, User, Any]:
    """The server, its manager, and the route's dashboard, which must be that server's."""
    guild_id, user = await managed_guild(request)
    dashboard_id = forms.parse_id(request.match_info["dashboard_id"])
    if dashboard_id is None:
        raise PageError(404, "That is not a dashboard address. Pick one from the list.")
    record = _service(request).records.get(dashboard_id)
    if record is None or record.guild_id != guild_id:
        raise PageError(404, "This server has no such dashboard. Pick one from the list.")
    return guild_id, user, record


@routes.get("/guilds/{guild_id}/dashboards")
async def dashboard_list(request: web.Request) -> web.Response:
    guild_id, _ = await managed_guild(request)
    version = (await state_versions(request)).get(VERSION_SCOPE)
    records = await _service(request).store.of_guild(guild_id, version)
    channels = _text_channels(request, guild_id)
    health = _service(request).scheduler.health()
    context = {
        **page_context(request, guild_id, "dashboards", "Dashboards"),
        "dashboards": records,
        "channel_names": dict(channels),
        "channels": channels,
        "presets": PRESET_LABELS,
        "scheduler_health": health,
    }
    # everything the page shows: the dashboards by their counter, the live server's text
    # channels and name, the refresh loop's line (whole seconds: at most one drawing a second)
    key = (
        None
        if version is None
        else ("dashboards-list", guild_id, version, tuple(channels), health, context["title"])
    )
    return await render_page(request, "dashboards/list.html", context, key=key)


@routes.post("/guilds/{guild_id}/dashboards")
async def dashboard_create(request: web.Request) -> web.Response:
    guild_id, user = await managed_guild(request)
    form = await read_form(request)
    preset_name = form_str(form, "preset", max_len=32)
    channel_id = form_snowflake(form, "channel")
    assert preset_name is not None and channel_id is not None  # required fields
    if preset_name not in PRESET_LABELS:
        raise PageError(400, "Pick one of the presets.")
    name = form_str(form, "name", max_len=100, required=False) or PRESET_LABELS[preset_name]
    try:
        record = await _service(request).create(
            guild_id, channel_id, name, preset(preset_name), user.id
        )
    except ForeignObject:
        raise PageError(400, "Pick one of this server's text channels.") from None
    except ValueError as exc:
        raise PageError(409, str(exc)) from None
    await flash(request, f"Dashboard {record.name} created; it is being posted.")
    raise web.HTTPSeeOther(f"/guilds/{guild_id}/dashboards/{record.id}")


@routes.get("/guilds/{guild_id}/dashboards/{dashboard_id}")
async def dashboard_editor(request: web.Request) -> web.Response:
    guild_id, _, record = await _dashboard(request)
    service = _service(request)
    rendered = await service.preview(record.layout, guild_id, record.id)
    catalogue = _catalogue_json(service, _hosts(service, guild_id))
    context = {
        **page_context(request, guild_id, "dashboards", "Dashboards"),
        "title": f"{record.name} · Dashboards",
        "record": record,
        "channel_name": dict(_text_channels(request, guild_id)).get(record.channel_id),
        "layout_data": layout_to_json(record.layout),
        "catalogue_json": catalogue,
        "preview": _payload_view(rendered),
    }
    # everything the page shows: the preview by its digest and minute, as _payload_view
    key = (
        "dashboard-editor", record.id, record.name, record.channel_id, context["channel_name"],
        record.layout, catalogue, rendered.digest, int(time.time() // 60),
        context["title"], getattr(context["guild"], "name", None),
    ) if rendered.digest else None  # fmt: skip
    return await render_page(request, "dashboards/editor.html", context, key=key)


# The preview's message view by the rendered payload's digest and the minute it shows: the
# same message (data unchanged) is turned into HTML once, not on every request.
MAX_VIEWS = 64
_VIEWS: dict[tuple[str, int], Any] = {}


def _payload_view(rendered: Any) -> Any:
    if not rendered.digest:
        return payload_view(rendered.payload)
    key = (rendered.digest, int(time.time() // 60))
    view = _VIEWS.get(key)
    if view is None:
        if len(_VIEWS) >= MAX_VIEWS:
            _VIEWS.clear()
        view = _VIEWS[key] = payload_view(rendered.payload)
    return view


# The editor's catalogue as JSON by its hosts (the rest is fixed per process): made once.
_CATALOGUES: dict[tuple[tuple[str, str], ...], Markup] = {}


def _catalogue_json(service: DashboardService, hosts: list[list[str]]) -> Markup:
    key = tuple((key, label) for key, label in hosts)
    cached = _CATALOGUES.get(key)
    if cached is None:
        if len(_CATALOGUES) >= MAX_VIEWS:
            _CATALOGUES.clear()
        catalogue = {
            "formats": FORMATS_FOR,
            "stats": SERVER_STATS,
            "buttons": BUTTON_ACTIONS,
            "selects": SELECT_ACTIONS,
            "styles": list(BUTTON_STYLES),
            "hosts": hosts,
            "metrics": _metric_choices(service),
        }
        cached = _CATALOGUES[key] = htmlsafe_json_dumps(catalogue)
    return cached


def _hosts(service: DashboardService, guild_id: int) -> list[list[str]]:
    """[key, label] of each host this guild may see (keys are opaque; labels as shown)."""
    metrics = service.metrics
    if metrics is None:
        return []
    try:
        return [[h.key, h.label] for h in metrics.hosts(guild_id)]
    except Exception:
        return []  # the editor still works; metric widgets will say "unavailable"


def _metric_choices(service: DashboardService) -> list[dict[str, str]]:
    """The metric picker: every name monitoring writes (patterns with placeholders), its
    label and unit, and globs for tables."""
    metrics = service.metrics
    if metrics is None:
        return []
    specs = metrics.catalogue.specs
    choices = [{"name": s.pattern, "label": s.label, "unit": s.unit} for s in specs]
    families = dict.fromkeys(s.pattern.split(".", 1)[0] + ".*" for s in specs if "." in s.pattern)
    return choices + [
        {"name": glob, "label": f"all {glob} (table)", "unit": ""} for glob in families
    ]


async def _posted_layout(request: web.Request) -> Any:
    """The posted layout JSON; a 400/413 with {"errors": [...]} for a body too large, too
    deep, malformed or holding a number that is not finite (nothing is saved)."""
    try:
        return await read_json(request, max_bytes=MAX_LAYOUT_BYTES, max_depth=MAX_LAYOUT_DEPTH)
    except PageError as exc:
        body = {"text": json.dumps({"errors": [exc.message]}), "content_type": "application/json"}
        if exc.status == 413:
            raise web.HTTPRequestEntityTooLarge(
                max_size=MAX_LAYOUT_BYTES, actual_size=request.content_length or 0, **body
            ) from None
        raise web.HTTPBadRequest(**body) from None


def _preview_html(request: web.Request, payload: dict[str, Any]) -> str:
    return aiohttp_jinja2.render_string(
        "dashboards/preview.html", request, {"preview": payload_view(payload)}
    )


@routes.post("/guilds/{guild_id}/dashboards/{dashboard_id}/preview")
async def dashboard_preview(request: web.Request) -> web.Response:
    guild_id, _, record = await _dashboard(request)
    try:
        layout = parse_layout(await _posted_layout(request))
        _service(request).check_layout(layout, guild_id)
    except LayoutError as exc:
        return web.json_response({"errors": exc.errors}, status=422)
    rendered = await _service(request).preview(layout, guild_id, record.id)
    return web.json_response(
        {"payload": rendered.payload, "html": _preview_html(request, rendered.payload)}
    )


@routes.post("/guilds/{guild_id}/dashboards/{dashboard_id}/layout")
async def dashboard_save(request: web.Request) -> web.Response:
    guild_id, user, record = await _dashboard(request)
    try:
        layout = parse_layout(await _posted_layout(request))
    except LayoutError as exc:
        return web.json_response({"errors": exc.errors}, status=422)
    service = _service(request)
    try:
        await service.update_layout(record.id, layout, user.id)
    except LayoutError as exc:  # a metric monitoring never writes
        return web.json_response({"errors": exc.errors}, status=422)
    rendered = await service.preview(layout, guild_id, record.id)
    return web.json_response(
        {
            "saved": True,
            "payload": rendered.payload,
            "html": _preview_html(request, rendered.payload),
        }
    )


@routes.post("/guilds/{guild_id}/dashboards/{dashboard_id}/remove")
async def dashboard_remove(request: web.Request) -> web.Response:
    guild_id, user, record = await _dashboard(request)
    await _service(request).remove(record.id, user.id)
    await flash(request, f"Dashboard {record.name} removed, with its message.")
    raise web.HTTPSeeOther(f"/guilds/{guild_id}/dashboards")
