"""Alert delivery: outside the sampling tick, paced per channel and per rule, into the
rule's own server only, exactly once, and pinging exactly the rule's role."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest

from bot.database import Database
from cogs.monitoring import delivery
from cogs.monitoring.alert_store import PendingEvent
from cogs.monitoring.alerts import Rule
from cogs.monitoring.monitor import Monitor
from tests.cogs.monitoring.test_cog import HOST, Clock, command, monitor_of, status_messages, step
from tests.foundry import Foundry
from tests.web.conftest import GUILD_ID

OTHER = {
    "guilds": [
        {
            "name": "Other",
            "owner": "dave",
            "roles": [{"name": "B-Ops"}],
            "members": [{"name": "dave"}, {"name": "bob"}],
            "channels": [{"name": "b-alerts"}],
        }
    ]
}


async def _other_guild(foundry: Foundry):  # type: ignore[no-untyped-def]
    import asyncio

    other = foundry.server.load(OTHER)[0]
    for _ in range(200):
        if foundry.bot.get_guild(other.id) is not None:
            break
        await asyncio.sleep(0.05)
    return other


def _message_posts(foundry: Foundry, since: int = 0) -> list[dict[str, Any]]:
    return [
        call
        for call in foundry.server.calls[since:]
        if call["method"] == "POST" and call["route"] == "/channels/{channel_id}/messages"
    ]


async def test_a_manager_of_one_server_cannot_alert_into_another(
    foundry: Foundry, caplog: pytest.LogCaptureFixture
) -> None:
    await command(foundry, "alice", "guild", approve={})
    await foundry.restart(monitoring_interval=3600.0)
    other = await _other_guild(foundry)
    clock = Clock()
    monitor = monitor_of(foundry, clock)
    await step(monitor, clock, 0, cpu_percent=10)
    alias = await monitor.host_label(foundry.guild.id, HOST)  # names are hidden
    rule = {"metric": "cpu.percent", "comparison": ">", "threshold": 50.0,
            "channel": "status", "host": alias, "cooldown": 0}  # fmt: skip

    # save time: another server's channel, or role, is refused (a forged interaction)
    foreign_channel = await command(
        foundry, "bob", "alert", add={**rule, "channel": other.channel("b-alerts")}
    )
    assert "not a text channel of this server" in foreign_channel["content"]
    foreign_role = await command(foundry, "bob", "alert", add={**rule, "role": other.role("B-Ops")})
    assert "not a role of this server" in foreign_role["content"]
    assert await monitor.alerts.list() == []

    # use time: a stored rule naming another server's channel is refused, logged, not sent
    await monitor.alerts.add(
        foundry.guild.id,
        Rule("cpu.percent", ">", 50.0, cooldown_s=0),
        host=HOST,
        severity="warning",
        channel_id=other.channel("b-alerts").id,
        role_id=other.role("B-Ops").id,
        created_by=1,
    )
    caplog.set_level(logging.WARNING, logger="cogs.monitoring.cog")
    mark = foundry.server.mark()
    await step(monitor, clock, 10, cpu_percent=90)
    assert _message_posts(foundry, mark) == []
    assert "refused at delivery" in caplog.text
    assert await monitor.alerts.unsent() == []  # refused for good, not retried every tick


async def test_alert_text_pings_exactly_the_rules_role_and_escapes_names(foundry: Foundry) -> None:
    await command(foundry, "alice", "guild", approve={})
    await foundry.restart(monitoring_interval=3600.0)
    await foundry.bot.services.guild_settings.update(
        foundry.guild.id, {"monitoring_show_hosts": "true"}, 1
    )
    clock = Clock()
    monitor = monitor_of(foundry, clock)
    evil = "@everyone_**x**"
    clock.now += 1
    await monitor.ingest(evil, clock.now, {"cpu.percent": 10.0})
    rule = {"metric": "cpu.percent", "comparison": ">", "threshold": 50.0,
            "channel": "status", "host": evil, "cooldown": 0, "role": "Admins"}  # fmt: skip
    added = await command(foundry, "bob", "alert", add=rule)
    assert "Alert #1 added" in added["content"], added
    mark = foundry.server.mark()
    clock.now += 10
    await monitor.ingest(evil, clock.now, {"cpu.percent": 90.0})
    await monitor.check_alerts()
    await monitor.delivery.run_once()
    clock.now += 10
    await monitor.ingest(evil, clock.now, {"cpu.percent": 10.0})
    await monitor.check_alerts()
    await monitor.delivery.run_once()
    fire, recover = (call["json"] for call in _message_posts(foundry, mark))
    admins = str(foundry.guild.role("Admins").id)
    assert fire["allowed_mentions"]["parse"] == []
    assert [str(r) for r in fire["allowed_mentions"]["roles"]] == [admins]
    assert fire["content"] == f"<@&{admins}>"
    assert recover["allowed_mentions"]["parse"] == [] and "roles" not in recover["allowed_mentions"]
    description = fire["embeds"][0]["description"]
    assert "@everyone" not in description and "\\*\\*x\\*\\*" in description
    sent = status_messages(foundry)
    assert [m.mention_everyone for m in sent] == [False, False]


class Recorder:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.sent: list[tuple[float, int, int, str]] = []

    async def __call__(self, event: PendingEvent) -> str:
        self.sent.append((self.clock.now, event.rule.channel_id, event.rule.id, event.kind))
        return "sent"


async def _rules(monitor: Monitor, count: int, channel_id: int = 555) -> None:
    for _ in range(count):
        await monitor.alerts.add(
            GUILD_ID,
            Rule("cpu.percent", ">", 50.0, cooldown_s=0),
            host="agent",
            severity="warning",
            channel_id=channel_id,
            role_id=None,
            created_by=1,
        )


async def test_delivery_runs_outside_the_tick_paced_per_channel_and_per_rule(
    db: Database, monitoring_ctx: Any
) -> None:
    clock = Clock()
    monitor = Monitor(db, host="me", clock=clock)
    recorder = Recorder(clock)
    monitor.notify = recorder
    await _rules(monitor, 20)
    # an agent toggling a value: every rule fires and recovers on each post
    for value in (90.0, 10.0, 90.0, 10.0):
        clock.now += 1
        await monitor.ingest("agent", clock.now, {"cpu.percent": value})
        await monitor.check_alerts()
    assert recorder.sent == []  # evaluation never sends: the delivery task does
    assert len(await monitor.alerts.unsent()) == 80

    for _ in range(200):  # the delivery task's passes, on a clock it does not wait for
        await monitor.delivery.run_once()
        clock.now += 0.5
    times = [at for at, *_ in recorder.sent]
    for at in times:  # Discord's 5 messages per 5 s in one channel
        assert sum(1 for t in times if at <= t < at + delivery.CHANNEL_WINDOW_S) <= 5
    for rule_id in range(1, 21):
        mine = [(at, kind) for at, _, rid, kind in recorder.sent if rid == rule_id]
        assert 1 <= len(mine) <= delivery.RULE_PER_MINUTE
        assert mine[-1][1] == "recover"  # superseded events never hide the current state
    assert await monitor.alerts.unsent() == []
    await monitor.stop()


async def test_the_delivery_task_sends_on_its_own(db: Database, monitoring_ctx: Any) -> None:
    monitor = Monitor(db, host="me")
    clock = Clock()
    monitor.clock = clock
    recorder = Recorder(clock)
    monitor.notify = recorder
    await _rules(monitor, 1)
    monitor.start(first_delay_s=3600)
    try:
        await monitor.ingest("agent", clock.now, {"cpu.percent": 90.0})
        await monitor.check_alerts()
        for _ in range(100):
            if recorder.sent:
                break
            await _sleep(0.02)
        assert [kind for *_, kind in recorder.sent] == ["fire"]
    finally:
        await monitor.stop()


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


def test_the_pacer_allows_five_per_channel_window() -> None:
    pacer = delivery.Pacer()
    now = time.time()
    for index in range(5):
        assert pacer.channel_wait(1, now) == 0
        pacer.record(1, 100 + index, now)
    assert pacer.channel_wait(1, now) == pytest.approx(delivery.CHANNEL_WINDOW_S)
    assert pacer.channel_wait(2, now) == 0  # another channel is free
    assert pacer.channel_wait(1, now + delivery.CHANNEL_WINDOW_S) == 0


async def test_an_alert_is_sent_once_when_marking_it_sent_fails(foundry: Foundry) -> None:
    """Discord accepted the alert, then the database failed at the mark: neither the next
    pass nor a restart sends it again, and an alert claimed but never posted is not lost."""
    await command(foundry, "alice", "guild", approve={})
    await foundry.restart(monitoring_interval=3600.0)
    clock = Clock()
    monitor = monitor_of(foundry, clock)
    await step(monitor, clock, 0, cpu_percent=10)
    alias = await monitor.host_label(foundry.guild.id, HOST)  # names are hidden
    rule = {"metric": "cpu.percent", "comparison": ">", "threshold": 50.0,
            "channel": "status", "host": alias, "cooldown": 0}  # fmt: skip
    assert "Alert #1 added" in (await command(foundry, "bob", "alert", add=rule))["content"]

    real_mark = monitor.alerts.mark_sent

    async def database_down(*args: Any, **kwargs: Any) -> None:
        raise ConnectionError("the database went away")

    monitor.alerts.mark_sent = database_down  # type: ignore[method-assign]
    await step(monitor, clock, 10, cpu_percent=90)  # sent, but not marked
    assert len(status_messages(foundry)) == 1
    (pending,) = await monitor.alerts.unsent()
    assert pending.claimed and pending.nonce
    monitor.alerts.mark_sent = real_mark  # type: ignore[method-assign]
    await monitor.delivery.run_once()  # the next pass: found on Discord, marked, not resent
    assert len(status_messages(foundry)) == 1
    assert await monitor.alerts.unsent() == []

    # the same outage, then a restart in between
    monitor.alerts.mark_sent = database_down  # type: ignore[method-assign]
    await step(monitor, clock, 10, cpu_percent=10)  # the recovery: sent, not marked
    assert len(status_messages(foundry)) == 2
    await foundry.restart(monitoring_interval=3600.0)
    monitor = monitor_of(foundry, clock)
    await monitor.delivery.run_once()
    await step(monitor, clock, 10, cpu_percent=10)
    assert len(status_messages(foundry)) == 2
    assert await monitor.alerts.unsent() == []

    # claimed, but the send never reached Discord (killed in between): sent once after all
    async def never_arrives(event: PendingEvent) -> str:
        return "retry"

    cog_send = monitor.notify
    monitor.notify = never_arrives
    await step(monitor, clock, 10, cpu_percent=95)
    (claimed,) = await monitor.alerts.unsent()
    assert claimed.claimed
    monitor.notify = cog_send
    await monitor.delivery.run_once()
    assert len(status_messages(foundry)) == 3
    assert status_messages(foundry)[-1].embeds[0]["title"].startswith("WARNING")


async def test_the_sandbox_answers_a_repeated_enforced_nonce_with_the_first_message(
    foundry: Foundry,
) -> None:
    from nextcord.http import Route

    channel = foundry.guild.channel("status")
    route = Route("POST", "/channels/{channel_id}/messages", channel_id=channel.id)
    body = {"content": "once", "nonce": "fca-test-1", "enforce_nonce": True}
    body["allowed_mentions"] = {"parse": []}  # as every message the bot sends
    first = await foundry.bot.http.request(route, json=body)
    second = await foundry.bot.http.request(route, json=body)
    assert first["id"] == second["id"]
    unenforced = await foundry.bot.http.request(route, json={**body, "enforce_nonce": False})
    assert unenforced["id"] != first["id"]
    assert len(status_messages(foundry)) == 2


class FreshCpuCounter:
    """Like psutil.cpu_percent(None) in a process that just started: the first call has
    nothing to compare with and says 0 %, later calls the real load."""

    def __init__(self, load: float) -> None:
        self.load = load
        self.calls = 0

    def collect(self):  # type: ignore[no-untyped-def]
        from cogs.monitoring.collectors import Reading

        self.calls += 1
        return Reading({"cpu.percent": 0.0 if self.calls == 1 else self.load})


async def _sample_once(monitor: Monitor) -> None:
    import asyncio

    stop = asyncio.Event()
    task = asyncio.create_task(monitor.sampler.run(stop, 0))
    try:
        for _ in range(500):
            if monitor.sampler.ticks >= 1:
                break
            await asyncio.sleep(0.01)
    finally:
        stop.set()
        await task


async def test_a_restart_neither_invents_a_recovery_nor_repeats_the_alert(
    db: Database, monitoring_ctx: Any
) -> None:
    from cogs.monitoring.sampler import Source

    sent: list[str] = []

    async def record(event: PendingEvent) -> str:
        sent.append(event.kind)
        return "sent"

    async def start(load: float) -> Monitor:
        monitor = Monitor(db, host="me", interval_s=3600)
        monitor.notify = record
        monitor.sampler.sources = [
            Source("system", FreshCpuCounter(load).collect, timeout_s=5, blocking=True)
        ]
        return monitor

    first = await start(load=95.0)
    await first.alerts.add(
        GUILD_ID, Rule("cpu.percent", ">", 1.0, cooldown_s=0), host="me",
        severity="warning", channel_id=555, role_id=None, created_by=1,
    )  # fmt: skip
    await _sample_once(first)
    await first.delivery.run_once()
    assert sent == ["fire"]
    assert first.sampler.latest is not None and first.sampler.latest.metrics["cpu.percent"] == 95
    await first.stop()

    restarted = await start(load=96.0)  # a new process: its first CPU reading is 0 %
    await _sample_once(restarted)
    await restarted.delivery.run_once()
    assert sent == ["fire"]  # no "Recovered … 0.0 %", and so no second fire after it
    assert restarted.sampler.latest.metrics["cpu.percent"] == 96
    (rule,) = await restarted.alerts.list()
    assert rule.state == "firing"
    await restarted.stop()


async def test_a_sample_taken_before_priming_is_not_evaluated(
    db: Database, monitoring_ctx: Any
) -> None:
    from cogs.monitoring.sampler import Source

    monitor = Monitor(db, host="me", interval_s=3600)
    sent: list[str] = []

    async def record(event: PendingEvent) -> str:
        sent.append(event.kind)
        return "sent"

    monitor.notify = record
    monitor.sampler.sources = [Source("system", FreshCpuCounter(50.0).collect, blocking=True)]
    await monitor.alerts.add(
        GUILD_ID, Rule("cpu.percent", "<", 1.0, cooldown_s=0), host="me",
        severity="warning", channel_id=555, role_id=None, created_by=1,
    )  # fmt: skip
    snapshot = await monitor.sampler.tick()  # not primed: 0 %, as psutil says at first
    assert not snapshot.primed and snapshot.metrics["cpu.percent"] == 0
    await monitor.check_alerts()
    await monitor.delivery.run_once()
    assert sent == []
    await monitor.stop()


async def _forged(foundry: Foundry, options: dict[str, Any], **raw: Any) -> str:
    """/alert add with some option values replaced after the sandbox built the interaction
    (what a client that forges interactions can send)."""
    from sandbox.driver import SandboxDriver
    from sandbox.interaction_builder import command_data

    channel = foundry.server.state.channels[foundry.guild.channel("general").id]
    data = command_data(foundry.server, channel, "alert", {"add": options}, None)
    for option in data["options"][0]["options"]:
        if option["name"] in raw:
            option["value"] = raw[option["name"]]
    interaction = foundry.server.create_interaction(2, user="bob", channel=channel, data=data)
    answered = await foundry.server.wait_for_response(interaction)
    answer = await SandboxDriver(foundry.server).answer(answered, "answer /alert add")
    return answer.content if answer.message is not None else str(answered.response_data)


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        # (Discord itself sends only snowflakes here; "²" stops inside nextcord's option
        # conversion before any command code runs.)
        ({"channel": str(2**63)}, "is not a channel id"),
        ({"channel": str(2**64 + 1)}, "is not a channel id"),
        ({"role": str(2**63 + 7)}, "is not a role id"),
    ],
)
async def test_forged_ids_in_alert_add_get_a_clear_private_answer(
    foundry: Foundry, raw: dict[str, str], words: str
) -> None:
    await command(foundry, "alice", "guild", approve={})
    rule = {"metric": "cpu.percent", "comparison": ">", "threshold": 50.0,
            "channel": "status", "role": "Admins"}  # fmt: skip
    text = await _forged(foundry, rule, **raw)
    assert words in text and "Something went wrong" not in text
    monitor = foundry.bot.get_cog("MonitoringCog").monitor
    assert await monitor.alerts.list() == []


async def test_alert_remove_answers_for_any_number(foundry: Foundry) -> None:
    await command(foundry, "alice", "guild", approve={})
    for rule_id in (2**31, 2**53 - 1):
        answer = await command(foundry, "bob", "alert", remove={"id": rule_id})
        assert answer["content"] == f"This server has no alert #{rule_id}."


async def test_the_web_form_refuses_another_servers_channel_and_role(foundry: Foundry) -> None:
    """The running bot's page: the selects list Lab's channels and roles only, and a
    hand-made post naming the other server's channel or role is refused."""
    import re

    import aiohttp

    await command(foundry, "alice", "guild", approve={})
    other = await _other_guild(foundry)
    link = re.search(r"http://\S+", (await command(foundry, "bob", "web"))["content"]).group(0)
    base = foundry.process.web_url
    page = f"{base}/guilds/{foundry.guild.id}/monitoring"
    monitor = foundry.bot.get_cog("MonitoringCog").monitor
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        async with session.post(base + "/login/link", data={"token": link.split("token=")[1]}):
            pass
        async with session.get(page) as response:
            text = await response.text()
        assert f'value="{foundry.guild.channel("status").id}"' in text
        assert f'value="{foundry.guild.role("Admins").id}"' in text
        assert str(other.channel("b-alerts").id) not in text
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', text).group(1)
        rule = {"metric": "cpu.percent", "comparison": ">", "threshold": "90",
                "channel": str(foundry.guild.channel("status").id), "csrf_token": csrf}  # fmt: skip
        for changes, words in (
            ({"channel": str(other.channel("b-alerts").id)}, "this server&#39;s text channels"),
            ({"role": str(other.role("B-Ops").id)}, "this server&#39;s roles"),
        ):
            async with session.post(page + "/rules", data={**rule, **changes}) as refused:
                assert refused.status == 400 and words in await refused.text()
        assert await monitor.alerts.list() == []
        async with session.post(page + "/rules", data=rule, allow_redirects=False) as added:
            assert added.status == 303, await added.text()
    [stored] = await monitor.alerts.list()
    assert stored.guild_id == foundry.guild.id


