"""The agents' ingestion endpoint under bad input: each refusal a clean 4xx naming the
problem, nothing stored half, and the metric-name caps answered honestly."""

from __future__ import annotations

import io
import json
import logging
import re
import time
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from cogs.monitoring.history import MAX_NAMES_PER_HOST, MAX_NEW_NAMES_PER_WRITE
from cogs.monitoring.monitor import Monitor
from tests.web.conftest import ADMIN_ID, GUILD_ID, sign_in
from web.app import create_app
from web.context import WebContext

INGEST = "/api/monitoring/ingest"
PAGE = f"/guilds/{GUILD_ID}/monitoring"
NAS = f"g{GUILD_ID}/nas"  # the storage key of this server's agent host "nas"


@pytest.fixture
async def client(monitoring_ctx: WebContext, aiohttp_client: Any) -> TestClient:
    return await aiohttp_client(create_app(monitoring_ctx))


@pytest.fixture
async def token(monitor: Monitor) -> str:
    return await monitor.config.create_token(GUILD_ID, "nas", ADMIN_ID)


async def post(client: TestClient, token: str, body: str | bytes) -> tuple[int, dict]:
    response = await client.post(
        INGEST,
        data=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    text = await response.text()
    assert "Traceback" not in text
    return response.status, json.loads(text)


def one(metrics: dict[str, Any], ts: Any = None) -> str:
    ts = time.time() if ts is None else ts
    return json.dumps({"samples": [{"ts": ts, "metrics": metrics}]}, allow_nan=True)


async def stored_hosts(monitor: Monitor) -> list[str]:
    return [h.name for h in await monitor.history.hosts()]


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ('{"samples": [{"ts": NaN, "metrics": {"cpu.percent": 1}}]}', "NaN"),
        ('{"samples": [{"ts": 1e999, "metrics": {"cpu.percent": 1}}]}', "too large"),
        ('{"samples": [{"ts": "soon", "metrics": {"cpu.percent": 1}}]}', "ts must be"),
        ('{"samples": [{"ts": true, "metrics": {"cpu.percent": 1}}]}', "ts must be"),
        ("[" * 10_000 + "]" * 10_000, "levels deep"),
        ('{"samples": ' + "[" * 100 + "]" * 100 + "}", "levels deep"),
        ("{not json", "not valid JSON"),
        ('{"samples": "many"}', "samples"),
        # NOW is filled in when the test runs: a time in a test id would differ between the
        # xdist workers' collections and stop the run.
        ('{"samples": [{"ts": NOW}]}', "metrics must be"),
    ],
)
async def test_malformed_posts_are_refused_whole_naming_the_problem(
    client: TestClient, monitor: Monitor, token: str, body: str, named: str
) -> None:
    status, answer = await post(client, token, body.replace("NOW", str(int(time.time()))))
    assert status == 400 and named in answer["error"], answer
    assert NAS not in await stored_hosts(monitor)


@pytest.mark.parametrize(
    ("value", "named"),
    [(1e39, "finite number within"), (-1e39, "finite number within"), ("5", "a number")],
)
async def test_values_a_float32_cannot_hold_are_refused_never_stored(
    client: TestClient, monitor: Monitor, token: str, value: Any, named: str
) -> None:
    body = json.dumps(
        {
            "samples": [
                {"ts": time.time() - 5, "metrics": {"cpu.percent": 1.0}},
                {"ts": time.time(), "metrics": {"cpu.percent": 2.0, "big": value}},
            ]
        }
    )
    status, answer = await post(client, token, body)
    assert status == 400 and "'big'" in answer["error"] and named in answer["error"], answer
    assert NAS not in await stored_hosts(monitor)  # not even the good first sample


