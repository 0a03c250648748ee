"""The gateway protocol, spoken by a raw websocket client."""

from __future__ import annotations

import asyncio
import json
import zlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from sandbox.gateway import GUILD_MESSAGES, GUILDS, MESSAGE_CONTENT
from sandbox.server import SandboxServer
from sandbox.state import Guild

ALL_BUT_CONTENT = GUILDS | GUILD_MESSAGES | (1 << 1)


class RawGateway:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse, compressed: bool = False) -> None:
        self.ws = ws
        self._inflate = zlib.decompressobj() if compressed else None

    async def recv(self) -> dict[str, Any]:
        msg = await self.ws.receive(timeout=5)
        if msg.type is aiohttp.WSMsgType.BINARY:
            assert self._inflate is not None and msg.data.endswith(b"\x00\x00\xff\xff")
            return json.loads(self._inflate.decompress(msg.data))
        if msg.type is not aiohttp.WSMsgType.TEXT:
            raise ConnectionError(f"socket closed: {msg.type} {self.ws.close_code}")
        return json.loads(msg.data)

    async def recv_dispatch(self, event: str) -> dict[str, Any]:
        while True:
            frame = await self.recv()
            if frame.get("t") == event:
                return frame

    async def send(self, op: int, d: Any) -> None:
        await self.ws.send_str(json.dumps({"op": op, "d": d}))

    async def identify(
        self, token: str, intents: int = ALL_BUT_CONTENT | MESSAGE_CONTENT, shard: Any = None
    ) -> dict[str, Any]:
        d: dict[str, Any] = {"token": token, "intents": intents, "properties": {}}
        if shard is not None:
            d["shard"] = shard
        await self.send(2, d)
        return await self.recv_dispatch("READY")

    async def close_code(self) -> int | None:
        msg = await self.ws.receive(timeout=5)
        assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED), msg
        return self.ws.close_code


@pytest.fixture
async def connect(sandbox: SandboxServer) -> AsyncIterator[Any]:
    async with aiohttp.ClientSession() as session:
        sockets: list[aiohttp.ClientWebSocketResponse] = []

        async def open_socket(query: str = "?v=10&encoding=json") -> RawGateway:
            ws = await session.ws_connect(sandbox.gateway_url + query)
            sockets.append(ws)
            gw = RawGateway(ws, compressed="zlib-stream" in query)
            hello = await gw.recv()
            assert hello["op"] == 10 and hello["s"] is None
            assert hello["d"]["heartbeat_interval"] == 41250
            return gw

        yield open_socket
        for ws in sockets:
            await ws.close()


async def test_hello_identify_ready_and_heartbeat(
    sandbox: SandboxServer, demo: Guild, connect: Any
) -> None:
    gw = await connect()
    await gw.send(1, None)
    ack = await gw.recv()
    assert ack == {"op": 11, "d": None, "s": None, "t": None}
    ready = await gw.identify(sandbox.token)
    assert ready["s"] == 1
    d = ready["d"]
    assert d["user"]["id"] == str(sandbox.bot_user_id)
    assert d["guilds"] == [{"id": str(demo.id), "unavailable": True}]
    assert d["application"]["id"] == str(sandbox.application_id)
    assert d["resume_gateway_url"] == sandbox.gateway_url
    create = await gw.recv()
    assert create["t"] == "GUILD_CREATE" and create["s"] == 2
    # Without the presences intent Discord sends only the bot's own member; the rest come
    # in chunks on request.
    assert create["d"]["member_count"] == 4 and create["d"]["large"] is False
    assert [m["user"]["id"] for m in create["d"]["members"]] == [str(sandbox.bot_user_id)]
    assert {c["name"] for c in create["d"]["channels"]} >= {"general", "rules"}


async def test_zlib_stream_compression(sandbox: SandboxServer, connect: Any) -> None:
    gw = await connect("?v=10&encoding=json&compress=zlib-stream")
    ready = await gw.identify(sandbox.token)
    assert ready["d"]["session_id"]


@pytest.mark.parametrize(
    ("identify", "code"),
    [
        ({"token": "wrong", "intents": 1}, 4004),
        ({"intents": 1 << 30}, 4013),
        ({"shard": [2, 2]}, 4010),
    ],
)
async def test_identify_refusals_close_with_discord_codes(
    sandbox: SandboxServer, connect: Any, identify: dict[str, Any], code: int
) -> None:
    gw = await connect()
    await gw.send(2, {"token": sandbox.token, "intents": 1, "properties": {}, **identify})
    assert await gw.close_code() == code


