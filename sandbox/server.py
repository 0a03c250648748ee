"""SandboxServer: a local Discord API v10 (REST + gateway) for a real nextcord client."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
import secrets
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from aiohttp import web

from sandbox import permissions as perm
from sandbox.errors import ApiError, method_not_allowed, not_found, unauthorized
from sandbox.faults import Faults
from sandbox.gateway import Gateway
from sandbox.ratelimit import RateLimiter, RouteLimit, major_id_of
from sandbox.record import Recorder
from sandbox.rest import RateLimitedReply, Reply, RestRequest, RouteSpec, UploadedFile, all_routes
from sandbox.snowflake import SnowflakeGenerator, iso_timestamp
from sandbox.spec import SpecValidator
from sandbox.state import (
    CHANNEL_TYPE_NAMES,
    DM,
    EPHEMERAL,
    Channel,
    Guild,
    Interaction,
    Member,
    Message,
    Role,
    SandboxState,
    User,
)

log = logging.getLogger(__name__)

API_PREFIX = "/api/v10"
_DEFAULT: Any = object()
_SPEC_CACHE: dict[Path, SpecValidator] = {}

UserRef = User | Member | str | int
ChannelRef = Channel | str | int


def load_spec(path: str | os.PathLike[str]) -> SpecValidator:
    """A validator for ``path``, parsed once per process (the spec is large)."""
    key = Path(path).resolve()
    if key not in _SPEC_CACHE:
        _SPEC_CACHE[key] = SpecValidator.from_path(key)
    return _SPEC_CACHE[key]


def _json_response(status: int, body: Any, headers: dict[str, str]) -> web.Response:
    if body is None or status == 204:
        return web.Response(status=204, headers=headers)
    # exactly "application/json": nextcord ignores bodies with a charset suffix
    return web.Response(
        status=status,
        body=json.dumps(body, separators=(",", ":")).encode(),
        headers={**headers, "Content-Type": "application/json"},
    )


class SandboxServer:
    """A Discord-compatible server on 127.0.0.1 holding guild state in memory.

    Point nextcord at it with :func:`sandbox.client.point_nextcord_at`; drive
    it from tests with the plain methods below (``add_guild``, ``post_message_as``,
    ``invoke_command``, ``click_button``...) and ``await wait_for_call(...)``.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        spec_path: str | os.PathLike[str] | None = _DEFAULT,
        record_path: str | os.PathLike[str] | None = None,
        ratelimits: RateLimiter | dict[str, RouteLimit] | bool | None = None,
        heartbeat_interval: int = 41250,
        interaction_ack_deadline: float | None = 3.0,
        interaction_token_lifetime: float = 900.0,
        allow_privileged_intents: bool = True,
        gateway_events_per_minute: int = 120,
        recommended_shards: int = 1,
        bot_name: str = "FoundryCord",
        token: str | None = None,
    ) -> None:
        self.host = host
        self._requested_port = port
        self.port = port
        if spec_path is _DEFAULT:
            spec_path = SpecValidator.default_path()
        self.spec: SpecValidator | None = load_spec(spec_path) if spec_path else None
        if isinstance(ratelimits, RateLimiter):
            self.limiter: RateLimiter | None = ratelimits
        elif ratelimits is False:
            self.limiter = None
        elif isinstance(ratelimits, dict):
            self.limiter = RateLimiter(limits=ratelimits)
        else:
            self.limiter = RateLimiter()
        self.recorder = Recorder(record_path) if record_path else None
        self.interaction_ack_deadline = interaction_ack_deadline
        self.interaction_token_lifetime = interaction_token_lifetime
        self.recommended_shards = recommended_shards
        self.application_flags = (1 << 12) | (1 << 15) | (1 << 19)  # privileged intents enabled

        self.state = SandboxState(SnowflakeGenerator())
        self.application_id = self.state.new_id()
        self.bot_user = self.state.add_user(bot_name, bot=True, user_id=self.application_id)
        self.owner_user = self.state.add_user("owner")
        self.token = token or self._make_token()
        self.attachments: dict[int, Any] = {}

        self.calls: list[dict[str, Any]] = []
        self.dispatches: list[dict[str, Any]] = []
        self.spec_violations: list[str] = []
        self.handler_errors: list[BaseException] = []
        self._call_waiters: list[tuple[Callable[[dict[str, Any]], bool], asyncio.Future]] = []
        self._dispatch_waiters: list[tuple[Callable[[dict[str, Any]], bool], asyncio.Future]] = []
        self._answer_events: dict[int, asyncio.Event] = {}
        # Called after each change to the world (a dispatch, a successful REST write): the
        # offline mode saves the world from here (sandbox.world_file.WorldSaver).
        self.change_listeners: list[Callable[[], None]] = []

        self.faults = Faults(self)
        self.gateway = Gateway(
            self,
            heartbeat_interval=heartbeat_interval,
            allow_privileged_intents=allow_privileged_intents,
            events_per_minute=gateway_events_per_minute,
        )
        self.routes: list[RouteSpec] = all_routes()
        self._runner: web.AppRunner | None = None

    def _make_token(self) -> str:
        import base64

        head = base64.urlsafe_b64encode(str(self.bot_user.id).encode()).decode().rstrip("=")
        return f"{head}.sandbox.{secrets.token_urlsafe(27)}"

    # lifecycle

    def make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._unmatched], client_max_size=32 * 1024 * 1024)
        app.router.add_get("/gateway", self.gateway.handle)
        app.router.add_get("/attachments/{channel_id}/{attachment_id}/{filename}", self._file)
        for spec in self.routes:
            app.router.add_route(
                spec.method, API_PREFIX + spec.template, functools.partial(self._serve, spec)
            )
        return app

    async def start(self) -> None:
        if self.recorder is not None:
            self.recorder.open()
        self._runner = web.AppRunner(self.make_app(), handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self._requested_port)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        await self.gateway.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        for _, fut in self._call_waiters + self._dispatch_waiters:
            fut.cancel()
        self._call_waiters.clear()
        self._dispatch_waiters.clear()
        if self.recorder is not None:
            self.recorder.close()

    async def __aenter__(self) -> SandboxServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def http_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return self.http_url + API_PREFIX

    @property
    def gateway_url(self) -> str:
        return f"ws://{self.host}:{self.port}/gateway"

    @property
    def bot_user_id(self) -> int:
        return self.bot_user.id

    def bot_user_dict(self) -> dict[str, Any]:
        return {
            **self.bot_user.to_dict(),
            "bot": True,
            "verified": True,
            "mfa_enabled": False,
            "locale": "en-US",
            "email": None,
        }

    def application_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.application_id),
            "name": self.bot_user.username,
            "icon": None,
            "description": "FoundryCord sandbox application",
            "summary": "",
            "type": None,
            "bot_public": True,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "flags": self.application_flags,
            "owner": self.owner_user.to_dict(),
            "team": None,
            "bot": self.bot_user.to_dict(),
            "rpc_origins": [],
            "hook": True,
            "redirect_uris": [],
            "interactions_endpoint_url": None,
            "tags": [],
            "integration_types_config": {"0": {}},
            "is_monetized": False,
            "flags_new": str(self.application_flags),
            "role_connections_verification_url": None,
            "approximate_guild_count": sum(
                1 for g in self.state.guilds.values() if self.bot_user_id in g.members
            ),
            "approximate_user_install_count": 0,
            "approximate_user_authorization_count": 0,
            "explicit_content_filter": 0,
            "eligible_oauth2_scopes": ["bot", "applications.commands"],
        }

    # REST pipeline

    @web.middleware
    async def _unmatched(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """Discord-shaped 404/405 for paths no route matches."""
        exc = request.match_info.http_exception
        if exc is None or not request.path.startswith(API_PREFIX):
            return await handler(request)
        error = method_not_allowed() if exc.status == 405 else not_found()
        self._record_call(request, None, error.status, None, error.body())
        return _json_response(error.status, error.body(), {"Via": "1.1 google"})

    async def _read_body(self, request: web.Request) -> tuple[Any, list[UploadedFile]]:
        if request.content_type.startswith("multipart/"):
            form = await request.post()
            payload: Any = None
            files: list[UploadedFile] = []
            for name, value in form.items():
                if name == "payload_json":
                    raw = value.file.read() if isinstance(value, web.FileField) else value
                    payload = json.loads(raw)
                elif isinstance(value, web.FileField):
                    files.append(
                        UploadedFile(name, value.filename, value.content_type, value.file.read())
                    )
            return payload, files
        raw = await request.read()
        if not raw:
            return None, []
        try:
            return json.loads(raw), []
        except ValueError:
            raise ApiError(400, 50109, "The request body contains invalid JSON.") from None

    async def _serve(self, spec: RouteSpec, request: web.Request) -> web.StreamResponse:
        params = dict(request.match_info)
        api_path = request.path[len(API_PREFIX) :]
        headers: dict[str, str] = {"Via": "1.1 google"}
        body_in: Any = None
        try:
            if spec.auth and request.headers.get("Authorization") != f"Bot {self.token}":
                raise unauthorized()
            fault = self.faults.take(spec.method, spec.template, api_path)
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.status is not None:
                raise ApiError(fault.status, 0, f"{fault.status}: Sandbox fault")
            if self.limiter is not None:
                decision = self.limiter.check(
                    spec.key, major_id_of(params), counts_global=spec.counts_global
                )
                if not decision.allowed:
                    raise RateLimitedReply(decision)
                headers.update(decision.headers)
            body_in, files = await self._read_body(request)
            if self.spec is not None and spec.method != "GET":
                self._violations(
                    "request", spec, self.spec.validate_request(spec.method, api_path, body_in)
                )
            result = await spec.handler(
                RestRequest(self, request, spec.template, params, request.query, body_in, files)
            )
            reply = result if isinstance(result, Reply) else Reply(result, 200)
            status, body_out = (204 if reply.body is None else reply.status), reply.body
        except RateLimitedReply as limited:
            status, body_out = 429, limited.decision.body
            headers = dict(limited.decision.headers)
        except ApiError as error:
            status, body_out = error.status, error.body()
        except Exception as error:  # a sandbox bug: answer 500 and let tests see it
            log.exception("sandbox handler %s failed", spec.key)
            self.handler_errors.append(error)
            status, body_out = 500, {"message": "500: Internal Server Error", "code": 0}
        if self.limiter is not None and status in (401, 403, 429):
            self.limiter.record_status(status, headers.get("X-RateLimit-Scope"))
        if self.spec is not None and 200 <= status < 300:
            self._violations(
                "response",
                spec,
                self.spec.validate_response(spec.method, api_path, status, body_out),
            )
        self._record_call(request, spec, status, body_in, body_out)
        return _json_response(status, body_out, headers)

    def _violations(self, kind: str, spec: RouteSpec, problems: list[str]) -> None:
        for problem in problems:
            self.spec_violations.append(f"{spec.key} {kind}: {problem}")

    def _record_call(
        self, request: web.Request, spec: RouteSpec | None, status: int, body: Any, response: Any
    ) -> None:
        call = {
            "method": request.method,
            "path": request.path[len(API_PREFIX) :],
            "route": spec.template if spec else None,
            "query": dict(request.query),
            "status": status,
            "json": body,
            "response": response,
            "time": time.time(),
        }
        self.calls.append(call)
        if self.recorder is not None:
            self.recorder.write({"type": "rest", **call})
        self._notify(self._call_waiters, call)
        if request.method != "GET" and 200 <= status < 300:
            self.notify_changed()

    def record_dispatch(self, event: str, data: Any) -> None:
        entry = {"event": event, "data": data, "time": time.time()}
        self.dispatches.append(entry)
        if self.recorder is not None:
            self.recorder.write({"type": "dispatch", **entry})
        self._notify(self._dispatch_waiters, entry)
        self.notify_changed()

    def notify_changed(self) -> None:
        """Tell the change listeners the world changed (they must not raise)."""
        for listener in list(self.change_listeners):
            try:
                listener()
            except Exception:
                log.exception("sandbox change listener failed")

    @staticmethod
    def _notify(waiters: list[tuple[Callable[..., bool], asyncio.Future]], item: Any) -> None:
        for waiter in list(waiters):
            predicate, fut = waiter
            if fut.done():
                waiters.remove(waiter)
                continue
            try:
                matched = predicate(item)
            except Exception as error:
                fut.set_exception(error)
                waiters.remove(waiter)
                continue
            if matched:
                fut.set_result(item)
                waiters.remove(waiter)

    async def _file(self, request: web.Request) -> web.StreamResponse:
        attachment = self.attachments.get(int(request.match_info["attachment_id"]))
        if attachment is None:
            raise web.HTTPNotFound()
        return web.Response(
            body=attachment.data,
            content_type=attachment.content_type or "application/octet-stream",
        )

    # waiting for the bot

    def mark(self) -> int:
        """Position in :attr:`calls`, for ``wait_for_call(since=...)``."""
        return len(self.calls)

    async def wait_for_call(
        self,
        predicate: Callable[[dict[str, Any]], bool] | None = None,
        *,
        method: str | None = None,
        route: str | None = None,
        status: int | None = None,
        timeout: float = 5.0,
        since: int | None = None,
    ) -> dict[str, Any]:
        """The next REST call matching all filters (``route`` is the template).

        With ``since`` calls already logged from that index count too.
        """

        def matches(call: dict[str, Any]) -> bool:
            return (
                (method is None or call["method"] == method)
                and (route is None or call["route"] == route)
                and (status is None or call["status"] == status)
                and (predicate is None or predicate(call))
            )

        return await self._wait(self._call_waiters, self.calls, matches, timeout, since)

    async def wait_for_dispatch(
        self,
        event: str,
        predicate: Callable[[Any], bool] | None = None,
        *,
        timeout: float = 5.0,
        since: int | None = None,
    ) -> dict[str, Any]:
        """The next gateway dispatch ``event`` the server emitted (entry with ``data``)."""

        def matches(entry: dict[str, Any]) -> bool:
            return entry["event"] == event and (predicate is None or predicate(entry["data"]))

        return await self._wait(self._dispatch_waiters, self.dispatches, matches, timeout, since)

    async def _wait(
        self,
        waiters: list[tuple[Callable[..., bool], asyncio.Future]],
        log_: list[dict[str, Any]],
        matches: Callable[[dict[str, Any]], bool],
        timeout: float,
        since: int | None,
    ) -> dict[str, Any]:
        if since is not None:
            for item in log_[since:]:
                if matches(item):
                    return item
        fut: asyncio.Future = asyncio.get_running_loop().create_future()
        waiter = (matches, fut)
        waiters.append(waiter)
        try:
            return await asyncio.wait_for(fut, timeout)
        finally:
            if waiter in waiters:
                waiters.remove(waiter)

    async def wait_for_command(self, name: str, *, timeout: float = 5.0) -> Any:
        """Wait until the bot has registered an application command ``name``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for command in self.state.commands.values():
                if command.name == name:
                    return command
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"the bot did not register a command {name!r}")
            with contextlib.suppress(TimeoutError):
                await self.wait_for_call(
                    lambda c: "/commands" in c["path"] and c["method"] != "GET",
                    timeout=remaining,
                )

    # dispatch helpers

    def emit(self, event: str, data: Any, *, guild_id: int | None = None, dm: bool = False) -> None:
        self.gateway.dispatch(event, data, guild_id=guild_id, dm=dm)

    def emit_member_update(self, guild: Guild, member: Member) -> None:
        self.emit(
            "GUILD_MEMBER_UPDATE",
            {"guild_id": str(guild.id), **member.to_dict()},
            guild_id=guild.id,
        )

    def message_payload(self, message: Message) -> dict[str, Any]:
        member = None
        if message.guild_id is not None:
            member = self.state.guilds[message.guild_id].members.get(message.author.id)
        return message.to_dict(member=member, me=self.bot_user_id)

    # state changes (also the driver's API)

    def _user(self, ref: UserRef) -> User:
        if isinstance(ref, User):
            return ref
        if isinstance(ref, Member):
            return ref.user
        if isinstance(ref, int):
            return self.state.users[ref]
        try:
            return self.state.find_user(ref)
        except KeyError:
            return self.state.add_user(ref)

    def _channel(self, ref: ChannelRef) -> Channel:
        if isinstance(ref, Channel):
            return ref
        if isinstance(ref, int):
            return self.state.channels[ref]
        return self.state.find_channel(ref)

    def add_user(self, username: str, *, bot: bool = False) -> User:
        return self.state.add_user(username, bot=bot)

    def add_guild(
        self,
        name: str,
        *,
        owner: UserRef | None = None,
        shard: tuple[int, int] | None = None,
        bot_member: bool = True,
        bot_permissions: int | Iterable[str] | None = perm.ADMINISTRATOR,
        everyone_permissions: int = perm.DEFAULT_EVERYONE,
        premium_tier: int = 0,
    ) -> Guild:
        """A guild with @everyone, its owner and (unless told otherwise) the bot.

        The bot gets a managed role named after it with ``bot_permissions``
        (None: no role). ``shard=(id, count)`` picks an id on that shard.
        """
        gen = self.state.snowflakes
        guild_id = gen.next_for_shard(*shard) if shard else gen.next()
        owner_user = self._user(owner) if owner is not None else self.owner_user
        guild = Guild(id=guild_id, name=name, owner_id=owner_user.id, premium_tier=premium_tier)
        guild.roles[guild.id] = Role(
            id=guild.id, guild_id=guild.id, name="@everyone", permissions=everyone_permissions
        )
        self.state.guilds[guild.id] = guild
        self.add_member(guild, owner_user, emit=False)
        if bot_member:
            roles = []
            if bot_permissions is not None:
                role = self.add_role(
                    guild,
                    self.bot_user.username,
                    permissions=perm.parse_permissions(bot_permissions),
                    emit=False,
                )
                role.managed = True
                role.bot_id = self.bot_user_id
                roles.append(role)
            self.add_member(guild, self.bot_user, roles=roles)
        return guild

    def guild_joined(self, guild: Guild) -> None:
        """Tell connected shards about a guild the bot is in (GUILD_CREATE)."""
        for session in list(self.gateway.sessions.values()):
            if session.owns_guild(guild.id) and (session.connection or session.resumable):
                payload = self.gateway.guild_create_payload(guild, session)
                self.record_dispatch("GUILD_CREATE", payload)
                session.push("GUILD_CREATE", payload)

    def add_role(
        self,
        guild: Guild,
        name: str,
        *,
        permissions: int | Iterable[str] = 0,
        color: int = 0,
        hoist: bool = False,
        mentionable: bool = False,
        position: int | None = None,
        emit: bool = True,
    ) -> Role:
        """A role; by default at position 1, just above @everyone, like Discord's."""
        position = 1 if position is None else position
        for other in guild.roles.values():
            if other.id != guild.id and other.position >= position:
                other.position += 1
        role = Role(
            id=self.state.new_id(),
            guild_id=guild.id,
            name=name,
            permissions=perm.parse_permissions(permissions),
            position=position,
            color=color,
            hoist=hoist,
            mentionable=mentionable,
        )
        guild.roles[role.id] = role
        if emit:
            self.emit(
                "GUILD_ROLE_CREATE",
                {"guild_id": str(guild.id), "role": role.to_dict()},
                guild_id=guild.id,
            )
        return role

    def delete_role(self, guild: Guild, role: Role) -> None:
        del guild.roles[role.id]
        for member in guild.members.values():
            if role.id in member.roles:
                member.roles.remove(role.id)
        for channel in guild.channels.values():
            channel.overwrites.pop(role.id, None)
        self.emit(
            "GUILD_ROLE_DELETE",
            {"guild_id": str(guild.id), "role_id": str(role.id)},
            guild_id=guild.id,
        )

    def add_member(
        self,
        guild: Guild,
        user: UserRef,
        *,
        roles: Iterable[Role | str | int] = (),
        nick: str | None = None,
        emit: bool = True,
    ) -> Member:
        """Add ``user`` (created by name if new) to ``guild``; GUILD_MEMBER_ADD."""
        user_obj = self._user(user)
        role_ids = []
        for ref in roles:
            if isinstance(ref, Role):
                role_ids.append(ref.id)
            elif isinstance(ref, int):
                role_ids.append(ref)
            else:
                role_ids.append(guild.role(ref).id)
        member = Member(
            user=user_obj,
            guild_id=guild.id,
            roles=role_ids,
            nick=nick,
            joined_at=iso_timestamp(self.state.new_id()),
        )
        guild.members[user_obj.id] = member
        if user_obj.id == self.bot_user_id:
            self.guild_joined(guild)
        elif emit:
            self.emit(
                "GUILD_MEMBER_ADD",
                {"guild_id": str(guild.id), **member.to_dict()},
                guild_id=guild.id,
            )
        return member

    def remove_member(self, guild: Guild, user: UserRef) -> None:
        """Remove a member; for the bot itself this is leaving (GUILD_DELETE)."""
        user_obj = self._user(user)
        if user_obj.id == self.bot_user_id:
            self.emit("GUILD_DELETE", {"id": str(guild.id)}, guild_id=guild.id)
            guild.members.pop(user_obj.id, None)
            return
        guild.members.pop(user_obj.id, None)
        self.emit(
            "GUILD_MEMBER_REMOVE",
            {"guild_id": str(guild.id), "user": user_obj.to_dict()},
            guild_id=guild.id,
        )

    def add_channel(
        self,
        guild: Guild,
        name: str,
        type: int | str = 0,
        *,
        parent: Channel | None = None,
        overwrites: list[dict[str, Any]] | None = None,
        **fields: Any,
    ) -> Channel:
        """A channel built through the same validation as POST /guilds/{g}/channels."""
        from sandbox.rest.channels import build_channel

        kind = CHANNEL_TYPE_NAMES[type] if isinstance(type, str) else type
        payload: dict[str, Any] = {"name": name, "type": kind, **fields}
        if parent is not None:
            payload["parent_id"] = str(parent.id)
        if overwrites:
            payload["permission_overwrites"] = overwrites
        channel = build_channel(self.state, guild, payload)
        self.store_channel(guild, channel)
        return channel

    def store_channel(self, guild: Guild, channel: Channel) -> None:
        guild.channels[channel.id] = channel
        self.state.channels[channel.id] = channel
        self.state.messages.setdefault(channel.id, {})
        self.emit("CHANNEL_CREATE", channel.to_dict(), guild_id=guild.id)

    def delete_channel(self, guild: Guild, channel: Channel) -> dict[str, Any]:
        data = channel.to_dict()
        guild.channels.pop(channel.id, None)
        self.state.channels.pop(channel.id, None)
        self.state.messages.pop(channel.id, None)
        self.emit("CHANNEL_DELETE", data, guild_id=guild.id)
        for child in guild.channels.values():
            if child.parent_id == channel.id:
                child.parent_id = None
                self.emit("CHANNEL_UPDATE", child.to_dict(), guild_id=guild.id)
        return data

    def open_dm(self, user: UserRef) -> Channel:
        user_obj = self._user(user)
        for channel in self.state.channels.values():
            if channel.type == DM and channel.recipients[0].id == user_obj.id:
                return channel
        channel = Channel(id=self.state.new_id(), type=DM, recipients=[user_obj])
        self.state.channels[channel.id] = channel
        self.state.messages.setdefault(channel.id, {})
        return channel

    def store_message(self, message: Message, *, dispatch: bool = True) -> None:
        if message.flags & EPHEMERAL:
            self.state.ephemeral_messages[message.id] = message
            return
        self.state.messages.setdefault(message.channel_id, {})[message.id] = message
        channel = self.state.channels.get(message.channel_id)
        if channel is not None:
            channel.last_message_id = message.id
        if dispatch:
            self.emit(
                "MESSAGE_CREATE",
                self.message_payload(message),
                guild_id=message.guild_id,
                dm=message.guild_id is None,
            )

    def update_message(self, message: Message) -> None:
        if message.ephemeral:
            return
        self.emit(
            "MESSAGE_UPDATE",
            self.message_payload(message),
            guild_id=message.guild_id,
            dm=message.guild_id is None,
        )

    def delete_message(self, message: Message) -> None:
        if message.ephemeral:
            self.state.ephemeral_messages.pop(message.id, None)
            return
        self.state.messages.get(message.channel_id, {}).pop(message.id, None)
        data = {"id": str(message.id), "channel_id": str(message.channel_id)}
        if message.guild_id is not None:
            data["guild_id"] = str(message.guild_id)
        self.emit("MESSAGE_DELETE", data, guild_id=message.guild_id, dm=message.guild_id is None)

    def post_message_as(
        self,
        user: UserRef,
        channel: ChannelRef,
        content: str = "",
        **payload: Any,
    ) -> Message:
        """A message by ``user`` (not the bot), dispatched as MESSAGE_CREATE."""
        from sandbox.rest.messages import create_message

        return create_message(
            self, self._channel(channel), self._user(user), {"content": content, **payload}
        )

    def load(self, description: dict[str, Any]) -> list[Guild]:
        """Build guilds from a compact description; see :mod:`sandbox.description`."""
        from sandbox.description import load_description

        return load_description(self, description)

    # interactions (the driver's side)

    def create_interaction(
        self,
        type: int,
        *,
        user: UserRef,
        channel: ChannelRef,
        data: dict[str, Any],
        message: Message | None = None,
    ) -> Interaction:
        """Send a real INTERACTION_CREATE (id + token) and remember it."""
        from sandbox.interaction_builder import build_interaction

        inter = build_interaction(
            self, type, self._user(user), self._channel(channel), data, message
        )
        self.state.interactions[inter.id] = inter
        self.state.interactions_by_token[inter.token] = inter
        self._answer_events[inter.id] = asyncio.Event()
        self.emit(
            "INTERACTION_CREATE",
            inter.payload,
            guild_id=inter.guild_id,
            dm=False,
        )
        return inter

    def interaction_answered(self, inter: Interaction) -> None:
        event = self._answer_events.get(inter.id)
        if event is not None:
            event.set()

    async def wait_for_response(self, inter: Interaction, timeout: float = 5.0) -> Interaction:
        """Wait until the bot answered ``inter`` through the callback route."""
        event = self._answer_events.setdefault(inter.id, asyncio.Event())
        if inter.response_type is None:
            await asyncio.wait_for(event.wait(), timeout)
        return inter

    def invoke_command(
        self,
        name: str,
        *,
        user: UserRef,
        channel: ChannelRef,
        options: dict[str, Any] | None = None,
        target: UserRef | Message | None = None,
    ) -> Interaction:
        """Run the synced command ``name`` (slash, or user/message context menu)."""
        from sandbox.interaction_builder import command_data

        ch = self._channel(channel)
        data = command_data(self, ch, name, options or {}, target)
        return self.create_interaction(2, user=user, channel=ch, data=data)

    def autocomplete(
        self,
        name: str,
        *,
        user: UserRef,
        channel: ChannelRef,
        options: dict[str, Any],
        focused: str,
    ) -> Interaction:
        """An AUTOCOMPLETE interaction with ``focused`` the option being typed."""
        from sandbox.interaction_builder import command_data

        ch = self._channel(channel)
        data = command_data(self, ch, name, options, None, focused=focused)
        return self.create_interaction(4, user=user, channel=ch, data=data)

    def click_button(self, message: Message | int, custom_id: str, *, user: UserRef) -> Interaction:
        return self._component(message, custom_id, user, None)

    def select_values(
        self, message: Message | int, custom_id: str, values: list[str], *, user: UserRef
    ) -> Interaction:
        return self._component(message, custom_id, user, values)

    def _component(
        self, message: Message | int, custom_id: str, user: UserRef, values: list[str] | None
    ) -> Interaction:
        from sandbox.interaction_builder import find_component

        msg = message if isinstance(message, Message) else self.state.find_message(message)
        component = find_component(msg.components, custom_id)
        if component is None:
            raise KeyError(f"no component {custom_id!r} on message {msg.id}")
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component["type"]}
        if values is not None:
            data["values"] = list(values)
        return self.create_interaction(3, user=user, channel=msg.channel_id, data=data, message=msg)

    def submit_modal(
        self,
        origin: Interaction,
        values: dict[str, str],
        *,
        user: UserRef | None = None,
    ) -> Interaction:
        """Submit the modal the bot answered ``origin`` with; ``values`` by custom_id."""
        from sandbox.interaction_builder import modal_submit_data

        modal = origin.modal
        if modal is None:
            raise ValueError("the bot did not answer this interaction with a modal")
        message = None
        if origin.message_id is not None:
            message = self.state.find_message(origin.message_id)
        return self.create_interaction(
            5,
            user=user if user is not None else origin.user_id,
            channel=origin.channel_id,
            data=modal_submit_data(modal, values),
            message=message,
        )
