"""The templates' web pages for one server: the list, the jsTree structure editor, the diff
against the live server, and apply with live progress (the same job as /template apply)."""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import Any
from urllib.parse import quote

import aiohttp_jinja2
from aiohttp import web

from bot.features import FeatureWeb
from cogs.templates.document import (
    MAX_DOCUMENT_BYTES,
    MAX_NESTING,
    TemplateError,
    load_document,
    to_document,
)
from cogs.templates.drift import DriftService, changed_lines
from cogs.templates.history import snapshot_diff
from cogs.templates.planning.model import ApplyOptions
from cogs.templates.service import (
    TemplateService,
    builtin_names,
    shared_name,
    split_shared_name,
)
from cogs.templates.store import MAX_TEMPLATES_PER_GUILD, ApplyBusy
from web.auth import User, flash
from web.context import get_context, state_versions
from web.drawn_pages import render_page
from web.errors import PageError
from web.forms import form_snowflake, form_str, parse_id, read_form
from web.guild_page import managed_guild, page_context
from web.json_body import read_json

log = logging.getLogger(__name__)

SERVICE_KEY = web.AppKey("templates_service", TemplateService)
DRIFT_KEY = web.AppKey("templates_drift", DriftService)
routes = web.RouteTableDef()
VERSION_SCOPE = "templates"  # its state_versions counter (migration templates_0005)


async def _allowed(request: web.Request) -> tuple[int, User, TemplateService]:
    """(server id, the signed-in manager, the service): `web.guild_page.managed_guild`."""
    guild_id, user = await managed_guild(request)
    return guild_id, user, request.config_dict[SERVICE_KEY]


def _errors(errors: list[str], status: int = 400) -> web.Response:
    return web.json_response({"errors": errors}, status=status)


@routes.get("/guilds/{guild_id}/templates")
async def template_list(request: web.Request) -> web.Response:
    guild_id, _, service = await _allowed(request)
    version = (await state_versions(request)).get(VERSION_SCOPE)
    rows = await service.store.summaries(guild_id, version)
    live = get_context(request).live
    own = [row for row in rows if row.guild_id == guild_id]
    shared = [
        {
            "name": shared_name(row.name, row.guild_id),
            "origin": _server_label(live.guild(row.guild_id), row.guild_id),
        }
        for row in rows
        if row.guild_id != guild_id
    ]
    context = {
        **page_context(request, guild_id, "templates", "Templates"),
        "rows": own,
        "shared": shared,
        "builtins": builtin_names(),
        "max_templates": MAX_TEMPLATES_PER_GUILD,
    }
    # everything the page shows: the saved templates by their counter, the servers' names
    key = (
        None
        if version is None
        else (
            "templates-list", guild_id, version, context["title"],
            tuple(tuple(entry.values()) for entry in shared),
        )
    )  # fmt: skip
    return await render_page(request, "templates/list.html", context, key=key)


def _server_label(guild: Any, guild_id: int) -> str:
    name = getattr(guild, "name", None) or "a server"
    return f"{name} (server id {guild_id})"


@routes.post("/guilds/{guild_id}/templates/snapshot")
async def save_snapshot(request: web.Request) -> web.Response:
    guild_id, user, service = await _allowed(request)
    form = await read_form(request)
    try:
        name = form_str(form, "name", max_len=100) or ""
    except PageError:
        await flash(request, "Give the template a name of 1 to 100 characters.", "danger")
        raise web.HTTPSeeOther(f"/guilds/{guild_id}/templates") from None
    try:
        await service.save_snapshot(guild_id, name, user.id)
    except TemplateError as exc:
        await flash(request, f"Not saved: {'; '.join(exc.errors)}", "danger")
        raise web.HTTPSeeOther(f"/guilds/{guild_id}/templates") from None
    await flash(request, f"Saved this server as {name}.")
    raise web.HTTPSeeOther(f"/guilds/{guild_id}/templates/edit?name={quote(name, safe='')}")


@routes.post("/guilds/{guild_id}/templates/delete")
async def delete_template(request: web.Request) -> web.Response:
    guild_id, _, service = await _allowed(request)
    form = await read_form(request)
    name = form_str(form, "name", max_len=100)
    if await service.store.remove(guild_id, name or ""):
        await flash(request, f"Deleted {name}.")
    else:
        await flash(request, f"This server has no template called {name}.", "danger")
    raise web.HTTPSeeOther(f"/guilds/{guild_id}/templates")