async def test_privileged_intents_can_be_disallowed(sandbox: SandboxServer, connect: Any) -> None:
    sandbox.gateway.allow_privileged_intents = False
    gw = await connect()
    await gw.send(2, {"token": sandbox.token, "intents": MESSAGE_CONTENT, "properties": {}})
    assert await gw.close_code() == 4014


async def test_too_many_events_close_with_4008(sandbox: SandboxServer, connect: Any) -> None:
    sandbox.gateway.events_per_minute = 5
    gw = await connect()
    for _ in range(6):
        await gw.send(1, None)
    frames = [await gw.recv() for _ in range(5)]
    assert all(f["op"] == 11 for f in frames)
    assert await gw.close_code() == 4008


async def test_resume_replays_missed_dispatches_in_order(
    sandbox: SandboxServer, demo: Guild, connect: Any
) -> None:
    gw = await connect()
    ready = await gw.identify(sandbox.token)
    await gw.recv_dispatch("GUILD_CREATE")
    sandbox.faults.drop_gateway()
    general = demo.channel("general")
    sandbox.post_message_as("alice", general, "one")
    sandbox.post_message_as("bob", general, "two")
    gw2 = await connect()
    await gw2.send(6, {"token": sandbox.token, "session_id": ready["d"]["session_id"], "seq": 2})
    first, second, resumed = await gw2.recv(), await gw2.recv(), await gw2.recv()
    assert [first["d"]["content"], second["d"]["content"]] == ["one", "two"]
    assert [first["s"], second["s"], resumed["s"]] == [3, 4, 5]
    assert resumed["t"] == "RESUMED"


async def test_resume_of_unknown_session_is_invalid_session(
    sandbox: SandboxServer, connect: Any
) -> None:
    gw = await connect()
    await gw.send(6, {"token": sandbox.token, "session_id": "nope", "seq": 1})
    assert await gw.recv() == {"op": 9, "d": False, "s": None, "t": None}


async def test_invalid_session_fault_prevents_resume(sandbox: SandboxServer, connect: Any) -> None:
    gw = await connect()
    ready = await gw.identify(sandbox.token)
    await sandbox.faults.send_invalid_session()
    frame = await gw.recv()
    assert frame["op"] == 9 and frame["d"] is False
    await gw.ws.close()
    gw2 = await connect()
    await gw2.send(6, {"token": sandbox.token, "session_id": ready["d"]["session_id"], "seq": 1})
    assert (await gw2.recv())["op"] == 9


async def test_reconnect_fault_sends_op_7(sandbox: SandboxServer, connect: Any) -> None:
    gw = await connect()
    await gw.identify(sandbox.token)
    await sandbox.faults.send_reconnect()
    while (frame := await gw.recv())["op"] == 0:
        pass
    assert frame["op"] == 7


async def test_without_message_content_intent_content_is_emptied(
    sandbox: SandboxServer, demo: Guild, connect: Any
) -> None:
    gw = await connect()
    await gw.identify(sandbox.token, intents=ALL_BUT_CONTENT)
    general = demo.channel("general")
    sandbox.post_message_as("alice", general, "secret", embeds=[{"title": "x"}])
    sandbox.post_message_as("alice", general, f"hey <@{sandbox.bot_user_id}>")
    plain = await gw.recv_dispatch("MESSAGE_CREATE")
    mention = await gw.recv_dispatch("MESSAGE_CREATE")
    assert plain["d"]["content"] == "" and plain["d"]["embeds"] == []
    assert mention["d"]["content"] == f"hey <@{sandbox.bot_user_id}>"


async def test_intents_filter_events(sandbox: SandboxServer, demo: Guild, connect: Any) -> None:
    gw = await connect()
    await gw.identify(sandbox.token, intents=GUILDS)
    create = await gw.recv_dispatch("GUILD_CREATE")
    # without GUILD_MEMBERS only the bot's own member comes along
    assert [m["user"]["id"] for m in create["d"]["members"]] == [str(sandbox.bot_user_id)]
    sandbox.post_message_as("alice", demo.channel("general"), "not for you")
    sandbox.add_member(demo, "dave")
    demo.features.append("COMMUNITY")
    sandbox.add_channel(demo, "news", "announcement")
    frame = await gw.recv()
    assert frame["t"] == "CHANNEL_CREATE"
    assert frame["d"]["name"] == "news" and frame["d"]["type"] == 5


