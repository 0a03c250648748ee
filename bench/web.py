"""Web editor load benchmark: requests/s, p50 and p99 of /healthz, the guild list and a
guild's settings page, signed in, at 50 and 200 concurrent connections, beside a bare
aiohttp handler (the floor: what this machine and this load generator can do at all).

Run: ``python bench/web.py [--seconds 5] [--concurrency 50 200]``. The web editor runs in
a child process (a migrated SQLite database, 20 guilds, the signed-in user manages 10), on
loopback, with the same app, middlewares and connection guards as the bot; the floor is an
aiohttp app in the same child. The load generator is this process: aiohttp's client with
keep-alive connections, one request at a time on each. "server CPU" is the child's CPU time
per answered request: on a busy machine the latencies swing with other load, that much less.
"""

from __future__ import annotations

import sys
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


async def sign_in(http: aiohttp.ClientSession, link: str) -> None:
    base, token = link.split("/login/link?token=", 1)
    async with http.post(f"{base}/login/link", data={"token": token}) as response:
        body = await response.text()
        if not str(response.url).endswith("/guilds") or "Guild 00" not in body:
            raise RuntimeError(f"sign-in failed: {response.status} {response.url}")


async def load(
    http: aiohttp.ClientSession, url: str, concurrency: int, seconds: float
) -> tuple[float, float, float, int]:
    """(requests/s, p50 ms, p99 ms, errors) of `concurrency` workers for `seconds`."""
    latencies: list[float] = []
    errors = 0
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
                        continue
            except aiohttp.ClientError:
                errors += 1
                continue
            latencies.append((time.perf_counter() - started) * 1000)

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - began
    if not latencies:
        return 0.0, float("nan"), float("nan"), errors
    quantiles = statistics.quantiles(latencies, n=100, method="inclusive")
    return len(latencies) / elapsed, statistics.median(latencies), quantiles[98], errors


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="foundrycord-bench-") as data_dir:
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            str(HERE),
            "--serve",
            data_dir,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            cwd=ROOT,
        )
        assert child.stdout is not None and child.stdin is not None
        try:
            info = json.loads(await asyncio.wait_for(child.stdout.readline(), 60))
            server = psutil.Process(child.pid)
            pages = [
                ("static aiohttp handler (floor)", info["floor"]),
                ("/healthz", f"{info['url']}/healthz"),
                ("guild list", f"{info['url']}/guilds"),
                ("guild settings", f"{info['url']}/guilds/{FIRST_GUILD}/settings"),
            ]
            rows: list[tuple[str, ...]] = []
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
                await asyncio.wait_for(child.wait(), 15)
            except TimeoutError:
                child.kill()
                await child.wait()
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
    parser.add_argument("--serve", metavar="DATA_DIR", help=argparse.SUPPRESS)
    return parser


if __name__ == "__main__":
    arguments = build_parser().parse_args()
    if arguments.serve:
        asyncio.run(serve(Path(arguments.serve)))
    else:
        asyncio.run(run(arguments))
