"""More than one process: two and three real bot processes (`python -m bot` with SHARD_IDS)
against one sharded sandbox and one fresh PostgreSQL database."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from bot.database import Database
from bot.guild_access import GuildAccess
from bot.guild_gate import PENDING_NOTICE
from bot.models import ClusterGuild, ClusterProcess, GuildRecord
from bot.secret_key import load_session_key
from bot.settings import Secret, load_settings
from bot.shards import shard_of
from sandbox.server import SandboxServer
from tests import backends
from tests.cluster import SECRET, BotCluster, eventually
from web.signin import SignInLinks

pytestmark = pytest.mark.backend

GUILDS_PER_SHARD = 2


@pytest.fixture
async def pg_url(postgres_database) -> str:  # type: ignore[no-untyped-def]
    if isinstance(postgres_database, str):
        pytest.skip(postgres_database)
    await backends.reset_postgres_schema(postgres_database.url)
    return postgres_database.url


async def _sandbox(shard_count: int, owner: str | None = None) -> SandboxServer:
    # Identify windows enforced as on Discord (op 9 inside one), one bucket per shard.
    server = SandboxServer(recommended_shards=shard_count, max_concurrency=16, identify_window=5.0)
    await server.start()
    if owner is not None:
        server.add_user(owner)
    for shard in range(shard_count):
        for n in range(GUILDS_PER_SHARD):
            guild = server.add_guild(f"S{shard} G{n}", shard=(shard, shard_count), owner=owner)
            server.add_channel(guild, "general")
    return server


@pytest.fixture
async def two(pg_url: str, tmp_path: Path) -> AsyncIterator[tuple[SandboxServer, BotCluster]]:
    server = await _sandbox(2)
    owner = server.add_user("owner-of-the-bot")
    bots = BotCluster(server.base_url, server.token, pg_url, tmp_path, 2, owner_id=owner.id)
    try:
        yield server, bots
    finally:
        await bots.stop_all()
        await server.stop()
    assert server.handler_errors == []
    assert server.spec_violations == []


def notices(server: SandboxServer) -> dict[int, int]:
    """Approval notices posted, by guild."""
    counts: dict[int, int] = {}
    for channel_id, messages in server.state.messages.items():
        for message in messages.values():
            if message.content == PENDING_NOTICE:
                guild_id = server.state.channels[channel_id].guild_id
                counts[guild_id] = counts.get(guild_id, 0) + 1
    return counts


def errors(server: SandboxServer, code: int) -> list[dict]:  # type: ignore[type-arg]
    return [
        call
        for call in server.calls
        if isinstance(call.get("response"), dict) and call["response"].get("code") == code
    ]


async def _records(db: Database) -> dict[int, GuildRecord]:
    async with db.session() as session:
        return {r.id: r for r in await session.scalars(select(GuildRecord))}


async def _holders(db: Database) -> dict[int, str]:
    async with db.session() as session:
        rows = await session.execute(
            select(ClusterGuild.guild_id, ClusterProcess.internal_url).join(
                ClusterProcess, ClusterProcess.id == ClusterGuild.process_id
            )
        )
        return dict(rows.all())  # type: ignore[arg-type]


async def test_two_processes_admit_every_guild_once_and_a_rolling_restart_changes_nothing(
    two: tuple[SandboxServer, BotCluster], pg_url: str
) -> None:
    server, bots = two
    guild_ids = set(server.state.guilds)
    a = await bots.start("a", "0")
    b = await bots.start("b", "1")
    await bots.wait_ready(a)
    await bots.wait_ready(b)
    db = await Database.connect(pg_url)
    try:
        # Every guild recorded once, pending, told once, held by its shard's process.
        records = await _records(db)
        assert set(records) == guild_ids
        assert {r.status for r in records.values()} == {"pending"}
        assert all(r.left_at is None and r.notice_sent for r in records.values())
        assert notices(server) == dict.fromkeys(guild_ids, 1)
        holders = await eventually(
            lambda: _holders_if(db, len(guild_ids)), "every guild in the holders table"
        )
        for guild_id, url in holders.items():
            assert url == (a.web_url if shard_of(guild_id, 2) == 0 else b.web_url)

        # An owner approves one guild of each process.
        access = GuildAccess(db, auto_approve=False)
        approved = {min(g for g in guild_ids if shard_of(g, 2) == s) for s in (0, 1)}
        for guild_id in approved:
            await access.approve(guild_id, 1)

        # Rolling restart of b: stop it, start it again (its shard identifies again, inside
        # the 5 s window: the database makes it wait, the sandbox never answers op 9).
        assert await bots.stop("b") == 0
        b = await bots.start("b", "1")
        await bots.wait_ready(b)
        # Then a, the leader: b takes over the lead.
        assert await bots.stop("a") == 0
        a = await bots.start("a", "0")
        await bots.wait_ready(a)

        after = await _records(db)
        assert all(r.left_at is None for r in after.values()), "a guild was marked as left"
        assert {g for g, r in after.items() if r.status == "approved"} == approved
        assert notices(server) == dict.fromkeys(guild_ids, 1), "a notice was sent again"
        assert server.identify_refused == 0
        assert errors(server, 40060) == []
        assert not any("Traceback" in line for line in a.lines + b.lines), a.log() + b.log()
    finally:
        await db.dispose()


async def _holders_if(db: Database, count: int) -> dict[int, str] | None:
    holders = await _holders(db)
    return holders if len(holders) == count else None


async def test_three_processes_answer_each_guilds_commands_once(
    pg_url: str, tmp_path: Path
) -> None:
    """Three processes, three shards: a slash command in every guild gets one answer, from
    the process holding it, and no 40060 (already acknowledged)."""
    server = await _sandbox(3)
    owner = server.add_user("owner-of-the-bot")
    for guild in server.state.guilds.values():
        server.add_member(guild, owner)
    bots = BotCluster(server.base_url, server.token, pg_url, tmp_path, 3, owner_id=owner.id)
    try:
        procs = [await bots.start(name, str(n)) for n, name in enumerate("abc")]
        for proc in procs:
            await bots.wait_ready(proc)
        interactions = []
        for guild in server.state.guilds.values():
            channel = next(c for c in server.state.channels.values() if c.guild_id == guild.id)
            interactions.append(
                server.invoke_command(
                    "guild", user=owner.id, channel=channel.id, options={"list": {}}
                )
            )

        async def all_answered() -> bool:
            return all(i.response_type is not None for i in interactions)

        await eventually(all_answered, "an answer to every command")
        assert errors(server, 40060) == []
        callbacks = [c for c in server.calls if c["route"] and c["route"].endswith("/callback")]
        assert len(callbacks) == len(interactions)
    finally:
        await bots.stop_all()
        await server.stop()
    assert server.handler_errors == []
    assert server.spec_violations == []


LINK_TOKEN = re.compile(r'<input type="hidden" name="token" value="([^"]+)">')
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


async def test_the_web_editor_of_either_process_shows_and_changes_every_server(
    pg_url: str, tmp_path: Path
) -> None:
    """Signed in on one process: every server is listed on both; a server of the other
    process opens (forwarded to its holder), and an owner's decision made through either
    process is carried out by the process holding the server (it leaves a rejected one)."""
    server = await _sandbox(2, owner="alice")
    alice = server.state.find_user("alice")
    bots = BotCluster(server.base_url, server.token, pg_url, tmp_path, 2, owner_id=alice.id)
    db = await Database.connect(pg_url)
    try:
        a, b = await bots.start("a", "0"), await bots.start("b", "1")
        await bots.wait_ready(a)
        await bots.wait_ready(b)
        access = GuildAccess(db, auto_approve=False)
        b_guilds = [g for g in server.state.guilds.values() if shard_of(g.id, 2) == 1]
        b_guild, pending = b_guilds[0], b_guilds[1]  # one approved, one waiting
        for guild_id in server.state.guilds:
            if guild_id != pending.id:
                await access.approve(guild_id, alice.id)
        names = {g.name for g in server.state.guilds.values()}
        key = load_session_key(
            dataclasses.replace(load_settings(environ={}, env_file=None), secret_key=Secret(SECRET))
        )
        link = await SignInLinks(db, key, a.web_url).issue(alice.id)
        jar = aiohttp.CookieJar(unsafe=True)  # one host, two ports: the cookie goes to both
        async with aiohttp.ClientSession(cookie_jar=jar) as web:
            async with web.get(link) as page:
                token = LINK_TOKEN.search(await page.text()).group(1)  # type: ignore[union-attr]
            async with web.post(f"{a.web_url}/login/link", data={"token": token}) as response:
                assert response.status == 200

            async def listed_on(proc) -> str | None:  # type: ignore[no-untyped-def]
                async with web.get(f"{proc.web_url}/guilds") as page:
                    text = await page.text()
                return text if all(name in text for name in names) else None

            await eventually(lambda: listed_on(a), "every server listed on a")
            text = await eventually(lambda: listed_on(b), "every server listed on b")
            csrf = CSRF_META.search(text).group(1)  # type: ignore[union-attr]

            async with web.get(f"{a.web_url}/guilds/{b_guild.id}/settings") as page:
                assert page.status == 200, a.log() + b.log()
                assert b_guild.name in await page.text()
            async with web.post(
                f"{a.web_url}/guilds/{pending.id}/reject",
                data={"csrf_token": csrf},
                allow_redirects=False,
            ) as response:
                assert response.status in (200, 302, 303), await response.text()

        async def left() -> bool:
            return server.bot_user_id not in server.state.guilds[pending.id].members

        await eventually(left, "the holder (b) leaves the rejected server")
        assert (await access.get(pending.id)).status == "rejected"  # type: ignore[union-attr]
    finally:
        await db.dispose()
        await bots.stop_all()
        await server.stop()
    assert server.handler_errors == []


MONITORED = "cluster-test-host"


async def _raw_sample_times(db: Database) -> list[int]:
    from cogs.monitoring.models import SampleRow

    async with db.session() as session:
        return sorted(
            await session.scalars(
                select(SampleRow.ts).where(SampleRow.host == MONITORED, SampleRow.tier == 0)
            )
        )


async def test_two_processes_on_one_host_sample_it_once_and_post_each_alert_once(
    pg_url: str, tmp_path: Path
) -> None:
    """Both processes monitor the machine they share: one samples it per interval (the
    other holds back), and each guild's alert is evaluated and posted by its holder, once."""
    from cogs.monitoring.alert_store import AlertStore
    from cogs.monitoring.alerts import Rule
    from cogs.monitoring.models import AlertEvent

    server = await _sandbox(2)
    owner = server.add_user("owner-of-the-bot")
    bots = BotCluster(
        server.base_url,
        server.token,
        pg_url,
        tmp_path,
        2,
        owner_id=owner.id,
        features="admin,monitoring",
        extra_env={
            "MONITORING_HOST": MONITORED,
            "MONITORING_INTERVAL": "3",
            "DOCKER_HOST": "tcp://127.0.0.1:9",  # no Docker here: said, not waited for
        },
    )
    db = await Database.connect(pg_url)
    try:
        a, b = await bots.start("a", "0"), await bots.start("b", "1")
        await bots.wait_ready(a)
        await bots.wait_ready(b)
        access, rules = GuildAccess(db, auto_approve=False), AlertStore(db)
        for guild in server.state.guilds.values():
            await access.approve(guild.id, owner.id)
            general = next(c for c in server.state.channels.values() if c.guild_id == guild.id)
            await rules.add(
                guild.id,
                Rule("cpu.percent", ">", -1.0, cooldown_s=3600),
                host=MONITORED,
                severity="warning",
                channel_id=general.id,
                role_id=None,
                created_by=owner.id,
            )

        def alerts() -> dict[int, int]:
            counts = dict.fromkeys(server.state.guilds, 0)
            for channel_id, messages in server.state.messages.items():
                for message in messages.values():
                    if message.author.id == server.bot_user_id and message.content not in (
                        PENDING_NOTICE,
                    ):
                        counts[server.state.channels[channel_id].guild_id] += 1
            return counts

        async def every_guild_alerted() -> bool:
            return all(alerts().values())

        await eventually(every_guild_alerted, "an alert in every guild", timeout=60)
        seen = len(await _raw_sample_times(db))

        async def three_more_samples() -> bool:
            return len(await _raw_sample_times(db)) >= seen + 3

        await eventually(three_more_samples, "three more samples", timeout=60)
        assert alerts() == dict.fromkeys(server.state.guilds, 1), "an alert posted twice"
        async with db.session() as session:
            outcomes = list(await session.scalars(select(AlertEvent.outcome)))
        assert outcomes == ["sent"] * len(server.state.guilds)  # none "dropped" elsewhere
        sampling = [
            p.name for p in (a, b) if any(f"Sampling host {MONITORED}" in x for x in p.lines)
        ]
        assert len(sampling) == 1, a.log() + b.log()
        times = await _raw_sample_times(db)
        gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
        assert min(gaps) >= 2, f"the host was sampled more than once per 3 s interval: {times}"
    finally:
        await db.dispose()
        await bots.stop_all()
        await server.stop()
    assert server.handler_errors == []


