"""Dashboard benchmark against the sandbox with Discord's rate limits on.

Run: ``python bench/dashboards.py [--minutes 10] [--scale 0.2]``.

- 50 dashboards in 10 channels for N simulated minutes with unchanged data: the edits
  after the first render (target 0).
- Changing data every interval, demand below the per-channel limit (5 dashboards a
  channel, one edit each per 10 s: half of 5 per 5 s), then demand ABOVE it (25 a
  channel: 2.5 edits a second against 1), changing one thing per row: the scheduler's own
  budget on or off, FoundryCord's corrected client, nextcord's stock client, or none (raw
  aiohttp). "share" is edits made / edits the per-channel limits allow for that demand.
- After the first hour (the sandbox's clock advanced an hour, so every message is older
  than an hour): Discord, and the sandbox, allow 3 edits per 6 s per channel of such
  messages and answer 429 code 30046 beyond. Rows with the scheduler's old-message budget
  on and off, in real time (the sandbox's 30046 window is not scaled); the 30046 column
  counts the sandbox's 30046 answers plus any edit it accepted beyond 3 in 6 s.
- 500 dashboards in 50 channels in one process, data changing every interval: render and
  scheduling CPU as a share of one core (simulated time, Discord I/O replaced by a no-op),
  and memory per dashboard; the same for the 50-dashboard setup as the baseline.
- Render cost per dashboard (median microseconds) and memory per dashboard.

The metrics are fakes built from monitoring's catalogue (`cogs/monitoring/catalogue.py`),
never from what a preset asks for.

What is simulated, honestly: the scheduler runs on an injected clock. With unchanged data
nothing is sent, so simulated time runs as fast as the renders allow. With changing data
real requests go out, so time is compressed by ``--scale`` instead: every interval and every
rate-limit window, in the sandbox and in the scheduler, is ``scale`` times Discord's (5 edits
per 5 s becomes 5 per 1 s at 0.2), and nextcord sleeps what the sandbox's headers say. The
global 50 requests per second is NOT scaled (it stays per real second), which is stricter
than a scaled one. Nothing else is patched: the HTTP client is nextcord's own.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if sys.path and Path(sys.path[0]).resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)

import argparse  # noqa: E402
import asyncio  # noqa: E402
import gc  # noqa: E402
import heapq  # noqa: E402
import logging  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import UTC, datetime  # noqa: E402

import nextcord.http  # noqa: E402

from bot.metrics import HostView, MetricCatalogue, MetricPoint, StatusItem  # noqa: E402
from cogs.dashboards.layout import Layout, layout_to_json, parse_layout  # noqa: E402
from cogs.dashboards.presets import preset  # noqa: E402
from cogs.dashboards.publisher import NextcordPublisher  # noqa: E402
from cogs.dashboards.render import Rendered, ViewState, render  # noqa: E402
from cogs.dashboards.scheduler import Entry, RateLimited, Scheduler, snowflake_age  # noqa: E402
from cogs.dashboards.sources import collect  # noqa: E402
from cogs.monitoring.catalogue import CATALOGUE  # noqa: E402
from sandbox.client import point_nextcord_at, restore_nextcord  # noqa: E402
from sandbox.ratelimit import DEFAULT_LIMITS, RateLimiter, RouteLimit  # noqa: E402
from sandbox.server import SandboxServer  # noqa: E402

DASHBOARDS = 50
CHANNELS = 10
INTERVAL = 10.0  # the shortest a dashboard may use, so the most demanding
EDIT_LIMIT, EDIT_WINDOW = 5, 5.0  # Discord: edits per channel


def _names() -> list[str]:
    """One concrete name of each family the system collector writes (catalogue order)."""
    wanted = ("cpu.", "mem.", "load.", "disk.", "net.", "temp.", "swap.")
    return [s.sample_name() for s in CATALOGUE.specs if s.pattern.startswith(wanted)]


@dataclass
class BenchMetrics:
    """A MetricsSource (bot.metrics v2) whose values change when `tick` is called; its
    names are the catalogue's."""

    step: int = 0
    names: list[str] = field(default_factory=_names)

    @property
    def catalogue(self) -> MetricCatalogue:
        return CATALOGUE

    def tick(self) -> None:
        self.step += 1

    def hosts(self, guild_id: int) -> list[HostView]:
        return [HostView("bench", "host 1", True)]

    def host_label(self, guild_id: int, key: str) -> str:
        return "host 1"

    def metric_names(self, guild_id: int, key: str) -> list[str]:
        return list(self.names)

    def latest(self, guild_id: int, key: str) -> dict[str, float]:
        base = self.step % 97
        return {name: float(base + i) for i, name in enumerate(self.names)}

    async def history(self, guild_id: int, key: str, metric: str, start: datetime, end: datetime):  # type: ignore[no-untyped-def]
        return [MetricPoint(start, float((self.step + i) % 7)) for i in range(12)]

    def containers(self, guild_id: int, key: str) -> list[StatusItem]:
        return [StatusItem(f"c{i}", (self.step + i) % 5 != 0) for i in range(8)]

    def services(self, guild_id: int, key: str) -> list[StatusItem]:
        return self.containers(guild_id, key)

    def unavailable(self, guild_id: int, key: str) -> dict[str, str]:
        return {}