async def test_series_json_never_emits_infinity(
    client: TestClient, monitoring_ctx: WebContext, monitor: Monitor
) -> None:
    # A row written before the edge checked values (float32 infinity) stays unreadable
    # to the chart no more.
    from cogs.monitoring.history import RAW, pack
    from cogs.monitoring.models import SampleRow

    ids = await monitor.history.metric_ids(["cpu.percent"])
    async with monitor.history.db.session() as session, session.begin():
        session.add(
            SampleRow(
                host="web-host",
                tier=RAW,
                ts=int(time.time()) - 5,
                data=pack({ids["cpu.percent"]: float("inf")}),
            )
        )
    await sign_in(client, monitoring_ctx, ADMIN_ID)
    response = await client.get(PAGE + "/series.json?host=host+1&metric=cpu.percent&range=1h")
    text = await response.text()
    assert response.status == 200 and "Infinity" not in text and "NaN" not in text
    json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} in series.json"))


async def test_future_timestamps_beyond_two_minutes_are_refused_with_the_reason(
    client: TestClient, monitor: Monitor, token: str
) -> None:
    status, answer = await post(client, token, one({"cpu.percent": 1.0}, time.time() + 3600))
    assert status == 400 and "ahead of the server's clock" in answer["error"], answer
    assert NAS not in await stored_hosts(monitor)
    status, answer = await post(client, token, one({"cpu.percent": 1.0}, time.time() + 60))
    assert status == 200 and answer["stored"] == 1  # a small skew is fine


async def test_bad_metric_names_are_refused_naming_them(
    client: TestClient, monitor: Monitor, token: str
) -> None:
    for name in ("", "x" * 121, "has space", "<b>"):
        status, answer = await post(client, token, one({name: 1.0}))
        assert status == 400 and "metric name" in answer["error"], (name, answer)
    assert NAS not in await stored_hosts(monitor)


async def test_one_host_cannot_exhaust_the_metric_names(
    client: TestClient, monitor: Monitor, token: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="cogs.monitoring.history"):
        status, answer = await post(
            client, token, one({f"junk.{i}": 1.0 for i in range(MAX_NEW_NAMES_PER_WRITE + 50)})
        )
        assert status == 200
        assert answer["stored"] == MAX_NEW_NAMES_PER_WRITE, answer  # values stored
        assert answer["not_stored_count"] == 50, answer
        assert all("new metric names per post" in why for why in answer["not_stored"].values())
        _, latest = await monitor.history.latest(NAS)
        assert len(latest) == MAX_NEW_NAMES_PER_WRITE
        # keep posting new names: the host stops at its cap, the others are untouched
        for start in range(1000, 1000 + 10 * MAX_NEW_NAMES_PER_WRITE, MAX_NEW_NAMES_PER_WRITE):
            names = {f"junk.{i}": 1.0 for i in range(start, start + MAX_NEW_NAMES_PER_WRITE)}
            status, answer = await post(client, token, one(names))
        assert status == 200 and answer["not_stored_count"] == MAX_NEW_NAMES_PER_WRITE
        assert "already has" in next(iter(answer["not_stored"].values()))
    assert len(await monitor.history._host_ids(NAS)) == MAX_NAMES_PER_HOST
    assert len(await monitor.history.known_metrics()) <= MAX_NAMES_PER_HOST + 10
    warnings = [r for r in caplog.records if "not stored" in r.getMessage()]
    assert len(warnings) == 1  # one warning for the host, not one per name per post
    # another host's new metrics still go in
    await monitor.ingest("other", time.time(), {"brand.new": 3.0})
    assert (await monitor.history.latest("other"))[1] == {"brand.new": 3.0}
    # a known name of the full host is still stored
    status, answer = await post(client, token, one({"junk.0": 7.0, "junk.99999": 1.0}))
    assert status == 200 and list(answer["not_stored"]) == ["junk.99999"]
    assert (await monitor.history.latest(NAS))[1] == {"junk.0": 7.0}


