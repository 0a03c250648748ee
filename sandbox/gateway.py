"""The gateway websocket: sessions, intents, shards, resume and dispatch."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
import zlib
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSCloseCode, WSMsgType, web

if TYPE_CHECKING:
    from sandbox.state import Guild
    from sandbox.world import World

log = logging.getLogger(__name__)

DISPATCH, HEARTBEAT, IDENTIFY, PRESENCE_UPDATE, VOICE_STATE_UPDATE = 0, 1, 2, 3, 4
MEMBERS_PER_CHUNK = 1000  # Discord's GUILD_MEMBERS_CHUNK holds at most 1000 members
RESUME, RECONNECT, REQUEST_GUILD_MEMBERS, INVALID_SESSION, HELLO, HEARTBEAT_ACK = 6, 7, 8, 9, 10, 11

GUILDS = 1 << 0
GUILD_MEMBERS = 1 << 1
GUILD_MODERATION = 1 << 2
GUILD_WEBHOOKS = 1 << 5
GUILD_PRESENCES = 1 << 8
GUILD_MESSAGES = 1 << 9
GUILD_MESSAGE_REACTIONS = 1 << 10
GUILD_MESSAGE_TYPING = 1 << 11
DIRECT_MESSAGES = 1 << 12
DIRECT_MESSAGE_REACTIONS = 1 << 13
DIRECT_MESSAGE_TYPING = 1 << 14
MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT
KNOWN_INTENTS = sum(1 << bit for bit in (*range(17), 20, 21, 24, 25))

# event -> (intent in a guild, intent in a DM); None means always sent
EVENT_INTENTS: dict[str, tuple[int | None, int | None]] = {
    "GUILD_CREATE": (GUILDS, None),
    "GUILD_UPDATE": (GUILDS, None),
    "GUILD_DELETE": (GUILDS, None),
    "GUILD_ROLE_CREATE": (GUILDS, None),
    "GUILD_ROLE_UPDATE": (GUILDS, None),
    "GUILD_ROLE_DELETE": (GUILDS, None),
    "CHANNEL_CREATE": (GUILDS, None),
    "CHANNEL_UPDATE": (GUILDS, None),
    "CHANNEL_DELETE": (GUILDS, None),
    "THREAD_CREATE": (GUILDS, None),
    "THREAD_UPDATE": (GUILDS, None),
    "THREAD_DELETE": (GUILDS, None),
    "WEBHOOKS_UPDATE": (GUILD_WEBHOOKS, None),
    "GUILD_MEMBER_ADD": (GUILD_MEMBERS, None),
    "GUILD_MEMBER_UPDATE": (GUILD_MEMBERS, None),
    "GUILD_MEMBER_REMOVE": (GUILD_MEMBERS, None),
    "MESSAGE_CREATE": (GUILD_MESSAGES, DIRECT_MESSAGES),
    "MESSAGE_UPDATE": (GUILD_MESSAGES, DIRECT_MESSAGES),
    "MESSAGE_DELETE": (GUILD_MESSAGES, DIRECT_MESSAGES),
    "MESSAGE_DELETE_BULK": (GUILD_MESSAGES, DIRECT_MESSAGES),
    "MESSAGE_REACTION_ADD": (GUILD_MESSAGE_REACTIONS, DIRECT_MESSAGE_REACTIONS),
    "MESSAGE_REACTION_REMOVE": (GUILD_MESSAGE_REACTIONS, DIRECT_MESSAGE_REACTIONS),
    "TYPING_START": (GUILD_MESSAGE_TYPING, DIRECT_MESSAGE_TYPING),
}
MESSAGE_EVENTS = ("MESSAGE_CREATE", "MESSAGE_UPDATE")
HISTORY_LIMIT = 5000


async def _always_open() -> None:
    return None


def shard_for(guild_id: int, shard_count: int) -> int:
    return (guild_id >> 22) % shard_count


def strip_message_content(data: dict[str, Any], bot_id: int) -> dict[str, Any]:
    """What a bot without MESSAGE_CONTENT sees of a message."""
    author = data.get("author") or {}
    if author.get("id") == str(bot_id):
        return data
    if any(u.get("id") == str(bot_id) for u in data.get("mentions") or []):
        return data
    data = dict(data)
    for key in ("embeds", "components", "attachments"):
        if key in data:
            data[key] = []
    if "content" in data:
        data["content"] = ""
    data.pop("poll", None)
    return data


@dataclass
class GatewaySession:
    """A gateway session; it outlives its connection until resumed or invalidated."""

    id: str
    shard_id: int
    shard_count: int
    intents: int
    large_threshold: int = 50
    seq: int = 0
    history: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=HISTORY_LIMIT))
    connection: GatewayConnection | None = None
    resumable: bool = True

    def owns_guild(self, guild_id: int | None) -> bool:
        if guild_id is None:
            return self.shard_id == 0
        return shard_for(guild_id, self.shard_count) == self.shard_id

    def push(self, event: str, data: Any) -> None:
        self.seq += 1
        self.history.append({"op": DISPATCH, "t": event, "s": self.seq, "d": data})
        if self.connection is not None:
            self.connection.wake.set()

    def frames_after(self, seq: int) -> list[dict[str, Any]] | None:
        """Frames after ``seq``, or None when some were already forgotten."""
        if seq >= self.seq:
            return []
        if not self.history or self.history[0]["s"] > seq + 1:
            return None
        return [f for f in self.history if f["s"] > seq]


class GatewayConnection:
    """One websocket; a writer task sends its session's dispatches in order."""

    def __init__(self, ws: web.WebSocketResponse, request: web.Request, compress: bool) -> None:
        self.ws = ws
        self.request = request
        self._zlib = zlib.compressobj() if compress else None
        self._lock = asyncio.Lock()
        self.session: GatewaySession | None = None
        self.next_seq = 1
        self.wake = asyncio.Event()
        self.writer: asyncio.Task[None] | None = None
        self.received: deque[float] = deque()
        self.closed_by_server = False
        self.last_heartbeat = time.monotonic()
        self.watchdog: asyncio.Task[None] | None = None

    async def send(self, frame: dict[str, Any]) -> None:
        raw = json.dumps(frame, separators=(",", ":"))
        async with self._lock:
            if self.ws.closed:
                return
            if self._zlib is not None:
                data = self._zlib.compress(raw.encode()) + self._zlib.flush(zlib.Z_SYNC_FLUSH)
                await self.ws.send_bytes(data)
            else:
                await self.ws.send_str(raw)

    async def write_dispatches(self) -> None:
        while not self.ws.closed:
            session = self.session
            if session is None:
                return
            pending = session.frames_after(self.next_seq - 1) or []
            for frame in pending:
                await self.send(frame)
                self.next_seq = frame["s"] + 1
            if self.next_seq > session.seq:
                self.wake.clear()
                await self.wake.wait()

    def abort(self) -> None:
        """Cut the TCP connection without a close frame."""
        transport = self.request.transport
        if transport is not None:
            transport.abort()


