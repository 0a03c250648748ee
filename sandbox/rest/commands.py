"""Application commands, global and per guild."""

from __future__ import annotations

from typing import Any

from sandbox import limits
from sandbox.errors import ApiError, missing_access, unknown
from sandbox.rest.base import Reply, RestRequest, RouteTable
from sandbox.rest.common import guild_for_bot
from sandbox.state import ApplicationCommand

routes = RouteTable()

MAX_COMMANDS = 100
_FIELDS = (
    "name_localizations",
    "description_localizations",
    "dm_permission",
    "integration_types",
    "contexts",
)
GLOBAL = "/applications/{application_id}/commands"
GUILD = "/applications/{application_id}/guilds/{guild_id}/commands"


def _scope(req: RestRequest) -> int | None:
    """The guild id of a guild-command route (None for global), after access checks."""
    if req.params["application_id"] != str(req.world.application_id):
        raise missing_access()
    if "guild_id" in req.params:
        return guild_for_bot(req).id
    return None


def _commands(req: RestRequest, guild_id: int | None) -> list[ApplicationCommand]:
    return [c for c in req.state.commands.values() if c.guild_id == guild_id]


def _apply(command: ApplicationCommand, body: dict[str, Any]) -> None:
    command.name = body.get("name", command.name)
    command.type = body.get("type") or command.type
    command.description = body.get("description") or ""
    command.options = body.get("options") or []
    perms = body.get("default_member_permissions")
    command.default_member_permissions = None if perms is None else str(perms)
    command.nsfw = bool(body.get("nsfw", False))
    command.extra.update({k: body[k] for k in _FIELDS if k in body})
    command.version += 1


def _upsert(req: RestRequest, guild_id: int | None, body: dict[str, Any]) -> tuple[Any, bool]:
    limits.check_command(body)
    kind = body.get("type") or 1
    for command in _commands(req, guild_id):
        if command.name == body["name"] and command.type == kind:
            _apply(command, body)
            return command, False
    if sum(1 for c in _commands(req, guild_id) if c.type == kind) >= MAX_COMMANDS:
        raise ApiError(
            400, 30032, f"Maximum number of application commands reached ({MAX_COMMANDS})"
        )
    command = ApplicationCommand(
        id=req.state.new_id(),
        application_id=req.world.application_id,
        name=body["name"],
        guild_id=guild_id,
    )
    _apply(command, body)
    req.state.commands[command.id] = command
    return command, True


def _command_of(req: RestRequest, guild_id: int | None) -> ApplicationCommand:
    command = req.state.commands.get(req.snowflake("command_id"))
    if command is None or command.guild_id != guild_id:
        raise unknown("application command")
    return command


async def list_commands(req: RestRequest) -> list[dict[str, Any]]:
    return [c.to_dict() for c in _commands(req, _scope(req))]


async def create_command(req: RestRequest) -> Reply:
    command, created = _upsert(req, _scope(req), req.body())
    return Reply(command.to_dict(), 201 if created else 200)


async def overwrite_commands(req: RestRequest) -> list[dict[str, Any]]:
    guild_id = _scope(req)
    bodies = req.json if isinstance(req.json, list) else []
    for body in bodies:
        limits.check_command(body)
    keep: list[ApplicationCommand] = []
    for body in bodies:
        keep.append(_upsert(req, guild_id, body)[0])
    keep_ids = {c.id for c in keep}
    for command in _commands(req, guild_id):
        if command.id not in keep_ids:
            del req.state.commands[command.id]
    return [c.to_dict() for c in keep]


async def get_command(req: RestRequest) -> dict[str, Any]:
    return _command_of(req, _scope(req)).to_dict()


async def edit_command(req: RestRequest) -> dict[str, Any]:
    command = _command_of(req, _scope(req))
    body = {**command.to_dict(), **req.body()}
    limits.check_command(body)
    _apply(command, body)
    return command.to_dict()


async def delete_command(req: RestRequest) -> Reply:
    command = _command_of(req, _scope(req))
    del req.state.commands[command.id]
    return Reply(None, 204)


async def command_permissions(req: RestRequest) -> list[Any]:
    _scope(req)
    return []


for _base in (GLOBAL, GUILD):
    routes.route("GET", _base)(list_commands)
    routes.route("POST", _base)(create_command)
    routes.route("PUT", _base)(overwrite_commands)
    routes.route("GET", _base + "/{command_id}")(get_command)
    routes.route("PATCH", _base + "/{command_id}")(edit_command)
    routes.route("DELETE", _base + "/{command_id}")(delete_command)
routes.route("GET", GUILD + "/permissions")(command_permissions)
