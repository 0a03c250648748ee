"""The sandbox's world on disk: guilds, roles, members, users, channels, messages and
registered commands, saved as JSON so an offline bot finds the same world after a restart.

The state is serialised generically from dataclass fields (a field added to a dataclass in
:mod:`sandbox.state` is saved without changes here; one missing from an older file gets its
default). Objects shared in memory (a ``User`` that is also a member, an author and a
recipient; a ``Channel`` in its guild and in the state's index) are written once and
referenced after, so they are shared again after loading.

:class:`WorldSaver` writes on change, debounced, and once more at shutdown; every write goes
to a temporary file in the same folder, is fsynced and moved over the old one, so a crash or
a second writer never leaves a torn file.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import importlib
import json
import logging
import os
import re
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandbox.server import SandboxServer

log = logging.getLogger(__name__)

FORMAT = "foundrycord-sandbox-world"
VERSION = 1
WORLD_FILE_NAME = "sandbox_world.json"
# Per-process attributes of SandboxState: interactions answer within minutes and their
# tokens die with the process; ephemeral messages belong to those interactions.
TRANSIENT_STATE = frozenset({"interactions", "interactions_by_token", "ephemeral_messages"})
# The application the bot logs in as: kept so its id (and so its registered commands)
# stays the same across restarts.
SERVER_FIELDS = ("application_id", "bot_user", "owner_user", "token", "attachments")
_MARKERS = ("$dc", "$ref", "$dict", "$set", "$frozenset", "$tuple", "$bytes")
# A saved world nests about 15 deep (state > dict > object > fields > list > embed...);
# anything far deeper is damage, and json/the decoder would recurse into a RecursionError.
MAX_DEPTH = 200


class WorldFileError(Exception):
    """The saved world cannot be read back; the message says why."""


# encoding


class _Encoder:
    def __init__(self) -> None:
        self._ids: dict[int, int] = {}
        self._keep: list[Any] = []  # keeps encoded objects alive so id() stays unique

    def encode(self, value: Any, path: str) -> Any:
        if value is None or isinstance(value, bool | int | float | str):
            return value
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return self._dataclass(value, path)
        if isinstance(value, list):
            return [self.encode(v, f"{path}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, tuple):
            return {"$tuple": [self.encode(v, f"{path}[{i}]") for i, v in enumerate(value)]}
        if isinstance(value, set | frozenset):
            items = [self.encode(v, f"{path}{{}}") for v in value]
            items.sort(key=lambda item: json.dumps(item, sort_keys=True))
            return {"$set" if isinstance(value, set) else "$frozenset": items}
        if isinstance(value, bytes | bytearray):
            return {"$bytes": base64.b64encode(bytes(value)).decode("ascii")}
        if isinstance(value, dict):
            if all(isinstance(k, str) and not k.startswith("$") for k in value):
                return {k: self.encode(v, f"{path}.{k}") for k, v in value.items()}
            return {
                "$dict": [
                    [self.encode(k, f"{path}<key>"), self.encode(v, f"{path}[{k!r}]")]
                    for k, v in value.items()
                ]
            }
        raise TypeError(f"cannot save {type(value).__name__} at {path}")

    def _dataclass(self, value: Any, path: str) -> Any:
        key = id(value)
        if key in self._ids:
            return {"$ref": self._ids[key]}
        ref = len(self._ids)
        self._ids[key] = ref
        self._keep.append(value)
        cls = type(value)
        fields = {
            f.name: self.encode(getattr(value, f.name), f"{path}.{f.name}")
            for f in dataclasses.fields(value)
        }
        return {"$dc": f"{cls.__module__}:{cls.__qualname__}", "$id": ref, "fields": fields}


def _snowflake_position(server: SandboxServer) -> dict[str, int]:
    """The generator's counters (not its clock), so new ids never repeat a saved one."""
    gen = server.state.snowflakes
    return {k: v for k, v in vars(gen).items() if isinstance(v, int) and not isinstance(v, bool)}


def dump_world(server: SandboxServer) -> dict[str, Any]:
    """The server's world as a JSON-ready dict (nothing in it shares memory with the state)."""
    encoder = _Encoder()
    state = {
        name: encoder.encode(value, f"state.{name}")
        for name, value in vars(server.state).items()
        if name not in TRANSIENT_STATE and name != "snowflakes" and not name.startswith("_")
    }
    application = {
        name: encoder.encode(getattr(server, name), f"server.{name}") for name in SERVER_FIELDS
    }
    return {
        "format": FORMAT,
        "version": VERSION,
        "saved_at": datetime.now(UTC).isoformat(),
        "http_url": server.http_url,
        "snowflakes": _snowflake_position(server),
        "server": application,
        "state": state,
    }


# decoding


def _dataclass_type(name: Any) -> type:
    """The dataclass a ``$dc`` tag names; only the sandbox's own classes are accepted."""
    if not isinstance(name, str) or ":" not in name:
        raise WorldFileError(f"bad object type {name!r}")
    module_name, _, qualname = name.partition(":")
    if module_name != "sandbox" and not module_name.startswith("sandbox."):
        raise WorldFileError(f"object type {name!r} is not one of the sandbox's")
    try:
        target: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError):
        raise WorldFileError(f"unknown object type {name!r}") from None
    if not (isinstance(target, type) and dataclasses.is_dataclass(target)):
        raise WorldFileError(f"{name!r} is not a data class")
    return target