async def _job(db: Database, guild_id: int):  # type: ignore[no-untyped-def]
    from cogs.templates.models import ApplyJob

    async with db.session() as session:
        return await session.scalar(
            select(ApplyJob).where(ApplyJob.guild_id == guild_id).order_by(ApplyJob.id.desc())
        )


async def test_a_template_apply_survives_killing_the_process_running_it(
    pg_url: str, tmp_path: Path
) -> None:
    """The process running an apply is killed mid-way (SIGKILL: no goodbye); the process
    that holds the guild next takes the job once its lease lapses and finishes it, and no
    channel or role is created twice."""
    from sandbox.driver import SandboxDriver

    server = await _sandbox(2, owner="alice")
    alice = server.state.find_user("alice")
    bots = BotCluster(
        server.base_url,
        server.token,
        pg_url,
        tmp_path,
        2,
        owner_id=alice.id,
        features="admin,templates",
        extra_env={"DISCORD_GLOBAL_RATE": "4"},  # slow enough to be killed mid-apply
    )
    db = await Database.connect(pg_url)
    try:
        a, b = await bots.start("a", "0"), await bots.start("b", "1")
        await bots.wait_ready(a)
        await bots.wait_ready(b)
        access = GuildAccess(db, auto_approve=False)
        for guild_id in server.state.guilds:
            await access.approve(guild_id, alice.id)
        guild = next(g for g in server.state.guilds.values() if shard_of(g.id, 2) == 1)
        member = SandboxDriver(server, timeout=30).member("alice", guild=guild)
        answer = await member.run("template apply", {"name": "gaming-community"}, channel="general")
        assert answer.message is not None, answer.content
        await member.press(answer.message, "template:confirm")

        async def under_way():  # type: ignore[no-untyped-def]
            job = await _job(db, guild.id)
            return job is not None and job.done >= 2

        await eventually(under_way, "the apply under way", timeout=60)
        await bots.stop("b", kill=True)
        b = await bots.start("b", "1")
        await bots.wait_ready(b)

        async def finished():  # type: ignore[no-untyped-def]
            job = await _job(db, guild.id)
            return job if job is not None and job.status != "running" else None

        job = await eventually(finished, "the apply finished after the kill", timeout=90)
        assert job.status == "done", job.error
        assert any("Resuming template job" in line for line in b.lines), b.log()
        created: dict[tuple[str, str], int] = {}
        for call in server.calls:
            if (
                call["method"] == "POST"
                and call["route"] in ("/guilds/{guild_id}/channels", "/guilds/{guild_id}/roles")
                and call["path"].split("/")[2] == str(guild.id)
                and 200 <= call["status"] < 300
            ):
                key = (call["route"], (call.get("json") or {}).get("name"))
                created[key] = created.get(key, 0) + 1
        assert created and max(created.values()) == 1, created
    finally:
        await db.dispose()
        await bots.stop_all()
        await server.stop()
    assert server.handler_errors == []


async def test_a_second_process_given_the_same_shards_is_refused_and_changes_nothing(
    two: tuple[SandboxServer, BotCluster], pg_url: str
) -> None:
    """A copy-pasted service with the same SHARD_IDS would answer shard 0's guilds twice.
    It waits a heartbeat's grace for the first to stop, then exits naming it, having never
    connected to the gateway; the first runs on untouched."""
    server, bots = two
    a = await bots.start("a", "0")
    b = await bots.start("b", "1")
    await bots.wait_ready(a)
    await bots.wait_ready(b)
    identified = server.gateway.identify_count
    copy = await bots.start("copy", "0")
    code = await asyncio.wait_for(copy.process.wait(), 90)
    await asyncio.sleep(0.2)  # the reader takes the last lines
    assert code == 2, copy.log()
    assert any(
        "error: Not starting: shard 0 of 2 is run by process" in line
        and "give each process its own SHARD_IDS" in line
        for line in copy.lines
    ), copy.log()
    assert server.gateway.identify_count == identified  # it never connected
    assert a.process.returncode is None and b.process.returncode is None
    assert notices(server) == dict.fromkeys(server.state.guilds, 1)  # each told once
    await bots.stop("copy")