@dataclass
class MemoryStore:
    posted: int = 0
    edited: int = 0

    async def post_intended(self, dashboard_id: int, nonce: str) -> None:
        pass

    async def message_posted(self, dashboard_id: int, message_id: int, digest: str) -> None:
        self.posted += 1

    async def message_edited(self, dashboard_id: int, digest: str) -> None:
        self.edited += 1

    async def failed(self, dashboard_id: int, reason: str) -> None:
        print(f"dashboard {dashboard_id} failed: {reason}", file=sys.stderr)


class ScaledClock:
    """Simulated seconds = real seconds / scale."""

    def __init__(self, scale: float) -> None:
        self.scale = scale
        self.start = time.monotonic()

    def __call__(self) -> float:
        return (time.monotonic() - self.start) / self.scale

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(seconds, 0.0) * self.scale)


def bench_layout() -> Layout:
    layout = preset("system")
    return parse_layout(
        {
            "title": "Bench",
            "interval": int(INTERVAL),
            "widgets": [
                {
                    "id": w.id,
                    "title": w.title,
                    "width": w.width,
                    "source": {"kind": "metric", "metric": w.source.metric},
                    "format": w.format,
                    "unit": w.unit,
                }
                for w in layout.widgets
            ],
            "actions": [{"type": "button", "action": "refresh"}],
        }
    )


class RawPublisher:
    """Plain aiohttp, no client-side limiter at all: only the scheduler's own per-channel
    budget keeps it within Discord's limits (shows what the scheduler alone achieves)."""

    def __init__(self, server: SandboxServer) -> None:
        import aiohttp

        self.base = server.base_url
        self.session = aiohttp.ClientSession(headers={"Authorization": f"Bot {server.token}"})

    async def _send(self, method: str, path: str, payload: dict) -> dict:
        async with self.session.request(method, self.base + path, json=payload) as response:
            body = await response.json()
            if response.status == 429:
                raise RateLimited(float(body.get("retry_after", 1.0)))
            response.raise_for_status()
            return body

    async def post(self, channel_id: int, rendered: Rendered, nonce: str | None = None) -> int:
        payload = {**rendered.payload, "nonce": nonce, "enforce_nonce": True}
        body = await self._send("POST", f"/channels/{channel_id}/messages", payload)
        return int(body["id"])

    async def edit(self, channel_id: int, message_id: int, rendered: Rendered) -> None:
        await self._send("PATCH", f"/channels/{channel_id}/messages/{message_id}", rendered.payload)

    async def exists(self, channel_id: int, message_id: int) -> bool:
        return True

    async def close(self) -> None:
        await self.session.close()


def foundry_http_class() -> type:
    """The HTTP client class FoundryCord's bot runs with: `create_bot` switches nextcord's
    client to the corrected one in `bot/discord_http.py`."""
    from bot.discord_http import CorrectedHTTPClient

    return CorrectedHTTPClient


