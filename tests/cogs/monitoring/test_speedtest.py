"""Speedtests: one at a time in a worker thread, and a clear error without internet."""

from __future__ import annotations

import asyncio
import socket
import threading
import urllib.request
from types import SimpleNamespace

import pytest

from cogs.monitoring.speedtest import SpeedtestBusy, SpeedtestError, SpeedtestRunner


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_no_internet_gives_a_clear_error() -> None:
    port = closed_port()

    def offline_client() -> None:
        # What speedtest-cli does first (fetch its config), against a port nobody listens on.
        urllib.request.urlopen(f"http://127.0.0.1:{port}/speedtest-config.php", timeout=2)

    runner = SpeedtestRunner(offline_client)
    with pytest.raises(SpeedtestError) as info:
        await runner.run()
    assert "no internet connection" in str(info.value)
    assert not runner.running


async def test_one_at_a_time_off_the_event_loop() -> None:
    release = threading.Event()
    threads: list[str] = []

    class FakeClient:
        results = SimpleNamespace(
            download=94e6, upload=11e6, ping=12.5, server={"sponsor": "Lab", "name": "Here"}
        )

        def get_best_server(self) -> None:
            threads.append(threading.current_thread().name)
            release.wait(5)

        def download(self) -> None: ...

        def upload(self, pre_allocate: bool = True) -> None: ...

    runner = SpeedtestRunner(FakeClient)
    first = asyncio.create_task(runner.run())
    await asyncio.sleep(0.05)
    assert runner.running
    with pytest.raises(SpeedtestBusy):
        await runner.run()
    release.set()
    result = await first
    assert result.download_mbps == pytest.approx(94) and result.ping_ms == 12.5
    assert threads and threads[0] != threading.main_thread().name
    assert runner.last is result


async def test_scheduled_speedtests_are_stored_as_metrics(migrated_db) -> None:  # type: ignore[no-untyped-def]
    from cogs.monitoring.monitor import Monitor

    class FakeClient:
        results = SimpleNamespace(download=50e6, upload=10e6, ping=8.0, server={})

        def get_best_server(self) -> None: ...

        def download(self) -> None: ...

        def upload(self, pre_allocate: bool = True) -> None: ...

    monitor = Monitor(migrated_db, host="speedy", speedtest_every_min=0.002)  # every 0.12 s
    monitor.speedtest = SpeedtestRunner(FakeClient)
    monitor.start(first_delay_s=60)  # no regular samples during this test
    try:
        for _ in range(100):
            if await monitor.history.latest("speedy"):
                break
            await asyncio.sleep(0.05)
        _, metrics = await monitor.history.latest("speedy")
        assert metrics == {
            "speedtest.download_mbps": 50.0,
            "speedtest.upload_mbps": 10.0,
            "speedtest.ping_ms": 8.0,
        }
    finally:
        await monitor.stop()