async def test_the_rule_cap_and_removal_from_slash(foundry: Foundry) -> None:
    from cogs.monitoring.alert_store import MAX_RULES_PER_GUILD

    await command(foundry, "alice", "guild", approve={})
    monitor = foundry.bot.get_cog("MonitoringCog").monitor
    for _ in range(MAX_RULES_PER_GUILD):
        await monitor.alerts.add(
            foundry.guild.id, Rule("cpu.percent", ">", 90), host=monitor.host,
            severity="warning", channel_id=foundry.guild.channel("status").id, role_id=None,
            created_by=1,
        )  # fmt: skip
    rule = {"metric": "cpu.percent", "comparison": ">", "threshold": 50.0, "channel": "status"}
    refused = await command(foundry, "bob", "alert", add=rule)
    assert f"the most allowed is {MAX_RULES_PER_GUILD}; remove one first" in refused["content"]
    not_allowed = await command(foundry, "carol", "alert", remove={"id": 1})
    assert "Manage Server" in not_allowed["content"]
    removed = await command(foundry, "bob", "alert", remove={"id": 1})
    assert removed["content"] == "Alert #1 removed."
    added = await command(foundry, "bob", "alert", add=rule)
    assert added["content"].startswith(f"Alert #{MAX_RULES_PER_GUILD + 1} added")


