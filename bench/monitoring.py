"""Monitoring costs: CPU per sampling tick, the bot's CPU at the default 10 s interval,
database rows written per hour, and database size after 30 simulated days.

Run: .venv/bin/python bench/monitoring.py [--cpu-seconds 300] [--days 30]. Prints a table.
PostgreSQL rows need the server from tests/backends.py (FOUNDRYCORD_TEST_POSTGRES); they
are skipped with the reason when it is absent."""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.database import Database  # noqa: E402
from cogs.monitoring.collectors.services import ServiceCheck  # noqa: E402
from cogs.monitoring.history import HistoryStore, Retention  # noqa: E402
from cogs.monitoring.monitor import Monitor  # noqa: E402

PYTHON = sys.executable
ROWS: list[tuple[str, str, str]] = []


def row(what: str, value: str, target: str = "") -> None:
    ROWS.append((what, value, target))
    print(f"  {what}: {value}", flush=True)


# --- 1. one tick ---------------------------------------------------------------------
async def tick_cpu(ticks: int) -> None:
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    with tempfile.TemporaryDirectory() as tmp:
        db = await Database.connect(f"sqlite+aiosqlite:///{tmp}/bench.db")
        await db.upgrade()
        monitor = Monitor(db, host="bench", interval_s=10)
        checks = [ServiceCheck(i, f"tcp{i}", "tcp", "127.0.0.1", port) for i in range(3)]

        async def load() -> list[ServiceCheck]:
            return checks

        monitor.services.load_checks = load
        sampler = monitor.sampler
        # Service checks normally run in the background; here each tick waits for its round,
        # so their cost is counted in the tick.
        sampler.sources[3].collect = monitor.services.run_all
        sampler.on_sample = None
        for _ in range(3):  # warm up: first reads, NVML failure, imports
            await sampler.tick()
        alone, stored = [], []
        for _ in range(ticks):
            started = time.process_time()
            snapshot = await sampler.tick()
            alone.append(time.process_time() - started)
            started = time.process_time()
            await monitor.history.write("bench", snapshot.ts + len(stored), snapshot.metrics)
            stored.append(time.process_time() - started)
        status = ", ".join(f"{k}: {'ok' if v == 'ok' else 'unavailable'}"
                           for k, v in snapshot.status.items())  # fmt: skip
        row(
            f"CPU per tick, all collectors ({len(snapshot.metrics)} metrics; {status})",
            f"{statistics.median(alone) * 1000:.2f} ms median",
            "< 5 ms",
        )
        row(
            "CPU per tick including the SQLite write",
            f"{statistics.median([a + b for a, b in zip(alone, stored, strict=True)]) * 1000:.2f}"
            " ms median",
            "",
        )
        for source in sampler.sources:  # the same tick, one collector at a time
            costs = []
            for _ in range(ticks):
                started = time.process_time()
                await sampler._one(source)
                costs.append(time.process_time() - started)
            what = f"  of which {source.name}" + (
                f" ({len(checks)} TCP checks to a local port)" if source.name == "services" else ""
            )
            row(what, f"{statistics.median(costs) * 1000:.2f} ms median")
        await monitor.stop()
        await db.dispose()
    server.close()
    await server.wait_closed()


