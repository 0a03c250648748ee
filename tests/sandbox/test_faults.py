"""Faults on demand: failing, slow and rate-limited replies; record file."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from sandbox.record import read_records
from sandbox.server import SandboxServer
from sandbox.state import Guild
from tests.sandbox.conftest import RestClient


async def test_fail_next_matching_route(api: RestClient, sandbox: SandboxServer) -> None:
    sandbox.faults.fail_next(2, 502, route="/users/@me")
    assert (await api.request("GET", "/gateway/bot"))[0] == 200
    assert (await api.request("GET", "/users/@me"))[0] == 502
    assert (await api.request("GET", "/users/@me"))[0] == 502
    assert (await api.request("GET", "/users/@me"))[0] == 200


async def test_rate_limit_storm_has_discord_headers(
    api: RestClient, sandbox: SandboxServer, demo: Guild
) -> None:
    sandbox.faults.rate_limit_storm(1, retry_after=0.25)
    status, body, headers = await api.request("GET", "/users/@me")
    assert status == 429 and body["retry_after"] == 0.25 and body["global"] is False
    assert headers["Via"] and headers["X-RateLimit-Scope"] == "user"
    assert (await api.request("GET", "/users/@me"))[0] == 200
    assert sandbox.limiter is not None and sandbox.limiter.counters.too_many == 1


async def test_slow_replies_still_answer(api: RestClient, sandbox: SandboxServer) -> None:
    sandbox.faults.slow(0.01, count=1)
    assert (await api.request("GET", "/users/@me"))[0] == 200
    assert sandbox.faults.http == []


async def test_record_file_has_calls_and_dispatches(tmp_path: Path) -> None:
    record = tmp_path / "run.jsonl"
    async with SandboxServer(record_path=record, spec_path=None) as server:
        guild = server.add_guild("Rec")
        server.add_channel(guild, "chan")
        headers = {"Authorization": f"Bot {server.token}"}
        async with (
            aiohttp.ClientSession() as session,
            session.get(server.base_url + "/users/@me", headers=headers) as response,
        ):
            assert response.status == 200
    kinds = [(r["type"], r.get("event") or r.get("route")) for r in read_records(record)]
    assert ("dispatch", "CHANNEL_CREATE") in kinds
    assert ("rest", "/users/@me") in kinds
