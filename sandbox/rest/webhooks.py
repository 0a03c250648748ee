"""Interaction follow-ups and the original response, addressed by interaction token."""

from __future__ import annotations

from typing import Any

from sandbox.errors import unknown
from sandbox.rest.base import Reply, RestRequest, RouteTable
from sandbox.rest.interactions import live_interaction, respond_with_message
from sandbox.rest.messages import edit_message
from sandbox.state import LOADING, Interaction, Message

routes = RouteTable()

BASE = "/webhooks/{webhook_id}/{webhook_token}"


def _interaction(req: RestRequest) -> Interaction:
    token = req.params["webhook_token"]
    inter = req.state.interactions_by_token.get(token)
    if inter is None or req.params["webhook_id"] != str(req.world.application_id):
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
    if req.query.get("wait") in ("true", "True", "1"):
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
    return req.world.message_payload(_followup(req, _interaction(req)))


@routes.route("PATCH", BASE + "/messages/{message_id}", auth=False)
async def edit_followup(req: RestRequest) -> dict[str, Any]:
    return _edit(req, _followup(req, _interaction(req)))


@routes.route("DELETE", BASE + "/messages/{message_id}", auth=False)
async def delete_followup(req: RestRequest) -> Reply:
    req.world.delete_message(_followup(req, _interaction(req)))
    return Reply(None, 204)
