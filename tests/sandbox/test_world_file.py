"""The sandbox's world saved to disk and read back: same ids, same shared objects."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from pathlib import Path

import pytest

from sandbox import world_file
from sandbox.server import SandboxServer
from sandbox.state import Attachment, Channel, Guild
from sandbox.world_file import (
    WorldSaver,
    dump_world,
    load_saved_world,
    parse_world,
    save_world,
)
from tests.sandbox.conftest import DEMO


def _server() -> SandboxServer:
    return SandboxServer(spec_path=None)


def _world(tmp_path: Path) -> tuple[SandboxServer, Guild, Path]:
    server = _server()
    guild = server.load(DEMO)[0]
    return server, guild, tmp_path / "sandbox_world.json"


def test_a_saved_world_comes_back_with_the_same_ids_and_messages(tmp_path: Path) -> None:
    server, guild, path = _world(tmp_path)
    general = guild.channel("general")
    first = server.post_message_as("alice", general, f"hello <@{guild.member('bob').user.id}>")
    first.reactions["👍"] = {guild.member("bob").user.id}
    attachment = Attachment(7, "a.txt", b"\x00bytes", "text/plain", f"{server.http_url}/x/a.txt")
    first.attachments.append(attachment)
    server.attachments[attachment.id] = attachment
    server.post_message_as("bob", general, "second")
    save_world(server, path)
    assert oct(path.stat().st_mode & 0o777) == "0o600"

    again = _server()
    result = load_saved_world(again, path)
    assert result.restored and result.set_aside_as is None
    state = again.state
    assert again.application_id == server.application_id
    assert again.bot_user_id == server.bot_user_id and again.token == server.token
    restored = state.guilds[guild.id]
    assert restored.name == guild.name
    assert set(restored.channels) == set(guild.channels)
    assert {r.id: r.name for r in restored.roles.values()} == {
        r.id: r.name for r in guild.roles.values()
    }
    assert [(m.id, m.content) for m in state.channel_messages(general.id)] == [
        (m.id, m.content) for m in server.state.channel_messages(general.id)
    ]
    message = state.message(general.id, first.id)
    assert message.reactions == {"👍": {guild.member("bob").user.id}}
    assert message.attachments[0].data == b"\x00bytes"
    # Objects shared in memory are shared again, so a change shows everywhere, as before.
    assert restored.channels[general.id] is state.channels[general.id]
    bob = restored.member("bob")
    assert bob.user is state.users[bob.user.id] is message.mentions[0]
    assert message.author is state.users[message.author.id]
    assert again.bot_user is state.users[again.bot_user_id]
    assert again.attachments[7] is message.attachments[0]
    # New ids continue after the saved ones: no collision even if the clock went back.
    newest = max(max(state.users), max(state.channels), first.id, guild.id)
    assert again.state.new_id() > newest


def test_a_new_server_port_rewrites_attachment_urls(tmp_path: Path) -> None:
    server, _, path = _world(tmp_path)
    server.http_url = "http://127.0.0.1:1111"
    attachment = Attachment(7, "a.txt", b"x", None, f"{server.http_url}/attachments/1/7/a.txt")
    server.attachments[7] = attachment
    save_world(server, path)
    again = _server()
    again.http_url = "http://127.0.0.1:2222"
    load_saved_world(again, path)
    assert again.attachments[7].url == "http://127.0.0.1:2222/attachments/1/7/a.txt"


def test_fields_added_later_get_their_defaults_and_dropped_ones_are_ignored(
    tmp_path: Path,
) -> None:
    server, guild, _ = _world(tmp_path)
    data = dump_world(server)
    entry = next(v for v in data["state"]["guilds"]["$dict"] if v[0] == guild.id)[
        1
    ]  # the guild's saved object
    del entry["fields"]["description"]  # a file from before the field existed
    entry["fields"]["retired_field"] = 1  # a field since removed
    world = parse_world(json.dumps(data))
    restored = world.state["guilds"][guild.id]
    assert restored.description is None
    assert not hasattr(restored, "retired_field")


def test_every_state_attribute_is_saved_generically(tmp_path: Path) -> None:
    server, _, path = _world(tmp_path)
    # An attribute someone adds to SandboxState later is saved without changes here.
    server.state.scheduled_things = {5: [Channel(id=5, type=0, name="x")]}  # type: ignore[attr-defined]
    save_world(server, path)
    again = _server()
    load_saved_world(again, path)
    assert again.state.scheduled_things[5][0].name == "x"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ('{"format": "foundrycord-sandbox-world", "version": 1, "state": {', "not valid JSON"),
        ('{"hello": "world"}', "not a FoundryCord sandbox world file"),
        ('{"format": "foundrycord-sandbox-world", "version": 99}', "format version 99"),
        (
            '{"format": "foundrycord-sandbox-world", "version": 1, "snowflakes": {}, '
            '"server": {}, "state": {"x": {"$dc": "os:system", "$id": 0, "fields": {}}}}',
            "not one of the sandbox's",
        ),
        (
            '{"format": "foundrycord-sandbox-world", "version": 1, "snowflakes": {}, '
            '"server": {}, "state": {"x": {"$ref": 4}}}',
            "reference to object 4",
        ),
    ],
)
def test_a_corrupt_file_is_set_aside_with_one_line_and_nothing_installed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, content: str, reason: str
) -> None:
    path = tmp_path / "sandbox_world.json"
    path.write_text(content)
    server = _server()
    before = server.application_id
    with caplog.at_level(logging.ERROR, logger="sandbox.world_file"):
        result = load_saved_world(server, path)
    assert not result.restored and result.writable
    assert result.set_aside_as is not None
    assert result.set_aside_as.read_text() == content  # kept, untouched
    assert result.set_aside_as.name.startswith("sandbox_world.json.corrupt-")
    assert not path.exists()
    assert server.application_id == before and server.state.guilds == {}
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and reason in lines[0] and result.set_aside_as.name in lines[0]


@pytest.mark.parametrize("opener", ["[", '{"a":'])
def test_a_file_nested_100000_deep_is_set_aside_like_a_corrupt_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, opener: str
) -> None:
    """Regression: json.loads raised RecursionError, which stopped every start."""
    closer = "]" if opener == "[" else "}"
    content = (
        '{"format": "foundrycord-sandbox-world", "version": 1, "snowflakes": {}, '
        f'"server": {{}}, "state": {{"x": {opener * 100_000}1{closer * 100_000}}}}}'
    )
    path = tmp_path / "sandbox_world.json"
    path.write_text(content)
    server = _server()
    with caplog.at_level(logging.ERROR, logger="sandbox.world_file"):
        result = load_saved_world(server, path)
    assert not result.restored and result.set_aside_as is not None
    assert server.state.guilds == {}
    [line] = [r.getMessage() for r in caplog.records]
    assert "nested deeper than 200 levels" in line and result.set_aside_as.name in line


def test_depth_is_counted_outside_strings_only() -> None:
    assert world_file.json_depth('{"a": ["[[[[", {"b": "\\"]]"}]}', 50) == 3
    assert world_file.json_depth("[" * 10 + "]" * 10, 5) == 6  # stops once past the limit


def test_a_real_world_is_far_below_the_depth_limit(tmp_path: Path) -> None:
    server, _, path = _world(tmp_path)
    save_world(server, path)
    assert world_file.json_depth(path.read_text(), world_file.MAX_DEPTH) < 40


def test_a_binary_file_is_treated_as_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "sandbox_world.json"
    path.write_bytes(b"\xff\xfe\x00garbage")
    result = load_saved_world(_server(), path)
    assert not result.restored and result.set_aside_as is not None


def test_a_file_that_cannot_be_moved_aside_is_left_alone_and_not_overwritten(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "sandbox_world.json"
    path.write_text("{broken")

    def refuse(*args: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(world_file.os, "replace", refuse)
    result = load_saved_world(_server(), path)
    assert not result.restored and not result.writable
    assert path.read_text() == "{broken"
    assert "will NOT be saved" in caplog.text and "Permission denied" in caplog.text


def test_a_missing_file_is_a_fresh_start(tmp_path: Path) -> None:
    result = load_saved_world(_server(), tmp_path / "nothing.json")
    assert not result.restored and result.set_aside_as is None


async def test_changes_are_saved_after_a_short_debounce(tmp_path: Path) -> None:
    server, guild, path = _world(tmp_path)
    saver = WorldSaver(server, path, delay=0.05)
    saver.attach()
    for n in range(20):  # a burst of changes shares one write
        server.post_message_as("alice", guild.channel("general"), f"message {n}")
    for _ in range(100):
        if saver.saves:
            break
        await asyncio.sleep(0.02)
    assert saver.saves == 1
    saved = parse_world(path.read_text())
    messages = saved.state["messages"][guild.channel("general").id]
    assert [m.content for m in messages.values()][-1] == "message 19"
    await saver.close()


async def test_concurrent_writes_during_shutdown_leave_one_whole_file(tmp_path: Path) -> None:
    server, guild, path = _world(tmp_path)
    saver = WorldSaver(server, path, delay=0.001)
    saver.attach()
    general = guild.channel("general")

    async def chatter() -> None:
        for n in range(40):
            server.post_message_as("bob", general, f"busy {n}")
            await asyncio.sleep(0)

    # Debounced saves, explicit saves, two closes and changes, all at once.
    results = await asyncio.gather(
        chatter(),
        *(saver.save() for _ in range(5)),
        saver.close(),
        saver.close(),
        return_exceptions=True,
    )
    assert not [r for r in results if isinstance(r, BaseException)], results
    world = parse_world(path.read_text())  # whole, valid JSON
    saved = [m.content for m in world.state["messages"][general.id].values()]
    everything = [m.content for m in server.state.channel_messages(general.id)]
    assert saved == everything[: len(saved)]  # one consistent snapshot
    assert sorted(os.listdir(tmp_path)) == ["sandbox_world.json"]  # no temp files


async def test_close_saves_the_final_state_and_later_changes_are_not_saved(
    tmp_path: Path,
) -> None:
    server, guild, path = _world(tmp_path)
    saver = WorldSaver(server, path, delay=60)  # the debounce would not fire in time
    saver.attach()
    general = guild.channel("general")
    server.post_message_as("bob", general, "last words")
    await saver.close()
    server.post_message_as("alice", general, "after close")
    await asyncio.sleep(0.01)
    contents = [
        m.content for m in parse_world(path.read_text()).state["messages"][general.id].values()
    ]
    assert contents == ["last words"]
    assert server.change_listeners == []


async def test_a_failed_write_is_logged_once_and_never_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server, _, _ = _world(tmp_path)
    blocker = tmp_path / "file"
    blocker.write_text("")
    saver = WorldSaver(server, blocker / "sandbox_world.json")  # parent is a file
    assert await saver.save() is False
    assert await saver.save() is False
    await saver.close()
    assert caplog.text.count("Could not save the sandbox world") == 1