@routes.get("/guilds/{guild_id}/templates/edit")
async def editor(request: web.Request) -> web.Response:
    guild_id, _, service = await _allowed(request)
    name = request.query.get("name", "")
    live = get_context(request).live
    origin = None
    qualified = split_shared_name(name)
    if qualified is not None and await service.store.find(guild_id, name) is None:
        origin = _server_label(live.guild(qualified[1]), qualified[1])
    return aiohttp_jinja2.render_template(
        "templates/editor.html",
        request,
        {
            **page_context(request, guild_id, "templates", "Template editor"),
            "name": name,
            "origin": origin,
        },
    )


@routes.get("/guilds/{guild_id}/templates/api/document")
async def get_document(request: web.Request) -> web.Response:
    guild_id, _, service = await _allowed(request)
    name = request.query.get("name", "")
    if not name:
        return web.json_response({"version": 2, "name": "", "roles": [], "channels": []})
    # This server's own template by (id, updated_at), which every save changes, and a
    # built-in by name: the JSON is made once per version, not parsed again per request.
    # With the 'templates' counter unchanged, no template was written: skip the query.
    counter = (await state_versions(request)).get(VERSION_SCOPE)
    version = await service.store.version(guild_id, name, counter)
    key = (guild_id, name, version) if version is not None else None
    if key is None and name in builtin_names():
        key = (0, name, None)
    body = _DOCUMENTS.get(key) if key is not None else None
    if body is None:
        try:
            _, template = await service.find(guild_id, name)
        except (LookupError, TemplateError) as exc:
            return _errors([str(exc)], 404)
        body = json.dumps(to_document(template))
        if key is not None:
            if len(_DOCUMENTS) >= MAX_DOCUMENTS:
                _DOCUMENTS.clear()
            _DOCUMENTS[key] = body
    return web.Response(text=body, content_type="application/json")


# get_document's answers by (server, name, version); see there.
MAX_DOCUMENTS = 64
_DOCUMENTS: dict[tuple[int, str, object], str] = {}


# The body carries the document plus a few options: room for both, one level of wrapping.
MAX_BODY_BYTES = MAX_DOCUMENT_BYTES + 64 * 1024
MAX_BODY_DEPTH = MAX_NESTING + 1


async def _document(request: web.Request) -> tuple[dict[str, Any], Any]:
    """(the body, the posted template); TemplateError naming every problem, from a body
    that is not JSON, too large or too deep to a document that breaks a rule."""
    try:
        body = await read_json(request, max_bytes=MAX_BODY_BYTES, max_depth=MAX_BODY_DEPTH)
    except PageError as exc:
        refused = TemplateError([f"$: {exc.message}"])
        refused.status = exc.status  # 413 for a body too large
        raise refused from None
    if not isinstance(body, dict):
        raise TemplateError(['$: send a JSON object {"document": {...}}'])
    doc = body.get("document")
    if not isinstance(doc, dict):
        raise TemplateError(["$.document: a template is a JSON object"])
    names = body.get("delete_with_messages", [])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise TemplateError(["$.delete_with_messages: a list of channel names"])
    # JSON true or false only: bool() would read the string "false" as true
    flags = [
        f"$.{key}: {body[key]!r} is not a boolean; send true or false"
        for key in BOOLEAN_FIELDS
        if key in body and not isinstance(body[key], bool)
    ]
    if flags:
        raise TemplateError(flags)
    return body, load_document(doc)


# The options a body may carry beside the document, each JSON true or false.
BOOLEAN_FIELDS = ("shared", "prune", "roles")


@routes.post("/guilds/{guild_id}/templates/api/save")
async def save_document(request: web.Request) -> web.Response:
    guild_id, user, service = await _allowed(request)
    try:
        body, template = await _document(request)
    except TemplateError as exc:
        return _errors(exc.errors, getattr(exc, "status", 400))
    try:
        await service.store.save(
            guild_id, template.name, to_document(template), user.id, shared=body.get("shared")
        )
    except TemplateError as exc:
        return _errors(exc.errors)
    return web.json_response({"saved": template.name})


