"""Users, DMs, leaving guilds and the application."""

from __future__ import annotations

from typing import Any

from sandbox.errors import ApiError, FormErrors
from sandbox.rest.base import Reply, RestRequest, RouteTable
from sandbox.rest.common import guild_for_bot, parse_snowflake

routes = RouteTable()


@routes.route("GET", "/users/@me")
async def get_me(req: RestRequest) -> dict[str, Any]:
    return req.world.bot_user_dict()


@routes.route("GET", "/users/@me/guilds")
async def my_guilds(req: RestRequest) -> list[dict[str, Any]]:
    out = []
    for guild in req.state.guilds.values():
        if req.me in guild.members:
            out.append(
                {
                    "id": str(guild.id),
                    "name": guild.name,
                    "icon": None,
                    "banner": None,
                    "owner": guild.owner_id == req.me,
                    "permissions": str(guild.base_permissions(req.me)),
                    "features": [],
                }
            )
    return out


@routes.route("POST", "/users/@me/channels")
async def open_dm(req: RestRequest) -> dict[str, Any]:
    body = req.body()
    if "recipient_id" not in body:
        errors = FormErrors()
        errors.add(("recipient_id",), "BASE_TYPE_REQUIRED", "This field is required")
        errors.raise_if_any()
    user = req.state.user(parse_snowflake(body["recipient_id"], ("recipient_id",)))
    if user.id == req.me:
        raise ApiError(400, 50007, "Cannot send messages to this user")
    return req.world.open_dm(user.id).to_dict()


@routes.route("DELETE", "/users/@me/guilds/{guild_id}")
async def leave_guild(req: RestRequest) -> Reply:
    guild = guild_for_bot(req)
    if guild.owner_id == req.me:
        raise ApiError(400, 50055, "Invalid guild")
    req.world.remove_member(guild, req.me)
    return Reply(None, 204)


@routes.route("GET", "/users/{user_id}")
async def get_user(req: RestRequest) -> dict[str, Any]:
    return req.state.user(req.snowflake("user_id")).to_dict()


@routes.route("GET", "/oauth2/applications/@me")
async def application(req: RestRequest) -> dict[str, Any]:
    return req.world.application_dict()


@routes.route("GET", "/applications/@me")
async def application_me(req: RestRequest) -> dict[str, Any]:
    return req.world.application_dict()