class _Decoder:
    def __init__(self) -> None:
        self._objects: dict[int, Any] = {}

    def decode(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.decode(v) for v in value]
        if not isinstance(value, dict):
            return value
        marker = next((m for m in _MARKERS if m in value), None)
        if marker is None:
            return {k: self.decode(v) for k, v in value.items()}
        body = value[marker]
        if marker == "$dc":
            return self._dataclass(value)
        if marker == "$ref":
            if body not in self._objects:
                raise WorldFileError(f"reference to object {body!r} before its definition")
            return self._objects[body]
        if marker == "$dict":
            return {self._key(k): self.decode(v) for k, v in self._pairs(body)}
        if not isinstance(body, list) and marker != "$bytes":
            raise WorldFileError(f"{marker} holds {type(body).__name__}, not a list")
        if marker == "$set":
            return {self._key(v) for v in body}
        if marker == "$frozenset":
            return frozenset(self._key(v) for v in body)
        if marker == "$tuple":
            return tuple(self.decode(v) for v in body)
        try:
            return base64.b64decode(body, validate=True)
        except (TypeError, ValueError):
            raise WorldFileError("bad base64 in $bytes") from None

    def _key(self, raw: Any) -> Any:
        key = self.decode(raw)
        try:
            hash(key)
        except TypeError:
            raise WorldFileError(f"unhashable key {raw!r}") from None
        return key

    @staticmethod
    def _pairs(body: Any) -> list[tuple[Any, Any]]:
        if not isinstance(body, list) or not all(isinstance(p, list) and len(p) == 2 for p in body):
            raise WorldFileError("$dict must hold [key, value] pairs")
        return [(p[0], p[1]) for p in body]

    def _dataclass(self, value: dict[str, Any]) -> Any:
        cls = _dataclass_type(value["$dc"])
        ref, saved = value.get("$id"), value.get("fields")
        if not isinstance(ref, int) or ref in self._objects or not isinstance(saved, dict):
            raise WorldFileError(f"bad object entry for {value['$dc']}")
        obj = cls.__new__(cls)
        self._objects[ref] = obj  # registered first: the object may refer to itself
        for f in dataclasses.fields(cls):
            if f.name in saved:
                field_value = self.decode(saved[f.name])
            elif f.default is not dataclasses.MISSING:
                field_value = f.default
            elif f.default_factory is not dataclasses.MISSING:
                field_value = f.default_factory()
            else:
                raise WorldFileError(f"{cls.__name__}.{f.name} is missing and has no default")
            object.__setattr__(obj, f.name, field_value)  # frozen dataclasses too
        return obj


@dataclasses.dataclass
class World:
    """A decoded world, ready to install into a server."""

    http_url: str
    snowflakes: dict[str, int]
    server: dict[str, Any]
    state: dict[str, Any]


_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def json_depth(text: str, limit: int) -> int:
    """How deep the JSON ``text`` nests, counted without recursion and without parsing;
    stops counting once past ``limit``. Brackets inside strings do not count."""
    depth = deepest = 0
    for token in _JSON_TOKENS.finditer(text):
        char = token.group()
        if char in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    break
        elif char in "]}":
            depth -= 1
    return deepest


def parse_world(text: str) -> World:
    """Decode a saved world completely, or raise :class:`WorldFileError`: nothing is
    installed until the whole file has been read."""
    if json_depth(text, MAX_DEPTH) > MAX_DEPTH:
        raise WorldFileError(f"nested deeper than {MAX_DEPTH} levels")
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise WorldFileError(f"not valid JSON ({exc})") from None
    except RecursionError:
        raise WorldFileError("nested too deeply to read") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise WorldFileError("not a FoundryCord sandbox world file")
    if data.get("version") != VERSION:
        raise WorldFileError(f"format version {data.get('version')!r}, expected {VERSION}")
    for key in ("server", "state", "snowflakes"):
        if not isinstance(data.get(key), dict):
            raise WorldFileError(f"its {key!r} section is missing")
    decoder = _Decoder()
    try:
        # the order they were written in: objects are defined before they are referenced
        state = {k: decoder.decode(v) for k, v in data["state"].items()}
        server = {k: decoder.decode(v) for k, v in data["server"].items()}
    except WorldFileError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise WorldFileError(f"malformed content ({type(exc).__name__}: {exc})") from None
    except RecursionError:
        raise WorldFileError("nested too deeply to read") from None
    missing = [name for name in SERVER_FIELDS if name not in server]
    if missing:
        raise WorldFileError(f"the application's {', '.join(missing)} is missing")
    snowflakes = {k: v for k, v in data["snowflakes"].items() if isinstance(v, int)}
    return World(str(data.get("http_url") or ""), snowflakes, server, state)