def _options(body: dict[str, Any]) -> ApplyOptions:
    """The apply options of a body that `_document` checked (booleans, a list of names)."""
    return ApplyOptions(
        prune=body.get("prune", False),
        roles=body.get("roles", True),
        confirm_deletes=frozenset(body.get("delete_with_messages", [])),
    )


@routes.post("/guilds/{guild_id}/templates/api/plan")
async def plan(request: web.Request) -> web.Response:
    _, _, prepared = await _prepare(request)
    if isinstance(prepared, web.Response):
        return prepared
    return web.json_response(
        {
            "summary": prepared.plan.summary(),
            "tree": prepared.plan.tree,
            "steps": len(prepared.plan.steps),
            "refused": prepared.refused,
        }
    )


async def _prepare(request: web.Request) -> tuple[Any, TemplateService, Any]:
    """(user, service, the prepared apply) for the posted document, or an error response in
    place of the prepared apply when the document is refused."""
    guild_id, user, service = await _allowed(request)
    try:
        body, template = await _document(request)
    except TemplateError as exc:
        return user, service, _errors(exc.errors, getattr(exc, "status", 400))
    ref = await _ref_for(service, guild_id, template.name)
    prepared = await service.prepare(guild_id, ref, template, _options(body), actor_id=user.id)
    return user, service, prepared


async def _ref_for(service: TemplateService, guild_id: int, name: str) -> str:
    """The id map of the saved template of that name, so renames are recognised."""
    row = await service.store.find(guild_id, name)
    return f"db:{row.id}" if row is not None else f"web:{name}"


@routes.post("/guilds/{guild_id}/templates/api/apply")
async def apply(request: web.Request) -> web.Response:
    user, service, prepared = await _prepare(request)
    if isinstance(prepared, web.Response):
        return prepared
    if prepared.refused:
        return _errors(prepared.refused)
    if prepared.plan.empty:
        return web.json_response({"job": None, "summary": "nothing to change"})
    try:
        job = await service.start(prepared, user.id)
    except ApplyBusy as exc:
        return _errors([str(exc)], 409)
    return web.json_response({"job": job.id, "steps": len(job.steps)})


@routes.get("/guilds/{guild_id}/templates/api/progress")
async def progress(request: web.Request) -> web.Response:
    guild_id, _, service = await _allowed(request)
    latest = await service.progress(guild_id)
    if latest is None:
        return web.json_response({"job": None})
    job_id, update = latest
    return web.json_response({"job": job_id, "text": update.text(), **dataclasses.asdict(update)})


@routes.post("/guilds/{guild_id}/templates/api/cancel")
async def cancel(request: web.Request) -> web.Response:
    guild_id, _, service = await _allowed(request)
    return web.json_response({"cancelled": await service.request_cancel(guild_id)})


def feature_web(service: TemplateService, drift: DriftService | None = None) -> FeatureWeb:
    keys: dict[Any, Any] = {SERVICE_KEY: service}
    if drift is not None:
        keys[DRIFT_KEY] = drift
    return FeatureWeb.of_package(__file__, routes=[routes], tab="Templates", app_keys=keys)


# drift: pin, unpin, and how the server differs from its pin --------------------------------


def _drift(request: web.Request) -> DriftService:
    found = request.config_dict.get(DRIFT_KEY)
    if found is None:
        raise PageError(404, "Drift is not available here.")
    return found


@routes.get("/guilds/{guild_id}/templates/drift")
async def drift_page(request: web.Request) -> web.Response:
    guild_id, _, service = await _allowed(request)
    drift = _drift(request)
    live = get_context(request).live
    pin = await drift.pins.get(guild_id)
    lines: list[str] = []
    summary, problem = "", ""
    if pin is not None:
        try:
            _, plan = await drift.compare(guild_id, pin.template_name)
            lines, summary = changed_lines(plan), "" if plan.empty else plan.summary()
        except (LookupError, TemplateError) as exc:
            problem = str(exc)
    channels = live.text_channels(guild_id)
    rows = await service.store.list(guild_id)
    return aiohttp_jinja2.render_template(
        "templates/drift.html",
        request,
        {
            "title": "Drift",
            "guild_id": guild_id,
            "guild": live.guild(guild_id),
            "pin": pin,
            "channel_names": {c.id: c.name for c in channels},
            "channels": channels,
            "names": [r.name for r in rows if r.guild_id == guild_id] + builtin_names(),
            "lines": lines,
            "summary": summary,
            "problem": problem,
        },
    )