async def test_a_database_outage_between_the_send_and_the_mark_sends_nothing_twice(
    foundry: Foundry,
) -> None:
    """The real thing: the bot on a PostgreSQL of the test's own, stopped right after
    Discord accepted the alert and before it is marked; started again, then the bot
    restarted: the alert is on Discord once."""
    import asyncio
    import contextlib

    from tests.private_postgres import find_postgres

    pg = find_postgres()
    if isinstance(pg, str):
        pytest.skip(pg)
    original = foundry.settings.database_url
    try:
        pg.init()
        pg.start()
        await foundry.restart(database_url=pg.url, monitoring_interval=3600.0)
        await command(foundry, "alice", "guild", approve={})
        clock = Clock()
        monitor = monitor_of(foundry, clock)
        await step(monitor, clock, 0, cpu_percent=10)
        alias = await monitor.host_label(foundry.guild.id, HOST)  # names are hidden
        rule = {"metric": "cpu.percent", "comparison": ">", "threshold": 50.0,
                "channel": "status", "host": alias, "cooldown": 0}  # fmt: skip
        assert "Alert #1 added" in (await command(foundry, "bob", "alert", add=rule))["content"]
        cog_send = monitor.notify

        async def send_then_lose_the_database(event: PendingEvent) -> str:
            outcome = await cog_send(event)
            await asyncio.to_thread(pg.stop)  # Discord has it; the mark cannot be written
            return outcome

        monitor.notify = send_then_lose_the_database
        clock.now += 10
        await monitor.ingest(HOST, clock.now, {"cpu.percent": 90.0})
        await monitor.check_alerts()
        await monitor.delivery.run_once()  # sends, then fails to mark (logged, not raised)
        assert len(status_messages(foundry)) == 1
        monitor.notify = cog_send
        with pytest.raises(Exception):  # noqa: B017 - still down: nothing can be read
            await monitor.delivery.run_once()
        await asyncio.to_thread(pg.start)
        (pending,) = await monitor.alerts.unsent()
        assert pending.claimed  # the claim was written before the send
        await foundry.restart(database_url=pg.url, monitoring_interval=3600.0)
        monitor = monitor_of(foundry, clock)
        await monitor.delivery.run_once()  # (the new process's own task may have run first)
        assert len(status_messages(foundry)) == 1
        assert await monitor.alerts.unsent() == []
    finally:
        with contextlib.suppress(Exception):  # running again, if the test stopped early
            await asyncio.to_thread(pg.start)
        await foundry.restart(database_url=original)  # the fixture's SQLite, for its teardown
        pg.destroy()