def load_class(spec: str) -> type:
    module, _, name = spec.partition(":")
    import importlib

    return getattr(importlib.import_module(module), name)


OLD_EDIT_LIMIT, OLD_EDIT_WINDOW = 3, 6.0  # Discord: edits per channel of messages > 1 h old
CODE_OLD_EDITS = 30046


def old_edit_answers(calls: list[dict]) -> int:
    """The sandbox's 429 answers with code 30046."""
    return sum(
        1
        for c in calls
        if c["status"] == 429
        and isinstance(c.get("response"), dict)
        and c["response"].get("code") == CODE_OLD_EDITS
    )


def beyond_old_limit(calls: list[dict], channel_ids: list[int], scale: float) -> int:
    """Edits accepted beyond 3 in any sliding 6 s of one channel (the sandbox counts fixed
    windows from a channel's first edit, which lets a burst across a window's end through;
    Discord's exact accounting is not documented, so this is the strict reading)."""
    over = 0
    window = OLD_EDIT_WINDOW * scale
    for channel_id in channel_ids:
        marker = f"/channels/{channel_id}/messages/"
        times = sorted(
            c["time"]
            for c in calls
            if c["method"] == "PATCH" and marker in c["path"] and c["status"] == 200
        )
        recent: list[float] = []
        for t in times:
            recent = [r for r in recent if r > t - window]
            if len(recent) >= OLD_EDIT_LIMIT:
                over += 1
            recent.append(t)
    return over


