"""The sandbox world: its state, the bot's identity and the events every change emits.

This is the layer the REST routes and the gateway build on. It knows nothing about HTTP
or websockets: whoever delivers events (the gateway) attaches itself as an
:class:`EventSink`, and every dispatch passes through :meth:`World.record_dispatch`.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import secrets
import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from sandbox import permissions as perm
from sandbox.clock import SandboxClock
from sandbox.event_log import EventLog
from sandbox.guild_template import make_template
from sandbox.record import Recorder
from sandbox.snowflake import SnowflakeGenerator, iso_timestamp
from sandbox.state import (
    DM,
    EPHEMERAL,
    Attachment,
    Channel,
    Guild,
    GuildTemplate,
    Interaction,
    Member,
    Message,
    Role,
    SandboxState,
    User,
)
from sandbox.waiting import Waiters

log = logging.getLogger(__name__)

UserRef = User | Member | str | int
ChannelRef = Channel | str | int


class EventSink(Protocol):
    """Delivers the world's events to clients (the gateway)."""

    def dispatch(self, event: str, data: Any, *, guild_id: int | None, dm: bool) -> None: ...

    def guild_available(self, guild: Guild) -> None:
        """The bot joined ``guild``: send each session its own GUILD_CREATE."""


class World:
    """Guild state in memory, the bot user and application, and the event log.

    ``http_url``/``gateway_url`` say where clients reach this world; whoever serves it
    sets them once it listens.
    """

    def __init__(
        self,
        *,
        bot_name: str = "FoundryCord",
        token: str | None = None,
        record_path: str | os.PathLike[str] | None = None,
        interaction_ack_deadline: float | None = 3.0,
        interaction_token_lifetime: float = 900.0,
        recommended_shards: int = 1,
        log_limit: int | None = None,
    ) -> None:
        self.recorder = Recorder(record_path) if record_path else None
        self.interaction_ack_deadline = interaction_ack_deadline
        self.interaction_token_lifetime = interaction_token_lifetime
        self.recommended_shards = recommended_shards
        self.application_flags = (1 << 12) | (1 << 15) | (1 << 19)  # privileged intents enabled
        self.http_url = ""
        self.gateway_url = ""
        self.identify_count = 0  # IDENTIFYs so far, for GET /gateway/bot's session_start_limit
        self.audit_logs: dict[int, list[dict[str, Any]]] = {}  # guild -> entries (rest.audit)
        # Discord lets one IDENTIFY per bucket (shard_id % max_concurrency) start every 5 s;
        # a faster one gets op 9. 0 s: not enforced (tests that reconnect at once).
        self.max_concurrency = 1
        self.identify_window = 0.0
        self.identify_refused = 0  # IDENTIFYs answered with op 9 for the window

        # time tests can advance (sandbox.clock); snowflakes and message ages follow it
        self.clock = SandboxClock()
        self.state = SandboxState(SnowflakeGenerator(clock=self.clock.time))
        self.application_id = self.state.new_id()
        self.bot_user = self.state.add_user(bot_name, bot=True, user_id=self.application_id)
        self.owner_user = self.state.add_user("owner")
        self.token = token or self._make_token()
        self.attachments: dict[int, Attachment] = {}

        self.dispatches = EventLog(log_limit)
        self._dispatch_waiters = Waiters()
        self._answer_events: dict[int, asyncio.Event] = {}
        self.sinks: list[EventSink] = []
        # Called after each change to the world (a dispatch, a successful REST write): the
        # offline mode saves the world from here (sandbox.world_file.WorldSaver).
        self.change_listeners: list[Callable[[], None]] = []

    def _make_token(self) -> str:
        head = base64.urlsafe_b64encode(str(self.bot_user.id).encode()).decode().rstrip("=")
        return f"{head}.sandbox.{secrets.token_urlsafe(27)}"

    # identity

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

    # events

    def record_dispatch(self, event: str, data: Any) -> None:
        """The one place every dispatch passes (broadcast or one session's READY...)."""
        entry = {"event": event, "data": data, "time": time.time()}
        self.dispatches.append(entry)
        if self.recorder is not None:
            self.recorder.write({"type": "dispatch", **entry})
        self._dispatch_waiters.notify(entry)
        self.notify_changed()

    def notify_changed(self) -> None:
        """Tell the change listeners the world changed (they must not raise)."""
        for listener in list(self.change_listeners):
            try:
                listener()
            except Exception:
                log.exception("sandbox change listener failed")

    def emit(self, event: str, data: Any, *, guild_id: int | None = None, dm: bool = False) -> None:
        """Record ``event`` and hand it to every sink (the gateway filters by shard/intents)."""
        self.record_dispatch(event, data)
        for sink in self.sinks:
            sink.dispatch(event, data, guild_id=guild_id, dm=dm)

    def emit_member_update(self, guild: Guild, member: Member) -> None:
        self.emit(
            "GUILD_MEMBER_UPDATE",
            {"guild_id": str(guild.id), **member.to_dict()},
            guild_id=guild.id,
        )

    def emit_role_update(self, guild: Guild, role: Role) -> None:
        self.emit(
            "GUILD_ROLE_UPDATE",
            {"guild_id": str(guild.id), "role": role.to_dict()},
            guild_id=guild.id,
        )

    def message_payload(self, message: Message) -> dict[str, Any]:
        member = None
        if message.guild_id is not None:
            member = self.state.guilds[message.guild_id].members.get(message.author.id)
        return message.to_dict(member=member, me=self.bot_user_id)

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

        return await self._dispatch_waiters.wait(self.dispatches, matches, timeout, since)

    # lookups

    def resolve_user(self, ref: UserRef) -> User:
        """A user by object, id or name (a new name creates the user)."""
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

    def resolve_channel(self, ref: ChannelRef) -> Channel:
        if isinstance(ref, Channel):
            return ref
        if isinstance(ref, int):
            return self.state.channels[ref]
        return self.state.find_channel(ref)

    # state changes

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
        bot_role_position: int = 1,
        everyone_permissions: int = perm.DEFAULT_EVERYONE,
        premium_tier: int = 0,
        features: Iterable[str] = (),
    ) -> Guild:
        """A guild with @everyone, its owner and (unless told otherwise) the bot.

        The bot gets a managed role named after it with ``bot_permissions``
        (None: no role) at ``bot_role_position``. ``shard=(id, count)`` picks an id on
        that shard. ``features`` are Discord's guild features, e.g. ``["COMMUNITY"]``.
        """
        gen = self.state.snowflakes
        guild_id = gen.next_for_shard(*shard) if shard else gen.next()
        owner_user = self.resolve_user(owner) if owner is not None else self.owner_user
        guild = Guild(
            id=guild_id,
            name=name,
            owner_id=owner_user.id,
            premium_tier=premium_tier,
            features=list(features),
        )
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
                    position=bot_role_position,
                    emit=False,
                )
                role.managed = True
                role.bot_id = self.bot_user_id
                roles.append(role)
            self.add_member(guild, self.bot_user, roles=roles)
        return guild

    def guild_joined(self, guild: Guild) -> None:
        """Tell connected shards about a guild the bot is in (GUILD_CREATE)."""
        for sink in self.sinks:
            sink.guild_available(guild)

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
        """A role at ``position`` (default 1, just above @everyone, like Discord's).

        Discord does not move the other roles when one is created, so positions may
        repeat; ties sort by id. Only a reorder moves roles, with an update for each.
        """
        role = Role(
            id=self.state.new_id(),
            guild_id=guild.id,
            name=name,
            permissions=perm.parse_permissions(permissions),
            position=1 if position is None else position,
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
        user_obj = self.resolve_user(user)
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
        user_obj = self.resolve_user(user)
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

    def store_channel(self, guild: Guild, channel: Channel) -> None:
        guild.channels[channel.id] = channel
        self.state.channels[channel.id] = channel
        self.state.messages.setdefault(channel.id, {})
        self.emit("CHANNEL_CREATE", channel.to_dict(), guild_id=guild.id)

    def add_template(
        self,
        guild: Guild,
        name: str,
        *,
        description: str | None = None,
        creator: UserRef | None = None,
    ) -> GuildTemplate:
        """A server template of ``guild`` as it is now (what POST /guilds/{g}/templates makes)."""
        creator_user = self.resolve_user(creator) if creator is not None else self.owner_user
        return make_template(self.state, guild, name, description, creator_user.id)

    def store_thread(self, guild: Guild, thread: Channel) -> None:
        """A new thread (kept apart from the guild's channels, like Discord's lists)."""
        guild.threads[thread.id] = thread
        self.state.channels[thread.id] = thread
        self.state.messages.setdefault(thread.id, {})
        self.emit("THREAD_CREATE", {**thread.to_dict(), "newly_created": True}, guild_id=guild.id)

    def delete_channel(self, guild: Guild, channel: Channel) -> dict[str, Any]:
        data = channel.to_dict()
        guild.channels.pop(channel.id, None)
        self.state.channels.pop(channel.id, None)
        self.state.messages.pop(channel.id, None)
        for thread in [t for t in guild.threads.values() if t.parent_id == channel.id]:
            guild.threads.pop(thread.id)  # a parent's threads go with it
            self.state.channels.pop(thread.id, None)
            self.state.messages.pop(thread.id, None)
        self.emit("CHANNEL_DELETE", data, guild_id=guild.id)
        for child in guild.channels.values():
            if child.parent_id == channel.id:
                child.parent_id = None
                self.emit("CHANNEL_UPDATE", child.to_dict(), guild_id=guild.id)
        return data

    def open_dm(self, user: UserRef) -> Channel:
        user_obj = self.resolve_user(user)
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
            if channel.thread is not None and message.id != channel.id:
                channel.message_count += 1  # a forum post's starter message does not count
                channel.total_message_sent += 1
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

    # interactions

    def register_interaction(self, inter: Interaction) -> Interaction:
        """Remember ``inter`` and send its INTERACTION_CREATE."""
        self.state.interactions[inter.id] = inter
        self.state.interactions_by_token[inter.token] = inter
        self._answer_events[inter.id] = asyncio.Event()
        self.emit("INTERACTION_CREATE", inter.payload, guild_id=inter.guild_id, dm=False)
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

    def close(self) -> None:
        self._dispatch_waiters.cancel_all()
        if self.recorder is not None:
            self.recorder.close()
