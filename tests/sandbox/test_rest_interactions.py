"""The interaction callback and the token routes, driven without a bot."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from sandbox.server import SandboxServer
from sandbox.state import ApplicationCommand, Guild
from tests.sandbox.conftest import RestClient, forgive_request_violations


@pytest.fixture
def ping_command(sandbox: SandboxServer) -> ApplicationCommand:
    command = ApplicationCommand(
        id=sandbox.state.new_id(),
        application_id=sandbox.application_id,
        name="ping",
        description="Ping",
        options=[{"type": 3, "name": "text", "description": "t"}],
    )
    sandbox.state.commands[command.id] = command
    return command


async def callback(api: RestClient, inter: Any, body: dict[str, Any]) -> tuple[int, Any]:
    status, response, _ = await api.request(
        "POST", f"/interactions/{inter.id}/{inter.token}/callback", body, auth=False
    )
    return status, response


async def test_interaction_payload_and_double_acknowledge(
    api: RestClient, sandbox: SandboxServer, demo: Guild, ping_command: ApplicationCommand
) -> None:
    general = demo.channel("general")
    inter = sandbox.invoke_command("ping", user="bob", channel=general, options={"text": "hi"})
    payload = inter.payload
    assert payload["data"]["id"] == str(ping_command.id)
    assert payload["data"]["options"] == [{"name": "text", "type": 3, "value": "hi"}]
    assert payload["member"]["user"]["username"] == "bob"
    status, _ = await callback(api, inter, {"type": 4, "data": {"content": "pong"}})
    assert status == 204
    status, body = await callback(api, inter, {"type": 4, "data": {"content": "again"}})
    assert (status, body["code"]) == (400, 40060)
    base = f"/webhooks/{sandbox.application_id}/{inter.token}"
    status, original, _ = await api.request("GET", f"{base}/messages/@original", auth=False)
    assert status == 200 and original["content"] == "pong"
    status, edited, _ = await api.request(
        "PATCH", f"{base}/messages/@original", {"content": "pong!"}, auth=False
    )
    assert edited["content"] == "pong!"
    status, follow, _ = await api.request(
        "POST", f"{base}?wait=true", {"content": "more"}, auth=False
    )
    assert status == 200
    status, _, _ = await api.request("DELETE", f"{base}/messages/{follow['id']}", auth=False)
    assert status == 204


async def test_unknown_and_late_interactions_are_10062(
    api: RestClient, sandbox: SandboxServer, demo: Guild, ping_command: ApplicationCommand
) -> None:
    inter = sandbox.invoke_command("ping", user="bob", channel=demo.channel("general"))
    forged = dataclasses.replace(inter, token="forged")
    status, body = await callback(api, forged, {"type": 5})
    assert (status, body) == (404, {"message": "Unknown interaction", "code": 10062})
    late = sandbox.invoke_command("ping", user="bob", channel=demo.channel("general"))
    late.created -= 3.5
    status, body = await callback(api, late, {"type": 4, "data": {"content": "x"}})
    assert (status, body["code"]) == (404, 10062)
    sandbox.interaction_ack_deadline = None
    status, _ = await callback(api, late, {"type": 4, "data": {"content": "x"}})
    assert status == 204
    late.created -= 900
    status, body, _ = await api.request(
        "GET", f"/webhooks/{sandbox.application_id}/{late.token}/messages/@original", auth=False
    )
    assert (status, body["code"]) == (404, 10062)


async def test_modal_limits_and_ephemeral_replies(
    api: RestClient, sandbox: SandboxServer, demo: Guild, ping_command: ApplicationCommand
) -> None:
    general = demo.channel("general")
    inter = sandbox.invoke_command("ping", user="bob", channel=general)
    text = {"type": 4, "custom_id": "t", "label": "T", "style": 1}
    modal = {
        "title": "x" * 46,
        "custom_id": "m",
        "components": [{"type": 1, "components": [text]}] * 6,
    }
    status, body = await callback(api, inter, {"type": 9, "data": modal})
    assert status == 400
    assert set(body["errors"]["data"]) == {"title", "components"}
    status, _ = await callback(api, inter, {"type": 4, "data": {"content": "psst", "flags": 64}})
    assert status == 204
    assert sandbox.state.channel_messages(general.id) == []
    assert sandbox.state.ephemeral_messages[inter.original_message_id].content == "psst"
    forgive_request_violations(sandbox)


async def test_update_message_needs_a_component_interaction(
    api: RestClient, sandbox: SandboxServer, demo: Guild, ping_command: ApplicationCommand
) -> None:
    inter = sandbox.invoke_command("ping", user="bob", channel=demo.channel("general"))
    status, body = await callback(api, inter, {"type": 7, "data": {"content": "x"}})
    assert (status, body["code"]) == (400, 50035)