async def run_scenario(
    *,
    minutes: float,
    scale: float,
    changing: bool,
    own_budget: bool,
    http_class: type = nextcord.http.HTTPClient,
    raw: bool = False,
    dashboards: int = DASHBOARDS,
    channels: int = CHANNELS,
    old_messages: bool = False,
    old_budget: bool = True,
) -> dict:
    limits = {
        key: RouteLimit(v.limit, v.per * scale, v.bucket, v.count_key)
        for key, v in DEFAULT_LIMITS.items()
    }
    server = SandboxServer(spec_path=None, ratelimits=RateLimiter(limits=limits))
    await server.start()
    guild = server.load(
        {
            "guilds": [
                {
                    "name": "Bench",
                    "owner": "alice",
                    "members": [{"name": "alice"}],
                    "channels": [{"name": f"dash-{i}"} for i in range(channels)],
                }
            ]
        }
    )[0]
    channel_ids = [guild.channel(f"dash-{i}").id for i in range(channels)]
    point_nextcord_at(server)
    http = http_class(dispatch=lambda *_args: None)
    await http.static_login(f"Bot {server.token}")
    metrics = BenchMetrics()
    layout = bench_layout()
    clock = ScaledClock(scale)
    store = MemoryStore()
    publisher = RawPublisher(server) if raw else NextcordPublisher(http)
    per_channel = (EDIT_LIMIT, EDIT_WINDOW) if own_budget else (10**6, 1.0)
    old_edits = (OLD_EDIT_LIMIT, OLD_EDIT_WINDOW) if own_budget and old_budget else (10**6, 1.0)
    # The global pace is per real second: express it in simulated seconds.
    global_rate = (40, 1.0 / scale) if own_budget else (10**6, 1.0)

    # "After the first hour": once posted, the sandbox's clock moves an hour on, so every
    # message is older than an hour to the sandbox (which then answers 30046 beyond 3 edits
    # per 6 s) and to the scheduler, which reads ages on the same clock.
    def age(message_id: int) -> float:
        return snowflake_age(message_id, now=server.clock.time()) if old_messages else 0.0

    scheduler = Scheduler(
        publisher,
        store,
        clock=clock,
        sleep=clock.sleep,
        per_channel=per_channel,
        old_edits=old_edits,
        global_rate=global_rate,
        message_age=age,
        tick=1.0,
    )
    demand: dict[int, int] = dict.fromkeys(channel_ids, 0)  # renders whose content changed
    seen: dict[int, str] = {}
    for i in range(dashboards):
        channel_id = channel_ids[i % channels]

        async def render_now(dashboard_id: int = i + 1, channel_id: int = channel_id) -> Rendered:
            snapshot = await collect(layout, ViewState(), metrics, None, datetime.now(UTC))
            rendered = render(layout, snapshot, ViewState(), dashboard_id)
            if seen.get(dashboard_id) not in (None, rendered.digest):
                demand[channel_id] += 1
            seen[dashboard_id] = rendered.digest
            return rendered

        scheduler.add(Entry(i + 1, guild.id, channel_id, None, INTERVAL, render_now))
    try:
        # First render: every dashboard posts its message.
        await scheduler.tick()
        await scheduler.idle()
        posts = store.posted
        if old_messages:
            server.clock.advance(3600)
        scheduler.stats.edits = 0
        first_call = len(server.calls)
        started_real = time.monotonic()
        started = clock()
        end = started + minutes * 60
        last_step = -1
        while clock() < end:
            step = int(clock() // INTERVAL)
            if changing and step != last_step:
                metrics.tick()  # new data every interval: every render differs
                last_step = step
            await scheduler.tick()
            await clock.sleep(1.0)
        await scheduler.idle()
        real = time.monotonic() - started_real
        elapsed = clock() - started  # the queue's drain after the end included
    finally:
        await scheduler.stop()
        await http.close()
        if isinstance(publisher, RawPublisher):
            await publisher.close()
        restore_nextcord()
        counters = server.limiter.counters if server.limiter else None
        calls = list(server.calls[first_call:])
        await server.stop()
    # The most a sliding window lets through in `elapsed` seconds, per channel.
    capacity = EDIT_LIMIT * (int(elapsed // EDIT_WINDOW) + 1)
    if old_messages:
        capacity = min(capacity, OLD_EDIT_LIMIT * (int(elapsed // OLD_EDIT_WINDOW) + 1))
    allowed = sum(min(d, capacity) for d in demand.values())
    return {
        "posts": posts,
        "edits": scheduler.stats.edits,
        "allowed": allowed,
        "demand": sum(demand.values()),
        "429": counters.too_many if counters else 0,
        "429_reached_scheduler": scheduler.stats.rate_limited,
        "30046": old_edit_answers(calls),
        "beyond": beyond_old_limit(calls, channel_ids, scale) if old_messages else None,
        "real_s": real,
    }


class NullPublisher:
    """Discord replaced by a counter: what is left is rendering and scheduling."""

    def __init__(self) -> None:
        self.next_id = 10**18
        self.sent = 0

    async def post(self, channel_id: int, rendered: Rendered, nonce: str | None = None) -> int:
        self.next_id += 1
        self.sent += 1
        return self.next_id

    async def edit(self, channel_id: int, message_id: int, rendered: Rendered) -> None:
        self.sent += 1

    async def exists(self, channel_id: int, message_id: int) -> bool:
        return True


class SimClock:
    """Simulated time that jumps: sleepers wake when the run advances the clock to them."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = 0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future = asyncio.get_running_loop().create_future()
        self._order += 1
        heapq.heappush(self.sleepers, (self.now + max(seconds, 0.0), self._order, future))
        await future

    async def run_until(self, target: float) -> None:
        while True:
            for _ in range(3):
                await asyncio.sleep(0)
            if not self.sleepers or self.sleepers[0][0] > target:
                break
            when, _, future = heapq.heappop(self.sleepers)
            self.now = max(self.now, when)
            if not future.done():
                future.set_result(None)
        self.now = target


def cpu_share(dashboards: int, channels: int, interval: float, minutes: float) -> dict:
    """Render and scheduling CPU per second of simulated time, data changing every interval,
    as a share of one core; Discord I/O is a no-op."""
    layout = parse_layout({**layout_to_json(bench_layout()), "interval": int(interval)})
    metrics = BenchMetrics()
    clock = SimClock()
    publisher = NullPublisher()

    async def run() -> tuple[float, int]:
        scheduler = Scheduler(
            publisher,
            MemoryStore(),
            clock=clock,
            sleep=clock.sleep,
            message_age=lambda _message_id: 7200.0,  # long-lived messages: the strict budget
            tick=1.0,
        )
        for i in range(dashboards):

            async def render_now(dashboard_id: int = i + 1) -> Rendered:
                snapshot = await collect(layout, ViewState(), metrics, None, datetime.now(UTC))
                return render(layout, snapshot, ViewState(), dashboard_id)

            scheduler.add(Entry(i + 1, 1, 1000 + i % channels, None, interval, render_now))
        await scheduler.tick()
        await clock.run_until(1.0)
        sent_before = publisher.sent
        start_cpu = time.process_time()
        end = clock.now + minutes * 60
        last_step = -1
        while clock.now < end:
            step = int(clock.now // interval)
            if step != last_step:
                metrics.tick()
                last_step = step
            await scheduler.tick()
            await clock.run_until(clock.now + 1.0)
        cpu = time.process_time() - start_cpu
        await scheduler.stop()
        return cpu, publisher.sent - sent_before

    cpu, sent = asyncio.run(run())
    return {
        "cpu_share": cpu / (minutes * 60),
        "sends": sent,
        "renders_per_s": dashboards / interval,
    }


def render_cost(samples: int = 2000) -> float:
    layout = preset("system")
    metrics = BenchMetrics()

    async def once() -> list[int]:
        times = []
        for _ in range(samples):
            metrics.tick()
            start = time.perf_counter_ns()
            snapshot = await collect(layout, ViewState(), metrics, None, datetime.now(UTC))
            render(layout, snapshot, ViewState(), 1)
            times.append(time.perf_counter_ns() - start)
        return times

    return statistics.median(asyncio.run(once())) / 1000


def memory_per_dashboard(count: int = 1000) -> float:
    """Bytes held per dashboard: its parsed layout, scheduler entry and last payload hash."""
    metrics = BenchMetrics()
    data = {
        "title": "Mem",
        "widgets": [
            {
                "id": w.id,
                "title": w.title,
                "width": w.width,
                "format": w.format,
                "source": {"kind": "metric", "metric": w.source.metric},
            }
            for w in preset("system").widgets
        ],
    }

    async def build() -> list:
        held = []
        for i in range(count):
            layout = parse_layout(data)
            snapshot = await collect(layout, ViewState(), metrics, None, datetime.now(UTC))
            rendered = render(layout, snapshot, ViewState(), i)

            async def again(rendered: Rendered = rendered) -> Rendered:
                return rendered

            held.append((layout, Entry(i, 1, 1, 10**18 + i, 30, again, rendered.digest)))
        return held

    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    held = asyncio.run(build())
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert len(held) == count
    return (after - before) / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="simulated minutes")
    parser.add_argument("--scale", type=float, default=0.2, help="time compression (changing)")
    parser.add_argument(
        "--client",
        default="",
        help="module:Class of the HTTP client for 'ours' (default: the one FoundryBot uses)",
    )
    args = parser.parse_args()
    ours_class = load_class(args.client) if args.client else foundry_http_class()
    ours_name = f"{ours_class.__module__}.{ours_class.__qualname__}"
    logging.basicConfig(level=logging.ERROR)

    def run(**options: object) -> dict:
        base: dict = {"minutes": args.minutes, "scale": args.scale, "changing": True}
        return asyncio.run(run_scenario(**{**base, **options}))  # type: ignore[arg-type]

    unchanged = run(scale=0.001, changing=False, own_budget=True)
    below = [
        (f"scheduler budget + {ours_name}", run(own_budget=True, http_class=ours_class)),
        ("scheduler budget alone (raw aiohttp, no client limiter)", run(own_budget=True, raw=True)),
        ("no scheduler budget, stock nextcord.http.HTTPClient", run(own_budget=False)),
    ]
    over = {"dashboards": DASHBOARDS, "channels": 2}
    above = [
        (f"scheduler budget + {ours_name}", run(own_budget=True, http_class=ours_class, **over)),
        ("scheduler budget alone (raw aiohttp)", run(own_budget=True, raw=True, **over)),
        (
            f"no scheduler budget, {ours_name} alone",
            run(own_budget=False, http_class=ours_class, **over),
        ),
        ("no scheduler budget, stock nextcord.http.HTTPClient", run(own_budget=False, **over)),
    ]
    # The sandbox's 30046 window is not scaled: these rows run in real time (scale 1).
    aged = {"old_messages": True, "scale": 1.0, "minutes": min(args.minutes, 2.0)}
    old = [
        (
            f"old-message budget + {ours_name}",
            run(own_budget=True, http_class=ours_class, **aged),
        ),
        (
            f"no old-message budget (5 per 5 s only) + {ours_name}",
            run(own_budget=True, http_class=ours_class, old_budget=False, **aged),
        ),
    ]
    cost = render_cost()
    memory = memory_per_dashboard()
    memory_500 = memory_per_dashboard(500)
    scale_minutes = max(args.minutes / 2, 2.0)
    cpu_50 = cpu_share(DASHBOARDS, CHANNELS, 30.0, scale_minutes)
    cpu_500 = cpu_share(500, 50, 30.0, scale_minutes)
    cpu_500_fast = cpu_share(500, 50, INTERVAL, scale_minutes)

    def pct(run: dict) -> str:
        return f"{100 * run['edits'] / run['allowed']:.1f} %" if run["allowed"] else "-"

    print(f"\n{args.minutes:g} simulated minutes, interval {INTERVAL:g} s; changing runs")
    print(f"compressed x{1 / args.scale:g} (see docstring)\n")
    print(
        "| run | dashboards / channels | first posts | edits after first render | demand "
        "| allowed by per-channel limits | share | 429s from the sandbox | real seconds |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    print(
        f"| unchanged data | {DASHBOARDS} / {CHANNELS} | {unchanged['posts']} "
        f"| {unchanged['edits']} (target 0) | 0 | - | - | {unchanged['429']} "
        f"| {unchanged['real_s']:.1f} |"
    )
    for label, rows, setup in (
        ("demand below the limit", below, f"{DASHBOARDS} / {CHANNELS}"),
        ("demand 2.5x the limit", above, f"{DASHBOARDS} / 2"),
    ):
        for name, result in rows:
            print(
                f"| {label}: {name} | {setup} | {result['posts']} | {result['edits']} "
                f"| {result['demand']} | {result['allowed']} | {pct(result)} | {result['429']} "
                f"| {result['real_s']:.1f} |"
            )
    print("\nAfter the first hour (every message older than an hour on the sandbox's clock;")
    print("Discord, and the sandbox: 3 edits per 6 s per channel, else 429 code 30046), in")
    print(f"real time (not compressed), {min(args.minutes, 2.0):g} minutes:\n")
    print(
        "| run | dashboards / channels | edits | demand | allowed (3 per 6 s) | share "
        "| 429 code 30046 from the sandbox | edits beyond 3 in a sliding 6 s |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, result in old:
        print(
            f"| {name} | {DASHBOARDS} / {CHANNELS} | {result['edits']} | {result['demand']} "
            f"| {result['allowed']} | {pct(result)} | {result['30046']} | {result['beyond']} |"
        )
    print(f"\nScale, {scale_minutes:g} simulated minutes, data changing every interval,")
    print("Discord I/O a no-op (render + scheduling only):\n")
    print("| dashboards / channels | interval | renders per s | sends | CPU, share of one core |")
    print("| --- | --- | --- | --- | --- |")
    for (count, chans, interval), result in (
        ((DASHBOARDS, CHANNELS, 30), cpu_50),
        ((500, 50, 30), cpu_500),
        ((500, 50, int(INTERVAL)), cpu_500_fast),
    ):
        print(
            f"| {count} / {chans} | {interval} s | {result['renders_per_s']:.1f} "
            f"| {result['sends']} | {100 * result['cpu_share']:.2f} % |"
        )
    print(f"\n| render cost per dashboard (collect + render, median) | {cost:.0f} µs |")
    print("| --- | --- |")
    print(f"| memory per dashboard, 1000 held (layout, entry, hash) | {memory / 1024:.1f} KiB |")
    print(f"| memory per dashboard, 500 held (target <= 4.5 KiB) | {memory_500 / 1024:.1f} KiB |")


if __name__ == "__main__":
    main()
