"""The web editor's Sandbox page (offline mode only): see the emulated guild as Discord shows
it and act as any of its members. Every action becomes a real gateway event or interaction
to the bot, through :class:`sandbox.driver.SandboxDriver`.

Mounted by ``bot.offline`` as extra routes, so sign-in and CSRF protection come from the web
editor; only the bot's owners may use it (acting as anyone is an owner's power).
"""

from __future__ import annotations

import hashlib
import weakref
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp_jinja2
from aiohttp import web

from sandbox import page_view as view
from sandbox.demo import DEMO
from sandbox.driver import Answer, MemberDriver, SandboxDriver
from sandbox.server import SandboxServer
from sandbox.state import Channel, Guild
from sandbox.world_reset import reset_world

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
STATIC_TYPES = {".js": "text/javascript", ".css": "text/css"}
ANSWER_TIMEOUT = 3.0  # Discord's deadline for the first answer to an interaction
ACTION_MAX_BYTES = 64 * 1024  # an action's JSON body: a message is at most 2000 characters

SANDBOX_KEY = web.AppKey("foundrycord_sandbox", SandboxServer)
routes = web.RouteTableDef()


def _server(request: web.Request) -> SandboxServer:
    return request.config_dict[SANDBOX_KEY]


async def _require_owner(request: web.Request) -> None:
    from web.auth import require_owner

    await require_owner(request)


def _bad(message: str, status: int = 400) -> Exception:
    """A refusal the web editor renders as an error page, or ``{"error": ...}`` for fetch()."""
    from web.errors import PageError

    return PageError(status, message)


def _text(body: dict[str, Any], key: str, what: str) -> str:
    """`body[key]` as text: absent or null is empty; anything but a string is refused."""
    raw = body.get(key)
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise _bad(f"The {what} must be text.")
    return raw


def _int(raw: Any, what: str) -> int:
    try:
        return int(str(raw))
    except (TypeError, ValueError):
        raise _bad(f"The {what} must be a number; reload the page and try again.") from None


def _guild(server: SandboxServer, raw: Any) -> Guild:
    if raw in (None, ""):
        guilds = list(server.state.guilds.values())
        if not guilds:
            raise _bad("The sandbox has no guild: load a description first.", 404)
        return guilds[0]
    guild = server.state.guilds.get(_int(raw, "guild id"))
    if guild is None:
        raise _bad("That guild is not in the sandbox any more; reload the page.", 404)
    return guild


def _channel(guild: Guild, raw: Any) -> Channel:
    if raw in (None, ""):
        channel = view.first_text_channel(guild)
        if channel is None:
            raise _bad(f"{guild.name} has no text channel to show.", 404)
        return channel
    channel = guild.channels.get(_int(raw, "channel id"))
    if channel is None or channel.type not in view.MESSAGE_CHANNELS:
        raise _bad("That is not a text channel of this guild; pick one from the list.", 404)
    return channel


def _actor(driver: SandboxDriver, guild: Guild, raw: Any, fallback: int | None) -> MemberDriver:
    """The member to act as: ``raw`` if given, else the signed-in user if a member, else the
    guild's owner."""
    if raw not in (None, ""):
        user_id = _int(raw, "member id")
    elif fallback in guild.members:
        user_id = fallback  # type: ignore[assignment]
    else:
        user_id = guild.owner_id
    member = guild.members.get(user_id)
    if member is None or member.user.bot:
        raise _bad("That member is not in this guild; pick one from the list.")
    return driver.member_by_id(user_id, guild)


async def _signed_in_id(request: web.Request) -> int | None:
    from web.auth import current_user

    user = await current_user(request)
    return user.id if user else None


class _WorldVersion:
    """Counts the sandbox world's changes (every dispatch, every successful REST write, a
    reset): what the page shows is drawn again only after one."""

    def __init__(self, server: SandboxServer) -> None:
        self.value = 0
        self.parts: dict[tuple[int, int, int, int], dict[str, Any]] = {}
        server.change_listeners.append(self.bump)

    def bump(self) -> None:
        self.value += 1
        self.parts.clear()


_VERSIONS: weakref.WeakKeyDictionary[SandboxServer, _WorldVersion] = weakref.WeakKeyDictionary()
MAX_PARTS = 64


def _world_version(server: SandboxServer) -> _WorldVersion:
    version = _VERSIONS.get(server)
    if version is None:
        version = _VERSIONS[server] = _WorldVersion(server)
    return version


def _render_parts(
    request: web.Request, server: SandboxServer, guild: Guild, channel: Channel, actor: MemberDriver
) -> dict[str, Any]:
    """The page's messages, channels and modal for `actor`, drawn once per world version."""
    version = _world_version(server)
    key = (version.value, guild.id, channel.id, actor.id)
    parts = version.parts.get(key)
    if parts is None:
        if len(version.parts) >= MAX_PARTS:
            version.parts.clear()
        parts = version.parts[key] = _draw_parts(request, server, guild, channel, actor)
    return parts


