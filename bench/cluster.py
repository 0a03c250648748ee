"""More than one process: 1, 2 and 4 bot processes (`python -m bot` with SHARD_IDS, 4 shards
in all) on one sandbox of 200 guilds and one fresh PostgreSQL database.

For each row: time from starting the processes to every one ready (every guild admitted),
RSS per process and in all, side effects counted twice (approval notices, template
channels, interactions answered twice: target 0), and, with every process applying a
template in its guilds at once, the REST requests/s reached and Discord's global 429s
(target 0). The 1-process row is the baseline, measured in the same run; the last row runs
2 processes that each spend the whole global budget (DISCORD_GLOBAL_RATE=50) instead of
their share, to show what the share prevents.

Run: .venv/bin/python bench/cluster.py [--guilds 200] [--applies 40]. Needs PostgreSQL
(FOUNDRYCORD_TEST_POSTGRES, default postgresql://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import secrets  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402

from sqlalchemy import select  # noqa: E402

from bot.database import Database  # noqa: E402
from bot.guild_access import GuildAccess  # noqa: E402
from bot.guild_gate import PENDING_NOTICE  # noqa: E402
from bot.models import GuildRecord  # noqa: E402
from sandbox.driver import SandboxDriver  # noqa: E402
from sandbox.server import SandboxServer  # noqa: E402
from tests.backends import POSTGRES_ADMIN_URL, _pg_admin  # noqa: E402
from tests.cluster import BotCluster  # noqa: E402

SHARDS = 4
RANGES = {1: ["0-3"], 2: ["0-1", "2-3"], 4: ["0", "1", "2", "3"]}
TEMPLATE = "homelab"


@dataclass
class Row:
    label: str
    processes: int
    ready_s: float = 0.0
    rss_mib: list[float] = field(default_factory=list)
    doubled: int = 0
    applies_done: int = 0
    apply_s: float = 0.0
    rest_per_s: float = 0.0
    peak_per_s: int = 0
    global_429: int = 0
    notes: str = ""


def share(processes: int) -> int:
    """DISCORD_GLOBAL_RATE for each of `processes`: all 50 alone; together 45 shared, the
    rest left for interaction follow-ups, which nextcord sends outside its limiter."""
    return 50 if processes == 1 else 45 // processes


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def fresh_database() -> tuple[str, str]:
    name = f"foundrycord_bench_{secrets.token_hex(4)}"
    await _pg_admin(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return name, f"{base}/{name}"


async def run_row(label: str, processes: int, guilds: int, applies: int, rate: int | None) -> Row:
    row = Row(label, processes)
    name, url = await fresh_database()
    server = SandboxServer(
        recommended_shards=SHARDS,
        max_concurrency=SHARDS,
        identify_window=5.0,
        spec_path=None,
        interaction_ack_deadline=None,
    )
    await server.start()
    owner = server.add_user("alice")
    for n in range(guilds):
        guild = server.add_guild(f"Guild {n}", shard=(n % SHARDS, SHARDS), owner=owner)
        server.add_channel(guild, "general")
    extra = {"DISCORD_GLOBAL_RATE": str(rate)} if rate else {}
    with tempfile.TemporaryDirectory() as data:
        bots = BotCluster(
            server.base_url,
            server.token,
            url,
            Path(data),
            SHARDS,
            owner_id=owner.id,
            features="admin,templates",
            extra_env=extra,
        )
        if not rate:  # each process's share of the global 50/s, with room (README)
            bots.extra_env["DISCORD_GLOBAL_RATE"] = str(share(processes))
        db = await Database.connect(url)
        try:
            started = time.monotonic()
            procs = [await bots.start(f"p{i}", r) for i, r in enumerate(RANGES[processes])]
            for proc in procs:
                await bots.wait_ready(proc, timeout=300)
            async with db.session() as session:
                admitted = len(list(await session.scalars(select(GuildRecord.id))))
            row.ready_s = time.monotonic() - started
            print(f"  ready in {row.ready_s:.1f} s", file=sys.stderr, flush=True)
            row.rss_mib = [rss_mib(p.pid) for p in procs]
            if admitted != guilds:
                row.notes = f"only {admitted} of {guilds} guilds admitted"

            access = GuildAccess(db, auto_approve=False)
            for guild_id in server.state.guilds:
                await access.approve(guild_id, owner.id)
            await apply_everywhere(server, db, row, applies)
            row.doubled = doubled_effects(server)
            row.global_429 = server.limiter.counters.global_hits if server.limiter else 0
        finally:
            await db.dispose()
            await bots.stop_all()
            await server.stop()
            await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return row


async def apply_everywhere(server: SandboxServer, db: Database, row: Row, applies: int) -> None:
    """`/template apply homelab`, confirmed, in `applies` guilds spread over every shard."""
    driver = SandboxDriver(server, timeout=120)
    targets = sorted(server.state.guilds.values(), key=lambda g: g.id)[:applies]
    first_call = len(server.calls)
    started = time.monotonic()

    async def one(guild) -> bool:  # type: ignore[no-untyped-def]
        member = driver.member("alice", guild=guild)
        try:
            answer = await member.run("template apply", {"name": TEMPLATE}, channel="general")
        except TimeoutError:
            return False  # counted below: a preview the bot did not answer in time
        if answer.message is None:
            return False
        # Pressed, not awaited: under load the answer may come late; the jobs are counted.
        server.click_button(answer.message, "template:confirm", user=member.id)
        return True

    pressed = sum(await asyncio.gather(*(one(g) for g in targets)))
    from cogs.templates.models import ApplyJob

    deadline = time.monotonic() + 300
    jobs: list = []  # type: ignore[type-arg]
    while time.monotonic() < deadline:
        async with db.session() as session:
            jobs = list(await session.scalars(select(ApplyJob)))
        row.applies_done = sum(j.status == "done" for j in jobs)
        if len(jobs) >= pressed and all(j.status != "running" for j in jobs):
            break
        await asyncio.sleep(0.2)
    else:
        row.notes = "apply timed out: " + ", ".join(
            f"{k} {v}" for k, v in Counter(j.status for j in jobs).items()
        )
    if pressed < len(targets):
        row.notes += f" {len(targets) - pressed} previews unanswered in 120 s"
    row.apply_s = time.monotonic() - started
    print(f"  applies done in {row.apply_s:.1f} s", file=sys.stderr, flush=True)
    calls = list(server.calls)[first_call:]
    stamps = [c["time"] for c in calls]
    if stamps:
        span = max(stamps) - min(stamps) or 1.0
        row.rest_per_s = len(stamps) / span
        row.peak_per_s = max(Counter(int(t) for t in stamps).values())


def doubled_effects(server: SandboxServer) -> int:
    """Side effects that happened more than once: approval notices per guild, channels and
    roles created twice under one name in one guild, interactions acknowledged twice
    (40060)."""
    twice = 0
    notices: Counter[int] = Counter()
    for channel_id, messages in server.state.messages.items():
        for message in messages.values():
            if message.content == PENDING_NOTICE:
                notices[server.state.channels[channel_id].guild_id] += 1
    twice += sum(n - 1 for n in notices.values() if n > 1)
    created: Counter[tuple[str, str, str]] = Counter(
        (call["route"], call["path"].split("/")[2], str((call.get("json") or {}).get("name")))
        for call in server.calls
        if call["method"] == "POST"
        and call["route"] in ("/guilds/{guild_id}/channels", "/guilds/{guild_id}/roles")
        and 200 <= call["status"] < 300
    )
    twice += sum(n - 1 for n in created.values() if n > 1)
    twice += sum(
        1
        for c in server.calls
        if isinstance(c.get("response"), dict) and c["response"].get("code") == 40060
    )
    return twice


def table(rows: list[Row], guilds: int, applies: int) -> str:
    head = (
        f"{guilds} guilds on {SHARDS} shards; template '{TEMPLATE}' applied in {applies} guilds "
        "at once\n"
        "| setup | ready (s) | RSS per process (MiB) | RSS total | doubled effects | applies "
        "done | apply (s) | REST/s avg | REST/s peak | global 429s |\n"
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    )
    lines = [head]
    for r in rows:
        per = ", ".join(f"{m:.0f}" for m in r.rss_mib)
        lines.append(
            f"| {r.label} | {r.ready_s:.1f} | {per} | {sum(r.rss_mib):.0f} | {r.doubled} | "
            f"{r.applies_done}/{applies} | {r.apply_s:.1f} | {r.rest_per_s:.1f} | "
            f"{r.peak_per_s} | {r.global_429} |" + (f" {r.notes}" if r.notes else "")
        )
    return "\n".join(lines)


async def main(guilds: int, applies: int, only: list[int]) -> None:
    rows = []
    setups = [
        (
            f"{n} process{'es' if n > 1 else ''} (baseline)"
            if n == 1
            else f"{n} processes, {share(n)}/s each",
            n,
            None,
        )
        for n in only
    ]
    setups.append(("2 processes, 50 each (no share)", 2, 50))
    for label, n, rate in setups:
        print(f"running: {label}", file=sys.stderr, flush=True)
        rows.append(await run_row(label, n, guilds, applies, rate))
    print(table(rows, guilds, applies))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--guilds", type=int, default=200)
    parser.add_argument("--applies", type=int, default=8)
    parser.add_argument("--processes", type=int, nargs="*", default=[1, 2, 4])
    args = parser.parse_args()
    asyncio.run(main(args.guilds, args.applies, args.processes))