async def test_dispatches_only_reach_the_guilds_shard(sandbox: SandboxServer, connect: Any) -> None:
    zero = sandbox.add_guild("Zero", shard=(0, 2))
    one = sandbox.add_guild("One", shard=(1, 2))
    gw0, gw1 = await connect(), await connect()
    ready0 = await gw0.identify(sandbox.token, shard=[0, 2])
    ready1 = await gw1.identify(sandbox.token, shard=[1, 2])
    assert ready0["d"]["guilds"] == [{"id": str(zero.id), "unavailable": True}]
    assert ready1["d"]["guilds"] == [{"id": str(one.id), "unavailable": True}]
    await gw0.recv_dispatch("GUILD_CREATE")
    await gw1.recv_dispatch("GUILD_CREATE")
    sandbox.add_channel(one, "only-one")
    sandbox.add_channel(zero, "only-zero")
    assert (await gw1.recv())["d"]["name"] == "only-one"
    assert (await gw0.recv())["d"]["name"] == "only-zero"


async def test_request_guild_members_answers_with_a_chunk(
    sandbox: SandboxServer, demo: Guild, connect: Any
) -> None:
    gw = await connect()
    await gw.identify(sandbox.token)
    await gw.send(8, {"guild_id": str(demo.id), "query": "b", "limit": 0, "nonce": "n1"})
    chunk = await gw.recv_dispatch("GUILD_MEMBERS_CHUNK")
    assert chunk["d"]["nonce"] == "n1"
    assert [m["user"]["username"] for m in chunk["d"]["members"]] == ["bob"]


async def test_binary_frames_of_utf8_json_are_accepted(
    sandbox: SandboxServer, demo: Guild, connect: Any
) -> None:
    """hikari sends every payload as a binary frame holding UTF-8 JSON."""
    gw = await connect()
    await gw.ws.send_bytes(json.dumps({"op": 1, "d": None}).encode())
    assert (await gw.recv())["op"] == 11
    identify = {"token": sandbox.token, "intents": ALL_BUT_CONTENT, "properties": {}}
    await gw.ws.send_bytes(json.dumps({"op": 2, "d": identify}).encode())
    ready = await gw.recv_dispatch("READY")
    assert ready["d"]["guilds"] == [{"id": str(demo.id), "unavailable": True}]


async def test_binary_frame_that_is_not_utf8_closes_with_4002(
    sandbox: SandboxServer, connect: Any
) -> None:
    gw = await connect()
    await gw.ws.send_bytes(b"\x83h\x02d\x00\x02op")  # an ETF term, not JSON
    assert await gw.close_code() == 4002


async def test_etf_encoding_is_refused_with_a_clear_reason(sandbox: SandboxServer) -> None:
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(sandbox.gateway_url + "?v=10&encoding=etf")
        msg = await ws.receive(timeout=5)
        assert msg.type is aiohttp.WSMsgType.CLOSE
        assert ws.close_code == 4002
        assert "encoding=json" in msg.extra and "ETF" in msg.extra


async def test_missed_heartbeats_close_with_4009_and_end_the_session(
    sandbox: SandboxServer, demo: Guild
) -> None:
    sandbox.gateway.heartbeat_interval = 100
    sandbox.gateway.heartbeat_grace = 0.2
    async with aiohttp.ClientSession() as session:
        quiet = RawGateway(await session.ws_connect(sandbox.gateway_url))
        assert (await quiet.recv())["d"]["heartbeat_interval"] == 100
        ready = await quiet.identify(sandbox.token)
        await quiet.recv_dispatch("GUILD_CREATE")
        assert await quiet.close_code() == 4009

        # a client that keeps heartbeating stays connected past the same deadline
        steady = RawGateway(await session.ws_connect(sandbox.gateway_url))
        await steady.recv()
        for _ in range(8):
            await steady.send(1, None)
            assert (await steady.recv())["op"] == 11
            await asyncio.sleep(0.1)
        assert not steady.ws.closed
        await steady.ws.close()

        # the timed-out session cannot be resumed: the client must identify afresh
        again = RawGateway(await session.ws_connect(sandbox.gateway_url))
        await again.recv()
        resume = {"token": sandbox.token, "session_id": ready["d"]["session_id"], "seq": 1}
        await again.send(6, resume)
        assert await again.recv() == {"op": 9, "d": False, "s": None, "t": None}
        await again.ws.close()


