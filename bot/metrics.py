"""The contract between the feature that collects host metrics (monitoring, the producer)
and the features that show them (dashboards, and monitoring's own pages and alerts).

- The **catalogue**: every metric name the producer can write, declared once where it is
  written (name pattern, label, unit, kind). Presets, pickers, alert rules and test fakes
  choose from it; a name it does not know is refused when saved, with close names.
- The **source**: a `MetricsSource` offered as
  `bot.services.provided.provide(METRICS_SERVICE, source)`. Every read names the guild that
  looks, so a server sees only the hosts it may see (its own agents, and the bot's own host
  where the owners share it), each under the label that server may see.
- **Formatting**: `format_value` rounds a value to what a person reads, in human units.
"""

from __future__ import annotations

import fnmatch
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Literal, Protocol

from bot.features import ServiceKey

METRICS_SERVICE: ServiceKey[MetricsSource] = ServiceKey("metrics")

MetricKind = Literal["gauge", "counter", "state"]
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
MAX_MEMOISED_NAMES = 4096  # MetricCatalogue._found, cleared when full


class UnknownMetric(ValueError):
    """A name the catalogue does not know; the message lists close names."""


@dataclass(frozen=True)
class MetricSpec:
    """One family of metrics: `pattern` with `{placeholders}` for one dotted segment each
    (e.g. "disk.{mount}.percent"); `label` may use the same placeholders; `unit` is what
    `format_value` understands ("%", "B", "B/s", "°C", "MHz", "W", "ms", "s", "rpm", "" for a
    plain number); `kind`: a gauge (a level), a counter (a running total), or a state (1/0)."""

    pattern: str
    label: str
    unit: str = ""
    kind: MetricKind = "gauge"
    example: Sequence[str] = ()  # values for the placeholders in a sample name

    @cached_property
    def regex(self) -> re.Pattern[str]:
        parts = _PLACEHOLDER.split(self.pattern)
        out = []
        for index, part in enumerate(parts):
            out.append(re.escape(part) if index % 2 == 0 else f"(?P<{part}>[^.]+)")
        return re.compile("".join(out))

    @property
    def placeholders(self) -> list[str]:
        return _PLACEHOLDER.findall(self.pattern)

    def match(self, name: str) -> dict[str, str] | None:
        found = self.regex.fullmatch(name)
        return None if found is None else found.groupdict()

    def label_for(self, name: str) -> str:
        values = self.match(name) or {}
        return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), self.label)

    def sample_name(self) -> str:
        """A concrete name of this family (for pickers and test fakes)."""
        values = iter(self.example or ())
        return _PLACEHOLDER.sub(lambda m: next(values, "0"), self.pattern)

    def as_glob(self) -> str:
        return _PLACEHOLDER.sub("*", self.pattern)


@dataclass(frozen=True)
class MetricCatalogue:
    """Every metric a producer declares, looked up by concrete name or by glob."""

    specs: tuple[MetricSpec, ...]
    _by_pattern: dict[str, MetricSpec] = field(init=False, repr=False, compare=False)
    # find() and label() per concrete name, memoised (the specs never change): a page that
    # lists a host's hundred metrics would otherwise try every pattern for each of them
    _found: dict[str, tuple[MetricSpec | None, str]] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        by_pattern: dict[str, MetricSpec] = {}
        for spec in self.specs:
            if spec.pattern in by_pattern:
                raise ValueError(f"metric pattern {spec.pattern!r} is declared twice")
            by_pattern[spec.pattern] = spec
        object.__setattr__(self, "_by_pattern", by_pattern)

    def find(self, name: str) -> MetricSpec | None:
        """The spec a concrete name (or a pattern spelled with placeholders) belongs to."""
        return self._lookup(name)[0]

    def _lookup(self, name: str) -> tuple[MetricSpec | None, str]:
        found = self._found.get(name)
        if found is None:
            spec = self._by_pattern.get(name)
            if spec is None:
                spec = next((s for s in self.specs if s.regex.fullmatch(name)), None)
            found = (spec, spec.label_for(name) if spec else name)
            if len(self._found) >= MAX_MEMOISED_NAMES:
                self._found.clear()
            self._found[name] = found
        return found

    def matches_any(self, glob: str) -> bool:
        """Whether a glob such as "net.*" can match some declared metric."""
        return any(
            fnmatch.fnmatchcase(spec.sample_name(), glob)
            or fnmatch.fnmatchcase(spec.as_glob(), glob)
            for spec in self.specs
        )

    def close_names(self, name: str, n: int = 5) -> list[str]:
        candidates = [spec.pattern for spec in self.specs]
        import difflib  # only for an unknown name: not kept in memory until then

        close = difflib.get_close_matches(name, candidates, n=n, cutoff=0.5)
        if not close:
            head = name.split(".", 1)[0]
            close = [c for c in candidates if c.split(".", 1)[0] == head][:n]
        return close

    def check(self, name: str, *, allow_glob: bool = False) -> MetricSpec | None:
        """The spec of `name` (None for a glob that matches something); else UnknownMetric
        naming close names."""
        if allow_glob and any(ch in name for ch in "*?["):
            if self.matches_any(name):
                return None
            raise UnknownMetric(f"no metric matches {name!r}{self._hint(name)}")
        spec = self.find(name)
        if spec is None:
            raise UnknownMetric(f"unknown metric {name!r}{self._hint(name)}")
        return spec

    def _hint(self, name: str) -> str:
        close = self.close_names(name.replace("*", ""))
        return f"; did you mean {', '.join(close)}?" if close else ""

    def label(self, name: str) -> str:
        return self._lookup(name)[1]

    def unit(self, name: str) -> str:
        spec = self.find(name)
        return spec.unit if spec else ""

    def format(self, name: str, value: float) -> str:
        """`value` of metric `name` in human units."""
        return format_value(value, self.unit(name))

    def names_for(self, names: Iterable[str]) -> list[str]:
        """Those of `names` the catalogue knows, in catalogue order then by name."""
        order = {spec.pattern: index for index, spec in enumerate(self.specs)}
        known = [(self.find(n), n) for n in names]
        return [
            n
            for spec, n in sorted(
                ((s, n) for s, n in known if s is not None),
                key=lambda item: (order[item[0].pattern], item[1]),
            )
        ]


