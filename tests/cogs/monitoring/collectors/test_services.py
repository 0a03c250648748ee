"""Service checks against local servers: TCP open/closed, HTTP status, timeouts, bad input."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from cogs.monitoring.collectors.services import (
    CheckError,
    ServiceCheck,
    ServicesCollector,
    TargetPolicy,
    run_check,
)

# These checks probe local test servers: the owner's consent, as MONITORING_ALLOW_PRIVATE_TARGETS
LOCAL = TargetPolicy(allow_private=True)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
async def http_server() -> AsyncIterator[str]:
    async def ok(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def broken(_: web.Request) -> web.Response:
        return web.Response(status=503)

    async def slow(_: web.Request) -> web.Response:
        await asyncio.sleep(2)
        return web.Response(text="late")

    app = web.Application()
    app.router.add_get("/ok", ok)
    app.router.add_get("/broken", broken)
    app.router.add_get("/slow", slow)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def test_tcp_open_and_closed() -> None:
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        opened = await run_check(ServiceCheck(1, "svc", "tcp", "127.0.0.1", port), policy=LOCAL)
        assert opened.ok and opened.latency_ms is not None
        expect_closed = await run_check(
            ServiceCheck(2, "svc", "tcp", "127.0.0.1", port, expect="closed"), policy=LOCAL
        )
        assert not expect_closed.ok
    finally:
        server.close()
        await server.wait_closed()
    shut = await run_check(ServiceCheck(3, "svc", "tcp", "127.0.0.1", closed_port()), policy=LOCAL)
    assert not shut.ok and "closed" in shut.detail
    wanted_shut = await run_check(
        ServiceCheck(4, "svc", "tcp", "127.0.0.1", closed_port(), expect="closed"), policy=LOCAL
    )
    assert wanted_shut.ok


async def test_http_status_latency_and_timeout(http_server: str) -> None:
    ok = await run_check(ServiceCheck(1, "web", "http", f"{http_server}/ok"), policy=LOCAL)
    assert ok.ok and ok.latency_ms is not None and "HTTP 200" in ok.detail
    down = await run_check(ServiceCheck(2, "web", "http", f"{http_server}/broken"), policy=LOCAL)
    assert not down.ok and "HTTP 503" in down.detail
    expected = await run_check(
        ServiceCheck(3, "web", "http", f"{http_server}/broken", expect="503"), policy=LOCAL
    )
    assert expected.ok
    loop = asyncio.get_running_loop()
    started = loop.time()
    late = await run_check(
        ServiceCheck(4, "web", "http", f"{http_server}/slow", timeout_s=0.3), policy=LOCAL
    )
    assert not late.ok and "0.3 s" in late.detail
    assert loop.time() - started < 1.5  # its own timeout, not the server's 2 s


async def test_collector_runs_every_check(http_server: str) -> None:
    checks = [
        ServiceCheck(7, "web", "http", f"{http_server}/ok"),
        ServiceCheck(8, "gone", "tcp", "127.0.0.1", closed_port()),
    ]

    async def load() -> list[ServiceCheck]:
        return checks

    collector = ServicesCollector(load, LOCAL)
    try:
        assert (await collector.collect()).metrics == {}  # the first round just started
        await asyncio.sleep(0.5)
        reading = await collector.collect()  # the finished round, without waiting
    finally:
        await collector.close()
    assert reading.metrics["service.7.up"] == 1.0
    assert reading.metrics["service.8.up"] == 0.0
    assert "service.7.latency_ms" in reading.metrics
    assert [row["name"] for row in reading.info["services"]] == ["web", "gone"]


@pytest.mark.parametrize(
    ("check", "field", "words"),
    [
        (ServiceCheck(1, "x", "http", "ftp://example.org/"), "target", "http:// or https://"),
        (ServiceCheck(1, "x", "http", "javascript:alert(1)"), "target", "http:// or https://"),
        (ServiceCheck(1, "x", "tcp", "db.lan", 0), "port", "1 to 65535"),
        (ServiceCheck(1, "x", "tcp", "db.lan", 65536), "port", "1 to 65535"),
        (ServiceCheck(1, "x", "tcp", "db.lan", None), "port", "1 to 65535"),
        (ServiceCheck(1, "x", "http", "http://a/", expect="99"), "expect", "status code"),
        # "²" passed str.isdigit and then failed int() (a ValueError, not the field's error)
        (ServiceCheck(1, "x", "http", "http://a/", expect="2²0"), "expect", "status code"),
        (ServiceCheck(1, "x", "smtp", "a"), "kind", "tcp or http"),
        (ServiceCheck(1, "x", "tcp", "a", 80, timeout_s=0), "timeout", "0.1 and 60"),
    ],
)
def test_bad_checks_name_the_field(check: ServiceCheck, field: str, words: str) -> None:
    with pytest.raises(CheckError) as info:
        check.validate()
    assert info.value.field == field and words in info.value.message


async def test_a_slow_check_never_holds_up_the_tick(http_server: str) -> None:
    async def load() -> list[ServiceCheck]:
        return [ServiceCheck(1, "slow", "http", f"{http_server}/slow", timeout_s=0.8)]

    collector = ServicesCollector(load, LOCAL)
    loop = asyncio.get_running_loop()
    try:
        started = loop.time()
        await collector.collect()
        await collector.collect()  # the round is still running: not started twice
        assert loop.time() - started < 0.3
        await asyncio.sleep(1.2)
        reading = await collector.collect()
        assert reading.metrics == {"service.1.up": 0.0}
        assert "0.8 s" in reading.info["services"][0]["detail"]
    finally:
        await collector.close()


async def test_a_probe_checks_the_addresses_again_and_says_why_it_refused(
    http_server: str,
) -> None:
    """Saved while the name was public; at probe time it resolves to the bot's own network."""
    port = int(http_server.rsplit(":", 1)[1])
    answers = {"svc.example": ["93.184.215.14"]}

    async def resolve(host: str, port: int) -> list[str]:
        return answers[host]

    policy = TargetPolicy(resolve=resolve)
    tcp = ServiceCheck(1, "db", "tcp", "svc.example", port)
    http = ServiceCheck(2, "web", "http", f"http://svc.example:{port}/ok")
    assert await policy.addresses(tcp.host, tcp.probe_port) == ["93.184.215.14"]  # saved

    answers["svc.example"] = ["127.0.0.1"]  # DNS changed since
    for check in (tcp, http):
        result = await run_check(check, policy=policy)
        assert not result.ok and result.latency_ms is None
        assert result.detail.startswith("refused: svc.example resolves to 127.0.0.1")
        assert "loopback" in result.detail

    async def collect_once() -> list[ServiceCheck]:
        return [tcp, http]

    collector = ServicesCollector(collect_once, policy)
    try:
        reading = await collector.run_all()
    finally:
        await collector.close()
    assert reading.metrics == {"service.1.up": 0.0, "service.2.up": 0.0}

    consented = TargetPolicy(allow_private=True, resolve=resolve)
    assert (await run_check(http, policy=consented)).ok  # with the owner's consent


