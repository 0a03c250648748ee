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
