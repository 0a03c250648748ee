"""The guild audit log: members edit channels with the rights the REST call needs, each
change recorded (by whom, which keys, before and after) like the bot's own edits, and read
back with View Audit Log, filtered as Discord filters."""

from __future__ import annotations

import pytest

from sandbox.errors import ApiError
from sandbox.server import SandboxServer
from sandbox.state import Guild
from tests.sandbox.conftest import RestClient


async def test_member_edits_and_the_bots_own_are_in_the_audit_log(
    api: RestClient, sandbox: SandboxServer, demo: Guild
) -> None:
    rules = demo.channel("rules")
    with pytest.raises(ApiError) as refused:  # bob may manage the server, not its channels
        sandbox.edit_channel_as("bob", rules, name="nope")
    assert refused.value.code == 50013 and rules.name == "rules"
    mark = len(sandbox.dispatches)
    sandbox.edit_channel_as("alice", rules, name="house-rules", topic="be kind")
    updated = await sandbox.wait_for_dispatch("CHANNEL_UPDATE", since=mark)
    assert updated["data"]["name"] == "house-rules"
    status, _, _ = await api.request("PATCH", f"/channels/{rules.id}", {"name": "rules"})
    assert status == 200

    status, page, _ = await api.request("GET", f"/guilds/{demo.id}/audit-logs?limit=10")
    assert status == 200
    first, second = page["audit_log_entries"]  # newest first
    assert first["user_id"] == str(sandbox.bot_user.id)
    assert first["changes"] == [{"key": "name", "old_value": "house-rules", "new_value": "rules"}]
    alice = demo.member("alice").user.id
    assert second["user_id"] == str(alice) and second["target_id"] == str(rules.id)
    assert {c["key"] for c in second["changes"]} == {"name", "topic"}
    assert str(alice) in {u["id"] for u in page["users"]}
    status, only, _ = await api.request("GET", f"/guilds/{demo.id}/audit-logs?user_id={alice}")
    assert [e["id"] for e in only["audit_log_entries"]] == [second["id"]]
