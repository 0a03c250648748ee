"""Messages: send (JSON or multipart), read, edit, delete, bulk delete, typing, reactions."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from sandbox import limits
from sandbox import permissions as perm
from sandbox.errors import ApiError, FormErrors, unknown
from sandbox.ratelimit import OLD_MESSAGE_AGE
from sandbox.rest.base import RateLimitedReply, Reply, RestRequest, RouteTable, UploadedFile
from sandbox.rest.common import channel_for_bot, require_channel
from sandbox.snowflake import snowflake_from_ms, snowflake_time_ms
from sandbox.state import EPHEMERAL, TEXT_LIKE, Attachment, Channel, Guild, Message, User

if TYPE_CHECKING:
    from sandbox.world import World

routes = RouteTable()

USER_MENTION = re.compile(r"<@!?(\d+)>")
ROLE_MENTION = re.compile(r"<@&(\d+)>")
_EDITABLE_FLAGS = (1 << 2) | EPHEMERAL  # SUPPRESS_EMBEDS, EPHEMERAL (interactions only)
# what a new message may carry: also SUPPRESS_NOTIFICATIONS and IS_COMPONENTS_V2
_CREATE_FLAGS = _EDITABLE_FLAGS | (1 << 12) | (1 << 15)


def _attachments(
    world: World, channel_id: int, payload: dict[str, Any], files: list[UploadedFile]
) -> list[Attachment]:
    described = {
        str(a.get("id")): a for a in payload.get("attachments") or [] if isinstance(a, dict)
    }
    result = []
    for index, upload in enumerate(files):
        match = re.search(r"\[(\d+)\]", upload.field)
        key = match.group(1) if match else str(index)
        info = described.get(key, {})
        att_id = world.state.new_id()
        filename = info.get("filename") or upload.filename
        attachment = Attachment(
            id=att_id,
            filename=filename,
            data=upload.data,
            content_type=upload.content_type,
            url=f"{world.http_url}/attachments/{channel_id}/{att_id}/{quote(filename)}",
            description=info.get("description"),
        )
        world.attachments[att_id] = attachment
        result.append(attachment)
    return result


def _mentions(world: World, content: str) -> tuple[list[User], list[int]]:
    users = []
    for raw in USER_MENTION.findall(content):
        user = world.state.users.get(int(raw))
        if user is not None and user not in users:
            users.append(user)
    roles = [int(r) for r in ROLE_MENTION.findall(content)]
    return users, roles


def normalise_components(raw: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Copies of the components with Discord's numeric ``id`` on each one (depth-first)."""
    counter = 0

    def walk(component: dict[str, Any]) -> dict[str, Any]:
        nonlocal counter
        counter += 1
        out = {**component}
        out.setdefault("id", counter)
        if isinstance(out.get("components"), list):
            out["components"] = [walk(c) for c in out["components"]]
        for key in ("component", "accessory"):
            if isinstance(out.get(key), dict):
                out[key] = walk(out[key])
        return out

    return [walk(c) for c in raw or []]


