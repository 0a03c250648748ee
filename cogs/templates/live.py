"""A guild as REST returns it (GET /guilds/{g}, /channels, /roles), in plain data.

The planner and the snapshot read only this, so both are pure and testable without a bot."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cogs.templates.document import TYPE_NAMES

# Discord channel field -> template property, with the value Discord reports when unset.
FIELD_MAP: dict[str, tuple[str, Any]] = {
    "topic": ("topic", None),
    "nsfw": ("nsfw", False),
    "slowmode": ("rate_limit_per_user", 0),
    "bitrate": ("bitrate", 64000),
    "user_limit": ("user_limit", 0),
    "rtc_region": ("rtc_region", None),
    "video_quality": ("video_quality_mode", 1),
    "default_auto_archive": ("default_auto_archive_duration", 4320),
    "default_thread_slowmode": ("default_thread_rate_limit_per_user", 0),
    "tags": ("available_tags", []),
    "default_reaction": ("default_reaction_emoji", None),
    "sort_order": ("default_sort_order", None),
    "layout": ("default_forum_layout", 0),
}


@dataclass
class LiveOverwrite:
    id: int
    type: int  # 0 role, 1 member
    allow: int
    deny: int


@dataclass
class LiveRole:
    id: int
    name: str
    permissions: int
    position: int
    color: int = 0
    hoist: bool = False
    mentionable: bool = False
    managed: bool = False
    unicode_emoji: str | None = None

    @classmethod
    def from_api(cls, raw: dict[str, Any]) -> LiveRole:
        return cls(
            id=int(raw["id"]),
            name=raw["name"],
            permissions=int(raw.get("permissions") or 0),
            position=int(raw.get("position") or 0),
            color=int(raw.get("color") or 0),
            hoist=bool(raw.get("hoist")),
            mentionable=bool(raw.get("mentionable")),
            managed=bool(raw.get("managed")),
            unicode_emoji=raw.get("unicode_emoji"),
        )


@dataclass
class LiveChannel:
    id: int
    type: int
    name: str
    position: int
    parent_id: int | None
    raw: dict[str, Any] = field(default_factory=dict)
    overwrites: list[LiveOverwrite] = field(default_factory=list)

    @property
    def type_name(self) -> str | None:
        return TYPE_NAMES.get(self.type)

    @property
    def holds_messages(self) -> bool:
        return self.raw.get("last_message_id") is not None

    def prop(self, name: str) -> Any:
        api_name, default = FIELD_MAP[name]
        value = self.raw.get(api_name, default)
        if name == "tags":
            return [
                {
                    "name": tag["name"],
                    "moderated": bool(tag.get("moderated")),
                    "emoji_name": tag.get("emoji_name"),
                    "emoji_id": tag.get("emoji_id"),
                }
                for tag in value or []
            ]
        if name == "default_reaction" and value is not None:
            return {"emoji_name": value.get("emoji_name"), "emoji_id": value.get("emoji_id")}
        return default if value is None and default is not None else value

    @classmethod
    def from_api(cls, raw: dict[str, Any]) -> LiveChannel:
        return cls(
            id=int(raw["id"]),
            type=int(raw["type"]),
            name=raw.get("name") or "",
            position=int(raw.get("position") or 0),
            parent_id=int(raw["parent_id"]) if raw.get("parent_id") else None,
            raw=raw,
            overwrites=[
                LiveOverwrite(
                    int(ow["id"]),
                    int(ow["type"]) if str(ow["type"]).isdigit() else int(ow["type"] == "member"),
                    int(ow.get("allow") or 0),
                    int(ow.get("deny") or 0),
                )
                for ow in raw.get("permission_overwrites") or []
            ],
        )


@dataclass
class LiveGuild:
    id: int
    name: str
    roles: list[LiveRole]
    channels: list[LiveChannel]
    raw: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_api(
        cls, guild: dict[str, Any], channels: list[dict[str, Any]], roles: list[dict[str, Any]]
    ) -> LiveGuild:
        return cls(
            id=int(guild["id"]),
            name=guild.get("name", ""),
            roles=[LiveRole.from_api(r) for r in roles],
            channels=[LiveChannel.from_api(c) for c in channels if int(c["type"]) in TYPE_NAMES],
            raw=guild,
        )

    @property
    def premium_tier(self) -> int:
        return int(self.raw.get("premium_tier") or 0)

    @property
    def everyone(self) -> LiveRole | None:
        return next((r for r in self.roles if r.id == self.id), None)

    def role(self, role_id: int) -> LiveRole | None:
        return next((r for r in self.roles if r.id == role_id), None)

    def channel(self, channel_id: int) -> LiveChannel | None:
        return next((c for c in self.channels if c.id == channel_id), None)

    def roles_top_down(self) -> list[LiveRole]:
        return sorted((r for r in self.roles if r.id != self.id), key=lambda r: (-r.position, r.id))

    def children(self, parent_id: int | None) -> list[LiveChannel]:
        """Channels under `parent_id` (None: the top level) in Discord's display order."""
        return sorted(
            (c for c in self.channels if c.parent_id == parent_id),
            key=lambda c: (display_group(c.type_name or "text"), c.position, c.id),
        )


def display_group(type_name: str) -> int:
    """Discord lists text-like channels, then voice-like ones, then categories."""
    if type_name == "category":
        return 2
    return 1 if type_name in ("voice", "stage") else 0