class Gateway:
    """Accepts gateway connections and fans the world's dispatches out to sessions.

    ``opened`` is awaited before each new connection is accepted (faults can hold it).
    A connection that sends no heartbeat for ``heartbeat_interval`` (ms) plus
    ``heartbeat_grace`` (s) is closed with 4009, like Discord's.
    """

    def __init__(
        self,
        world: World,
        *,
        heartbeat_interval: int = 41250,
        heartbeat_grace: float = 5.0,
        allow_privileged_intents: bool = True,
        events_per_minute: int = 120,
    ) -> None:
        self.world = world
        self.heartbeat_grace = heartbeat_grace
        self.opened: Callable[[], Awaitable[None]] = _always_open
        self.heartbeat_interval = heartbeat_interval
        self.allow_privileged_intents = allow_privileged_intents
        self.events_per_minute = events_per_minute
        self.sessions: dict[str, GatewaySession] = {}
        self.connections: set[GatewayConnection] = set()
        self._identified_at: dict[int, float] = {}  # bucket -> monotonic time of its IDENTIFY

    @property
    def identify_count(self) -> int:
        return self.world.identify_count

    # dispatch

    def dispatch(
        self,
        event: str,
        data: Any,
        *,
        guild_id: int | None = None,
        dm: bool = False,
        session_filter: Callable[[GatewaySession], bool] | None = None,
    ) -> None:
        """Queue ``event`` for every session that should see it (shard, intents).

        The world records the event before handing it here (:meth:`World.emit`).
        """
        guild_intent, dm_intent = EVENT_INTENTS.get(event, (None, None))
        needed = dm_intent if dm else guild_intent
        for session in list(self.sessions.values()):
            if not session.resumable and session.connection is None:
                continue
            if not session.owns_guild(None if dm else guild_id):
                continue
            if needed is not None and not session.intents & needed:
                continue
            if session_filter is not None and not session_filter(session):
                continue
            payload = data
            if event in MESSAGE_EVENTS and not session.intents & MESSAGE_CONTENT:
                payload = strip_message_content(data, self.world.bot_user_id)
            session.push(event, payload)

    def guild_available(self, guild: Guild) -> None:
        for session in list(self.sessions.values()):
            if session.owns_guild(guild.id) and (session.connection or session.resumable):
                payload = self.guild_create_payload(guild, session)
                # Discord leaves `unavailable` out when the bot joins a guild; `false` marks
                # the backfill after READY. Clients tell a join from an available guild by it.
                payload.pop("unavailable", None)
                self.world.record_dispatch("GUILD_CREATE", payload)
                session.push("GUILD_CREATE", payload)

    # faults

    def drop_all(self) -> None:
        for conn in list(self.connections):
            conn.abort()

    async def send_to_all(self, op: int, d: Any) -> None:
        for conn in list(self.connections):
            with contextlib.suppress(ConnectionError, RuntimeError):
                await conn.send({"op": op, "d": d, "s": None, "t": None})

    async def invalidate_sessions(self, resumable: bool = False) -> None:
        for conn in list(self.connections):
            if conn.session is not None and not resumable:
                conn.session.resumable = False
            with contextlib.suppress(ConnectionError, RuntimeError):
                await conn.send({"op": INVALID_SESSION, "d": resumable, "s": None, "t": None})

    async def close(self) -> None:
        for conn in list(self.connections):
            with contextlib.suppress(Exception):
                await conn.ws.close(code=WSCloseCode.GOING_AWAY)
        for conn in list(self.connections):
            if conn.watchdog is not None:
                conn.watchdog.cancel()
            if conn.writer is not None:
                conn.writer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await conn.writer
        self.connections.clear()

    # connection handling

    async def handle(self, request: web.Request) -> web.StreamResponse:
        await self.opened()
        ws = web.WebSocketResponse(autoping=True, max_msg_size=4 * 1024 * 1024)
        await ws.prepare(request)
        if request.query.get("encoding", "json") != "json":
            # ETF (erlpack) is not spoken here; say so instead of failing on the first frame
            await ws.close(code=4002, message=b"The sandbox speaks encoding=json only (not ETF)")
            return ws
        compress = request.query.get("compress") == "zlib-stream"
        conn = GatewayConnection(ws, request, compress)
        self.connections.add(conn)
        try:
            await conn.send(
                {
                    "op": HELLO,
                    "d": {"heartbeat_interval": self.heartbeat_interval, "_trace": ["sandbox"]},
                    "s": None,
                    "t": None,
                }
            )
            conn.last_heartbeat = time.monotonic()
            conn.watchdog = asyncio.get_running_loop().create_task(self._watch_heartbeats(conn))
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    await self._on_frame(conn, msg.data)
                elif msg.type is WSMsgType.BINARY:
                    # hikari sends its JSON payloads as binary frames of UTF-8
                    try:
                        text = msg.data.decode("utf-8")
                    except UnicodeDecodeError:
                        await self._close(conn, 4002, "Decode error.")
                        break
                    await self._on_frame(conn, text)
                elif msg.type is WSMsgType.ERROR:
                    break
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            await self._detach(conn)
        return ws

    async def _watch_heartbeats(self, conn: GatewayConnection) -> None:
        limit = self.heartbeat_interval / 1000 + self.heartbeat_grace
        while not conn.ws.closed:
            late = time.monotonic() - conn.last_heartbeat
            if late > limit:
                if conn.session is not None:
                    conn.session.resumable = False
                with contextlib.suppress(Exception):
                    await self._close(conn, 4009, "Session timed out.")
                return
            await asyncio.sleep(limit - late + 0.01)

    async def _detach(self, conn: GatewayConnection) -> None:
        self.connections.discard(conn)
        if conn.watchdog is not None and conn.watchdog is not asyncio.current_task():
            conn.watchdog.cancel()
        if conn.writer is not None:
            conn.writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await conn.writer
        session = conn.session
        if session is not None and session.connection is conn:
            session.connection = None
            if conn.ws.close_code in (1000, 1001) and not conn.closed_by_server:
                session.resumable = False

    async def _close(self, conn: GatewayConnection, code: int, reason: str) -> None:
        conn.closed_by_server = True
        await conn.ws.close(code=code, message=reason.encode())

    def _rate_limited(self, conn: GatewayConnection) -> bool:
        now = time.monotonic()
        conn.received.append(now)
        while conn.received and now - conn.received[0] > 60:
            conn.received.popleft()
        return len(conn.received) > self.events_per_minute

    async def _on_frame(self, conn: GatewayConnection, raw: str) -> None:
        if self._rate_limited(conn):
            await self._close(conn, 4008, "Rate limited.")
            return
        try:
            frame = json.loads(raw)
            op = frame["op"]
        except (ValueError, KeyError, TypeError):
            await self._close(conn, 4002, "Decode error.")
            return
        data = frame.get("d")
        if op == HEARTBEAT:
            conn.last_heartbeat = time.monotonic()
            await conn.send({"op": HEARTBEAT_ACK, "d": None, "s": None, "t": None})
        elif op == IDENTIFY:
            await self._identify(conn, data or {})
        elif op == RESUME:
            await self._resume(conn, data or {})
        elif conn.session is None:
            await self._close(conn, 4003, "Not authenticated.")
        elif op == REQUEST_GUILD_MEMBERS:
            self._request_members(conn.session, data or {})
        elif op in (PRESENCE_UPDATE, VOICE_STATE_UPDATE):
            pass
        else:
            await self._close(conn, 4001, "Unknown opcode.")

    def _token_ok(self, token: Any) -> bool:
        if not isinstance(token, str):
            return False
        return token.removeprefix("Bot ") == self.world.token

    def _identify_allowed(self, shard_id: int) -> bool:
        """One IDENTIFY per `max_concurrency` bucket per `identify_window` seconds."""
        window = self.world.identify_window
        if window <= 0:
            return True
        bucket = shard_id % max(1, self.world.max_concurrency)
        now = time.monotonic()
        last = self._identified_at.get(bucket)
        if last is not None and now - last < window:
            return False
        self._identified_at[bucket] = now
        return True

    async def _identify(self, conn: GatewayConnection, d: dict[str, Any]) -> None:
        if conn.session is not None:
            await self._close(conn, 4005, "Already authenticated.")
            return
        if not self._token_ok(d.get("token")):
            await self._close(conn, 4004, "Authentication failed.")
            return
        intents = d.get("intents")
        if not isinstance(intents, int) or intents < 0 or intents & ~KNOWN_INTENTS:
            await self._close(conn, 4013, "Invalid intent(s).")
            return
        if intents & PRIVILEGED_INTENTS and not self.allow_privileged_intents:
            await self._close(conn, 4014, "Disallowed intent(s).")
            return
        shard = d.get("shard") or [0, 1]
        try:
            shard_id, shard_count = int(shard[0]), int(shard[1])
        except (TypeError, ValueError, IndexError):
            shard_id, shard_count = -1, 0
        if shard_count < 1 or not 0 <= shard_id < shard_count:
            await self._close(conn, 4010, "Invalid shard.")
            return
        if not self._identify_allowed(shard_id):
            # Discord's answer to an IDENTIFY inside its bucket's window: op 9, not
            # resumable; the client waits and identifies again.
            self.world.identify_refused += 1
            await conn.send({"op": INVALID_SESSION, "d": False, "s": None, "t": None})
            return
        self.world.identify_count += 1
        threshold = d.get("large_threshold", 50)
        if not isinstance(threshold, int) or not 50 <= threshold <= 250:
            await self._close(conn, 4002, "large_threshold must be a number from 50 to 250.")
            return
        session = GatewaySession(
            id=secrets.token_hex(16),
            shard_id=shard_id,
            shard_count=shard_count,
            intents=intents,
            large_threshold=threshold,
        )
        self.sessions[session.id] = session
        self._attach(conn, session, next_seq=1)
        world = self.world
        guilds = [
            g
            for g in world.state.guilds.values()
            if world.bot_user_id in g.members and session.owns_guild(g.id)
        ]
        ready = {
            "v": 10,
            "user": world.bot_user_dict(),
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": world.gateway_url,
            "shard": [shard_id, shard_count],
            "application": {"id": str(world.application_id), "flags": world.application_flags},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": ["local"],
            "user_settings": {},
            "auth": {},
            "_trace": ["sandbox"],
        }
        world.record_dispatch("READY", ready)
        session.push("READY", ready)
        for guild in guilds:
            payload = self.guild_create_payload(guild, session)
            world.record_dispatch("GUILD_CREATE", payload)
            session.push("GUILD_CREATE", payload)

    def guild_create_payload(self, guild: Guild, session: GatewaySession) -> dict[str, Any]:
        """GUILD_CREATE as Discord sends it: a guild over the session's large_threshold is
        `large`; without the presences intent, or when large, `members` holds only the bot
        (the sandbox has no presences, so nobody else counts as online or in voice), and a
        client with the members intent requests the rest in chunks."""
        large = len(guild.members) > session.large_threshold
        everyone = bool(session.intents & GUILD_PRESENCES) and not large
        payload = guild.to_dict(full=True, me=self.world.bot_user_id, members=everyone)
        payload["large"] = large
        return payload

    async def _resume(self, conn: GatewayConnection, d: dict[str, Any]) -> None:
        if not self._token_ok(d.get("token")):
            await self._close(conn, 4004, "Authentication failed.")
            return
        session = self.sessions.get(d.get("session_id") or "")
        seq = d.get("seq") or 0
        frames = session.frames_after(seq) if session is not None else None
        if session is None or not session.resumable or frames is None:
            await conn.send({"op": INVALID_SESSION, "d": False, "s": None, "t": None})
            return
        old = session.connection
        if old is not None and old is not conn:
            session.connection = None
            old.abort()
        self._attach(conn, session, next_seq=seq + 1)
        resumed = {"_trace": ["sandbox"]}
        self.world.record_dispatch("RESUMED", resumed)
        session.push("RESUMED", resumed)

    def _attach(self, conn: GatewayConnection, session: GatewaySession, *, next_seq: int) -> None:
        conn.session = session
        conn.next_seq = next_seq
        session.connection = conn
        session.resumable = True
        conn.writer = asyncio.get_running_loop().create_task(conn.write_dispatches())

    def _request_members(self, session: GatewaySession, d: dict[str, Any]) -> None:
        try:
            guild = self.world.state.guilds[int(d["guild_id"])]
        except (KeyError, ValueError, TypeError):
            return
        query = (d.get("query") or "").lower()
        user_ids = {int(u) for u in d.get("user_ids") or []}
        limit = d.get("limit") or 0
        members = [
            m
            for m in guild.members.values()
            if (not user_ids or m.user.id in user_ids) and m.user.username.lower().startswith(query)
        ]
        if limit:
            members = members[:limit]
        found = {m.user.id for m in members}
        chunks = [
            members[i : i + MEMBERS_PER_CHUNK] for i in range(0, len(members), MEMBERS_PER_CHUNK)
        ]
        for index, chunk in enumerate(chunks or [[]]):
            payload: dict[str, Any] = {
                "guild_id": str(guild.id),
                "members": [m.to_dict() for m in chunk],
                "chunk_index": index,
                "chunk_count": len(chunks or [[]]),
            }
            if index == 0:
                payload["not_found"] = [str(u) for u in sorted(user_ids - found)]
            if d.get("nonce") is not None:
                payload["nonce"] = d["nonce"]
            session.push("GUILD_MEMBERS_CHUNK", payload)