async def test_an_http_check_connects_only_to_the_addresses_it_checked(
    http_server: str,
) -> None:
    """A name that answers public at the check and private at the connect (DNS rebinding):
    the session's resolver checks what it connects to, so the probe never reaches it."""
    from cogs.monitoring.collectors.services import checked_session

    port = int(http_server.rsplit(":", 1)[1])
    calls = 0

    async def rebinding(host: str, port: int) -> list[str]:
        nonlocal calls
        calls += 1
        return ["93.184.215.14"] if calls == 1 else ["127.0.0.1"]

    policy = TargetPolicy(resolve=rebinding)
    session = checked_session(policy)
    try:
        result = await run_check(
            ServiceCheck(1, "web", "http", f"http://rebind.example:{port}/ok"), session, policy
        )
    finally:
        await session.close()
    assert not result.ok and "loopback" in result.detail


def test_the_owners_consent_is_an_installation_setting_off_by_default() -> None:
    from bot.settings import load_settings
    from cogs.monitoring.monitor import Monitor
    from cogs.monitoring.settings import SETTINGS  # monitoring's own variables

    default = load_settings(environ={}, env_file=None).feature(SETTINGS)
    assert default.monitoring_allow_private_targets is False
    allowed = load_settings(environ={"MONITORING_ALLOW_PRIVATE_TARGETS": "true"}, env_file=None)
    assert allowed.feature(SETTINGS).monitoring_allow_private_targets is True
    assert Monitor(None).services.policy.allow_private is False  # type: ignore[arg-type]
    monitor = Monitor(None, allow_private_targets=True)  # type: ignore[arg-type]
    assert monitor.services.policy.allow_private is True