def _guild_lists(server: SandboxServer, guild: Guild) -> dict[str, Any]:
    """The page's member list and command forms, drawn once per world version."""
    version = _world_version(server)
    key = (version.value, guild.id, 0, 0)
    lists = version.parts.get(key)
    if lists is None:
        lists = version.parts[key] = {
            "members": view.members(guild),
            "commands": view.command_forms(server, guild),
        }
    return lists


def _draw_parts(
    request: web.Request, server: SandboxServer, guild: Guild, channel: Channel, actor: MemberDriver
) -> dict[str, Any]:
    messages = aiohttp_jinja2.render_string(
        "sandbox_messages.html",
        request,
        {"messages": view.message_views(server, channel, actor.id), "channel": channel},
    )
    channels = aiohttp_jinja2.render_string(
        "sandbox_channels.html",
        request,
        {
            "tree": view.channel_tree(guild, actor.id),
            "guild": guild,
            "channel": channel,
            "actor": actor,
        },
    )
    modal = view.open_modal(server, guild, actor.id)
    modal_html = (
        aiohttp_jinja2.render_string("sandbox_modal.html", request, {"modal": modal})
        if modal
        else ""
    )
    version = hashlib.sha1((messages + channels + modal_html).encode()).hexdigest()[:16]
    return {
        "version": version,
        "messages": messages,
        "channels": channels,
        "modal": modal_html,
        "modal_id": str(modal.interaction_id) if modal else None,
    }


@routes.get("/sandbox")
async def sandbox_page(request: web.Request) -> web.Response:
    await _require_owner(request)
    server = _server(request)
    if not server.state.guilds:
        return aiohttp_jinja2.render_template(
            "sandbox_page.html", request, {"title": "Sandbox", "guild": None}
        )
    query = request.query
    guild = _guild(server, query.get("guild"))
    channel = _channel(guild, query.get("channel"))
    actor = _actor(SandboxDriver(server), guild, query.get("as"), await _signed_in_id(request))
    from web.drawn_pages import render_page

    parts = _render_parts(request, server, guild, channel, actor)
    world = _world_version(server).value  # the page changes only with the world
    return await render_page(
        request,
        "sandbox_page.html",
        {
            "title": "Sandbox",
            "guild": guild,
            "guilds": list(server.state.guilds.values()),
            "channel": channel,
            "actor": actor,
            **_guild_lists(server, guild),
            **parts,
        },
        key=("sandbox", world, guild.id, channel.id, actor.id),
    )