def install_world(server: SandboxServer, world: World) -> None:
    """Replace the server's world with ``world`` (call before the bot connects)."""
    state = server.state
    for name, value in world.state.items():
        if name in TRANSIENT_STATE or name == "snowflakes":
            continue
        setattr(state, name, value)
    gen = state.snowflakes
    for name, value in world.snowflakes.items():
        if isinstance(getattr(gen, name, None), int):
            setattr(gen, name, max(value, getattr(gen, name)))
    for name in SERVER_FIELDS:
        setattr(server, name, world.server[name])
    # Attachment URLs carry the sandbox's address, and the port may differ this time.
    if world.http_url and world.http_url != server.http_url:
        for attachment in server.attachments.values():
            url = getattr(attachment, "url", None)
            if isinstance(url, str) and url.startswith(world.http_url):
                attachment.url = server.http_url + url[len(world.http_url) :]


# files


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a fresh temporary file in the same folder (mode
    600), fsynced and renamed over ``path``: readers see the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def save_world(server: SandboxServer, path: Path) -> None:
    write_atomic(path, json.dumps(dump_world(server), separators=(",", ":")))


def set_aside(path: Path, now: datetime | None = None) -> Path:
    """Rename a bad world file to ``<name>.corrupt-<UTC time>``; returns the new path."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    counter = 1
    while target.exists():
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{counter}")
        counter += 1
    os.replace(path, target)
    return target


@dataclasses.dataclass
class LoadResult:
    """What :func:`load_saved_world` did: ``restored`` the saved world, or not (no file,
    or a bad one, set aside at ``set_aside_as``); ``writable`` is False when a bad file
    could not be moved away, so saving must not overwrite it."""

    restored: bool
    set_aside_as: Path | None = None
    writable: bool = True


def load_saved_world(server: SandboxServer, path: Path) -> LoadResult:
    """Install the world saved at ``path`` if there is one. A corrupt or unreadable file is
    logged in one line and moved aside, and the server keeps its (empty) world."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return LoadResult(restored=False)
    except (OSError, UnicodeDecodeError) as exc:
        reason = f"cannot be read ({exc.strerror if isinstance(exc, OSError) else exc})"
    else:
        try:
            world = parse_world(text)
        except WorldFileError as exc:
            reason = str(exc)
        else:
            install_world(server, world)
            log.info("Restored the sandbox world from %s", path)
            return LoadResult(restored=True)
    try:
        aside = set_aside(path)
    except OSError as exc:
        log.error(
            "The saved sandbox world %s is unusable (%s) and cannot be moved aside (%s): "
            "starting a fresh world that will NOT be saved, so that file stays as it is",
            path,
            reason,
            exc.strerror,
        )
        return LoadResult(restored=False, writable=False)
    log.error(
        "The saved sandbox world %s is unusable (%s): kept it as %s and started a fresh world",
        path,
        reason,
        aside.name,
    )
    return LoadResult(restored=False, set_aside_as=aside)


class WorldSaver:
    """Saves the world ``delay`` seconds after a change (changes in between share the
    write) and once more on :meth:`close`. Writes never overlap: each takes a fresh snapshot
    under one lock, so the last write holds the latest state. A failed write is logged, never
    raised into the sandbox."""

    def __init__(self, server: SandboxServer, path: Path, *, delay: float = 0.5) -> None:
        self.server = server
        self.path = path
        self.delay = delay
        self.saves = 0  # completed writes, for tests and logs
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._lock = asyncio.Lock()
        self._closed = False
        self._listening = False
        self._failed_once = False

    def attach(self) -> None:
        """Save after every change the server reports."""
        if not self._listening:
            self.server.change_listeners.append(self.changed)
            self._listening = True

    def detach(self) -> None:
        if self._listening:
            with contextlib.suppress(ValueError):
                self.server.change_listeners.remove(self.changed)
            self._listening = False

    def changed(self) -> None:
        """The world changed: save soon (a no-op after :meth:`close`)."""
        if self._closed or self._timer is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # changed outside the loop (a script): close() still saves
            return
        self._timer = loop.call_later(self.delay, self._fire)

    def _fire(self) -> None:
        self._timer = None
        if self._closed:
            return
        task = asyncio.get_running_loop().create_task(self.save())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def save(self) -> bool:
        """Write the world now; True on success (errors are logged)."""
        async with self._lock:
            try:
                # The snapshot is taken in the event loop, where the state changes, so it is
                # consistent; only the disk work runs in a thread.
                text = json.dumps(dump_world(self.server), separators=(",", ":"))
                await asyncio.to_thread(write_atomic, self.path, text)
            except Exception as exc:
                if not self._failed_once:  # one line, not one per change
                    log.error("Could not save the sandbox world to %s: %s", self.path, exc)
                    self._failed_once = True
                return False
            self.saves += 1
            return True

    async def close(self) -> None:
        """Stop listening, let a write in progress finish, and save the final state."""
        if self._closed:
            await asyncio.gather(*self._tasks, return_exceptions=True)
            return
        self._closed = True
        self.detach()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.save()


def remove_world(path: Path) -> bool:
    """Delete the saved world (for a reset); True if there was one."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True
