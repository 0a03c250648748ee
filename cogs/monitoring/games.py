"""Game servers as a monitoring source: what a server's manager adds, how one is queried,
and the poller that queries them all.

Queries go through opengsq (the library DiscordGSM uses) for Source/A2S over UDP (Steam
games) and Minecraft Bedrock over RakNet, and through our own Minecraft Java server-list
ping over TCP (minecraft_ping.py: the handshake names the server as it was given). Every
query is async and bounded by its own timeout; the poller runs on its own task, never inside
the host-sampling tick, and polls each server once per interval however many dashboards,
commands or rules read it. Its results are metrics of one host per Discord server (the
"game servers" host, `games_host_key`), so history, charts, alert rules and dashboards use
them like any other metric:

- `game.{id}.online` 1 or 0, `game.{id}.players`, `game.{id}.max_players`,
  `game.{id}.ping_ms` (while online), `game.{id}.failed_polls` (polls failed in a row;
  "offline for 2 polls" is the rule `game.{id}.failed_polls >= 2`).

Addresses follow the service checks' rule (collectors.services.TargetPolicy): a name is
resolved and every address checked when the server is saved and again at every poll, the
query goes to the checked address (Minecraft's handshake still carries the name), and
loopback or private targets need the owner's consent.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Protocol

from cogs.monitoring.collectors.services import CheckError, TargetPolicy
from cogs.monitoring.hosts import GAMES_HOST_NAME, agent_key

log = logging.getLogger(__name__)

# protocol -> (label, default port)
PROTOCOLS: dict[str, tuple[str, int]] = {
    "source": ("Source / A2S (Steam games: CS2, TF2, Rust, Valheim, ARK, ...)", 27015),
    "minecraft": ("Minecraft Java", 25565),
    "bedrock": ("Minecraft Bedrock", 19132),
}
MAX_GAME_SERVERS_PER_GUILD = 25
MAX_PLAYER_NAMES = 100  # kept per server; a list longer than this is cut
DEFAULT_TIMEOUT_S = 3.0
DEMO_NAME = "Demo game server"  # the offline demo world's (sandbox/game_servers.py)
DEMO_SETTING = "demo_game_server"  # Settings.extra: "127.0.0.1:PORT", set by bot/offline.py


def parse_demo(raw: str | None) -> tuple[str, int] | None:
    """The offline demo game server's address and port, from Settings.extra."""
    if not raw or ":" not in raw:
        return None
    address, _, port = raw.rpartition(":")
    return (address, int(port)) if port.isdigit() and 0 < int(port) < 65536 else None


def games_host_key(guild_id: int) -> str:
    """The storage key of server `guild_id`'s game-server metrics (an agent-style key, so
    only that server sees it)."""
    return agent_key(guild_id, GAMES_HOST_NAME)