async def test_a_join_omits_unavailable_and_the_backfill_says_false(
    sandbox: SandboxServer, demo: Guild, connect: Any
) -> None:
    gw = await connect()
    await gw.identify(sandbox.token)
    backfill = await gw.recv_dispatch("GUILD_CREATE")
    assert backfill["d"]["id"] == str(demo.id) and backfill["d"]["unavailable"] is False
    joined = sandbox.add_guild("Joined later")
    create = await gw.recv_dispatch("GUILD_CREATE")
    assert create["d"]["id"] == str(joined.id) and "unavailable" not in create["d"]


async def test_members_come_in_guild_create_only_with_presences_and_when_not_large(
    sandbox: SandboxServer, demo: Guild, connect: Any
) -> None:
    presences = ALL_BUT_CONTENT | MESSAGE_CONTENT | (1 << 8)
    gw = await connect()
    await gw.identify(sandbox.token, intents=presences)
    small = (await gw.recv_dispatch("GUILD_CREATE"))["d"]
    assert len(small["members"]) == small["member_count"] == 4 and small["large"] is False

    big = sandbox.add_guild("Big")
    for n in range(60):  # over the default large_threshold of 50
        sandbox.add_member(big, f"user{n}", emit=False)
    gw2 = await connect()
    await gw2.identify(sandbox.token, intents=presences)
    creates = [(await gw2.recv_dispatch("GUILD_CREATE"))["d"] for _ in range(2)]
    large = next(c for c in creates if c["id"] == str(big.id))
    assert large["large"] is True and large["member_count"] == 62
    assert [m["user"]["id"] for m in large["members"]] == [str(sandbox.bot_user_id)]


async def test_member_requests_are_answered_in_chunks_of_1000(
    sandbox: SandboxServer, connect: Any
) -> None:
    guild = sandbox.add_guild("Crowd")
    for n in range(2300):
        sandbox.add_member(guild, f"member{n}", emit=False)
    gw = await connect()
    await gw.identify(sandbox.token)
    await gw.send(8, {"guild_id": str(guild.id), "query": "", "limit": 0, "nonce": "n1"})
    chunks = [(await gw.recv_dispatch("GUILD_MEMBERS_CHUNK"))["d"] for _ in range(3)]
    assert [(c["chunk_index"], c["chunk_count"]) for c in chunks] == [(0, 3), (1, 3), (2, 3)]
    assert [len(c["members"]) for c in chunks] == [1000, 1000, 302]
    assert {c["nonce"] for c in chunks} == {"n1"}
    ids = {m["user"]["id"] for c in chunks for m in c["members"]}
    assert len(ids) == len(guild.members)


async def test_a_large_threshold_out_of_range_is_refused(
    sandbox: SandboxServer, connect: Any
) -> None:
    gw = await connect()
    await gw.send(2, {"token": sandbox.token, "intents": 1, "properties": {}, "large_threshold": 9})
    assert await gw.close_code() == 4002


async def test_an_identify_inside_its_buckets_window_gets_op_9(
    sandbox: SandboxServer, connect: Any
) -> None:
    """max_concurrency 2: shards 0 and 1 may identify together; shard 2 shares shard 0's
    bucket and is refused (op 9, not resumable) until the window has passed."""
    sandbox.max_concurrency, sandbox.identify_window = 2, 60.0
    first, second, third = await connect(), await connect(), await connect()
    await first.identify(sandbox.token, shard=[0, 4])
    await second.identify(sandbox.token, shard=[1, 4])
    await third.send(
        2, {"token": sandbox.token, "intents": GUILDS, "properties": {}, "shard": [2, 4]}
    )
    refused = await third.recv()
    assert (refused["op"], refused["d"]) == (9, False)
    assert sandbox.identify_refused == 1 and sandbox.identify_count == 2
    sandbox.identify_window = 0.0  # the window over: the same bucket identifies
    fourth = await connect()
    await fourth.identify(sandbox.token, shard=[2, 4])


async def test_gateway_bot_reports_the_shards_and_max_concurrency() -> None:
    server = SandboxServer(recommended_shards=4, max_concurrency=16, spec_path=None)
    await server.start()
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(
                server.base_url + "/gateway/bot", headers={"Authorization": f"Bot {server.token}"}
            ) as response,
        ):
            body = await response.json()
        assert body["shards"] == 4 and body["session_start_limit"]["max_concurrency"] == 16
    finally:
        await server.stop()
