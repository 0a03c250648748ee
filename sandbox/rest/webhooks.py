"""Webhooks: channel webhooks (create, list, execute, edit their messages) and interaction
follow-ups, which share the token routes (addressed by application id + interaction token)."""

from __future__ import annotations

import secrets
from typing import Any

from sandbox import limits
from sandbox import permissions as perm
from sandbox.errors import ApiError, FormErrors, unknown
from sandbox.rest.base import Reply, RestRequest, RouteTable
from sandbox.rest.common import channel_for_bot, parse_snowflake, require_channel
from sandbox.rest.interactions import live_interaction, respond_with_message
from sandbox.rest.messages import create_message, edit_message
from sandbox.snowflake import iso_timestamp
from sandbox.state import (
    GUILD_ANNOUNCEMENT,
    GUILD_FORUM,
    GUILD_MEDIA,
    GUILD_STAGE_VOICE,
    GUILD_TEXT,
    GUILD_VOICE,
    LOADING,
    PUBLIC_THREAD,
    THREAD_TYPES,
    Channel,
    Interaction,
    Message,
    ThreadMetadata,
    Webhook,
)

routes = RouteTable()

BASE = "/webhooks/{webhook_id}/{webhook_token}"
MAX_PER_CHANNEL = 15
MANAGE_WEBHOOKS = perm.PERMISSION_BITS["manage_webhooks"]
WEBHOOK_CHANNELS = frozenset(
    {GUILD_TEXT, GUILD_ANNOUNCEMENT, GUILD_VOICE, GUILD_STAGE_VOICE, GUILD_FORUM, GUILD_MEDIA}
)
FORUMS = (GUILD_FORUM, GUILD_MEDIA)


def _for_interaction(req: RestRequest) -> bool:
    """Token routes under the application's id are interaction follow-ups."""
    return req.params["webhook_id"] == str(req.world.application_id)


# channel webhooks


def _webhook_dict(req: RestRequest, hook: Webhook) -> dict[str, Any]:
    data = hook.to_dict(req.state.users.get(hook.creator_id))
    data["url"] = f"{req.world.http_url}/api/v10/webhooks/{hook.id}/{hook.token}"
    return data


@routes.route("POST", "/channels/{channel_id}/webhooks")
async def create_webhook(req: RestRequest) -> dict[str, Any]:
    guild, channel = channel_for_bot(req)
    if guild is None or channel.type not in WEBHOOK_CHANNELS:
        raise ApiError(400, 50024, "Cannot execute action on this channel type")
    require_channel(guild, channel, req.me, MANAGE_WEBHOOKS)
    body = req.body()
    errors = FormErrors()
    limits.check_length(errors, ("name",), body.get("name"), 1, 80, required=True)
    errors.raise_if_any()
    if sum(1 for h in req.state.webhooks.values() if h.channel_id == channel.id) >= (
        MAX_PER_CHANNEL
    ):
        raise ApiError(400, 30007, f"Maximum number of webhooks reached ({MAX_PER_CHANNEL})")
    hook = Webhook(
        id=req.state.new_id(),
        token=secrets.token_urlsafe(51),
        guild_id=guild.id,
        channel_id=channel.id,
        name=body["name"],
        creator_id=req.me,
        application_id=req.world.application_id,
    )
    req.state.webhooks[hook.id] = hook
    req.world.emit(
        "WEBHOOKS_UPDATE",
        {"guild_id": str(guild.id), "channel_id": str(channel.id)},
        guild_id=guild.id,
    )
    return _webhook_dict(req, hook)


@routes.route("GET", "/channels/{channel_id}/webhooks")
async def list_webhooks(req: RestRequest) -> list[dict[str, Any]]:
    guild, channel = channel_for_bot(req)
    if guild is None:
        raise ApiError(400, 50024, "Cannot execute action on this channel type")
    require_channel(guild, channel, req.me, MANAGE_WEBHOOKS)
    hooks = [h for h in req.state.webhooks.values() if h.channel_id == channel.id]
    return [_webhook_dict(req, h) for h in hooks]


def _webhook(req: RestRequest) -> Webhook:
    """The webhook of a token route; a wrong token is 50027 like Discord's."""
    hook = req.state.webhooks.get(req.snowflake("webhook_id", "Webhook"))
    if hook is None:
        raise unknown("Webhook")
    if not secrets.compare_digest(hook.token, req.params["webhook_token"]):
        raise ApiError(401, 50027, "Invalid Webhook Token")
    return hook


def _target(req: RestRequest, hook: Webhook) -> Channel:
    """The webhook's channel, or the thread of it named by ``?thread_id``."""
    channel = req.state.channel(hook.channel_id)
    raw = req.query.get("thread_id")
    if raw is None:
        return channel
    thread = req.state.channels.get(parse_snowflake(raw, ("thread_id",)))
    if thread is None or thread.type not in THREAD_TYPES or thread.parent_id != channel.id:
        raise unknown("Channel")
    return thread


def _forum_post(req: RestRequest, hook: Webhook, forum: Channel, name: Any) -> Channel:
    errors = FormErrors()
    limits.check_length(errors, ("thread_name",), name, 1, 100, required=True)
    errors.raise_if_any()
    guild = req.state.guilds[hook.guild_id]
    thread_id = req.state.new_id()
    thread = Channel(
        id=thread_id,
        type=PUBLIC_THREAD,
        guild_id=guild.id,
        name=name,
        parent_id=forum.id,
        owner_id=hook.id,
        thread=ThreadMetadata(
            auto_archive_duration=forum.extra.get("default_auto_archive_duration", 4320),
            create_timestamp=iso_timestamp(thread_id),
        ),
    )
    req.world.store_thread(guild, thread)
    forum.last_message_id = thread.id
    return thread