@routes.post("/guilds/{guild_id}/templates/pin")
async def pin_template(request: web.Request) -> web.Response:
    guild_id, user, _ = await _allowed(request)
    drift = _drift(request)
    form = await read_form(request)
    back = f"/guilds/{guild_id}/templates/drift"
    name = form_str(form, "name", max_len=100)
    channel_id = form_snowflake(form, "channel")
    # the report channel must be a text channel of this server (checked again at each report)
    if channel_id not in {c.id for c in get_context(request).live.text_channels(guild_id)}:
        raise PageError(400, "channel: not a text channel of this server; pick one from the list")
    try:
        plan = await drift.pin(guild_id, name or "", channel_id, user.id)
    except (LookupError, TemplateError) as exc:
        text = "; ".join(exc.errors) if isinstance(exc, TemplateError) else str(exc)
        raise PageError(400, f"name: {text}") from None
    state = "It matches now." if plan.empty else f"It differs already: {plan.summary()}."
    await flash(request, f"Pinned {name}. {state}")
    raise web.HTTPSeeOther(back)


def _snapshot_id(raw: str | None) -> int | None:
    value = parse_id(raw or "")
    return value if value is not None and 1 <= value <= 2**31 - 1 else None


@routes.get("/guilds/{guild_id}/templates/history")
async def history_page(request: web.Request) -> web.Response:
    """Scheduled snapshots, newest first, and the difference between any two."""
    guild_id, _, _ = await _allowed(request)
    store = _drift(request).snapshots
    listed = await store.list(guild_id)
    diff: list[str] | None = None
    a, b = _snapshot_id(request.query.get("a")), _snapshot_id(request.query.get("b"))
    if request.query.get("a") or request.query.get("b"):
        first = await store.get(guild_id, a) if a else None
        second = await store.get(guild_id, b) if b else None
        if first is None or second is None:
            raise PageError(404, "No such snapshot of this server; pick two from the list.")
        (older_at, older), (newer_at, newer) = sorted([first, second], key=lambda x: x[0])
        diff = snapshot_diff(
            older,
            newer,
            older_name=f"{older_at:%Y-%m-%d %H:%M}",
            newer_name=f"{newer_at:%Y-%m-%d %H:%M}",
        )
    return aiohttp_jinja2.render_template(
        "templates/history.html",
        request,
        {
            "title": "Snapshots",
            "guild_id": guild_id,
            "guild": get_context(request).live.guild(guild_id),
            "snapshots": listed,
            "a": a,
            "b": b,
            "diff": diff,
        },
    )


@routes.post("/guilds/{guild_id}/templates/history/{snapshot_id}/restore")
async def restore_snapshot(request: web.Request) -> web.Response:
    """A snapshot becomes a template of this server, opened in the editor: its diff against
    the live server and the usual apply."""
    guild_id, user, service = await _allowed(request)
    snapshot_id = _snapshot_id(request.match_info["snapshot_id"])
    found = await _drift(request).snapshots.get(guild_id, snapshot_id) if snapshot_id else None
    if found is None:
        raise PageError(404, "No such snapshot of this server; reload the page.")
    taken_at, template = found
    name = f"snapshot {taken_at:%Y-%m-%d %H%M}"
    template.name = name
    try:
        await service.store.save(guild_id, name, to_document(template), user.id)
    except TemplateError as exc:
        await flash(request, f"Not restored: {'; '.join(exc.errors)}", "danger")
        raise web.HTTPSeeOther(f"/guilds/{guild_id}/templates/history") from None
    await flash(request, f"Saved the snapshot as {name}: check the diff, then apply it.")
    raise web.HTTPSeeOther(f"/guilds/{guild_id}/templates/edit?name={quote(name, safe='')}")


@routes.post("/guilds/{guild_id}/templates/unpin")
async def unpin_template(request: web.Request) -> web.Response:
    guild_id, _, _ = await _allowed(request)
    removed = await _drift(request).unpin(guild_id)
    await flash(request, "Unpinned." if removed else "No template was pinned.")
    raise web.HTTPSeeOther(f"/guilds/{guild_id}/templates/drift")
