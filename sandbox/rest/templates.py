"""Server templates: create and list a guild's template, fetch any template by code."""

from __future__ import annotations

from typing import Any

from sandbox import limits
from sandbox import permissions as perm
from sandbox.errors import ApiError, FormErrors, unknown
from sandbox.guild_template import make_template, template_dict
from sandbox.rest.base import RestRequest, RouteTable
from sandbox.rest.common import guild_for_bot, require_guild

routes = RouteTable()

MANAGE_GUILD = perm.PERMISSION_BITS["manage_guild"]


@routes.route("GET", "/guilds/templates/{code}")
async def get_template(req: RestRequest) -> dict[str, Any]:
    template = req.state.templates.get(req.params["code"])
    if template is None:
        raise unknown("Guild Template")
    return template_dict(req.state, template)


@routes.route("GET", "/guilds/{guild_id}/templates")
async def list_templates(req: RestRequest) -> list[dict[str, Any]]:
    guild = guild_for_bot(req)
    require_guild(guild, req.me, MANAGE_GUILD)
    return [
        template_dict(req.state, t)
        for t in req.state.templates.values()
        if t.source_guild_id == guild.id
    ]


@routes.route("POST", "/guilds/{guild_id}/templates")
async def create_template(req: RestRequest) -> dict[str, Any]:
    guild = guild_for_bot(req)
    require_guild(guild, req.me, MANAGE_GUILD)
    body = req.body()
    errors = FormErrors()
    limits.check_length(errors, ("name",), body.get("name"), 1, 100, required=True)
    limits.check_length(errors, ("description",), body.get("description"), 0, 120)
    errors.raise_if_any()
    if any(t.source_guild_id == guild.id for t in req.state.templates.values()):
        raise ApiError(400, 30031, "Guild already has a template")
    template = make_template(req.state, guild, body["name"], body.get("description"), req.me)
    return template_dict(req.state, template)
