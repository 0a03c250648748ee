"""Local game servers that answer the real query protocols, written from the protocol
descriptions (not from the query library), for tests, the bench and the offline demo world:

- `A2SServer`: Valve's Source server query over UDP (A2S_INFO and A2S_PLAYER, with the
  challenge step servers have required since 2020),
  https://developer.valvesoftware.com/wiki/Server_queries
- `MinecraftServer`: Minecraft Java's server-list ping over TCP (handshake, status request,
  status response, and the ping/pong), https://minecraft.wiki/w/Java_Edition_protocol/Server_List_Ping
- `BedrockServer`: Minecraft Bedrock's RakNet unconnected ping/pong over UDP (the pong
  carries the `MCPE;...` server id string), https://minecraft.wiki/w/RakNet

All listen on 127.0.0.1 with a port the system picks; `state` is what they report and may
change while they run; `stop()` makes them unreachable (an offline server)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import struct
from dataclasses import dataclass, field
from typing import Self

HEADER = b"\xff\xff\xff\xff"


@dataclass
class GameState:
    """What a fake server reports."""

    name: str = "Foundry Test Server"
    map: str = "de_dust2"
    game: str = "Counter-Strike 2"
    players: list[str] = field(default_factory=lambda: ["alice", "bob"])
    max_players: int = 16
    version: str = "1.40.0.0"
    queries: int = 0  # requests answered (the tests count polls with it)


def _cstring(text: str) -> bytes:
    return text.encode("utf-8") + b"\x00"


class UdpGameServer(asyncio.DatagramProtocol):
    """A game server's UDP query port on 127.0.0.1: each datagram gets `answer(data)`."""

    transport: asyncio.DatagramTransport | None = None
    port = 0

    async def start(self, port: int = 0) -> Self:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: self, local_addr=("127.0.0.1", port)
        )
        self.transport = transport  # type: ignore[assignment]
        self.port = transport.get_extra_info("sockname")[1]
        return self

    async def stop(self) -> None:
        if self.transport is not None:
            self.transport.close()
            self.transport = None

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:  # type: ignore[override]
        answer = self.answer(data)
        if answer is not None and self.transport is not None:
            self.transport.sendto(answer, addr)

    def answer(self, data: bytes) -> bytes | None:
        raise NotImplementedError


class A2SServer(UdpGameServer):
    """A Source engine server's query port."""

    def __init__(self, state: GameState | None = None) -> None:
        self.state = state or GameState()
        self._challenge = os.urandom(4)

    def answer(self, data: bytes) -> bytes | None:
        if not data.startswith(HEADER) or len(data) < 5:
            return None
        kind, body = data[4], data[5:]
        if kind == 0x54 and body.startswith(b"Source Engine Query\x00"):
            given = body[len(b"Source Engine Query\x00") :]
            if given != self._challenge:
                return HEADER + b"\x41" + self._challenge
            self.state.queries += 1
            return HEADER + self._info()
        if kind == 0x55:
            if body != self._challenge:  # FF FF FF FF asks for a challenge
                return HEADER + b"\x41" + self._challenge
            return HEADER + self._players()
        return None

    def _info(self) -> bytes:
        state = self.state
        return (
            b"\x49\x11"
            + _cstring(state.name)
            + _cstring(state.map)
            + _cstring("csgo")
            + _cstring(state.game)
            + struct.pack("<h", 730)
            + bytes([len(state.players), state.max_players, 0])
            + b"dl\x00\x01"  # dedicated, Linux, public, VAC
            + _cstring(state.version)
        )

    def _players(self) -> bytes:
        out = b"\x44" + bytes([len(self.state.players)])
        for index, name in enumerate(self.state.players):
            out += bytes([index]) + _cstring(name) + struct.pack("<lf", index * 3, 60.0 * index)
        return out


def _varint(value: int) -> bytes:
    out = b""
    value &= 0xFFFFFFFF
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out += bytes([byte | 0x80])
        else:
            return out + bytes([byte])


async def _read_varint(reader: asyncio.StreamReader) -> int:
    total = 0
    for shift in range(0, 35, 7):
        byte = (await reader.readexactly(1))[0]
        total |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return total
    raise ValueError("varint too long")


