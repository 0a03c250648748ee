"""Web editor load benchmark: requests/s, p50 and p99 of every page and JSON endpoint of the
web editor, signed in, at 50 and 200 concurrent connections, beside a bare aiohttp handler
(the floor: what this machine and this load generator can do at all).

Two children serve: the core editor (/healthz, the guild list and a guild's settings page)
and the whole offline bot (every feature, the sandbox's demo guild) with 3 agent hosts x 100
metrics of history in the tiers the history keeps (a day of raw 10 s samples, 30 days of
5-minute rows, a year of hourly rows), a 90-channel template and a dashboard; each child
serves its own floor.

Run: ``python bench/web.py [--seconds 5] [--concurrency 50 200]``. The web editor runs in
a child process (a migrated SQLite database, 20 guilds, the signed-in user manages 10), on
loopback, with the same app, middlewares and connection guards as the bot; the floor is an
aiohttp app in the same child. The load generator is this process: aiohttp's client with
keep-alive connections, one request at a time on each. "server CPU" is the child's CPU time
per answered request: on a busy machine the latencies swing with other load, that much less.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve()
ROOT = HERE.parents[1]
if sys.path and Path(sys.path[0]).resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from urllib.parse import quote  # noqa: E402

import aiohttp  # noqa: E402
import psutil  # noqa: E402
from aiohttp import web  # noqa: E402

USER_ID = 200000000000000002
OWNER_ID = 100000000000000001
FIRST_GUILD = 400000000000000000
GUILDS = 20


class BenchLive:
    """The bot's live state for the benchmark: 20 guilds, the user manages the even ones."""

    def __init__(self) -> None:
        from bot.live import GuildSummary

        self._guilds = {
            FIRST_GUILD + i: GuildSummary(FIRST_GUILD + i, f"Guild {i:02}", None, 100 + i)
            for i in range(GUILDS)
        }
        self._started = datetime.now(UTC)

    def gateway_connected(self) -> bool:
        return True

    def latency_ms(self) -> float | None:
        return 40.0

    def started_at(self) -> datetime:
        return self._started

    def guilds(self) -> list:
        return list(self._guilds.values())

    def guild(self, guild_id: int):  # type: ignore[no-untyped-def]
        return self._guilds.get(guild_id)

    async def can_manage(self, guild_id: int, user_id: int) -> bool:
        return user_id == USER_ID and (guild_id - FIRST_GUILD) % 2 == 0

    async def user_name(self, user_id: int) -> str | None:
        return "bench"

    def text_channels(self, guild_id: int) -> list:
        from bot.live import NamedId

        return [NamedId(guild_id + 1 + i, f"channel-{i}") for i in range(10)]

    def roles(self, guild_id: int) -> list:
        from bot.live import NamedId

        return [NamedId(guild_id + 100 + i, f"role-{i}") for i in range(5)]


