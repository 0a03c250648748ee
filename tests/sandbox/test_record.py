"""`--record FILE`: the offline bot's REST calls and gateway dispatches land as JSON lines."""

from __future__ import annotations

import json
from pathlib import Path

from sandbox.driver import SandboxDriver
from tests.sandbox.conftest import StackStarter


async def test_offline_bot_records_rest_calls_and_dispatches(
    start_offline_stack: StackStarter, tmp_path: Path
) -> None:
    record = tmp_path / "traffic" / "calls.jsonl"
    stack = await start_offline_stack(web=False, record=record)
    answer = await SandboxDriver(stack.server).member("alice").run("guild list", channel="general")
    assert "approved" in answer.content

    lines = record.read_text(encoding="utf-8").splitlines()
    entries = [json.loads(line) for line in lines]
    rest = [e for e in entries if e["type"] == "rest"]
    dispatches = [e for e in entries if e["type"] == "dispatch"]
    assert len(rest) + len(dispatches) == len(lines)
    assert {"method", "path", "route", "status", "json", "response", "time"} <= set(rest[0])
    routes = [(e["method"], e["route"]) for e in rest]
    assert ("GET", "/users/@me") in routes
    assert ("GET", "/gateway") in routes
    assert ("POST", "/applications/{application_id}/commands") in routes
    callback = "/interactions/{interaction_id}/{interaction_token}/callback"
    answered = [e for e in rest if e["route"] == callback]
    assert answered[-1]["status"] == 204
    assert answered[-1]["json"]["data"]["flags"] == 64
    events = [e["event"] for e in dispatches]
    assert events.index("GUILD_CREATE") < events.index("INTERACTION_CREATE")
    created = dispatches[events.index("INTERACTION_CREATE")]
    assert created["data"]["data"]["name"] == "guild"
    assert rest == [{"type": "rest", **c} for c in json.loads(json.dumps(list(stack.server.calls)))]
