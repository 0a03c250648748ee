"""The server list, owner approval of new servers, and each server's settings form."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from bot.guild_settings import SettingsFormError
from web import forms
from web.auth import flash, require_owner, require_user
from web.context import WebContext, get_context, state_versions
from web.errors import PageError
from web.guild_page import managed_guild, page_context

log = logging.getLogger(__name__)

routes = web.RouteTableDef()


async def _manageable(request: web.Request, ctx: WebContext, user_id: int) -> list[Any]:
    versions = await state_versions(request)
    approved = {
        record.id for record in await ctx.guild_state.records(versions, "approved", present=True)
    }
    candidates = [guild for guild in ctx.live.guilds() if guild.id in approved]
    # Eager tasks: a check answered from the bot's cache finishes at once, without a trip
    # through the event loop; only checks that must ask Discord wait, concurrently.
    loop = asyncio.get_running_loop()
    checks = [
        asyncio.Task(ctx.live.can_manage(g.id, user_id), loop=loop, eager_start=True)
        for g in candidates
    ]
    if all(check.done() for check in checks):
        allowed = [check.result() for check in checks]
    else:
        allowed = await asyncio.gather(*checks)
    return sorted(
        (g for g, ok in zip(candidates, allowed, strict=True) if ok), key=lambda g: g.name.lower()
    )


@routes.get("/guilds")
async def guild_list(request: web.Request) -> web.Response:
    user = await require_user(request)
    ctx = get_context(request)
    is_owner = ctx.is_owner(user.id)
    versions = await state_versions(request)
    pending = await ctx.guild_state.records(versions, "pending", present=True) if is_owner else []
    left = await ctx.guild_state.records(versions, present=False) if is_owner else []
    retention = ctx.settings.left_guild_retention_days
    return aiohttp_jinja2.render_template(
        "guilds.html",
        request,
        {
            "title": "Servers",
            "guilds": await _manageable(request, ctx, user.id),
            "pending": pending,
            "left": sorted(left, key=lambda r: r.left_at, reverse=True),
            "kept_until": {
                r.id: r.left_at + timedelta(days=retention) for r in left if retention > 0
            },
            "live_guilds": {g.id: g for g in ctx.live.guilds()},
            "is_owner": is_owner,
        },
    )


async def _decide(request: web.Request, approve: bool) -> web.Response:
    user = await require_owner(request)
    ctx = get_context(request)
    guild_id = forms.guild_id(request)
    versions = await state_versions(request)
    record = await ctx.guild_state.record(versions, guild_id)
    if record is None:
        raise PageError(404, "FoundryCord has no record of that server. Reload the server list.")
    if record.left_at is not None:
        raise PageError(409, "The bot is not in that server any more; reload the server list.")
    status = record.status
    if status != "pending":
        raise PageError(409, f"That server was already {status}; reload the server list.")
    record_name = next(
        (r.name for r in await ctx.guild_state.records(versions, "pending") if r.id == guild_id),
        guild_id,
    )
    if approve:
        await ctx.guild_access.approve(guild_id, user.id)
        await flash(request, f"Approved {record_name}: its admins can now use FoundryCord.")
    else:
        await ctx.guild_access.reject(guild_id, user.id)
        await flash(request, f"Rejected {record_name}; the bot leaves that server.", "warning")
    log.info("Owner %s %s guild %s", user.id, "approved" if approve else "rejected", guild_id)
    raise web.HTTPSeeOther("/guilds")


@routes.post("/guilds/{guild_id}/approve")
async def approve_guild(request: web.Request) -> web.Response:
    return await _decide(request, approve=True)


@routes.post("/guilds/{guild_id}/reject")
async def reject_guild(request: web.Request) -> web.Response:
    return await _decide(request, approve=False)


def _form_values(values: Mapping[str, Any]) -> dict[str, str]:
    """Typed setting values as the strings the form shows."""
    shown: dict[str, str] = {}
    for name, value in values.items():
        if value is None:
            shown[name] = ""
        elif isinstance(value, bool):
            shown[name] = "true" if value else "false"
        else:
            shown[name] = str(value)
    return shown


def _render_settings(
    request: web.Request,
    guild_id: int,
    values: Mapping[str, str],
    errors: Mapping[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    ctx = get_context(request)
    return aiohttp_jinja2.render_template(
        "guild_settings.html",
        request,
        {
            **page_context(request, guild_id, "settings", "Settings"),
            "specs": ctx.guild_settings.registry.specs(),
            "values": values,
            "errors": errors or {},
            "choices": _id_choices(ctx, guild_id),
        },
        status=status,
    )


def _id_choices(ctx: WebContext, guild_id: int) -> dict[str, list[tuple[str, str]]]:
    """(value, label) options of the channel and role selects: this server's own only."""
    return {
        "channel": [(str(c.id), f"#{c.name}") for c in ctx.live.text_channels(guild_id)],
        "role": [(str(r.id), f"@{r.name}") for r in ctx.live.roles(guild_id)],
    }


def _foreign_ids(ctx: WebContext, guild_id: int, raw: Mapping[str, str]) -> dict[str, str]:
    """Errors for channel and role settings naming an id that is not this server's."""
    choices = _id_choices(ctx, guild_id)
    errors: dict[str, str] = {}
    for spec in ctx.guild_settings.registry.specs():
        if spec.type not in choices:
            continue
        value = raw.get(spec.name, "").strip()
        if value and value not in {option for option, _ in choices[spec.type]}:
            errors[spec.name] = f"must be a {spec.type} of this server"
    return errors


@routes.get("/guilds/{guild_id}/settings")
async def settings_page(request: web.Request) -> web.Response:
    guild_id, _ = await managed_guild(request)
    ctx = get_context(request)
    values = await ctx.guild_state.settings(await state_versions(request), guild_id)
    return _render_settings(request, guild_id, _form_values(values))


@routes.post("/guilds/{guild_id}/settings")
async def save_settings(request: web.Request) -> web.Response:
    guild_id, user = await managed_guild(request)
    ctx = get_context(request)
    form = await forms.read_form(request)
    raw: dict[str, str] = {}
    for spec in ctx.guild_settings.registry.specs():
        # A checkbox posts a hidden "false" and, when ticked, "true" after it: the last wins.
        sent = [v for v in form.getall(spec.name, []) if isinstance(v, str)]
        if sent:
            raw[spec.name] = sent[-1]
        elif spec.type == "bool":
            raw[spec.name] = "false"
    try:
        foreign = _foreign_ids(ctx, guild_id, raw)
        if foreign:  # an id of another server (or none at all) is refused, nothing stored
            raise SettingsFormError(foreign)
        await ctx.guild_settings.update(guild_id, raw, user.id)
    except SettingsFormError as exc:
        current = _form_values(
            await ctx.guild_state.settings(await state_versions(request), guild_id)
        )
        return _render_settings(request, guild_id, {**current, **raw}, exc.errors, status=400)
    log.info("User %s saved settings of guild %s", user.id, guild_id)
    await flash(request, "Settings saved.")
    raise web.HTTPSeeOther(f"/guilds/{guild_id}/settings")