async def test_agent_tokens_are_capped_per_server_and_revoking_frees_a_place(
    client: TestClient, monitoring_ctx: WebContext, monitor: Monitor
) -> None:
    from cogs.monitoring.config_store import MAX_TOKENS_PER_GUILD
    from tests.web.conftest import OTHER_GUILD_ID, csrf_token

    for index in range(MAX_TOKENS_PER_GUILD):
        await monitor.config.create_token(GUILD_ID, f"h{index}", ADMIN_ID)
    await sign_in(client, monitoring_ctx, ADMIN_ID)
    csrf = await csrf_token(client, PAGE)
    refused = await client.post(PAGE + "/tokens", data={"host": "one-more", "csrf_token": csrf})
    text = await refused.text()
    assert refused.status == 400 and "already has 20 live agent tokens" in text
    assert 'data-testid="error-token-host"' in text
    assert len(await monitor.config.tokens(GUILD_ID)) == MAX_TOKENS_PER_GUILD
    # another server's allowance is its own
    await monitor.config.create_token(OTHER_GUILD_ID, "theirs", ADMIN_ID)

    first = (await monitor.config.tokens(GUILD_ID))[0]
    revoked = await client.post(
        PAGE + f"/tokens/{first.id}/revoke", data={"csrf_token": csrf}, allow_redirects=False
    )
    assert revoked.status == 303
    again = await client.post(PAGE + "/tokens", data={"host": "one-more", "csrf_token": csrf})
    assert again.status == 200 and "fcm_" in await again.text()
    # a token of another server cannot be revoked from here
    [theirs] = await monitor.config.tokens(OTHER_GUILD_ID)
    foreign = await client.post(PAGE + f"/tokens/{theirs.id}/revoke", data={"csrf_token": csrf})
    assert foreign.status == 404
    assert (await monitor.config.tokens(OTHER_GUILD_ID))[0].revoked_at is None


async def test_revoked_tokens_do_not_pile_up(monitoring_ctx: WebContext, monitor: Monitor) -> None:
    from cogs.monitoring.config_store import MAX_REVOKED_KEPT

    for index in range(MAX_REVOKED_KEPT + 5):
        await monitor.config.create_token(GUILD_ID, f"h{index}", ADMIN_ID)
        row = (await monitor.config.tokens(GUILD_ID))[-1]
        assert await monitor.config.revoke_token(GUILD_ID, row.id)
    assert len(await monitor.config.tokens(GUILD_ID)) == MAX_REVOKED_KEPT