def _embeds(raw: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return [{"type": "rich", **e} for e in raw or []]


def create_message(
    world: World,
    channel: Channel,
    author: User,
    payload: dict[str, Any],
    files: list[UploadedFile] | None = None,
    *,
    webhook_id: int | None = None,
    interaction_metadata: dict[str, Any] | None = None,
    message_type: int | None = None,
    ephemeral_allowed: bool = False,
    dispatch: bool = True,
    message_id: int | None = None,
) -> Message:
    """Validate, store and dispatch a new message (also used by interactions and the driver)."""
    files = files or []
    limits.check_message(payload, files=len(files))
    reference = payload.get("message_reference")
    if reference and reference.get("message_id"):
        ref_id = int(reference["message_id"])
        if ref_id not in world.state.messages.get(channel.id, {}) and reference.get(
            "fail_if_not_exists", True
        ):
            errors = FormErrors()
            errors.add(("message_reference",), "REPLIES_UNKNOWN_MESSAGE", "Unknown message")
            errors.raise_if_any()
        reference = {
            "type": 0,
            "message_id": str(ref_id),
            "channel_id": str(channel.id),
            **({"guild_id": str(channel.guild_id)} if channel.guild_id else {}),
        }
    else:
        reference = None
    content = payload.get("content") or ""
    mentions, mention_roles = _mentions(world, content)
    flags = int(payload.get("flags") or 0)
    if not ephemeral_allowed:
        flags &= ~EPHEMERAL
    message = Message(
        id=message_id if message_id is not None else world.state.new_id(),
        channel_id=channel.id,
        guild_id=channel.guild_id,
        author=author,
        content=content,
        embeds=_embeds(payload.get("embeds")),
        components=normalise_components(payload.get("components")),
        attachments=_attachments(world, channel.id, payload, files),
        flags=flags & _CREATE_FLAGS,
        type=message_type if message_type is not None else (19 if reference else 0),
        tts=bool(payload.get("tts", False)),
        mentions=mentions,
        mention_roles=mention_roles,
        mention_everyone="@everyone" in content or "@here" in content,
        webhook_id=webhook_id,
        application_id=world.application_id if webhook_id else None,
        interaction_metadata=interaction_metadata,
        message_reference=reference,
        nonce=payload.get("nonce"),
    )
    world.store_message(message, dispatch=dispatch)
    return message


def edit_message(
    world: World,
    message: Message,
    payload: dict[str, Any],
    files: list[UploadedFile] | None = None,
) -> Message:
    """Apply an edit payload, then dispatch MESSAGE_UPDATE (unless ephemeral)."""
    limits.check_message(payload, editing=True)
    if "content" in payload:
        message.content = payload["content"] or ""
        message.mentions, message.mention_roles = _mentions(world, message.content)
    if "embeds" in payload:
        message.embeds = _embeds(payload["embeds"])
    if "components" in payload:
        message.components = normalise_components(payload["components"])
    if "flags" in payload and payload["flags"] is not None:
        keep = message.flags & ~_EDITABLE_FLAGS & ~(1 << 7)
        message.flags = keep | (int(payload["flags"]) & (1 << 2)) | (message.flags & EPHEMERAL)
    if "attachments" in payload:
        kept_ids = {str(a.get("id")) for a in payload["attachments"] or []}
        message.attachments = [a for a in message.attachments if str(a.id) in kept_ids]
    message.attachments += _attachments(world, message.channel_id, payload, files or [])
    message.edited_timestamp = datetime.fromtimestamp(world.clock.time(), UTC).isoformat()
    world.update_message(message)
    return message


def _sendable(req: RestRequest) -> tuple[Guild | None, Channel]:
    guild, channel = channel_for_bot(req)
    if channel.type not in TEXT_LIKE:
        raise ApiError(400, 50008, "Cannot send messages in a non-text channel")
    return guild, channel


@routes.route("GET", "/channels/{channel_id}/messages")
async def list_messages(req: RestRequest) -> list[dict[str, Any]]:
    guild, channel = channel_for_bot(req)
    require_channel(guild, channel, req.me, perm.READ_MESSAGE_HISTORY)
    limit = req.query_int("limit", 50, 1, 100)
    messages = req.state.channel_messages(channel.id)  # oldest first
    if "around" in req.query:
        around = int(req.query["around"])
        older = [m for m in messages if m.id < around][-(limit // 2) :] if limit > 1 else []
        newer = [m for m in messages if m.id >= around][: limit - len(older)]
        chosen = older + newer
    elif "after" in req.query:
        after = int(req.query["after"])
        chosen = [m for m in messages if m.id > after][:limit]
    else:
        before = int(req.query.get("before") or 2**63)
        chosen = [m for m in messages if m.id < before][-limit:]
    chosen.sort(key=lambda m: m.id, reverse=True)
    return [req.world.message_payload(m) for m in chosen]


@routes.route("POST", "/channels/{channel_id}/messages/bulk-delete")
async def bulk_delete(req: RestRequest) -> Reply:
    guild, channel = channel_for_bot(req)
    if guild is None:
        raise ApiError(403, 50003, "Cannot execute action on a DM channel")
    require_channel(guild, channel, req.me, perm.MANAGE_MESSAGES)
    ids = req.body().get("messages")
    errors = FormErrors()
    limits.check_length(errors, ("messages",), ids, 2, 100, required=True)
    errors.raise_if_any()
    parsed = [int(i) for i in ids]
    oldest_ok = snowflake_from_ms(int((req.world.clock.time() - 14 * 86400) * 1000))
    if any(i < oldest_ok for i in parsed):
        raise ApiError(400, 50034, "You can only bulk delete messages that are under 14 days old.")
    by_id = req.state.messages.get(channel.id, {})
    deleted = [i for i in dict.fromkeys(parsed) if by_id.pop(i, None) is not None]
    if deleted:
        req.world.emit(
            "MESSAGE_DELETE_BULK",
            {
                "ids": [str(i) for i in deleted],
                "channel_id": str(channel.id),
                "guild_id": str(guild.id),
            },
            guild_id=guild.id,
        )
    return Reply(None, 204)


@routes.route("GET", "/channels/{channel_id}/messages/{message_id}")
async def get_message(req: RestRequest) -> dict[str, Any]:
    guild, channel = channel_for_bot(req)
    require_channel(guild, channel, req.me, perm.READ_MESSAGE_HISTORY)
    return req.world.message_payload(req.state.message(channel.id, req.snowflake("message_id")))


@routes.route("POST", "/channels/{channel_id}/messages")
async def send_message(req: RestRequest) -> dict[str, Any]:
    guild, channel = _sendable(req)
    payload = req.body()
    needed = perm.SEND_MESSAGES
    if payload.get("embeds"):
        needed |= perm.EMBED_LINKS
    if req.files:
        needed |= perm.ATTACH_FILES
    if payload.get("message_reference"):
        needed |= perm.READ_MESSAGE_HISTORY
    require_channel(guild, channel, req.me, needed)
    if payload.get("enforce_nonce") and payload.get("nonce") is not None:
        # Discord: a nonce this author used in the channel in the last few minutes gets
        # the message it made then, not a second one.
        for earlier in reversed(req.state.channel_messages(channel.id)[-100:]):
            if earlier.author.id == req.me and str(earlier.nonce) == str(payload["nonce"]):
                return req.world.message_payload(earlier)
    message = create_message(req.world, channel, req.world.bot_user, payload, req.files)
    return req.world.message_payload(message)


@routes.route("PATCH", "/channels/{channel_id}/messages/{message_id}")
async def patch_message(req: RestRequest) -> dict[str, Any]:
    guild, channel = channel_for_bot(req)
    message = req.state.message(channel.id, req.snowflake("message_id"))
    payload = req.body()
    if message.author.id != req.me:
        if set(payload) - {"flags"}:
            raise ApiError(403, 50005, "Cannot edit a message authored by another user")
        require_channel(guild, channel, req.me, perm.MANAGE_MESSAGES)
    if payload.get("embeds"):
        require_channel(guild, channel, req.me, perm.EMBED_LINKS)
    if req.files:
        require_channel(guild, channel, req.me, perm.ATTACH_FILES)
    if req.limiter is not None and req.world.clock.age_of(message.id) > OLD_MESSAGE_AGE:
        decision = req.limiter.check_old_message_edit(str(channel.id))
        if not decision.allowed:
            raise RateLimitedReply(decision)
    edit_message(req.world, message, payload, req.files)
    return req.world.message_payload(message)


@routes.route("DELETE", "/channels/{channel_id}/messages/{message_id}")
async def delete_message(req: RestRequest) -> Reply:
    guild, channel = channel_for_bot(req)
    message = req.state.message(channel.id, req.snowflake("message_id"))
    if message.author.id != req.me:
        require_channel(guild, channel, req.me, perm.MANAGE_MESSAGES)
    req.world.delete_message(message)
    return Reply(None, 204)


@routes.route("POST", "/channels/{channel_id}/typing")
async def typing(req: RestRequest) -> Reply:
    guild, channel = _sendable(req)
    require_channel(guild, channel, req.me, perm.SEND_MESSAGES)
    data: dict[str, Any] = {
        "channel_id": str(channel.id),
        "user_id": str(req.me),
        "timestamp": int(req.world.clock.time()),
    }
    if guild is not None:
        data["guild_id"] = str(guild.id)
        data["member"] = guild.members[req.me].to_dict()
    req.world.emit("TYPING_START", data, guild_id=channel.guild_id, dm=guild is None)
    return Reply(None, 204)


def _reaction_key(raw: str) -> str:
    if ":" in raw:
        name, _, emoji_id = raw.partition(":")
        if not emoji_id.isdigit():
            raise unknown("Emoji")
        return f"{name}:{emoji_id}"
    if not raw or raw.isascii():
        raise unknown("Emoji")
    return raw


async def _react(req: RestRequest, user_id: int, add: bool) -> Reply:
    guild, channel = channel_for_bot(req)
    message = req.state.message(channel.id, req.snowflake("message_id"))
    key = _reaction_key(req.params["emoji"])
    if add:
        require_channel(guild, channel, req.me, perm.READ_MESSAGE_HISTORY | perm.ADD_REACTIONS)
    elif user_id != req.me:
        require_channel(guild, channel, req.me, perm.MANAGE_MESSAGES)
    users = message.reactions.setdefault(key, set())
    if (user_id in users) != add:
        if add:
            users.add(user_id)
        else:
            users.discard(user_id)
        name, _, emoji_id = key.partition(":") if ":" in key else (key, "", "")
        data: dict[str, Any] = {
            "user_id": str(user_id),
            "channel_id": str(channel.id),
            "message_id": str(message.id),
            "emoji": {"id": emoji_id or None, "name": name},
            "burst": False,
            "type": 0,
        }
        if guild is not None:
            data["guild_id"] = str(guild.id)
            if add:
                data["member"] = guild.members[user_id].to_dict()
        event = "MESSAGE_REACTION_ADD" if add else "MESSAGE_REACTION_REMOVE"
        req.world.emit(event, data, guild_id=channel.guild_id, dm=guild is None)
    return Reply(None, 204)


@routes.route("PUT", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me")
async def add_reaction(req: RestRequest) -> Reply:
    return await _react(req, req.me, add=True)


@routes.route("DELETE", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me")
async def remove_own_reaction(req: RestRequest) -> Reply:
    return await _react(req, req.me, add=False)


@routes.route("DELETE", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/{user_id}")
async def remove_reaction(req: RestRequest) -> Reply:
    return await _react(req, req.snowflake("user_id"), add=False)


__all__ = ["create_message", "edit_message", "snowflake_time_ms"]
