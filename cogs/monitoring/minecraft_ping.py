"""Minecraft Java's server-list ping, as a player's client sends it
(https://minecraft.wiki/w/Java_Edition_protocol/Server_List_Ping): a handshake naming the
server as the player typed it, then a status request; the answer is one JSON document.

The connection goes to an address checked beforehand (games.TargetPolicy), while the
handshake carries the name the manager gave: a proxy that serves several worlds behind one
address (Velocity, BungeeCord forced hosts) answers for the world that name points at, as
it would for a player. The port travels big-endian, as the protocol says."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

# Any version number gets the status answer; 47 (1.8) is what most pingers send.
PROTOCOL_VERSION = 47
MAX_STATUS_BYTES = 256 * 1024  # a status with a large server icon is some 20 KiB
MAX_NAME_BYTES = 255  # the handshake's server address field
_NEXT_STATE_STATUS = 1


class PingError(ValueError):
    """The server's answer is not a status response."""


def varint(value: int) -> bytes:
    """A protocol VarInt: 7 bits a byte, low first; negative numbers as 32-bit."""
    value &= 0xFFFFFFFF
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        if not value:
            out.append(byte)
            return bytes(out)
        out.append(byte | 0x80)


def varint_at(data: bytes, offset: int) -> tuple[int, int]:
    """(the VarInt at `offset`, the offset after it)."""
    value = 0
    for shift in range(0, 35, 7):
        if offset >= len(data):
            raise PingError("the status response ends inside a number")
        byte = data[offset]
        offset += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, offset
    raise PingError("a number in the status response is longer than 5 bytes")


async def _read_varint(reader: asyncio.StreamReader) -> int:
    value = 0
    for shift in range(0, 35, 7):
        byte = (await reader.readexactly(1))[0]
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value
    raise PingError("a packet length longer than 5 bytes")


def status_request(name: str, port: int) -> bytes:
    """The handshake (next state: status) and the status request, each length-prefixed."""
    host = name.encode("utf-8")[:MAX_NAME_BYTES]
    handshake = (
        b"\x00"
        + varint(PROTOCOL_VERSION)
        + varint(len(host))
        + host
        + port.to_bytes(2, "big")
        + varint(_NEXT_STATE_STATUS)
    )
    return varint(len(handshake)) + handshake + varint(1) + b"\x00"


def parse_status(packet: bytes) -> dict[str, Any]:
    """The JSON document of a status response packet (its length prefix removed)."""
    packet_id, offset = varint_at(packet, 0)
    if packet_id != 0:
        raise PingError(f"packet {packet_id} where a status response (0) was expected")
    length, offset = varint_at(packet, offset)
    text = packet[offset : offset + length]
    if len(text) != length:
        raise PingError("the status response is shorter than it says")
    try:
        status = json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PingError(f"the status is not JSON: {exc}") from None
    if not isinstance(status, dict):
        raise PingError("the status is not a JSON object")
    return status


async def minecraft_status(name: str, address: str, port: int, timeout_s: float) -> dict[str, Any]:
    """The status of the server `name` (as the manager gave it) at the checked `address`."""
    async with asyncio.timeout(timeout_s):
        reader, writer = await asyncio.open_connection(address, port)
        try:
            writer.write(status_request(name, port))
            await writer.drain()
            length = await _read_varint(reader)
            if not 0 < length <= MAX_STATUS_BYTES:
                raise PingError(f"a status response of {length} bytes")
            return parse_status(await reader.readexactly(length))
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
