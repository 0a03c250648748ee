"""In-memory guild state and its serialisation to Discord JSON."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from sandbox import permissions as perm
from sandbox.errors import missing_access, unknown
from sandbox.snowflake import SnowflakeGenerator, iso_timestamp

GUILD_TEXT = 0
DM = 1
GUILD_VOICE = 2
GUILD_CATEGORY = 4
GUILD_ANNOUNCEMENT = 5
GUILD_STAGE_VOICE = 13
ANNOUNCEMENT_THREAD = 10
PUBLIC_THREAD = 11
PRIVATE_THREAD = 12
GUILD_FORUM = 15
GUILD_MEDIA = 16

CHANNEL_TYPE_NAMES = {
    "text": GUILD_TEXT,
    "voice": GUILD_VOICE,
    "category": GUILD_CATEGORY,
    "announcement": GUILD_ANNOUNCEMENT,
    "news": GUILD_ANNOUNCEMENT,
    "stage": GUILD_STAGE_VOICE,
    "forum": GUILD_FORUM,
    "media": GUILD_MEDIA,
}
GUILD_CHANNEL_TYPES = frozenset(CHANNEL_TYPE_NAMES.values())
THREAD_TYPES = frozenset({ANNOUNCEMENT_THREAD, PUBLIC_THREAD, PRIVATE_THREAD})
TEXT_LIKE = frozenset(
    {GUILD_TEXT, GUILD_ANNOUNCEMENT, GUILD_VOICE, GUILD_STAGE_VOICE, DM, *THREAD_TYPES}
)
VOICE_LIKE = frozenset({GUILD_VOICE, GUILD_STAGE_VOICE})
EPHEMERAL = 1 << 6
LOADING = 1 << 7


def sid(value: int | None) -> str | None:
    return None if value is None else str(value)


@dataclass
class User:
    id: int
    username: str
    global_name: str | None = None
    bot: bool = False
    avatar: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": self.avatar,
            "public_flags": 0,
            "flags": 0,
            "banner": None,
            "accent_color": None,
            "avatar_decoration_data": None,
            "collectibles": None,
            "primary_guild": None,
        }
        if self.bot:
            data["bot"] = True
        return data


@dataclass
class Role:
    id: int
    guild_id: int
    name: str
    permissions: int = 0
    position: int = 0
    color: int = 0
    hoist: bool = False
    mentionable: bool = False
    managed: bool = False
    bot_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "name": self.name,
            "permissions": str(self.permissions),
            "position": self.position,
            "color": self.color,
            "colors": {
                "primary_color": self.color,
                "secondary_color": None,
                "tertiary_color": None,
            },
            "hoist": self.hoist,
            "mentionable": self.mentionable,
            "managed": self.managed,
            "icon": None,
            "unicode_emoji": None,
            "description": None,
            "flags": 0,
        }
        if self.bot_id is not None:
            data["tags"] = {"bot_id": str(self.bot_id)}
        return data


@dataclass
class Member:
    user: User
    guild_id: int
    roles: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: str = ""

    def to_dict(self, *, with_user: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "roles": [str(r) for r in self.roles],
            "nick": self.nick,
            "avatar": None,
            "banner": None,
            "joined_at": self.joined_at,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
            "communication_disabled_until": None,
        }
        if with_user:
            data["user"] = self.user.to_dict()
        return data


@dataclass
class Overwrite:
    id: int
    type: int  # 0 role, 1 member
    allow: int = 0
    deny: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "type": self.type,
            "allow": str(self.allow),
            "deny": str(self.deny),
        }

    def bits(self) -> perm.OverwriteBits:
        return perm.OverwriteBits(self.id, self.type, self.allow, self.deny)


@dataclass
class Channel:
    id: int
    type: int
    guild_id: int | None = None
    name: str | None = None
    position: int = 0
    parent_id: int | None = None
    topic: str | None = None
    nsfw: bool = False
    rate_limit_per_user: int = 0
    bitrate: int = 64000
    user_limit: int = 0
    overwrites: dict[int, Overwrite] = field(default_factory=dict)
    available_tags: list[dict[str, Any]] = field(default_factory=list)
    last_message_id: int | None = None
    recipients: list[User] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    thread: ThreadMetadata | None = None  # set on threads only
    owner_id: int | None = None  # a thread's creator
    applied_tags: list[int] = field(default_factory=list)
    message_count: int = 0
    total_message_sent: int = 0

    def to_dict(self) -> dict[str, Any]:
        if self.thread is not None:
            return self._thread_dict(self.thread)
        if self.type == DM:
            return {
                "id": str(self.id),
                "type": DM,
                "last_message_id": sid(self.last_message_id),
                "flags": 0,
                "recipients": [u.to_dict() for u in self.recipients],
            }
        data: dict[str, Any] = {
            "id": str(self.id),
            "type": self.type,
            "guild_id": sid(self.guild_id),
            "name": self.name,
            "position": self.position,
            "parent_id": sid(self.parent_id),
            "permission_overwrites": [o.to_dict() for o in self.overwrites.values()],
            "flags": 0,
        }
        if self.type != GUILD_CATEGORY:
            data["nsfw"] = self.nsfw
        if self.type in (GUILD_TEXT, GUILD_ANNOUNCEMENT, GUILD_FORUM, GUILD_MEDIA):
            data["topic"] = self.topic
            data["default_auto_archive_duration"] = self.extra.get(
                "default_auto_archive_duration", 4320
            )
            data["default_thread_rate_limit_per_user"] = self.extra.get(
                "default_thread_rate_limit_per_user", 0
            )
        if self.type in TEXT_LIKE:
            data["last_message_id"] = sid(self.last_message_id)
            data["rate_limit_per_user"] = self.rate_limit_per_user
        if self.type in (GUILD_FORUM, GUILD_MEDIA):
            data["rate_limit_per_user"] = self.rate_limit_per_user
            data["available_tags"] = self.available_tags
            data["default_reaction_emoji"] = self.extra.get("default_reaction_emoji")
            data["default_sort_order"] = self.extra.get("default_sort_order")
            data["default_forum_layout"] = self.extra.get("default_forum_layout", 0)
            data["last_message_id"] = sid(self.last_message_id)
        if self.type in VOICE_LIKE:
            data["bitrate"] = self.bitrate
            data["user_limit"] = self.user_limit
            data["rtc_region"] = self.extra.get("rtc_region")
            data["video_quality_mode"] = self.extra.get("video_quality_mode", 1)
        return data

    def _thread_dict(self, meta: ThreadMetadata) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "type": self.type,
            "guild_id": sid(self.guild_id),
            "parent_id": sid(self.parent_id),
            "owner_id": sid(self.owner_id),
            "name": self.name,
            "flags": 0,
            "last_message_id": sid(self.last_message_id),
            "rate_limit_per_user": self.rate_limit_per_user,
            "thread_metadata": meta.to_dict(),
            "message_count": self.message_count,
            "member_count": 1,
            "total_message_sent": self.total_message_sent,
            "applied_tags": [str(t) for t in self.applied_tags],
        }


@dataclass
class ThreadMetadata:
    auto_archive_duration: int
    create_timestamp: str
    archived: bool = False
    locked: bool = False
    archive_timestamp: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "archived": self.archived,
            "archive_timestamp": self.archive_timestamp or self.create_timestamp,
            "auto_archive_duration": self.auto_archive_duration,
            "locked": self.locked,
            "create_timestamp": self.create_timestamp,
        }


@dataclass
class Webhook:
    """An incoming webhook of a guild channel (type 1)."""

    id: int
    token: str
    guild_id: int
    channel_id: int
    name: str
    creator_id: int
    application_id: int | None = None
    avatar: str | None = None

    def to_dict(self, creator: User | None = None, *, with_token: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "type": 1,
            "guild_id": str(self.guild_id),
            "channel_id": str(self.channel_id),
            "name": self.name,
            "avatar": self.avatar,
            "application_id": sid(self.application_id),
        }
        if creator is not None:
            data["user"] = creator.to_dict()
        if with_token:
            data["token"] = self.token
        return data

    def author(self, username: str | None = None) -> User:
        """The pseudo-user a webhook message shows as (``username`` overrides the name)."""
        return User(id=self.id, username=username or self.name, bot=True, avatar=self.avatar)


@dataclass
class GuildTemplate:
    """A server template: a snapshot of a guild's settings, roles and channels."""

    code: str
    name: str
    description: str | None
    creator_id: int
    source_guild_id: int
    created_at: str
    updated_at: str
    snapshot: dict[str, Any]  # serialized_source_guild, template-local ids
    usage_count: int = 0