def _varint_at(data: bytes, offset: int) -> tuple[int, int]:
    value = 0
    for shift in range(0, 35, 7):
        if offset >= len(data):
            raise ValueError("a handshake that ends inside a VarInt")
        byte = data[offset]
        offset += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, offset
    raise ValueError("VarInt too long")


def _handshake_address(data: bytes) -> tuple[str, int]:
    """The server address and port a handshake packet names (after its packet id)."""
    _, offset = _varint_at(data, 1)  # protocol version
    length, offset = _varint_at(data, offset)
    host = data[offset : offset + length].decode("utf-8", "replace")
    port = int.from_bytes(data[offset + length : offset + length + 2], "big")
    return host, port


def _packet(packet_id: int, payload: bytes) -> bytes:
    body = _varint(packet_id) + payload
    return _varint(len(body)) + body


class MinecraftServer:
    """A Minecraft Java server's status port."""

    def __init__(self, state: GameState | None = None) -> None:
        self.state = state or GameState(
            name="A Foundry Minecraft world", map="", game="Minecraft", version="1.21.4"
        )
        self.port = 0
        self._server: asyncio.Server | None = None
        # (server address, port) of each handshake, as the client named the server
        self.handshakes: list[tuple[str, int]] = []

    async def start(self, port: int = 0) -> MinecraftServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def status(self) -> dict:
        state = self.state
        return {
            "version": {"name": state.version, "protocol": 769},
            "players": {
                "max": state.max_players,
                "online": len(state.players),
                "sample": [
                    {"name": name, "id": f"00000000-0000-0000-0000-{i:012d}"}
                    for i, name in enumerate(state.players)
                ],
            },
            "description": {"text": state.name},
        }

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            handshaken = False
            while True:
                length = await _read_varint(reader)
                data = await reader.readexactly(length)
                packet_id = data[0]
                if not handshaken:
                    if packet_id != 0x00 or data[-1] != 1:  # next state 1: status
                        return
                    self.handshakes.append(_handshake_address(data))
                    handshaken = True
                elif packet_id == 0x00:  # status request
                    self.state.queries += 1
                    text = json.dumps(self.status()).encode("utf-8")
                    writer.write(_packet(0x00, _varint(len(text)) + text))
                    await writer.drain()
                elif packet_id == 0x01:  # ping: answer with the same number
                    writer.write(_packet(0x01, data[1:9]))
                    await writer.drain()
                    return
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            return
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


# RakNet's "offline message" marker, in every unconnected packet.
RAKNET_MAGIC = bytes.fromhex("00ffff00fefefefefdfdfdfd12345678")
UNCONNECTED_PING, UNCONNECTED_PONG = 0x01, 0x1C


class BedrockServer(UdpGameServer):
    """A Minecraft Bedrock server's RakNet port, answering unconnected pings.

    `answer_with` replaces the pong (a hostile or broken server) when set."""

    def __init__(self, state: GameState | None = None) -> None:
        self.state = state or GameState(
            name="A Foundry Bedrock world", map="Bedrock level", game="Survival", version="1.21.50"
        )
        self.guid = int.from_bytes(os.urandom(8), "big") >> 1
        self.answer_with: bytes | None = None

    def answer(self, data: bytes) -> bytes | None:
        # ping: id, time (int64), magic, client GUID (int64); anything else goes unanswered
        if len(data) < 33 or data[0] != UNCONNECTED_PING or data[9:25] != RAKNET_MAGIC:
            return None
        self.state.queries += 1
        if self.answer_with is not None:
            return self.answer_with
        server_id = self.server_id().encode("utf-8")
        return (
            bytes([UNCONNECTED_PONG])
            + data[1:9]  # the ping's time, echoed
            + struct.pack(">q", self.guid)
            + RAKNET_MAGIC
            + struct.pack(">H", len(server_id))
            + server_id
        )

    def server_id(self) -> str:
        """Edition;MOTD;protocol;version;players;max;server GUID;level;game mode;game mode
        number;IPv4 port;IPv6 port; as Bedrock Dedicated Server sends it."""
        state = self.state
        fields = [
            "MCPE",
            state.name,
            "766",
            state.version,
            str(len(state.players)),
            str(state.max_players),
            str(self.guid),
            state.map,
            state.game,
            "0",
            str(self.port),
            str(self.port + 1),
        ]
        return ";".join(fields) + ";"
