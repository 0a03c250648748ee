"""Who owns which host, who may see it, and how each server names it.

- The bot's own host (and hosts an agent writes straight into the shared database) belong to
  the installation. Its owners share them with the servers they choose: every approved
  server by default; an owner can turn sharing off per server (`set_shared`).
- An agent host belongs to the server whose manager made its token. Its storage key is
  `g<guild id>/<name>`, so a name is unique within its owner only: two servers may both have
  a "nas", and neither sees or writes the other's.
- A host is shown by `HostNames.label`, the one place a host's name is decided for a server:
  the real name only where the server's "Show host names" setting is on, else "host 1",
  "host 2", ... in the order of `visible` (the bot's own host first). Other features get an
  opaque `ref` ("h12", the host's row id) that never reveals a name.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select

from bot.database import Database
from cogs.monitoring.models import HostRow, HostShare

REFRESH_S = 15.0
# The host a server's game servers are stored under (cogs/monitoring/games.py). The name
# has a space, which no agent host may have, and it is no machine's name: it is shown as is,
# whatever the server's "Show host names" setting.
GAMES_HOST_NAME = "game servers"
_AGENT_KEY = re.compile(r"g(\d{1,20})/(.+)")
_REF = re.compile(r"h(\d{1,12})")


def agent_key(guild_id: int, name: str) -> str:
    """The storage key of server `guild_id`'s agent host `name`."""
    return f"g{guild_id}/{name}"


def split_key(key: str) -> tuple[int | None, str]:
    """(owning guild or None for the installation, host name) of a storage key."""
    found = _AGENT_KEY.fullmatch(key)
    if found is None:
        return None, key
    return int(found.group(1)), found.group(2)


def is_games_host(host: Host) -> bool:
    """A server's game-servers host (agent_key(guild, GAMES_HOST_NAME))."""
    return host.guild_id is not None and host.name == GAMES_HOST_NAME


@dataclass(frozen=True)
class Host:
    id: int
    key: str  # the storage key: samples, history and alert rules use it
    guild_id: int | None  # the owning server; None: the installation's
    name: str

    @property
    def ref(self) -> str:
        """The opaque key other features see (`bot.metrics.HostView.key`)."""
        return f"h{self.id}"


class HostNames:
    """The hosts one server may see, in order, and how it names them."""

    def __init__(self, hosts: Sequence[Host], *, show: bool) -> None:
        self.hosts = list(hosts)
        self.show = show
        self._by_key = {host.key: index for index, host in enumerate(self.hosts)}
        machines = [h.key for h in self.hosts if not is_games_host(h)]
        self._number = {key: index + 1 for index, key in enumerate(machines)}

    @property
    def keys(self) -> list[str]:
        return [host.key for host in self.hosts]

    def find(self, key: str) -> Host | None:
        index = self._by_key.get(key)
        return None if index is None else self.hosts[index]

    def label(self, key: str) -> str:
        """How this server names the host with storage key `key`."""
        index = self._by_key.get(key)
        if index is None:
            return "host ?"
        host = self.hosts[index]
        if is_games_host(host):
            return GAMES_HOST_NAME
        return host.name if self.show else f"host {self._number[key]}"

    def resolve(self, given: str | None, default: str | None = None) -> str | None:
        """The storage key of the host a user named: by its label, its opaque ref, or (where
        names are shown) its name; None when this server sees no such host."""
        if not given:
            return default if default in self._by_key else None
        wanted = given.strip().lower()
        for host in self.hosts:
            if wanted in (self.label(host.key).lower(), host.ref):
                return host.key
        return None


class HostRegistry:
    """Every host known to the installation (a row each), and which servers the
    installation's hosts are shared with; cached, re-read every REFRESH_S seconds."""

    def __init__(self, db: Database, clock=time.monotonic) -> None:  # type: ignore[no-untyped-def]
        self.db = db
        self.clock = clock
        self.by_key: dict[str, Host] = {}
        self.by_ref: dict[str, Host] = {}
        self.unshared: set[int] = set()  # servers the installation's hosts are hidden from
        self._read_at = float("-inf")
        self._lock = asyncio.Lock()

    @property
    def fresh(self) -> bool:
        return self.clock() - self._read_at < REFRESH_S

    async def refresh(self, *, force: bool = False) -> None:
        async with self._lock:
            if not force and self.fresh:
                return
            async with self.db.session() as session:
                rows = list(await session.scalars(select(HostRow)))
                unshared = set(
                    await session.scalars(
                        select(HostShare.guild_id).where(HostShare.shared.is_(False))
                    )
                )
            hosts = [Host(r.id, r.key, r.guild_id, r.name) for r in rows]
            self.by_key = {h.key: h for h in hosts}
            self.by_ref = {h.ref: h for h in hosts}
            self.unshared = unshared
            self._read_at = self.clock()

    async def ensure(self, keys: Iterable[str]) -> None:
        """Register hosts by storage key (safe when several processes race)."""
        missing = sorted(set(keys) - self.by_key.keys())
        if not missing:
            return
        from cogs.monitoring.history import _insert

        async with self.db.session() as session, session.begin():
            values = []
            for key in missing:
                guild_id, name = split_key(key)
                values.append({"key": key, "guild_id": guild_id, "name": name[:64]})
            await session.execute(
                _insert(session, HostRow)
                .values(values)
                .on_conflict_do_nothing(index_elements=["key"])
            )
        await self.refresh(force=True)

    def shared_with(self, guild_id: int) -> bool:
        return guild_id not in self.unshared

    async def set_shared(self, guild_id: int, shared: bool) -> None:
        from cogs.monitoring.history import _insert

        async with self.db.session() as session, session.begin():
            statement = _insert(session, HostShare).values(guild_id=guild_id, shared=shared)
            await session.execute(
                statement.on_conflict_do_update(
                    index_elements=["guild_id"], set_={"shared": statement.excluded.shared}
                )
            )
        await self.refresh(force=True)

    def visible(self, guild_id: int, local_key: str) -> list[Host]:
        """The hosts `guild_id` may see: the installation's (the bot's own first) where
        shared with it, then its own agent hosts; never another server's."""
        installation: list[Host] = []
        own: list[Host] = []
        shared = self.shared_with(guild_id)
        for host in self.by_key.values():
            if host.guild_id is None:
                if shared:
                    installation.append(host)
            elif host.guild_id == guild_id:
                own.append(host)
        installation.sort(key=lambda h: (h.key != local_key, h.name))
        own.sort(key=lambda h: h.name)
        return installation + own