def _wants_wait(req: RestRequest) -> bool:
    return req.query.get("wait") in ("true", "True", "1")


async def execute_webhook(req: RestRequest) -> Reply:
    """POST /webhooks/{id}/{token}: a message as the webhook (200 with ``?wait=true``)."""
    hook = _webhook(req)
    channel = _target(req, hook)
    payload = req.body()
    limits.check_message(payload, files=len(req.files))
    thread_name = payload.get("thread_name")
    message_id = None
    if channel.type in FORUMS:
        if not thread_name:
            raise ApiError(
                400,
                220001,
                "Webhooks posted to forum channels must have a thread_name or thread_id",
            )
        channel = _forum_post(req, hook, channel, thread_name)
        message_id = channel.id  # a forum post's first message shares the thread's id
    message = create_message(
        req.world,
        channel,
        hook.author(payload.get("username")),
        payload,
        req.files,
        webhook_id=hook.id,
        message_id=message_id,
    )
    if _wants_wait(req):
        return Reply(req.world.message_payload(message))
    return Reply(None, 204)


def _hook_message(req: RestRequest, hook: Webhook) -> Message:
    channel = _target(req, hook)
    message = req.state.messages.get(channel.id, {}).get(req.snowflake("message_id", "Message"))
    if message is None or message.webhook_id != hook.id:
        raise unknown("Message")
    return message


async def edit_webhook_message(req: RestRequest) -> dict[str, Any]:
    hook = _webhook(req)
    message = _hook_message(req, hook)
    edit_message(req.world, message, req.body(), req.files)
    return req.world.message_payload(message)


# interaction follow-ups


def _interaction(req: RestRequest) -> Interaction:
    token = req.params["webhook_token"]
    inter = req.state.interactions_by_token.get(token)
    if inter is None or not _for_interaction(req):
        raise unknown("Webhook")
    return live_interaction(req.world, inter, token)


def _original(req: RestRequest, inter: Interaction) -> Message:
    message_id = inter.original_message_id or (
        inter.message_id if inter.response_type in (6, 7) else None
    )
    if message_id is None:
        raise unknown("Message")
    return req.state.find_message(message_id)


def _followup(req: RestRequest, inter: Interaction) -> Message:
    message_id = req.snowflake("message_id")
    if message_id not in (*inter.followup_ids, inter.original_message_id, inter.message_id):
        raise unknown("Message")
    return req.state.find_message(message_id)


def _edit(req: RestRequest, message: Message) -> dict[str, Any]:
    message.flags &= ~LOADING
    edit_message(req.world, message, req.body(), req.files)
    return req.world.message_payload(message)


@routes.route("POST", BASE, auth=False)
async def followup(req: RestRequest) -> Reply:
    if not _for_interaction(req):
        return await execute_webhook(req)
    inter = _interaction(req)
    if not inter.acknowledged:
        raise unknown("Webhook")
    original = inter.original_message_id
    loading = original is not None and req.state.find_message(original).flags & LOADING
    if inter.response_type == 5 and loading:
        # the first follow-up after a deferral replaces the "thinking" message
        assert original is not None
        message = req.state.find_message(original)
        message.flags &= ~LOADING
        edit_message(req.world, message, req.body(), req.files)
    else:
        message = respond_with_message(req.world, inter, req.body(), req.files)
        inter.followup_ids.append(message.id)
    if _wants_wait(req):
        return Reply(req.world.message_payload(message))
    return Reply(None, 204)


@routes.route("GET", BASE + "/messages/@original", auth=False)
async def get_original(req: RestRequest) -> dict[str, Any]:
    return req.world.message_payload(_original(req, _interaction(req)))


@routes.route("PATCH", BASE + "/messages/@original", auth=False)
async def edit_original(req: RestRequest) -> dict[str, Any]:
    return _edit(req, _original(req, _interaction(req)))


@routes.route("DELETE", BASE + "/messages/@original", auth=False)
async def delete_original(req: RestRequest) -> Reply:
    req.world.delete_message(_original(req, _interaction(req)))
    return Reply(None, 204)


@routes.route("GET", BASE + "/messages/{message_id}", auth=False)
async def get_followup(req: RestRequest) -> dict[str, Any]:
    if not _for_interaction(req):
        return req.world.message_payload(_hook_message(req, _webhook(req)))
    return req.world.message_payload(_followup(req, _interaction(req)))


@routes.route("PATCH", BASE + "/messages/{message_id}", auth=False)
async def edit_followup(req: RestRequest) -> dict[str, Any]:
    if not _for_interaction(req):
        return await edit_webhook_message(req)
    return _edit(req, _followup(req, _interaction(req)))


@routes.route("DELETE", BASE + "/messages/{message_id}", auth=False)
async def delete_followup(req: RestRequest) -> Reply:
    if not _for_interaction(req):
        req.world.delete_message(_hook_message(req, _webhook(req)))
    else:
        req.world.delete_message(_followup(req, _interaction(req)))
    return Reply(None, 204)
