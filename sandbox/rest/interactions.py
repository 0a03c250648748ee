"""The interaction callback: the bot's first answer to an interaction."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from sandbox import limits
from sandbox.errors import ApiError, FormErrors, unknown
from sandbox.rest.base import Reply, RestRequest, RouteTable
from sandbox.rest.messages import create_message, edit_message
from sandbox.state import EPHEMERAL, LOADING, Interaction, Message

if TYPE_CHECKING:
    from sandbox.world import World

routes = RouteTable()

PING, APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 1, 2, 3, 4, 5
PONG, CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE = 1, 4, 5, 6, 7
AUTOCOMPLETE_RESULT, MODAL = 8, 9

# which callback types each interaction type accepts
ALLOWED: dict[int, set[int]] = {
    PING: {PONG},
    APPLICATION_COMMAND: {CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, MODAL},
    MESSAGE_COMPONENT: {
        CHANNEL_MESSAGE,
        DEFERRED_CHANNEL_MESSAGE,
        DEFERRED_UPDATE,
        UPDATE_MESSAGE,
        MODAL,
    },
    AUTOCOMPLETE: {AUTOCOMPLETE_RESULT},
    MODAL_SUBMIT: {CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE},
}


def interaction_metadata(world: World, inter: Interaction) -> dict[str, Any]:
    user = world.state.users[inter.user_id]
    meta: dict[str, Any] = {
        "id": str(inter.id),
        "type": inter.type,
        "user": user.to_dict(),
        "authorizing_integration_owners": inter.payload.get("authorizing_integration_owners", {}),
    }
    if inter.type == APPLICATION_COMMAND:
        meta["name"] = inter.data.get("name")
        meta["command_type"] = inter.data.get("type", 1)
    if inter.message_id is not None:
        meta["interacted_message_id"] = str(inter.message_id)
    return meta


def live_interaction(world: World, inter: Interaction | None, token: str) -> Interaction:
    """The interaction if its token is valid and not expired (else 10062)."""
    if inter is None or inter.token != token:
        raise unknown("interaction")
    if time.monotonic() - inter.created > world.interaction_token_lifetime:
        raise unknown("interaction")
    return inter


def _message_type(inter: Interaction) -> int:
    if inter.type == APPLICATION_COMMAND:
        return 20 if inter.data.get("type", 1) == 1 else 23
    return 0


def respond_with_message(
    world: World, inter: Interaction, data: dict[str, Any], files: list[Any]
) -> Message:
    channel = world.state.channel(inter.channel_id)
    return create_message(
        world,
        channel,
        world.bot_user,
        data,
        files,
        webhook_id=world.application_id,
        interaction_metadata=interaction_metadata(world, inter),
        message_type=_message_type(inter),
        ephemeral_allowed=True,
    )


def loading_message(world: World, inter: Interaction, ephemeral: bool) -> Message:
    message = Message(
        id=world.state.new_id(),
        channel_id=inter.channel_id,
        guild_id=inter.guild_id,
        author=world.bot_user,
        flags=LOADING | (EPHEMERAL if ephemeral else 0),
        type=_message_type(inter),
        webhook_id=world.application_id,
        application_id=world.application_id,
        interaction_metadata=interaction_metadata(world, inter),
    )
    world.store_message(message)
    return message


def _check_type(inter: Interaction, kind: Any) -> int:
    if kind not in ALLOWED.get(inter.type, set()) or (
        kind in (DEFERRED_UPDATE, UPDATE_MESSAGE) and inter.message_id is None
    ):
        errors = FormErrors()
        errors.add(
            ("type",),
            "INTERACTION_RESPONSE_TYPE_INVALID",
            "Interaction response type is not valid for this interaction.",
        )
        errors.raise_if_any()
    return int(kind)


@routes.route(
    "POST",
    "/interactions/{interaction_id}/{interaction_token}/callback",
    auth=False,
    counts_global=False,
)
async def callback(req: RestRequest) -> Reply:
    world = req.world
    inter_id = req.snowflake("interaction_id")
    inter = live_interaction(
        world, req.state.interactions.get(inter_id), req.params["interaction_token"]
    )
    if inter.acknowledged:
        raise ApiError(400, 40060, "Interaction has already been acknowledged.")
    deadline = world.interaction_ack_deadline
    if deadline is not None and time.monotonic() - inter.created > deadline:
        raise unknown("interaction")
    body = req.body()
    kind = _check_type(inter, body.get("type"))
    data = body.get("data") or {}
    message: Message | None = None
    if kind == CHANNEL_MESSAGE:
        message = respond_with_message(world, inter, data, req.files)
        inter.original_message_id = message.id
    elif kind == DEFERRED_CHANNEL_MESSAGE:
        message = loading_message(world, inter, bool(int(data.get("flags") or 0) & EPHEMERAL))
        inter.original_message_id = message.id
    elif kind == UPDATE_MESSAGE:
        assert inter.message_id is not None
        message = world.state.find_message(inter.message_id)
        edit_message(world, message, data, req.files)
    elif kind == AUTOCOMPLETE_RESULT:
        limits.check_autocomplete({"data": data, **data})
    elif kind == MODAL:
        limits.check_modal(data)
    inter.response_type = kind
    inter.response_data = data
    world.interaction_answered(inter)
    if req.query.get("with_response") in ("true", "True", "1"):
        resource: dict[str, Any] = {"type": kind}
        if message is not None:
            resource["message"] = world.message_payload(message)
        return Reply(
            {
                "interaction": {
                    "id": str(inter.id),
                    "type": inter.type,
                    "response_message_id": str(message.id) if message else None,
                    "response_message_loading": kind == DEFERRED_CHANNEL_MESSAGE,
                    "response_message_ephemeral": bool(message and message.ephemeral),
                },
                "resource": resource,
            }
        )
    return Reply(None, 204)