async def serve(data_dir: Path) -> None:
    """The child: web editor and floor app; prints their URLs and a sign-in link."""
    from bot.cache import MemoryCache
    from bot.database import Database
    from bot.guild_access import GuildAccess
    from bot.guild_settings import GuildSettingsRegistry, GuildSettingsStore, SettingSpec
    from bot.logbuffer import LogBuffer
    from bot.logging_setup import setup_logging
    from bot.settings import Settings
    from web.app import create_app
    from web.context import WebContext
    from web.server import start_web

    setup_logging("WARNING", None)
    db = await Database.connect(f"sqlite+aiosqlite:///{data_dir / 'bench.db'}")
    await db.upgrade()
    access = GuildAccess(db, auto_approve=False)
    for i in range(GUILDS):
        await access.joined(FIRST_GUILD + i, f"Guild {i:02}")
        await access.approve(FIRST_GUILD + i, OWNER_ID)
    registry = GuildSettingsRegistry()
    registry.register(
        "bench",
        SettingSpec("web_links", "Sign-in links", "bool", True),
        SettingSpec("max_channels", "Channel limit", "int", 50, min=1, max=500),
        SettingSpec("prefix", "Command prefix", "str", "!", max=5),
        SettingSpec("theme", "Theme", "choice", "dark", choices=("dark", "light")),
        SettingSpec("log_channel", "Log channel", "channel", None),
    )
    store = GuildSettingsStore(db, registry)
    await store.update(FIRST_GUILD, {"max_channels": "75", "theme": "light"}, OWNER_ID)
    ctx = WebContext(
        settings=Settings(owner_ids=frozenset({OWNER_ID}), data_dir=data_dir),
        db=db,
        cache=MemoryCache(),
        live=BenchLive(),
        guild_access=access,
        guild_settings=store,
        log_buffer=LogBuffer(),
        session_key=os.urandom(32),
    )
    server = await start_web(create_app(ctx), "127.0.0.1", 0)
    ctx.signin.public_url = server.url

    async def static(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    floor_app = web.Application()
    floor_app.router.add_get("/", static)
    floor = web.AppRunner(floor_app, access_log=None)
    await floor.setup()
    site = web.TCPSite(floor, "127.0.0.1", 0)
    await site.start()
    floor_port = floor.addresses[0][1]
    from bot.gc_tuning import freeze_startup_objects

    freeze_startup_objects()  # as python -m bot does once ready (bot/gc_tuning.py)
    print(
        json.dumps(
            {
                "url": server.url,
                "floor": f"http://127.0.0.1:{floor_port}/",
                "links": [await ctx.signin.issue(USER_ID) for _ in range(8)],
            }
        ),
        flush=True,
    )
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await floor.cleanup()
    await server.stop()
    await db.dispose()


HISTORY_HOSTS = 3
HISTORY_METRICS = 100
TEMPLATE_CHANNELS = 90


def bench_metric_names() -> list[str]:
    """100 metric names a real host writes (catalogue patterns), cpu.percent first."""
    names = ["cpu.percent", "cpu.freq_mhz", "load.1", "load.5", "load.15", "mem.percent",
             "mem.used", "mem.total", "swap.percent", "swap.used", "uptime_s", "procs"]  # fmt: skip
    names += [f"cpu.core.{i}" for i in range(16)]
    for mount in ("/", "/home", "/srv", "/var", "/data", "/backup"):
        names += [f"disk.{mount}.{kind}" for kind in
                  ("percent", "used", "total", "read_bps", "write_bps")]  # fmt: skip
    for nic in ("eth0", "eth1", "wg0", "docker0"):
        names += [f"net.{nic}.{kind}" for kind in ("rx_bps", "tx_bps", "rx_total", "tx_total")]
    names += [f"container.c{i}.{kind}" for i in range(12) for kind in ("cpu", "mem")]
    return names[:HISTORY_METRICS]


def template_document(channels: int) -> dict:
    """A valid template of `channels` channels: categories of 8 text channels each."""
    tree: list[dict] = []
    count = 0
    while count < channels:
        category: dict = {"name": f"Area {len(tree)}", "type": "category", "channels": []}
        tree.append(category)
        count += 1
        while count < channels and len(category["channels"]) < 8:
            category["channels"].append(
                {"name": f"room-{count}", "type": "text", "topic": f"Topic of room {count}."}
            )
            count += 1
    return {
        "format": "foundrycord-template",
        "version": 2,
        "name": "big",
        "roles": [{"name": "Member", "color": 9807270}],
        "channels": tree,
    }


async def load_history(monitor, guild_id: int, owner_id: int, now: float) -> list[str]:  # type: ignore[no-untyped-def]
    """3 agent hosts of `guild_id` with 100 metrics each: a day of raw rows every 10 s, 30
    days of 5-minute rows and a year of hourly rows; their labels as the server sees them."""
    from sqlalchemy import insert

    from cogs.monitoring.history import FIVE_MIN, HOURLY, RAW, pack
    from cogs.monitoring.hosts import agent_key
    from cogs.monitoring.models import SampleRow

    names = bench_metric_names()
    keys = []
    for index in range(HISTORY_HOSTS):
        name = f"node{index}"
        await monitor.config.create_token(guild_id, name, owner_id)
        key = agent_key(guild_id, name)
        keys.append(key)
        await monitor.registry.ensure([key])
    history = monitor.history
    for key in keys:
        ids, refused = await history.admit(key, names, new_per_write=len(names))
        assert not refused, refused
        order = [ids[name] for name in names]
        rows = []
        end = int(now) // 10 * 10
        for tier, step, span in ((RAW, 10, 86400), (FIVE_MIN, 300, 30 * 86400),
                                 (HOURLY, 3600, 365 * 86400)):  # fmt: skip
            first = (end - span) // step * step
            for ts in range(first + step, end, step):
                wave = (ts // step) % 97
                values = {mid: float(i + wave) for i, mid in enumerate(order)}
                maxima = None if tier == RAW else {mid: v + 5 for mid, v in values.items()}
                rows.append({"host": key, "tier": tier, "ts": ts, "data": pack(values, maxima)})
        async with history.db.session() as session, session.begin():
            for at in range(0, len(rows), 5000):
                await session.execute(insert(SampleRow), rows[at : at + 5000])
    await monitor.refresh_hosts(force=True)
    found = await monitor.names(guild_id)
    return [found.label(key) for key in keys]


async def serve_features(data_dir: Path) -> None:
    """The whole offline bot (every feature) with history, a template and a dashboard."""
    import dataclasses

    from bot.gc_tuning import freeze_startup_objects
    from bot.logging_setup import setup_logging
    from bot.offline import start_offline
    from bot.runtime import BotProcess
    from bot.settings import load_settings
    from cogs.dashboards.presets import preset
    from cogs.dashboards.web import SERVICE_KEY as DASHBOARDS_KEY
    from cogs.monitoring.web import MONITOR_KEY
    from cogs.templates.web import SERVICE_KEY as TEMPLATES_KEY
    from sandbox.demo import DEMO_OWNER

    setup_logging("WARNING", None)
    settings = dataclasses.replace(
        load_settings(environ={}, env_file=None),
        data_dir=data_dir,
        database_url=f"sqlite+aiosqlite:///{data_dir / 'bench.db'}",
        web_port=0,
        public_url="http://127.0.0.1:0",
        db_connect_retries=0,
    )
    offline = await start_offline(settings)
    process = BotProcess(
        offline.settings, offline.token, web_extras=offline.web_extras, migrate_in_process=True
    )
    await process.start()
    await process.wait_ready(30)
    freeze_startup_objects()  # as python -m bot does once ready (bot/gc_tuning.py)
    server = offline.sandbox
    ctx = process.web_context
    ctx.signin.public_url = process.web_url
    owner_id = server.state.find_user(DEMO_OWNER).id
    guild = next(iter(server.state.guilds.values()))
    channel = next(c for c in guild.channels.values() if c.type == 0)
    keys = ctx.app_keys
    monitor = keys[MONITOR_KEY]
    labels = await load_history(monitor, guild.id, owner_id, monitor.clock())
    await keys[TEMPLATES_KEY].store.save(
        guild.id, "big", template_document(TEMPLATE_CHANNELS), owner_id
    )
    dashboard = await keys[DASHBOARDS_KEY].create(
        guild.id, channel.id, "System", preset("system"), owner_id
    )
    floor = await start_floor()
    profile = os.environ.get("BENCH_WEB_PROFILE")  # a file for cProfile stats of the run
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    print(
        json.dumps(
            {
                "url": process.web_url,
                "floor": floor[1],
                "guild": guild.id,
                "channel": channel.id,
                "host": labels[0],
                "dashboard": dashboard.id,
                "links": [await ctx.signin.issue(owner_id) for _ in range(8)],
            }
        ),
        flush=True,
    )
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile)
    await floor[0].cleanup()
    await process.stop()
    await offline.stop()


async def start_floor() -> tuple[web.AppRunner, str]:
    """The floor: a bare aiohttp app answering "ok"."""

    async def static(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    floor_app = web.Application()
    floor_app.router.add_get("/", static)
    floor = web.AppRunner(floor_app, access_log=None)
    await floor.setup()
    site = web.TCPSite(floor, "127.0.0.1", 0)
    await site.start()
    return floor, f"http://127.0.0.1:{floor.addresses[0][1]}/"


def feature_pages(info: dict) -> list[tuple[str, str]]:
    base, guild = info["url"], info["guild"]
    g = f"{base}/guilds/{guild}"
    host = quote(info["host"], safe="")
    series = f"{g}/monitoring/series.json?host={host}&metric=cpu.percent&range="
    sandbox = f"guild={guild}&channel={info['channel']}"
    return [
        ("static aiohttp handler (floor)", info["floor"]),
        ("Monitoring tab", f"{g}/monitoring?host={host}"),
        ("series.json 1 h", series + "1h"),
        ("series.json 24 h", series + "24h"),
        ("series.json 30 days", series + "30d"),
        ("series.json 1 year", series + "1y"),
        ("live.json", f"{g}/monitoring/live.json?host={host}"),
        ("Templates list", f"{g}/templates"),
        ("template editor (90 channels)", f"{g}/templates/edit?name=big"),
        ("template document (90 channels)", f"{g}/templates/api/document?name=big"),
        ("Dashboards list", f"{g}/dashboards"),
        ("dashboard editor", f"{g}/dashboards/{info['dashboard']}"),
        ("Sandbox page", f"{base}/sandbox?{sandbox}"),
        ("Sandbox view.json", f"{base}/sandbox/api/view?{sandbox}"),
    ]


async def sign_in(http: aiohttp.ClientSession, link: str) -> None:
    base, token = link.split("/login/link?token=", 1)
    async with http.post(f"{base}/login/link", data={"token": token}) as response:
        body = await response.text()
        if not str(response.url).endswith("/guilds") or "Sign out" not in body:
            raise RuntimeError(f"sign-in failed: {response.status} {response.url}")


async def load(
    http: aiohttp.ClientSession, url: str, concurrency: int, seconds: float
) -> tuple[float, float, float, int]:
    """(requests/s, p50 ms, p99 ms, errors) of `concurrency` workers for `seconds`."""
    latencies: list[float] = []
    errors = 0
    statuses: set[int] = set()
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                async with http.get(url, allow_redirects=False) as response:
                    await response.read()
                    if response.status != 200:
                        errors += 1
                        statuses.add(response.status)
                        continue
            except aiohttp.ClientError:
                errors += 1
                continue
            latencies.append((time.perf_counter() - started) * 1000)

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - began
    if statuses:
        print(f"  {url}: HTTP {sorted(statuses)}", file=sys.stderr)
    if not latencies:
        return 0.0, float("nan"), float("nan"), errors
    quantiles = statistics.quantiles(latencies, n=100, method="inclusive")
    return len(latencies) / elapsed, statistics.median(latencies), quantiles[98], errors


def core_pages(info: dict) -> list[tuple[str, str]]:
    return [
        ("static aiohttp handler (floor)", info["floor"]),
        ("/healthz", f"{info['url']}/healthz"),
        ("guild list", f"{info['url']}/guilds"),
        ("guild settings", f"{info['url']}/guilds/{FIRST_GUILD}/settings"),
    ]


async def measure_child(
    args: argparse.Namespace, flag: str, pages_of: Callable[[dict], list[tuple[str, str]]]
) -> list[tuple[str, ...]]:
    """Start a child with `flag`, load each of its pages, and return the table rows."""
    rows: list[tuple[str, ...]] = []
    with tempfile.TemporaryDirectory(prefix="foundrycord-bench-") as data_dir:
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            str(HERE),
            flag,
            data_dir,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            cwd=ROOT,
        )
        assert child.stdout is not None and child.stdin is not None
        try:
            info = json.loads(await asyncio.wait_for(child.stdout.readline(), 300))
            server = psutil.Process(child.pid)
            pages = [
                (name, url)
                for name, url in pages_of(info)
                if "floor" in name or not args.only or any(o in name for o in args.only)
            ]
            for round_, concurrency in enumerate(args.concurrency):
                connector = aiohttp.TCPConnector(limit=concurrency)
                jar = aiohttp.CookieJar(unsafe=True)
                async with aiohttp.ClientSession(connector=connector, cookie_jar=jar) as http:
                    await sign_in(http, info["links"][round_])
                    for name, url in pages:
                        await load(http, url, concurrency, min(1.0, args.seconds))  # warm up
                        cpu_before = server.cpu_times()
                        rate, p50, p99, errors = await load(http, url, concurrency, args.seconds)
                        cpu_after = server.cpu_times()
                        cpu = (cpu_after.user + cpu_after.system) - (
                            cpu_before.user + cpu_before.system
                        )
                        served = rate * args.seconds
                        rows.append(
                            (
                                name,
                                str(concurrency),
                                f"{rate:,.0f}",
                                f"{p50:.1f}",
                                f"{p99:.1f}",
                                f"{cpu / served * 1e6:,.0f}" if served else "-",
                                str(errors),
                            )
                        )
                        print(f"  measured {name} at {concurrency}", file=sys.stderr)
        finally:
            child.stdin.close()
            try:
                await asyncio.wait_for(child.wait(), 30)
            except TimeoutError:
                child.kill()
                await child.wait()
    return rows


async def run(args: argparse.Namespace) -> None:
    load_before = os.getloadavg()
    rows: list[tuple[str, ...]] = []
    if args.part in ("all", "core"):
        rows += await measure_child(args, "--serve", core_pages)
    if args.part in ("all", "features"):
        rows += await measure_child(args, "--serve-features", feature_pages)
    load_after = os.getloadavg()
    print(
        f"machine load (1 min) before {load_before[0]:.2f}, after {load_after[0]:.2f}; "
        f"{os.cpu_count()} CPUs"
    )
    print_table(rows)


def print_table(rows: list[tuple[str, ...]]) -> None:
    headers = ("page", "connections", "req/s", "p50 ms", "p99 ms", "server CPU µs/req", "errors")
    print("| " + " | ".join(headers) + " |")
    print("|" + "|".join("---" for _ in headers) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python bench/web.py", description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per row")
    parser.add_argument(
        "--concurrency",
        type=int,
        nargs="+",
        default=[50, 200],
        help="connections per run (at most 8 values)",
    )
    parser.add_argument(
        "--part", choices=("all", "core", "features"), default="all", help="which child to run"
    )
    parser.add_argument(
        "--only", nargs="+", default=[], help="only pages whose name holds one of these words"
    )
    parser.add_argument("--serve", metavar="DATA_DIR", help=argparse.SUPPRESS)
    parser.add_argument("--serve-features", metavar="DATA_DIR", help=argparse.SUPPRESS)
    return parser


if __name__ == "__main__":
    arguments = build_parser().parse_args()
    if arguments.serve:
        asyncio.run(serve(Path(arguments.serve)))
    elif arguments.serve_features:
        asyncio.run(serve_features(Path(arguments.serve_features)))
    else:
        asyncio.run(run(arguments))
