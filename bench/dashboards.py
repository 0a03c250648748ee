"""Dashboard benchmark against the sandbox with Discord's rate limits on.

Run: ``python bench/dashboards.py [--minutes 10] [--scale 0.2]``.

- 50 dashboards in 10 channels for N simulated minutes with unchanged data: the edits
  after the first render (target 0).
- The same with data changing every tick: edits made beside what the per-channel limits
  allow (target at least 95 %, no 429), first with the scheduler's own per-channel budget,
  then with it switched off so only nextcord's stock limiter (``nextcord.http.HTTPClient``
  as shipped) paces the requests.
- Render cost per dashboard (median microseconds) and memory per dashboard.

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
import logging  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import UTC, datetime  # noqa: E402

import nextcord.http  # noqa: E402

from bot.metrics import MetricPoint, StatusItem  # noqa: E402
from cogs.dashboards.layout import Layout, parse_layout  # noqa: E402
from cogs.dashboards.presets import preset  # noqa: E402
from cogs.dashboards.publisher import NextcordPublisher  # noqa: E402
from cogs.dashboards.render import Rendered, ViewState, render  # noqa: E402
from cogs.dashboards.scheduler import Entry, RateLimited, Scheduler  # noqa: E402
from cogs.dashboards.sources import collect  # noqa: E402
from sandbox.client import point_nextcord_at, restore_nextcord  # noqa: E402
from sandbox.ratelimit import DEFAULT_LIMITS, RateLimiter, RouteLimit  # noqa: E402
from sandbox.server import SandboxServer  # noqa: E402

DASHBOARDS = 50
CHANNELS = 10
INTERVAL = 10.0  # the shortest a dashboard may use, so the most demanding
EDIT_LIMIT, EDIT_WINDOW = 5, 5.0  # Discord: edits per channel


@dataclass
class BenchMetrics:
    """A MetricsSource whose values change when `tick` is called."""

    step: int = 0
    values: dict[str, float] = field(default_factory=dict)

    def tick(self) -> None:
        self.step += 1

    def hosts(self) -> list[str]:
        return ["bench"]

    def metric_names(self, host: str) -> list[str]:
        return ["cpu.percent", "memory.percent", "disk./.percent", "load.1", "net.rx", "net.tx"]

    def latest(self, host: str) -> dict[str, float]:
        base = self.step % 97
        return {name: float(base + i) for i, name in enumerate(self.metric_names(host))}

    async def history(self, host: str, metric: str, start: datetime, end: datetime):  # type: ignore[no-untyped-def]
        return [MetricPoint(start, float((self.step + i) % 7)) for i in range(12)]

    def containers(self, host: str) -> list[StatusItem]:
        return [StatusItem(f"c{i}", (self.step + i) % 5 != 0) for i in range(8)]

    def services(self, host: str) -> list[StatusItem]:
        return self.containers(host)


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


async def run_scenario(
    *,
    minutes: float,
    scale: float,
    changing: bool,
    own_budget: bool,
    http_class: type = nextcord.http.HTTPClient,
    raw: bool = False,
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
                    "channels": [{"name": f"dash-{i}"} for i in range(CHANNELS)],
                }
            ]
        }
    )[0]
    channel_ids = [guild.channel(f"dash-{i}").id for i in range(CHANNELS)]
    point_nextcord_at(server)
    http = http_class(dispatch=lambda *_args: None)
    await http.static_login(f"Bot {server.token}")
    metrics = BenchMetrics()
    layout = bench_layout()
    clock = ScaledClock(scale)
    store = MemoryStore()
    publisher = RawPublisher(server) if raw else NextcordPublisher(http)
    per_channel = (EDIT_LIMIT, EDIT_WINDOW) if own_budget else (10**6, 1.0)
    # The global pace is per real second: express it in simulated seconds.
    global_rate = (40, 1.0 / scale) if own_budget else (10**6, 1.0)
    scheduler = Scheduler(
        publisher,
        store,
        clock=clock,
        sleep=clock.sleep,
        per_channel=per_channel,
        global_rate=global_rate,
        tick=1.0,
    )
    demand: dict[int, int] = dict.fromkeys(channel_ids, 0)  # renders whose content changed
    seen: dict[int, str] = {}
    for i in range(DASHBOARDS):
        channel_id = channel_ids[i % CHANNELS]

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
        scheduler.stats.edits = 0
        started_real = time.monotonic()
        end = clock() + minutes * 60
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
    finally:
        await scheduler.stop()
        await http.close()
        if isinstance(publisher, RawPublisher):
            await publisher.close()
        restore_nextcord()
        counters = server.limiter.counters if server.limiter else None
        await server.stop()
    windows = minutes * 60 / EDIT_WINDOW
    allowed = sum(min(d, int(windows * EDIT_LIMIT)) for d in demand.values())
    return {
        "posts": posts,
        "edits": scheduler.stats.edits,
        "allowed": allowed,
        "demand": sum(demand.values()),
        "429": counters.too_many if counters else 0,
        "429_reached_scheduler": scheduler.stats.rate_limited,
        "real_s": real,
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
    logging.basicConfig(level=logging.ERROR)
    unchanged = asyncio.run(
        run_scenario(minutes=args.minutes, scale=0.001, changing=False, own_budget=True)
    )
    ours = asyncio.run(
        run_scenario(
            minutes=args.minutes,
            scale=args.scale,
            changing=True,
            own_budget=True,
            http_class=ours_class,
        )
    )
    alone = asyncio.run(
        run_scenario(
            minutes=args.minutes, scale=args.scale, changing=True, own_budget=True, raw=True
        )
    )
    stock = asyncio.run(
        run_scenario(minutes=args.minutes, scale=args.scale, changing=True, own_budget=False)
    )
    cost = render_cost()
    memory = memory_per_dashboard()

    def pct(run: dict) -> str:
        return f"{100 * run['edits'] / run['allowed']:.1f} %" if run["allowed"] else "-"

    print(f"\n{DASHBOARDS} dashboards in {CHANNELS} channels, {args.minutes:g} simulated minutes,")
    print(
        f"interval {INTERVAL:g} s; changing runs compressed x{1 / args.scale:g} (see docstring)\n"
    )
    print(
        "| run | first posts | edits after first render | allowed by per-channel limits "
        "| share | 429s from the sandbox | real seconds |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    print(
        f"| unchanged data | {unchanged['posts']} | {unchanged['edits']} (target 0) | - | - "
        f"| {unchanged['429']} | {unchanged['real_s']:.1f} |"
    )
    ours_name = f"{ours_class.__module__}.{ours_class.__qualname__}"
    for name, run in (
        (f"changing data, scheduler budget + {ours_name}", ours),
        ("changing data, scheduler budget alone (raw aiohttp, no client limiter)", alone),
        ("changing data, no scheduler budget, stock nextcord.http.HTTPClient", stock),
    ):
        print(
            f"| {name} | {run['posts']} | {run['edits']} | {run['allowed']} | {pct(run)} "
            f"| {run['429']} | {run['real_s']:.1f} |"
        )
    print(f"\n| render cost per dashboard (collect + render, median) | {cost:.0f} µs |")
    print("| --- | --- |")
    print(f"| memory per dashboard (layout, entry, hash) | {memory / 1024:.1f} KiB |")


if __name__ == "__main__":
    main()