class GameServerError(ValueError):
    """A game server's definition is wrong; `field` names the form field or option."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _ipv6(text: str) -> bool:
    try:
        return isinstance(ipaddress.ip_address(text), ipaddress.IPv6Address)
    except ValueError:
        return False


@dataclass(frozen=True)
class GameServer:
    id: int
    guild_id: int
    name: str
    protocol: str
    address: str
    port: int

    def validate(self) -> GameServer:
        """This server with its fields trimmed, or GameServerError naming the first wrong one."""
        name, address = self.name.strip(), self.address.strip()
        if not name or len(name) > 64 or any(ord(ch) < 32 for ch in name):
            raise GameServerError("name", "give a name of 1-64 characters")
        if self.protocol not in PROTOCOLS:
            raise GameServerError("protocol", f"must be one of {', '.join(PROTOCOLS)}")
        if (
            not address
            or len(address) > 253
            or any(ch.isspace() or ch in "/@?#" for ch in address)
            or "://" in address
        ):
            raise GameServerError("address", "give a host name or IP address, without a port")
        if ":" in address and not _ipv6(address.strip("[]")):
            raise GameServerError("address", "give the port in the port field, not after a colon")
        if not isinstance(self.port, int) or not 1 <= self.port <= 65535:
            raise GameServerError("port", "must be a port number from 1 to 65535")
        return replace(self, name=name, address=address)

    @property
    def key(self) -> str:
        """The opaque id other features see (`bot.metrics.GameServerView.key`)."""
        return f"gs{self.id}"

    def metric(self, what: str) -> str:
        return f"game.{self.id}.{what}"


@dataclass(frozen=True)
class QueryAnswer:
    """What a server said: its own name, map, game, player counts and names."""

    title: str = ""
    map: str = ""
    game: str = ""
    players: int = 0
    max_players: int = 0
    player_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class GameStatus:
    """The newest poll of one server."""

    online: bool
    at: float
    answer: QueryAnswer = field(default_factory=QueryAnswer)
    ping_ms: float | None = None
    error: str = ""  # why it is offline
    failed_polls: int = 0


class Query(Protocol):
    """One query of a game server: `address` is the checked one to connect to, `name` the
    address as the manager gave it (a host name, for protocols that carry it)."""

    def __call__(
        self, protocol: str, address: str, port: int, timeout_s: float, *, name: str = ""
    ) -> Awaitable[QueryAnswer]: ...


def _clean(text: object, limit: int = 100) -> str:
    """A server-given string made one short line (names come from anyone's server)."""
    cleaned = "".join(ch if ch.isprintable() else " " for ch in str(text or ""))
    return " ".join(cleaned.split())[:limit]


def _minecraft_text(description: object) -> str:
    """The plain text of a Minecraft chat component (the server's MOTD)."""
    if isinstance(description, str):
        return description
    if isinstance(description, dict):
        parts = [str(description.get("text", ""))]
        parts += [_minecraft_text(extra) for extra in description.get("extra") or []]
        return "".join(parts)
    if isinstance(description, list):
        return "".join(_minecraft_text(part) for part in description)
    return ""


class BedrockAnswerError(ValueError):
    """A Bedrock server answered, but not with what RakNet and Bedrock say it sends."""


def load_protocol(protocol: str) -> None:
    """Import `protocol`'s query code, loaded on first use (most servers watch no game):
    `poll_one` calls it before starting the clock, so that the first poll after a start
    does not time an import (120 ms for opengsq) as the server's ping."""
    if protocol in ("source", "bedrock"):
        import opengsq.protocols  # noqa: F401
    elif protocol == "minecraft":
        import cogs.monitoring.minecraft_ping  # noqa: F401


async def query_game_server(
    protocol: str, address: str, port: int, timeout_s: float, *, name: str = ""
) -> QueryAnswer:
    """One query of the server at `address` (an address already checked): Source and
    Bedrock through opengsq, Minecraft Java with our own server-list ping, whose handshake
    names the server as the manager gave it (`name`), as a player's client does."""
    if protocol == "source":
        from opengsq.protocols import Source

        source = Source(address, port, timeout_s)
        info = await source.get_info()
        names: tuple[str, ...] = ()
        if info.players:
            with contextlib.suppress(Exception):  # some servers answer info but not players
                names = tuple(p.name for p in await source.get_players() if p.name)
        return QueryAnswer(
            _clean(info.name),
            _clean(info.map),
            _clean(info.game),
            int(info.players),
            int(info.max_players),
            names,
        )
    if protocol == "minecraft":
        from cogs.monitoring.minecraft_ping import minecraft_status

        status = await minecraft_status(name or address, address, port, timeout_s)
        players = status.get("players") or {}
        sample = players.get("sample") or []
        version = (status.get("version") or {}).get("name", "")
        return QueryAnswer(
            _clean(_minecraft_text(status.get("description"))),
            "",
            _clean(f"Minecraft {version}".strip()),
            int(players.get("online", 0)),
            int(players.get("max", 0)),
            tuple(str(p.get("name", "")) for p in sample if isinstance(p, dict)),
        )
    if protocol == "bedrock":
        from opengsq.exceptions import InvalidPacketException
        from opengsq.protocols import RakNet

        try:
            found = await RakNet(address, port, timeout_s).get_status()
        except InvalidPacketException:
            raise BedrockAnswerError("the answer is not a RakNet unconnected pong") from None
        except (ValueError, IndexError, UnicodeDecodeError):
            raise BedrockAnswerError(
                "the pong's server id is not Bedrock's 'MCPE;name;protocol;version;players;"
                "max;...' list"
            ) from None
        return QueryAnswer(
            _clean(found.motd_line1),
            _clean(found.motd_line2),
            _clean(f"Minecraft Bedrock {found.version_name}".strip()),
            int(found.num_players),
            int(found.max_players),
        )
    raise GameServerError("protocol", f"must be one of {', '.join(PROTOCOLS)}")


async def poll_one(
    server: GameServer,
    policy: TargetPolicy,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    query: Query = query_game_server,
    clock: Callable[[], float] = time.time,
) -> GameStatus:
    """Query one server, bounded by `timeout_s` in all (resolving included); never raises.
    The ping is the query's time alone (not the resolving, nor the first use's import)."""
    at = clock()
    load_protocol(server.protocol)
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout_s):
            addresses = await policy.addresses(server.address, server.port)
            started = time.perf_counter()
            answer = await query(
                server.protocol, addresses[0], server.port, timeout_s, name=server.address
            )
    except CheckError as exc:
        return GameStatus(False, at, error=f"refused: {exc.message}")
    except TimeoutError:
        return GameStatus(False, at, error=f"no answer within {timeout_s:g} s")
    except Exception as exc:  # a server that is down or answers nonsense is offline
        return GameStatus(False, at, error=_clean(f"{type(exc).__name__}: {exc}", 200))
    ping = (time.perf_counter() - started) * 1000
    names = tuple(_clean(n, 32) for n in answer.player_names if _clean(n, 32))
    answer = replace(
        answer,
        players=max(0, answer.players),
        max_players=max(0, answer.max_players),
        player_names=names[:MAX_PLAYER_NAMES],
    )
    return GameStatus(True, at, answer, ping)


