"""Threads: forum posts (a thread with its first message), threads in text channels,
and a guild's active threads."""

from __future__ import annotations

from typing import Any

from sandbox import limits
from sandbox import permissions as perm
from sandbox.errors import ApiError, FormErrors
from sandbox.rest.base import Reply, RestRequest, RouteTable
from sandbox.rest.common import channel_for_bot, guild_for_bot, parse_snowflake, require_channel
from sandbox.rest.messages import create_message
from sandbox.snowflake import iso_timestamp
from sandbox.state import (
    GUILD_ANNOUNCEMENT,
    GUILD_FORUM,
    GUILD_MEDIA,
    GUILD_TEXT,
    PRIVATE_THREAD,
    PUBLIC_THREAD,
    Channel,
    ThreadMetadata,
)

routes = RouteTable()

ARCHIVE_DURATIONS = (60, 1440, 4320, 10080)
MAX_APPLIED_TAGS = 5
FORUMS = (GUILD_FORUM, GUILD_MEDIA)

CREATE_PUBLIC_THREADS = perm.PERMISSION_BITS["create_public_threads"]
CREATE_PRIVATE_THREADS = perm.PERMISSION_BITS["create_private_threads"]


def _thread_fields(parent: Channel, body: dict[str, Any], errors: FormErrors) -> dict[str, Any]:
    limits.check_length(errors, ("name",), body.get("name"), 1, 100, required=True)
    duration = body.get("auto_archive_duration")
    if duration is None:
        duration = parent.extra.get("default_auto_archive_duration", 4320)
    elif duration not in ARCHIVE_DURATIONS:
        errors.add(
            ("auto_archive_duration",),
            "BASE_TYPE_CHOICES",
            f"Value must be one of {list(ARCHIVE_DURATIONS)}.",
        )
    limits.check_range(errors, ("rate_limit_per_user",), body.get("rate_limit_per_user"), 0, 21600)
    return {
        "name": body.get("name"),
        "auto_archive_duration": duration,
        "rate_limit_per_user": body.get("rate_limit_per_user") or 0,
    }


def _applied_tags(forum: Channel, raw: Any, errors: FormErrors) -> list[int]:
    if raw is None:
        return []
    limits.check_length(errors, ("applied_tags",), raw, 0, MAX_APPLIED_TAGS)
    known = {str(tag["id"]) for tag in forum.available_tags}
    tags = []
    for i, value in enumerate(raw if isinstance(raw, list) else []):
        tag_id = parse_snowflake(value, ("applied_tags", i))
        if str(tag_id) not in known:
            errors.add(("applied_tags", i), "FORUM_TAG_UNKNOWN", "Unknown tag for this channel.")
        tags.append(tag_id)
    return list(dict.fromkeys(tags))


def _new_thread(req: RestRequest, parent: Channel, kind: int, fields: dict[str, Any]) -> Channel:
    thread_id = req.state.new_id()
    return Channel(
        id=thread_id,
        type=kind,
        guild_id=parent.guild_id,
        name=fields["name"],
        parent_id=parent.id,
        owner_id=req.me,
        rate_limit_per_user=fields["rate_limit_per_user"],
        thread=ThreadMetadata(
            auto_archive_duration=fields["auto_archive_duration"],
            create_timestamp=iso_timestamp(thread_id),
        ),
    )


@routes.route("POST", "/channels/{channel_id}/threads")
async def create_thread(req: RestRequest) -> Reply:
    """A forum post (``message`` required) or a thread without a message in a text channel."""
    guild, parent = channel_for_bot(req)
    if guild is None:
        raise ApiError(400, 50024, "Cannot execute action on this channel type")
    body = req.body()
    errors = FormErrors()
    fields = _thread_fields(parent, body, errors)
    if parent.type in FORUMS:
        message = body.get("message")
        if not isinstance(message, dict):
            errors.add(("message",), "BASE_TYPE_REQUIRED", "This field is required")
        tags = _applied_tags(parent, body.get("applied_tags"), errors)
        errors.raise_if_any()
        assert isinstance(message, dict)
        require_channel(guild, parent, req.me, perm.SEND_MESSAGES)
        thread = _new_thread(req, parent, PUBLIC_THREAD, fields)
        thread.applied_tags = tags
        limits.check_message(message, files=len(req.files))  # before anything is stored
        req.world.store_thread(guild, thread)
        starter = create_message(
            req.world, thread, req.world.bot_user, message, req.files, message_id=thread.id
        )
        parent.last_message_id = thread.id
        return Reply({**thread.to_dict(), "message": req.world.message_payload(starter)}, 201)
    if parent.type not in (GUILD_TEXT, GUILD_ANNOUNCEMENT):
        raise ApiError(400, 50024, "Cannot execute action on this channel type")
    kind = body.get("type", PRIVATE_THREAD)
    if kind not in (PUBLIC_THREAD, PRIVATE_THREAD):
        errors.add(("type",), "BASE_TYPE_CHOICES", "Value must be one of [11, 12].")
    errors.raise_if_any()
    needed = CREATE_PUBLIC_THREADS if kind == PUBLIC_THREAD else CREATE_PRIVATE_THREADS
    require_channel(guild, parent, req.me, needed)
    thread = _new_thread(req, parent, kind, fields)
    req.world.store_thread(guild, thread)
    return Reply(thread.to_dict(), 201)


@routes.route("GET", "/guilds/{guild_id}/threads/active")
async def active_threads(req: RestRequest) -> dict[str, Any]:
    """The guild's unarchived threads the bot can see."""
    guild = guild_for_bot(req)
    visible = [
        t
        for t in guild.active_threads()
        if guild.channel_permissions(req.me, t) & perm.VIEW_CHANNEL
    ]
    return {"threads": [t.to_dict() for t in visible], "members": [], "has_more": False}