@routes.get("/sandbox/static/{name}")
async def sandbox_static(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    path = STATIC / name
    if "/" in name or path.suffix not in STATIC_TYPES or not path.is_file():
        raise web.HTTPNotFound()
    return web.FileResponse(path, headers={"Content-Type": STATIC_TYPES[path.suffix]})


@routes.get("/sandbox/attachments/{attachment_id}/{filename}")
async def attachment_file(request: web.Request) -> web.Response:
    """A message's file: images inline (PNG, JPEG, GIF, WebP), anything else as a download,
    never rendered by the browser (an uploaded HTML or SVG file must not run here)."""
    await _require_owner(request)
    raw = request.match_info["attachment_id"]
    attachment = _server(request).attachments.get(int(raw)) if raw.isdigit() else None
    if attachment is None:
        raise _bad("That file is gone; the message may have been deleted.", 404)
    kind = view.image_type(attachment)
    if kind is not None:
        return web.Response(body=attachment.data, headers={"Content-Type": kind})
    name = quote(attachment.filename, safe="")
    return web.Response(
        body=attachment.data,
        headers={
            "Content-Type": "application/octet-stream",
            "Content-Disposition": f"attachment; filename*=UTF-8''{name}",
        },
    )


@routes.get("/sandbox/api/view")
async def view_json(request: web.Request) -> web.Response:
    """What the page polls: the channel's messages and any open modal, as rendered HTML."""
    await _require_owner(request)
    server = _server(request)
    guild = _guild(server, request.query.get("guild"))
    channel = _channel(guild, request.query.get("channel"))
    actor = _actor(SandboxDriver(server), guild, request.query.get("as"), None)
    return web.json_response(_render_parts(request, server, guild, channel, actor))


async def _action(request: web.Request) -> tuple[SandboxDriver, Guild, MemberDriver, dict]:
    await _require_owner(request)
    server = _server(request)
    from web.json_body import read_json  # the editor's parser: its limits and refusals

    body = await read_json(request, max_bytes=ACTION_MAX_BYTES)
    if not isinstance(body, dict):
        raise _bad("The request body must be a JSON object.")
    guild = _guild(server, body.get("guild"))
    driver = SandboxDriver(server, timeout=ANSWER_TIMEOUT)
    return driver, guild, _actor(driver, guild, body.get("as"), None), body


def _answer_json(answer: Answer) -> dict[str, Any]:
    return {
        "ok": True,
        "answered": True,
        "type": answer.type,
        "content": answer.content,
        "ephemeral": answer.ephemeral,
        "modal": answer.modal is not None,
    }


def _not_answered(error: TimeoutError) -> dict[str, Any]:
    return {"ok": True, "answered": False, "notice": str(error)}


@routes.post("/sandbox/api/message")
async def post_message(request: web.Request) -> web.Response:
    _, guild, actor, body = await _action(request)
    channel = _channel(guild, body.get("channel"))
    content = _text(body, "content", "message").strip()
    if not content:
        raise _bad("Type a message first.")
    if len(content) > 2000:
        raise _bad("Messages are limited to 2000 characters.")
    message = actor.post(channel, content)
    return web.json_response({"ok": True, "id": str(message.id)})


@routes.post("/sandbox/api/command")
async def run_command(request: web.Request) -> web.Response:
    driver, guild, actor, body = await _action(request)
    channel = _channel(guild, body.get("channel"))
    path = " ".join(_text(body, "command", "command").removeprefix("/").split())
    if not path:
        raise _bad("Pick a command to run.")
    raw = body.get("options") or {}
    if not isinstance(raw, dict):
        raise _bad("The command's options must be a JSON object.")
    try:
        options = view.coerce_options(driver.server, guild, path, raw)
        return web.json_response(_answer_json(await actor.run(path, options, channel=channel)))
    except (LookupError, ValueError) as error:
        raise _bad(str(error).strip("'\"")) from None
    except TimeoutError as error:
        return web.json_response(_not_answered(error))


def _message_in(guild: Guild, driver: SandboxDriver, raw: Any) -> Any:
    message = driver.server.state.ephemeral_messages.get(_int(raw, "message id"))
    if message is None:
        for channel in guild.channels.values():
            message = driver.server.state.messages.get(channel.id, {}).get(int(raw))
            if message is not None:
                break
    if message is None:
        raise _bad("That message is gone; it may have been deleted.", 404)
    return message


@routes.post("/sandbox/api/press")
async def press_button(request: web.Request) -> web.Response:
    driver, guild, actor, body = await _action(request)
    message = _message_in(guild, driver, body.get("message"))
    try:
        return web.json_response(
            _answer_json(await actor.press(message, _text(body, "custom_id", "button id")))
        )
    except KeyError:
        raise _bad("That message has no such button.") from None
    except TimeoutError as error:
        return web.json_response(_not_answered(error))


@routes.post("/sandbox/api/choose")
async def choose_values(request: web.Request) -> web.Response:
    driver, guild, actor, body = await _action(request)
    message = _message_in(guild, driver, body.get("message"))
    values = body.get("values")
    if not isinstance(values, list) or not values:
        raise _bad("Choose at least one option.")
    if not all(isinstance(value, str) for value in values):
        raise _bad("The chosen options must be text.")
    try:
        custom_id = _text(body, "custom_id", "select menu id")
        answer = await actor.choose(message, custom_id, *values)
        return web.json_response(_answer_json(answer))
    except KeyError:
        raise _bad("That message has no such select menu.") from None
    except TimeoutError as error:
        return web.json_response(_not_answered(error))


@routes.post("/sandbox/api/submit")
async def submit_modal(request: web.Request) -> web.Response:
    driver, _, actor, body = await _action(request)
    inter = driver.server.state.interactions.get(_int(body.get("interaction"), "interaction id"))
    if inter is None or inter.modal is None or inter.user_id != actor.id:
        raise _bad("That form is no longer open; run the command again.", 404)
    values = body.get("values") or {}
    if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
        raise _bad("The form's values must be a JSON object of texts.")
    try:
        answer = await actor.submit(inter, **{str(k): str(v) for k, v in values.items()})
        return web.json_response(_answer_json(answer))
    except KeyError as error:
        raise _bad(f"The form has no field {error}.") from None
    except TimeoutError as error:
        return web.json_response(_not_answered(error))


@routes.get("/sandbox/reset")
async def reset_page(request: web.Request) -> web.Response:
    """The confirmation step before a reset (also what a plain POST without it shows)."""
    await _require_owner(request)
    server = _server(request)
    return aiohttp_jinja2.render_template(
        "sandbox_reset.html",
        request,
        {"title": "Reset sandbox", "guild_names": [g.name for g in server.state.guilds.values()]},
    )


@routes.post("/sandbox/reset")
async def reset_world_now(request: web.Request) -> web.Response:
    """Replace the world with a fresh demo world (see :mod:`sandbox.world_reset`); the bot
    stays connected and sees the old guilds removed and the new one added."""
    from web.auth import flash

    await _require_owner(request)
    form = await request.post()
    if form.get("confirm") != "yes":
        raise web.HTTPSeeOther("/sandbox/reset")
    new_guilds = reset_world(_server(request), DEMO)
    await flash(
        request,
        f"The sandbox world was reset: {', '.join(g.name for g in new_guilds)} is new. The bot "
        "saw the old server removed and this one added.",
    )
    raise web.HTTPSeeOther("/sandbox")