@dataclass
class Attachment:
    id: int
    filename: str
    data: bytes
    content_type: str | None
    url: str
    description: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": str(self.id),
            "filename": self.filename,
            "size": len(self.data),
            "url": self.url,
            "proxy_url": self.url,
        }
        if self.content_type:
            out["content_type"] = self.content_type
        if self.description:
            out["description"] = self.description
        return out


@dataclass
class Message:
    id: int
    channel_id: int
    author: User
    guild_id: int | None = None
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    flags: int = 0
    type: int = 0
    tts: bool = False
    edited_timestamp: str | None = None
    mentions: list[User] = field(default_factory=list)
    mention_roles: list[int] = field(default_factory=list)
    mention_everyone: bool = False
    pinned: bool = False
    webhook_id: int | None = None
    application_id: int | None = None
    interaction_metadata: dict[str, Any] | None = None
    message_reference: dict[str, Any] | None = None
    nonce: str | int | None = None
    reactions: dict[str, set[int]] = field(default_factory=dict)

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL)

    def to_dict(self, member: Member | None = None, me: int | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "channel_id": str(self.channel_id),
            "type": self.type,
            "author": self.author.to_dict(),
            "content": self.content,
            "timestamp": iso_timestamp(self.id),
            "edited_timestamp": self.edited_timestamp,
            "tts": self.tts,
            "mention_everyone": self.mention_everyone,
            "mentions": [u.to_dict() for u in self.mentions],
            "mention_roles": [str(r) for r in self.mention_roles],
            "attachments": [a.to_dict() for a in self.attachments],
            "embeds": self.embeds,
            "components": self.components,
            "pinned": self.pinned,
            "flags": self.flags,
        }
        if self.guild_id is not None:
            data["guild_id"] = str(self.guild_id)
            if member is not None and self.webhook_id is None:
                data["member"] = member.to_dict(with_user=False)
        if self.webhook_id is not None:
            data["webhook_id"] = str(self.webhook_id)
        if self.application_id is not None:
            data["application_id"] = str(self.application_id)
        if self.interaction_metadata is not None:
            data["interaction_metadata"] = self.interaction_metadata
        if self.message_reference is not None:
            data["message_reference"] = self.message_reference
        if self.nonce is not None:
            data["nonce"] = self.nonce
        if self.reactions:
            data["reactions"] = [
                {
                    "emoji": _emoji_dict(key),
                    "count": len(users),
                    "count_details": {"burst": 0, "normal": len(users)},
                    "me": me in users,
                    "me_burst": False,
                    "burst_colors": [],
                }
                for key, users in self.reactions.items()
                if users
            ]
        return data