def metrics_of(server: GameServer, status: GameStatus) -> dict[str, float]:
    """The metrics one poll writes (catalogue: game.{id}.*)."""
    metrics = {
        server.metric("online"): 1.0 if status.online else 0.0,
        server.metric("failed_polls"): float(status.failed_polls),
    }
    if status.online:
        metrics[server.metric("players")] = float(status.answer.players)
        metrics[server.metric("max_players")] = float(status.answer.max_players)
        if status.ping_ms is not None:
            metrics[server.metric("ping_ms")] = round(status.ping_ms, 2)
    return metrics


RoundSink = Callable[[float, dict[int, dict[str, float]]], Awaitable[None]]


class GamePoller:
    """Polls every game server of every Discord server, all at once (at most `concurrency`
    queries in flight), once per `interval_s`; keeps the newest status of each and hands
    each round's metrics, per Discord server, to `on_round`."""

    def __init__(
        self,
        load: Callable[[], Awaitable[list[GameServer]]],
        policy: TargetPolicy,
        *,
        interval_s: float = 30.0,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        query: Query = query_game_server,
        on_round: RoundSink | None = None,
        clock: Callable[[], float] = time.time,
        concurrency: int = 32,
    ) -> None:
        self.load = load
        self.policy = policy
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.query = query
        self.on_round = on_round
        self.clock = clock
        self.concurrency = concurrency
        self.status: dict[int, GameStatus] = {}  # server id -> newest poll
        self.servers: dict[int, GameServer] = {}
        self.rounds = 0
        self.may_poll: Callable[[], bool] = lambda: True

    async def poll_round(self) -> dict[int, dict[str, float]]:
        """Poll every server once; the metrics of this round per Discord server."""
        servers = await self.load()
        limit = asyncio.Semaphore(self.concurrency)

        async def bounded(server: GameServer) -> GameStatus:
            async with limit:
                return await poll_one(
                    server, self.policy, timeout_s=self.timeout_s, query=self.query,
                    clock=self.clock,
                )  # fmt: skip

        results = await asyncio.gather(*(bounded(s) for s in servers))
        per_guild: dict[int, dict[str, float]] = {}
        status: dict[int, GameStatus] = {}
        for server, result in zip(servers, results, strict=True):
            previous = self.status.get(server.id)
            failed = 0 if result.online else (previous.failed_polls if previous else 0) + 1
            result = replace(result, failed_polls=failed)
            if not result.online and previous is not None and previous.answer.title:
                # keep what it last said (its name, max players) to show beside "offline"
                kept = replace(previous.answer, players=0, player_names=())
                result = replace(result, answer=kept)
            status[server.id] = result
            per_guild.setdefault(server.guild_id, {}).update(metrics_of(server, result))
        self.status = status  # removed servers drop out here
        self.servers = {server.id: server for server in servers}
        self.rounds += 1
        return per_guild

    async def poll_now(self, server: GameServer) -> GameStatus:
        """Poll one server at once (just added), outside the rounds; nothing is stored."""
        result = await poll_one(
            server, self.policy, timeout_s=self.timeout_s, query=self.query, clock=self.clock
        )
        result = replace(result, failed_polls=0 if result.online else 1)
        self.servers = {**self.servers, server.id: server}
        self.status = {**self.status, server.id: result}
        return result

    def forget(self, server_id: int) -> None:
        """A removed server: shown nowhere from now on."""
        self.servers = {k: v for k, v in self.servers.items() if k != server_id}
        self.status = {k: v for k, v in self.status.items() if k != server_id}

    async def tick(self) -> None:
        if not self.may_poll():  # with several bot processes, the leader alone polls
            return
        ts = self.clock()
        per_guild = await self.poll_round()
        if self.on_round is not None and per_guild:
            try:
                await self.on_round(ts, per_guild)
            except Exception:
                log.exception("Storing or evaluating a game-server round failed")

    async def run(self, stop: asyncio.Event, first_delay_s: float = 0.0) -> None:
        """Poll on a fixed schedule until `stop` is set (a round that overruns the interval
        delays the next one instead of piling up)."""
        from cogs.monitoring.sampler import sleep_unless_stopped

        if await sleep_unless_stopped(stop, first_delay_s):
            return
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while not stop.is_set():
            try:
                await self.tick()
            except Exception:
                log.exception("A game-server poll round failed")
            next_at += self.interval_s
            delay = next_at - loop.time()
            if delay < 0:
                next_at = loop.time() + self.interval_s
                delay = self.interval_s
            if await sleep_unless_stopped(stop, delay):
                return