_BYTE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def _significant(value: float) -> str:
    """Three significant figures at most, no trailing zeros: 0.695312 -> 0.7, 12.34 -> 12.3."""
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}".rstrip("0").rstrip(".")
    return f"{value:.2f}".rstrip("0").rstrip(".") if magnitude else "0"


def format_bytes(value: float, suffix: str = "") -> str:
    size = float(value)
    for unit in _BYTE_UNITS:
        if abs(size) < 1024 or unit == _BYTE_UNITS[-1]:
            return f"{_significant(size)} {unit}{suffix}"
        size /= 1024
    raise AssertionError("unreachable")


def format_duration(seconds: float) -> str:
    """A duration as a person reads it: 45s, 12m 5s, 3h 20m, 2d 4h."""
    whole = int(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {whole % 60}s"
    return f"{_significant(seconds)}s"


def format_value(value: float, unit: str = "") -> str:
    """A value as a person reads it: bytes and rates in binary units, percentages and
    temperatures to one decimal at most, other numbers to three significant figures."""
    if value is None or not math.isfinite(value):
        return "n/a"
    if unit == "B":
        return format_bytes(value)
    if unit == "B/s":
        return format_bytes(value, "/s")
    if unit == "bit/s":
        for scale, name in ((1e9, "Gbit/s"), (1e6, "Mbit/s"), (1e3, "kbit/s")):
            if abs(value) >= scale:
                return f"{_significant(value / scale)} {name}"
        return f"{_significant(value)} bit/s"
    if unit == "s":
        return format_duration(value)
    if unit == "state":
        return "up" if value >= 0.5 else "down"
    if unit in ("%", "°C"):
        text = f"{value:.1f}".rstrip("0").rstrip(".") if abs(value) < 100 else f"{value:.0f}"
        return f"{text} {unit}" if unit == "°C" else f"{text}%"
    text = _significant(value)
    return f"{text} {unit}" if unit else text


@dataclass(frozen=True)
class MetricPoint:
    at: datetime
    value: float


@dataclass(frozen=True)
class StatusItem:
    """One container or service check: its name, whether it is up, and a short detail."""

    name: str
    ok: bool
    detail: str = ""


@dataclass(frozen=True)
class HostView:
    """A host as one guild may see it. `key` is opaque and stable (it may travel in URLs,
    component ids and stored layouts, so it never reveals a hidden name); `label` is the
    name to show that guild (the real name, or "host 1" when the guild hides names);
    `local` marks the bot's own host."""

    key: str
    label: str
    local: bool = False


@dataclass(frozen=True)
class GameServerView:
    """A game server as its own guild sees it. `key` is opaque ("gs12"); `metric_prefix`
    names its metrics in the catalogue ("game.12." + online, players, max_players, ping_ms,
    failed_polls) on the guild's game-servers host `host_key`. `online` is None before the
    first poll; `player_names` is None where the guild's manager keeps names hidden."""

    key: str
    name: str
    game: str
    host_key: str
    metric_prefix: str
    online: bool | None = None
    title: str = ""
    map: str = ""
    players: int | None = None
    max_players: int | None = None
    ping_ms: float | None = None
    player_names: tuple[str, ...] | None = None
    detail: str = ""


class MetricsSource(Protocol):
    """Monitoring's data, read on behalf of one guild. A host key the guild may not see
    reads as if the host did not exist (empty results), never as another server's data."""

    @property
    def catalogue(self) -> MetricCatalogue: ...

    def hosts(self, guild_id: int) -> list[HostView]:
        """The hosts this guild may see, the bot's own host first when shared with it."""

    def host_label(self, guild_id: int, key: str) -> str:
        """How this guild names host `key`: the one function every display uses."""

    def latest(self, guild_id: int, key: str) -> dict[str, float]:
        """The newest value of each metric; a metric that is unavailable is absent."""

    def metric_names(self, guild_id: int, key: str) -> list[str]: ...

    async def history(
        self, guild_id: int, key: str, metric: str, start: datetime, end: datetime
    ) -> list[MetricPoint]:
        """Values over a time range, at the resolution the range needs."""

    def containers(self, guild_id: int, key: str) -> list[StatusItem]: ...

    def services(self, guild_id: int, key: str) -> list[StatusItem]:
        """This guild's own service checks (never another server's)."""

    def unavailable(self, guild_id: int, key: str) -> dict[str, str]:
        """Collector name -> why it has no data now ("docker": "cannot reach ...")."""

    def game_servers(self, guild_id: int) -> list[GameServerView]:
        """This guild's own game servers with their newest poll (never another server's)."""

    def version(self, guild_id: int) -> object:
        """What every read above answers this guild from, as one comparable value: equal
        (`==`) while no answer can differ, so a reader may keep what it made from them. None
        when the source cannot tell: read again every time. Time passing is the reader's
        to add (`history` ranges end at "now")."""
