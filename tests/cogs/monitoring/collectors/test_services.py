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
    run_check,
)


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
        opened = await run_check(ServiceCheck(1, "svc", "tcp", "127.0.0.1", port))
        assert opened.ok and opened.latency_ms is not None
        expect_closed = await run_check(
            ServiceCheck(2, "svc", "tcp", "127.0.0.1", port, expect="closed")
        )
        assert not expect_closed.ok
    finally:
        server.close()
        await server.wait_closed()
    shut = await run_check(ServiceCheck(3, "svc", "tcp", "127.0.0.1", closed_port()))
    assert not shut.ok and "closed" in shut.detail
    wanted_shut = await run_check(
        ServiceCheck(4, "svc", "tcp", "127.0.0.1", closed_port(), expect="closed")
    )
    assert wanted_shut.ok


async def test_http_status_latency_and_timeout(http_server: str) -> None:
    ok = await run_check(ServiceCheck(1, "web", "http", f"{http_server}/ok"))
    assert ok.ok and ok.latency_ms is not None and "HTTP 200" in ok.detail
    down = await run_check(ServiceCheck(2, "web", "http", f"{http_server}/broken"))
    assert not down.ok and "HTTP 503" in down.detail
    expected = await run_check(
        ServiceCheck(3, "web", "http", f"{http_server}/broken", expect="503")
    )
    assert expected.ok
    loop = asyncio.get_running_loop()
    started = loop.time()
    late = await run_check(ServiceCheck(4, "web", "http", f"{http_server}/slow", timeout_s=0.3))
    assert not late.ok and "0.3 s" in late.detail
    assert loop.time() - started < 1.5  # its own timeout, not the server's 2 s


async def test_collector_runs_every_check(http_server: str) -> None:
    checks = [
        ServiceCheck(7, "web", "http", f"{http_server}/ok"),
        ServiceCheck(8, "gone", "tcp", "127.0.0.1", closed_port()),
    ]

    async def load() -> list[ServiceCheck]:
        return checks

    collector = ServicesCollector(load)
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

    collector = ServicesCollector(load)
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