def _emoji_dict(key: str) -> dict[str, Any]:
    if ":" in key:
        name, _, emoji_id = key.partition(":")
        return {"id": emoji_id, "name": name}
    return {"id": None, "name": key}


@dataclass
class ApplicationCommand:
    id: int
    application_id: int
    name: str
    type: int = 1
    description: str = ""
    guild_id: int | None = None
    options: list[dict[str, Any]] = field(default_factory=list)
    default_member_permissions: str | None = None
    nsfw: bool = False
    version: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "application_id": str(self.application_id),
            "version": str(self.version),
            "type": self.type,
            "name": self.name,
            "name_localizations": self.extra.get("name_localizations"),
            "description": self.description,
            "description_localizations": self.extra.get("description_localizations"),
            "default_member_permissions": self.default_member_permissions,
            "dm_permission": self.extra.get("dm_permission", True),
            "nsfw": self.nsfw,
            "integration_types": self.extra.get("integration_types") or [0],
            "contexts": self.extra.get("contexts"),
        }
        if self.options:
            data["options"] = self.options
        if self.guild_id is not None:
            data["guild_id"] = str(self.guild_id)
        return data


@dataclass
class Interaction:
    """An interaction the sandbox sent, and what the bot answered."""

    id: int
    token: str
    type: int
    application_id: int
    user_id: int
    channel_id: int
    guild_id: int | None
    data: dict[str, Any]
    payload: dict[str, Any] = field(default_factory=dict)
    message_id: int | None = None
    created: float = field(default_factory=time.monotonic)
    response_type: int | None = None
    response_data: dict[str, Any] | None = None
    original_message_id: int | None = None
    followup_ids: list[int] = field(default_factory=list)

    @property
    def acknowledged(self) -> bool:
        return self.response_type is not None

    @property
    def modal(self) -> dict[str, Any] | None:
        return self.response_data if self.response_type == 9 else None