async def test_servers_agents_share_a_cap_and_the_last_names_are_kept_for_the_bots_host(
    client: TestClient, monitor: Monitor, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The globals the store reads (a test that restarts the bot re-imports the package).
    history = type(monitor.history).admit.__globals__
    monkeypatch.setitem(history, "MAX_NAMES_PER_SERVER", 150)
    second = await monitor.config.create_token(GUILD_ID, "pi", ADMIN_ID)
    status, answer = await post(client, token, one({f"a.{i}": 1.0 for i in range(100)}))
    assert status == 200 and "not_stored" not in answer
    status, answer = await post(client, second, one({f"b.{i}": 1.0 for i in range(100)}))
    assert answer["not_stored_count"] == 50, answer
    assert "this server's agents already have 150" in next(iter(answer["not_stored"].values()))

    # nearly every id taken: a server's agent gets no new one, the bot's own host does
    monkeypatch.setitem(history, "MAX_NAMES_PER_SERVER", 10_000)
    taken = len(await monitor.history.known_metrics())
    monkeypatch.setitem(history, "RESERVED_FOR_INSTALLATION", history["MAX_METRIC_ID"] - taken - 5)
    status, answer = await post(client, token, one({f"c.{i}": 1.0 for i in range(20)}))
    assert answer["not_stored_count"] == 15, answer
    assert "kept for the bot's own hosts" in next(iter(answer["not_stored"].values()))
    await monitor.ingest("web-host", time.time(), {f"local.{i}": 1.0 for i in range(20)})
    assert len((await monitor.history.latest("web-host"))[1]) == 20


@pytest.mark.parametrize(
    ("ts", "metrics", "named"),
    [
        (10**400, {"cpu.percent": 1.0}, "ts is more than a year ahead"),
        (-(10**400), {"cpu.percent": 1.0}, "ts is more than 7 days in the past"),
        (None, {"cpu.percent": 10**400}, "'cpu.percent': the value must be a finite number"),
        (None, {"cpu.percent": -(10**400)}, "'cpu.percent': the value must be a finite number"),
        (1e308, {"cpu.percent": 1.0}, "ts is more than a year ahead of the server's clock"),
    ],
    ids=["ts 1e400", "ts -1e400", "value 1e400", "value -1e400", "ts 1e308"],
)
def test_numbers_beyond_a_float_are_named_not_a_crash(ts: Any, metrics: Any, named: str) -> None:
    """The JSON parser refuses such ints too; the checks do not rely on it."""
    from cogs.monitoring.web import BadSamples, parse_samples

    now = time.time()
    sample = {"ts": now if ts is None else ts, "metrics": metrics}
    with pytest.raises(BadSamples) as caught:
        parse_samples({"samples": [sample]}, now)
    assert named in str(caught.value) and len(str(caught.value)) < 200, str(caught.value)


async def test_a_clock_ahead_is_named_in_seconds(
    client: TestClient, monitor: Monitor, token: str
) -> None:
    status, answer = await post(client, token, one({"cpu.percent": 1.0}, time.time() + 3600))
    assert status == 400 and re.search(r"ts is 3,[56]\d\d s ahead", answer["error"]), answer


async def test_the_bearer_scheme_is_case_insensitive(
    client: TestClient, monitor: Monitor, token: str
) -> None:
    for scheme in ("bearer", "BEARER", "Bearer"):
        response = await client.post(
            INGEST,
            data=one({"cpu.percent": 1.0}),
            headers={"Authorization": f"{scheme} {token}", "Content-Type": "application/json"},
        )
        assert response.status == 200, (scheme, await response.text())
    for header in ("Basic " + token, "Bearer", "Bearer  ", token):
        response = await client.post(
            INGEST, data=one({"cpu.percent": 1.0}), headers={"Authorization": header}
        )
        assert response.status == 401, header


async def test_stored_counts_the_values_stored(
    client: TestClient, monitor: Monitor, token: str
) -> None:
    """A sample whose only metric was refused stores nothing, and the answer says so."""
    names = [f"n.{i:03}" for i in range(MAX_NEW_NAMES_PER_WRITE + 1)]  # the last one refused
    now = time.time()
    # both samples together name 201 new metrics; the last is over the per-post cap
    body = json.dumps(
        {
            "samples": [
                {"ts": now - 10, "metrics": dict.fromkeys(names, 1.0)},
                {"ts": now, "metrics": {names[-1]: 2.0}},
            ]
        }
    )
    status, answer = await post(client, token, body)
    assert status == 200 and list(answer["not_stored"]) == [names[-1]], answer
    assert answer["stored"] == MAX_NEW_NAMES_PER_WRITE, answer


@pytest.mark.parametrize("size", [20, 5 * 1024 * 1024], ids=["small", "over-the-limit"])
async def test_a_post_that_is_not_the_gzip_it_says_is_refused_without_a_traceback(
    client: TestClient, token: str, caplog: pytest.LogCaptureFixture, size: int
) -> None:
    """A 400 (or 413 past the limit) with the reason and the connection closed; aiohttp does
    not go on reading a body that cannot be decoded, which logged a traceback per post."""
    body = b'{"samples": [' + b" " * size + b"]}"
    response = await client.post(
        INGEST,
        data=io.BytesIO(body),
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
        },
    )
    assert response.status == (400 if size == 20 else 413)
    assert "error" in await response.json()
    assert response.headers.get("Connection", "").lower() == "close"
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