# --- 2. the bot's CPU over time --------------------------------------------------------
def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bot_cpu(window_s: float) -> None:
    token = secrets.token_urlsafe(24)
    sandbox = subprocess.Popen(
        [PYTHON, "-m", "sandbox", f"--token={token}"], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert sandbox.stdout is not None
    url = None
    for line in sandbox.stdout:
        match = re.match(r"Sandbox listening on (\S+)", line)
        if match:
            url = match.group(1)
            break
    with tempfile.TemporaryDirectory() as data_dir:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "DATABASE_"))}
        env.update({"DISCORD_TOKEN": token, "DATA_DIR": data_dir, "WEB_PORT": "0",
                    "MONITORING_INTERVAL": "10", "PYTHONPATH": str(ROOT)})  # fmt: skip
        bot = subprocess.Popen(
            [PYTHON, "-m", "bot", "--sandbox-url", str(url)],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        ready = threading.Event()

        def watch() -> None:
            assert bot.stderr is not None
            for line in bot.stderr:
                if "Ready as" in line:
                    ready.set()

        threading.Thread(target=watch, daemon=True).start()
        try:
            if not ready.wait(90):
                raise RuntimeError("the bot did not get ready")
            time.sleep(15)  # past start-up and the first ticks
            cpu0, wall0 = cpu_seconds(bot.pid), time.monotonic()
            time.sleep(window_s)
            used, wall = cpu_seconds(bot.pid) - cpu0, time.monotonic() - wall0
            row(
                f"bot process CPU, 10 s interval, over {wall:.0f} s (whole bot, idle guild)",
                f"{100 * used / wall:.3f} % of one core ({used:.2f} s CPU)",
                "< 0.5 %",
            )
        finally:
            bot.send_signal(signal.SIGTERM)
            bot.wait(30)
            sandbox.send_signal(signal.SIGTERM)
            sandbox.wait(10)


# --- 3 and 4. rows per hour, size after 30 days ---------------------------------------
def sample_metrics(count: int, rng: random.Random, state: dict[str, float]) -> dict[str, float]:
    """`count` metrics shaped like a real host's: percentages, byte counts, rates."""
    out = {}
    for i in range(count):
        name = f"metric.{i:03d}." + ("percent" if i % 3 == 0 else "bps" if i % 3 == 1 else "used")
        scale = 100.0 if i % 3 == 0 else 1e9
        state[name] = min(scale, max(0.0, state.get(name, scale / 2) + rng.gauss(0, scale / 50)))
        out[name] = state[name]
    return out


async def simulate(
    url: str, days: int, metrics: int, interval: float, vacuum_every_h: int = 0
) -> tuple[int, int, int]:
    """(rows written in the first hour, rows kept at the end, raw samples written).

    `vacuum_every_h` stands in for PostgreSQL's autovacuum, which a fast simulation
    outruns: the migration sets it to vacuum the samples table after 500 + 2 % dead rows,
    which at 370 deletions an hour is about every 2.5 hours of real time."""
    from sqlalchemy import func, select, text

    from cogs.monitoring.models import SampleRow

    db = await Database.connect(url)
    await db.upgrade()
    store = HistoryStore(db, Retention(), raw_step_s=interval)
    rng = random.Random(7)
    state: dict[str, float] = {}
    start = 1_800_000_000 - days * 86400
    per_hour = int(3600 / interval)
    first_hour_rows = 0
    written = 0
    for hour in range(days * 24):
        base = start + hour * 3600
        batch = [
            (base + i * interval, sample_metrics(metrics, rng, state)) for i in range(per_hour)
        ]
        written += await store.write_many("bench-host", batch)
        now = base + 3600
        rolled = await store.rollup(now)
        await store.prune(now)
        if hour == 0:
            first_hour_rows = per_hour + rolled
        if vacuum_every_h and hour % vacuum_every_h == vacuum_every_h - 1:
            async with db.engine.connect() as connection:
                autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
                await autocommit.execute(text("VACUUM monitoring_samples"))
    async with db.session() as session:
        kept = await session.scalar(select(func.count()).select_from(SampleRow))
    await db.dispose()
    return first_hour_rows, kept, written


async def size_sqlite(days: int, metrics: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        url = f"sqlite+aiosqlite:///{path}"
        started = time.monotonic()
        first_hour, kept, written = await simulate(url, days, metrics, 10.0)
        row("DB rows written per hour (10 s samples + 5-minute and hourly rollups)",
            f"{first_hour} rows/h (one row holds all {metrics} metrics)")  # fmt: skip
        import sqlite3

        connection = sqlite3.connect(path)
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages, free, size = (connection.execute(f"PRAGMA {p}").fetchone()[0]
                             for p in ("page_count", "freelist_count", "page_size"))  # fmt: skip
        connection.close()
        file_mb = path.stat().st_size / 1e6
        row(
            f"SQLite size after {days} simulated days, {metrics} metrics/10 s, default "
            f"retention ({kept} rows kept of {written} raw written; "
            f"{time.monotonic() - started:.0f} s to simulate)",
            f"{file_mb:.1f} MB file, {(pages - free) * size / 1e6:.1f} MB in use",
            "< 40 MB/host",
        )


async def size_postgres(days: int, metrics: int) -> None:
    from tests import backends

    gen = backends.postgres_database()
    database = next(gen)
    if isinstance(database, str):
        row("PostgreSQL size", f"skipped: {database}")
        return
    try:
        started = time.monotonic()
        _, kept, _written = await simulate(database.url, days, metrics, 10.0, vacuum_every_h=2)
        import asyncpg

        connection = await asyncpg.connect(database.url.replace("+asyncpg", ""))
        try:
            before = await connection.fetchval(
                "SELECT sum(pg_total_relation_size(oid)) FROM pg_class "
                "WHERE relname LIKE 'monitoring_%' AND relkind = 'r'"
            )
            await connection.execute("VACUUM monitoring_samples")
            after = await connection.fetchval(
                "SELECT sum(pg_total_relation_size(oid)) FROM pg_class "
                "WHERE relname LIKE 'monitoring_%' AND relkind = 'r'"
            )
        finally:
            await connection.close()
        row(
            f"PostgreSQL size after {days} simulated days, same load, VACUUM every 2 simulated "
            f"hours as autovacuum would ({kept} rows kept; "
            f"{time.monotonic() - started:.0f} s to simulate)",
            f"{float(before) / 1e6:.1f} MB tables+indexes+TOAST "
            f"({float(after) / 1e6:.1f} MB after VACUUM)",
            "< 40 MB/host",
        )
    finally:
        next(gen, None)


# --- 4. the agent: memory and CPU per sample -----------------------------------------
_PEAK = """
import re, runpy, sys
sys.argv = {argv!r}
try:
    {body}
except SystemExit:
    pass
# VmHWM, not ru_maxrss: the latter keeps the forked parent's size across exec.
status = open("/proc/self/status").read()
print("PEAK_KIB", re.search(r"VmHWM:\\s+(\\d+)", status).group(1))
"""
_BASELINE = "import asyncio, aiohttp, psutil; psutil.cpu_percent(); psutil.virtual_memory()"
_AGENT = "runpy.run_module('bot', run_name='__main__', alter_sys=True)"
_PER_SAMPLE = """
import asyncio, time
from cogs.monitoring.agent import AgentConfig, HttpSink, build_sampler
async def main():
    sampler, docker = build_sampler(AgentConfig(host="bench"))
    sink = HttpSink({url!r}, "fcm_bench")
    await sink(await sampler.tick())  # warm: imports, first connection
    start = time.process_time()
    for _ in range({n}):
        await sink(await sampler.tick())
    print("CPU_MS", (time.process_time() - start) * 1000 / {n})
    await docker.close(); await sink.close(); sampler.close()
asyncio.run(main())
"""


def _peak_mib(argv: list[str], body: str, env: dict[str, str]) -> float:
    script = _PEAK.format(argv=argv, body=body)
    done = subprocess.run(
        [PYTHON, "-c", script], env=env, capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    found = re.search(r"PEAK_KIB (\d+)", done.stdout)
    if found is None:
        raise RuntimeError(done.stdout[-2000:] + done.stderr[-2000:])
    return int(found.group(1)) / 1024


async def _ingest_stub() -> tuple[asyncio.AbstractServer, str]:
    """A web editor's ingest endpoint that accepts everything (no database cost counted)."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = re.search(rb"(?i)content-length: *(\d+)", head)
                await reader.readexactly(int(length.group(1)) if length else 0)
                body = b'{"stored": 1, "host": "bench"}'
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"


async def agent_footprint(samples: int) -> None:
    server, url = await _ingest_stub()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "AGENT_"))}
    env["PYTHONPATH"] = str(ROOT)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            env["DATA_DIR"] = tmp
            run = asyncio.to_thread
            floor = await run(_peak_mib, ["baseline"], _BASELINE, env)
            row("peak RSS: python + psutil + aiohttp (floor)", f"{floor:.1f} MiB")
            argv = ["bot", "agent", "--url", url, "--token", "fcm_bench", "--once"]
            agent = await run(_peak_mib, argv, _AGENT, env)
            row(
                "peak RSS: agent --url --once",
                f"{agent:.1f} MiB ({agent - floor:+.1f} MiB over the floor)",
                "<= 40 MiB",
            )
            db_env = {**env, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/agent.db"}
            db_agent = await run(_peak_mib, ["bot", "agent", "--once"], _AGENT, db_env)
            row("peak RSS: agent to DATABASE_URL --once (for comparison)", f"{db_agent:.1f} MiB")
            script = _PER_SAMPLE.format(url=url, n=samples)
            done = await run(
                subprocess.run, [PYTHON, "-c", script],
                env=env, capture_output=True, text=True, timeout=300, cwd=ROOT,
            )  # fmt: skip
            found = re.search(r"CPU_MS ([\d.]+)", done.stdout)
            if found is None:
                raise RuntimeError(done.stdout[-2000:] + done.stderr[-2000:])
            row(
                f"agent CPU per sample (collect + post, mean of {samples})",
                f"{float(found.group(1)):.2f} ms",
                "< 5 ms",
            )
    finally:
        server.close()
        await server.wait_closed()


# --- 5. game servers ---------------------------------------------------------------------
_GAME_SERVERS = """
import asyncio, sys
sys.path.insert(0, {root!r})
from sandbox.game_servers import A2SServer, MinecraftServer

async def main():
    servers = [await A2SServer().start() for _ in range({a2s})]
    servers += [await MinecraftServer().start() for _ in range({mc})]
    print(" ".join(str(s.port) for s in servers), flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


async def _raw_a2s(port: int) -> int:
    """A hand-written A2S_INFO exchange (challenge included): the floor a library can reach."""
    loop = asyncio.get_running_loop()
    answers: asyncio.Queue[bytes] = asyncio.Queue()

    class Receive(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: object) -> None:
            answers.put_nowait(data)

    transport, _ = await loop.create_datagram_endpoint(Receive, remote_addr=("127.0.0.1", port))
    try:
        query = b"\xff\xff\xff\xffTSource Engine Query\x00"
        transport.sendto(query)
        data = await asyncio.wait_for(answers.get(), 3)
        if data[4] == 0x41:
            transport.sendto(query + data[5:9])
            data = await asyncio.wait_for(answers.get(), 3)
        return data[4]
    finally:
        transport.close()


async def _raw_minecraft(port: int) -> int:
    """A hand-written server-list ping (handshake, status request, read the JSON)."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 3)
    try:
        host = b"127.0.0.1"
        body = b"\x00\xff\x05" + bytes([len(host)]) + host + port.to_bytes(2, "big") + b"\x01"
        writer.write(bytes([len(body)]) + body + b"\x01\x00")
        await writer.drain()
        length = shift = 0
        while True:
            byte = (await reader.readexactly(1))[0]
            length |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        return len(await reader.readexactly(length))
    finally:
        writer.close()


async def game_rounds(rounds: int, servers: int = 25) -> None:
    """CPU per poll round of `servers` game servers (half A2S, half Minecraft), the fake
    servers in a separate process so their work is not counted; the baseline is the same
    queries hand-written over plain asyncio sockets, in the same run."""
    from cogs.monitoring.collectors.services import TargetPolicy
    from cogs.monitoring.games import GamePoller, GameServer

    a2s, mc = (servers + 1) // 2, servers // 2
    script = _GAME_SERVERS.format(root=str(ROOT), a2s=a2s, mc=mc)
    fakes = subprocess.Popen([PYTHON, "-c", script], stdout=subprocess.PIPE, text=True)  # noqa: ASYNC220
    try:
        assert fakes.stdout is not None
        ports = [int(p) for p in fakes.stdout.readline().split()]
        games = [
            GameServer(i + 1, 1, f"s{i}", "source" if i < a2s else "minecraft", "127.0.0.1", port)
            for i, port in enumerate(ports)
        ]

        async def load() -> list[GameServer]:
            return games

        poller = GamePoller(load, TargetPolicy(allow_private=True), timeout_s=3)
        await poller.poll_round()  # warm: imports
        cpu, wall = [], []
        for _ in range(rounds):
            started, clock = time.process_time(), time.perf_counter()
            await poller.poll_round()
            cpu.append(time.process_time() - started)
            wall.append(time.perf_counter() - clock)
        online = sum(1 for s in poller.status.values() if s.online)
        raw_cpu = []
        for _ in range(rounds):
            started = time.process_time()
            await asyncio.gather(
                *(_raw_a2s(g.port) if g.protocol == "source" else _raw_minecraft(g.port)
                  for g in games)
            )  # fmt: skip
            raw_cpu.append(time.process_time() - started)
        row(
            f"Baseline: the same {servers} by hand-written sockets (A2S info without the "
            "player list; Minecraft status), CPU per round",
            f"{statistics.median(raw_cpu) * 1000:.2f} ms median",
        )
        row(
            f"{servers} game servers ({a2s} A2S with players, {mc} Minecraft) through the bot's "
            "queries, CPU per poll round",
            f"{statistics.median(cpu) * 1000:.2f} ms median ({online}/{servers} online)",
            "< 50 ms",
        )
        row(
            "  wall time of that round (all queries at once)",
            f"{statistics.median(wall) * 1000:.1f} ms median",
        )
        with tempfile.TemporaryDirectory() as tmp:
            db = await Database.connect(f"sqlite+aiosqlite:///{tmp}/bench.db")
            await db.upgrade()
            from bot.models import GuildRecord

            async with db.session() as session, session.begin():
                session.add(GuildRecord(id=1, name="bench"))
            monitor = Monitor(db, host="bench", interval_s=10)
            monitor.games = poller
            poller.on_round = monitor._on_game_round
            await poller.tick()
            stored = []
            for _ in range(rounds):
                started = time.process_time()
                await poller.tick()
                stored.append(time.process_time() - started)
            row(
                "  the same round stored (SQLite) and alert rules evaluated",
                f"{statistics.median(stored) * 1000:.2f} ms median",
            )
            await monitor.stop()
            await db.dispose()
    finally:
        fakes.terminate()
        fakes.wait()
    silent = [
        await asyncio.get_running_loop().create_datagram_endpoint(
            asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0)
        )
        for _ in range(servers)
    ]
    dead = [
        GameServer(i + 1, 1, f"d{i}", "source", "127.0.0.1", t.get_extra_info("sockname")[1])
        for i, (t, _) in enumerate(silent)
    ]

    async def load_dead() -> list[GameServer]:
        return dead

    poller = GamePoller(load_dead, TargetPolicy(allow_private=True), timeout_s=1)
    started, clock = time.process_time(), time.perf_counter()
    await poller.poll_round()
    row(
        f"{servers} servers that never answer (1 s timeout): one round",
        f"{(time.perf_counter() - clock):.2f} s wall, {(time.process_time() - started) * 1000:.1f}"
        " ms CPU",
        "wall ≈ timeout",
    )
    for transport, _ in silent:
        transport.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ticks", type=int, default=50)
    parser.add_argument("--cpu-seconds", type=float, default=300)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--metrics", type=int, default=100)
    parser.add_argument("--agent-samples", type=int, default=50)
    parser.add_argument("--game-rounds", type=int, default=20)
    parser.add_argument(
        "--skip", nargs="*", default=[], choices=["tick", "cpu", "size", "agent", "games"]
    )
    args = parser.parse_args()
    if "games" not in args.skip:
        asyncio.run(game_rounds(args.game_rounds))
    if "agent" not in args.skip:
        asyncio.run(agent_footprint(args.agent_samples))
    if "tick" not in args.skip:
        asyncio.run(tick_cpu(args.ticks))
    if "cpu" not in args.skip:
        bot_cpu(args.cpu_seconds)
    if "size" not in args.skip:
        asyncio.run(size_sqlite(args.days, args.metrics))
        asyncio.run(size_postgres(args.days, args.metrics))
    print(f"\nmonitoring bench ({os.cpu_count()} CPUs)\n")
    width = max(len(r[0]) for r in ROWS)
    print(f"| {'measure':<{width}} | {'result':<48} | target |")
    print(f"|{'-' * (width + 2)}|{'-' * 50}|--------|")
    for what, value, target in ROWS:
        print(f"| {what:<{width}} | {value:<48} | {target:<6} |")


if __name__ == "__main__":
    main()