@dataclass
class Guild:
    id: int
    name: str
    owner_id: int
    roles: dict[int, Role] = field(default_factory=dict)
    members: dict[int, Member] = field(default_factory=dict)
    channels: dict[int, Channel] = field(default_factory=dict)
    premium_tier: int = 0
    description: str | None = None
    features: list[str] = field(default_factory=list)  # e.g. "COMMUNITY"
    threads: dict[int, Channel] = field(default_factory=dict)  # not in ``channels``
    afk_channel_id: int | None = None
    afk_timeout: int = 300
    system_channel_id: int | None = None
    system_channel_flags: int = 0
    verification_level: int = 0
    default_message_notifications: int = 0
    explicit_content_filter: int = 0

    # lookups by name, for tests and the driver
    def channel(self, name: str, type: int | None = None) -> Channel:
        for ch in self.channels.values():
            if ch.name == name and (type is None or ch.type == type):
                return ch
        raise KeyError(f"no channel {name!r} in guild {self.name!r}")

    def role(self, name: str) -> Role:
        for role in self.roles.values():
            if role.name == name:
                return role
        raise KeyError(f"no role {name!r} in guild {self.name!r}")

    def member(self, name: str) -> Member:
        for member in self.members.values():
            if name in (member.user.username, member.nick, member.user.global_name):
                return member
        raise KeyError(f"no member {name!r} in guild {self.name!r}")

    @property
    def everyone(self) -> Role:
        return self.roles[self.id]

    def active_threads(self) -> list[Channel]:
        return [t for t in self.threads.values() if t.thread and not t.thread.archived]

    def sorted_roles(self) -> list[Role]:
        return sorted(self.roles.values(), key=lambda r: (r.position, r.id))

    def role_rank(self, role: Role) -> tuple[int, int]:
        """Where a role stands in the hierarchy: by position, and among roles at the same
        position (new roles all start at 1) the older one, with the lower id, is higher."""
        return (role.position, -role.id)

    def top_role_rank(self, user_id: int) -> tuple[int, int]:
        member = self.members.get(user_id)
        if member is None:
            return (-1, 0)
        ranks = [self.role_rank(self.roles[r]) for r in member.roles if r in self.roles]
        return max(ranks, default=self.role_rank(self.everyone))

    def top_role_position(self, user_id: int) -> int:
        member = self.members.get(user_id)
        if member is None:
            return -1
        return max((self.roles[r].position for r in member.roles if r in self.roles), default=0)

    def base_permissions(self, user_id: int) -> int:
        member = self.members.get(user_id)
        return perm.base_permissions(
            guild_id=self.id,
            owner_id=self.owner_id,
            member_id=user_id,
            member_role_ids=member.roles if member else (),
            role_permissions={r.id: r.permissions for r in self.roles.values()},
        )

    def channel_permissions(self, user_id: int, channel: Channel) -> int:
        if channel.type in THREAD_TYPES and channel.parent_id in self.channels:
            channel = self.channels[channel.parent_id]  # a thread has its parent's overwrites
        member = self.members.get(user_id)
        if member is None:
            return 0
        return perm.apply_overwrites(
            self.base_permissions(user_id),
            guild_id=self.id,
            member_id=user_id,
            member_role_ids=member.roles,
            overwrites=[o.bits() for o in channel.overwrites.values()],
            text_channel=channel.type in TEXT_LIKE,
        )

    def to_dict(
        self, *, full: bool = False, me: int | None = None, members: bool = True
    ) -> dict[str, Any]:
        """The guild object; ``full`` adds the GUILD_CREATE fields, with every member or,
        when ``members`` is false, only the bot's own (``me``)."""
        data: dict[str, Any] = {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "icon_hash": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": self.description,
            "owner_id": str(self.owner_id),
            "region": "deprecated",
            "afk_channel_id": sid(self.afk_channel_id),
            "afk_timeout": self.afk_timeout,
            "widget_enabled": False,
            "widget_channel_id": None,
            "verification_level": self.verification_level,
            "default_message_notifications": self.default_message_notifications,
            "explicit_content_filter": self.explicit_content_filter,
            "roles": [r.to_dict() for r in self.sorted_roles()],
            "emojis": [],
            "stickers": [],
            "features": list(self.features),
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": sid(self.system_channel_id),
            "system_channel_flags": self.system_channel_flags,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "max_presences": None,
            "max_members": 500000,
            "max_video_channel_users": 25,
            "max_stage_video_channel_users": 50,
            "vanity_url_code": None,
            "premium_tier": self.premium_tier,
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "nsfw_level": 0,
            "nsfw": False,
            "premium_progress_bar_enabled": False,
            "home_header": None,
            "incidents_data": None,
            "latest_onboarding_question_id": None,
        }
        if full:
            me_member = self.members.get(me) if me is not None else None
            data.update(
                {
                    "joined_at": me_member.joined_at if me_member else iso_timestamp(self.id),
                    "large": False,
                    "unavailable": False,
                    "member_count": len(self.members),
                    "voice_states": [],
                    "members": [
                        m.to_dict()
                        for m in (
                            self.members.values()
                            if members
                            else [self.members[me]]
                            if me in self.members
                            else []
                        )
                    ],
                    "channels": [c.to_dict() for c in self.channels.values()],
                    "threads": [t.to_dict() for t in self.active_threads()],
                    "presences": [],
                    "stage_instances": [],
                    "guild_scheduled_events": [],
                    "soundboard_sounds": [],
                    "embedded_activities": [],
                    "activity_instances": [],
                    "lazy": True,
                    "application_command_counts": {},
                }
            )
        return data


class SandboxState:
    """All guilds, users, channels, messages, commands and interactions."""

    def __init__(self, snowflakes: SnowflakeGenerator | None = None) -> None:
        self.snowflakes = snowflakes or SnowflakeGenerator()
        self.users: dict[int, User] = {}
        self.guilds: dict[int, Guild] = {}
        self.channels: dict[int, Channel] = {}
        self.messages: dict[int, dict[int, Message]] = {}
        self.ephemeral_messages: dict[int, Message] = {}
        self.commands: dict[int, ApplicationCommand] = {}
        self.interactions: dict[int, Interaction] = {}
        self.interactions_by_token: dict[str, Interaction] = {}
        self.webhooks: dict[int, Webhook] = {}
        self.templates: dict[str, GuildTemplate] = {}
        # Derived, never saved (names starting with _): users by name, for find_user.
        self._user_names: dict[str, User] = {}
        self._user_names_of: tuple[int, int] = (0, -1)  # (id, len) of `users` when built

    def new_id(self) -> int:
        return self.snowflakes.next()

    # users
    def add_user(self, username: str, *, bot: bool = False, user_id: int | None = None) -> User:
        user = User(id=user_id or self.new_id(), username=username, global_name=username, bot=bot)
        index_current = self._user_names_of == (id(self.users), len(self.users))
        self.users[user.id] = user
        if index_current:
            self._index_user(user)
            self._user_names_of = (id(self.users), len(self.users))
        return user

    def find_user(self, name: str) -> User:
        """The first user (in creation order) with that username or display name."""
        if self._user_names_of != (id(self.users), len(self.users)):
            self._user_names = {}
            for user in self.users.values():
                self._index_user(user)
            self._user_names_of = (id(self.users), len(self.users))
        try:
            return self._user_names[name]
        except KeyError:
            raise KeyError(f"no user {name!r}") from None

    def _index_user(self, user: User) -> None:
        for name in (user.username, user.global_name):
            if name:
                self._user_names.setdefault(name, user)

    def user(self, user_id: int) -> User:
        try:
            return self.users[user_id]
        except KeyError:
            raise unknown("User") from None

    # guilds
    def find_guild(self, name: str) -> Guild:
        for guild in self.guilds.values():
            if guild.name == name:
                return guild
        raise KeyError(f"no guild {name!r}")

    def guild(self, guild_id: int) -> Guild:
        try:
            return self.guilds[guild_id]
        except KeyError:
            raise unknown("Guild") from None

    def guild_of_member(self, guild_id: int, user_id: int) -> Guild:
        """The guild, if ``user_id`` is in it; else Unknown Guild / Missing Access."""
        guild = self.guild(guild_id)
        if user_id not in guild.members:
            raise missing_access()
        return guild

    def channel(self, channel_id: int) -> Channel:
        try:
            return self.channels[channel_id]
        except KeyError:
            raise unknown("Channel") from None

    def find_channel(self, name: str) -> Channel:
        for ch in self.channels.values():
            if ch.name == name:
                return ch
        raise KeyError(f"no channel {name!r}")

    def message(self, channel_id: int, message_id: int) -> Message:
        try:
            return self.messages[channel_id][message_id]
        except KeyError:
            raise unknown("Message") from None

    def find_message(self, message_id: int) -> Message:
        for by_id in self.messages.values():
            if message_id in by_id:
                return by_id[message_id]
        if message_id in self.ephemeral_messages:
            return self.ephemeral_messages[message_id]
        raise unknown("Message")

    def channel_messages(self, channel_id: int) -> list[Message]:
        """Messages of a channel, oldest first."""
        return list(self.messages.get(channel_id, {}).values())

    def new_token(self) -> str:
        return "aW50ZXJhY3Rpb24" + secrets.token_urlsafe(48)
