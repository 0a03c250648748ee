"""Who sees which host, with two servers: A (GUILD_ID, managed by ADMIN_ID) and B
(OTHER_GUILD_ID, managed by MEMBER_ID). The bot's own host is the installation's, shared
with both unless an owner stops it; each server's agent hosts are its own."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from cogs.monitoring.cog import SHOW_HOSTS
from cogs.monitoring.hosts import agent_key
from cogs.monitoring.metrics_source import MonitorMetrics
from cogs.monitoring.monitor import Monitor
from tests.cogs.monitoring.conftest import WEB_HOST
from tests.web.conftest import (
    ADMIN_ID,
    GUILD_ID,
    MEMBER_ID,
    OTHER_GUILD_ID,
    OWNER_ID,
    csrf_token,
    sign_in,
)
from web.app import create_app
from web.context import WebContext

A, B = GUILD_ID, OTHER_GUILD_ID
PAGE_A, PAGE_B = f"/guilds/{A}/monitoring", f"/guilds/{B}/monitoring"
INGEST = "/api/monitoring/ingest"


@pytest.fixture
async def client(monitoring_ctx: WebContext, aiohttp_client: Any) -> TestClient:
    return await aiohttp_client(create_app(monitoring_ctx))


async def show_names(ctx: WebContext, *guilds: int) -> None:
    """Turn on "Show host names" for `guilds`: the setting the web editor and the monitor
    read, written as a manager's settings page writes it."""
    store = ctx.guild_settings
    for guild_id in guilds:
        values = await store.get_all(guild_id)
        raw = {name: str(value) for name, value in values.items() if value not in (None, False)}
        await store.update(guild_id, {**raw, SHOW_HOSTS: "on"}, ADMIN_ID)


async def post(client: TestClient, token: str, value: float) -> dict:
    response = await client.post(
        INGEST,
        json={"samples": [{"ts": time.time(), "metrics": {"cpu.percent": value}}]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status == 200, await response.text()
    return await response.json()


async def series(client: TestClient, page: str, host: str) -> tuple[int, Any]:
    response = await client.get(
        page + "/series.json", params={"host": host, "metric": "cpu.percent", "range": "1h"}
    )
    text = await response.text()
    return response.status, json.loads(text) if response.status == 200 else text


async def test_a_server_never_reads_or_writes_another_servers_agent_host(
    client: TestClient, monitoring_ctx: WebContext, monitor: Monitor
) -> None:
    token_a = await monitor.config.create_token(A, "nas", ADMIN_ID)
    await post(client, token_a, 11.0)
    await show_names(monitoring_ctx, A, B)

    # A sees its nas by name and its values
    await sign_in(client, monitoring_ctx, ADMIN_ID)
    status, body = await series(client, PAGE_A, "nas")
    assert status == 200 and [p[1] for p in body["points"]] == [11.0]
    nas_a = monitor.registry.by_key[agent_key(A, "nas")]

    # B asks for it by name, by alias and by A's opaque ref: nothing
    await sign_in(client, monitoring_ctx, MEMBER_ID)
    for asked in ("nas", "host 2", nas_a.ref, agent_key(A, "nas")):
        status, _ = await series(client, PAGE_B, asked)
        assert status == 404, asked
        live = await client.get(PAGE_B + "/live.json", params={"host": asked})
        assert live.status == 404, asked
    page_b = await (await client.get(PAGE_B)).text()
    assert "nas" not in page_b.split('id="host-picker"')[1].split("</select>")[0]

    # B's own token for the same name writes B's own host; A's chart is unchanged
    token_b = await monitor.config.create_token(B, "nas", MEMBER_ID)
    assert (await post(client, token_b, 99.0))["host"] == "nas"
    status, body = await series(client, PAGE_B, "nas")
    assert status == 200 and [p[1] for p in body["points"]] == [99.0]
    await sign_in(client, monitoring_ctx, ADMIN_ID)
    status, body = await series(client, PAGE_A, "nas")
    assert status == 200 and [p[1] for p in body["points"]] == [11.0]

    # the same through the MetricsSource other features read
    source = MonitorMetrics(monitor, lambda guild_id: _true())
    await monitor.refresh_hosts(force=True)
    keys_b = {h.key for h in source.hosts(B)}
    assert nas_a.ref not in keys_b
    assert source.latest(B, nas_a.ref) == {} and source.latest(A, nas_a.ref) == {
        "cpu.percent": 11.0
    }
    assert source.host_label(B, nas_a.ref) == "host ?"
    assert source.latest(B, agent_key(A, "nas")) == {}  # nor by its storage key
    await source.close()


async def _true() -> bool:
    return True


async def test_hidden_names_never_show_yet_a_manager_sees_their_own_tokens_host(
    client: TestClient, monitoring_ctx: WebContext, monitor: Monitor
) -> None:
    token = await monitor.config.create_token(A, "basement-nas", ADMIN_ID)
    await post(client, token, 5.0)
    await sign_in(client, monitoring_ctx, ADMIN_ID)
    page = await (await client.get(PAGE_A)).text()
    picker = page.split('id="host-picker"')[1].split("</select>")[0]
    assert "basement-nas" not in picker and WEB_HOST not in page
    assert "host 1" in picker and "host 2" in picker
    tokens = page.split('data-testid="tokens"')[1].split("</table>")[0]
    assert "basement-nas" in tokens and "(hidden)" not in tokens  # the name they typed
    assert "(host 2)" in tokens  # and the alias the rest of the page uses
    # by alias the host is found; by its real name it is not (that would reveal it)
    assert (await series(client, PAGE_A, "host 2"))[0] == 200
    assert (await series(client, PAGE_A, "basement-nas"))[0] == 404
    # opaque keys for other features reveal no name
    source = MonitorMetrics(monitor)
    await monitor.refresh_hosts(force=True)
    for view in source.hosts(A):
        assert "nas" not in view.key and WEB_HOST not in view.key
        assert view.label in ("host 1", "host 2")
    await source.close()


async def test_owners_choose_which_servers_see_the_bots_host(
    client: TestClient, monitoring_ctx: WebContext, monitor: Monitor
) -> None:
    token_b = await monitor.config.create_token(B, "pi", MEMBER_ID)
    await post(client, token_b, 3.0)
    await show_names(monitoring_ctx, A, B)
    # a manager who is not an owner cannot change it
    await sign_in(client, monitoring_ctx, MEMBER_ID)
    assert (await client.get("/owner/monitoring")).status == 403
    assert [h.key for h in await monitor.visible_hosts(B)] == [WEB_HOST, agent_key(B, "pi")]

    await sign_in(client, monitoring_ctx, OWNER_ID)
    page = await client.get("/owner/monitoring")
    assert page.status == 200 and "Other Place" in await page.text()
    csrf = await csrf_token(client, "/owner/monitoring")
    done = await client.post(
        "/owner/monitoring",
        data={"guild_id": str(B), "shared": "off", "csrf_token": csrf},
        allow_redirects=False,
    )
    assert done.status == 303
    bad = await client.post(
        "/owner/monitoring", data={"guild_id": "²", "shared": "off", "csrf_token": csrf}
    )
    assert bad.status == 400

    assert [h.key for h in await monitor.visible_hosts(B)] == [agent_key(B, "pi")]
    assert (await monitor.visible_hosts(A))[0].key == WEB_HOST  # A unchanged
    await sign_in(client, monitoring_ctx, MEMBER_ID)
    assert (await series(client, PAGE_B, WEB_HOST))[0] == 404
    assert (await series(client, PAGE_B, "pi"))[0] == 200
    page_b = await (await client.get(PAGE_B)).text()
    assert WEB_HOST not in page_b
    # a server that sees no host at all still gets its page (and no one else's)
    await monitor.registry.set_shared(A, False)
    await sign_in(client, monitoring_ctx, ADMIN_ID)
    page_a = await client.get(PAGE_A)
    text_a = await page_a.text()
    assert (
        page_a.status == 200
        and WEB_HOST not in text_a
        and "pi" not in text_a.split('id="host-picker"')[1].split("</select>")[0]
    )
    assert (await series(client, PAGE_A, "host 1"))[0] == 404
    # the commands resolve hosts the same way
    names = await monitor.names(B)
    assert names.resolve(WEB_HOST) is None and names.resolve(None, names.keys[0]) == agent_key(
        B, "pi"
    )


async def test_the_migration_moves_token_hosts_history_to_their_server(database_url: str) -> None:
    """Before owners, samples of an agent host were keyed by its bare name; the migration
    gives them (and that server's rules on them) to the server whose token names the host,
    the oldest token where two servers claimed one name, and leaves the bot's host alone."""
    from datetime import UTC, datetime

    from sqlalchemy import text

    from bot.database import Database

    db = await Database.connect(database_url)
    try:
        await db.upgrade("monitoring_0001")
        now: Any = datetime.now(UTC)
        if db.engine.dialect.name == "sqlite":  # sqlite3's datetime adapter is deprecated
            now = now.isoformat(" ")
        async with db.engine.begin() as connection:
            for guild_id in (A, B):
                await connection.execute(
                    text(
                        "INSERT INTO guilds (id, name, status, joined_at) "
                        "VALUES (:id, 'g', 'approved', :now)"
                    ),
                    {"id": guild_id, "now": now},
                )
            for index, (guild_id, host) in enumerate(((A, "nas"), (B, "nas"), (B, "pi"))):
                await connection.execute(
                    text(
                        "INSERT INTO monitoring_agent_tokens (guild_id, host, token_hash, "
                        "created_by, created_at) VALUES (:g, :h, :t, 1, :at)"
                    ),
                    {"g": guild_id, "h": host, "t": f"{index:064d}", "at": now},
                )
            for host in ("nas", "pi", "the-bot"):
                await connection.execute(
                    text(
                        "INSERT INTO monitoring_samples (host, tier, ts, data) "
                        "VALUES (:h, 0, 1000, :d)"
                    ),
                    {"h": host, "d": b"\x00\x00\x00"},
                )
            for guild_id in (A, B):
                await connection.execute(
                    text(
                        "INSERT INTO monitoring_alert_rules (guild_id, metric, host, "
                        "comparison, threshold, hysteresis, duration_s, cooldown_s, severity, "
                        "channel_id, created_by, created_at, state) VALUES (:g, 'cpu.percent', "
                        "'nas', '>', 1, 0, 0, 0, 'warning', 1, 1, :at, 'ok')"
                    ),
                    {"g": guild_id, "at": now},
                )
        await db.upgrade()
        async with db.engine.connect() as connection:
            hosts = sorted(
                row[0]
                for row in await connection.execute(text("SELECT host FROM monitoring_samples"))
            )
            rules = dict(
                (row[0], row[1])
                for row in await connection.execute(
                    text("SELECT guild_id, host FROM monitoring_alert_rules")
                )
            )
        assert hosts == sorted([f"g{A}/nas", f"g{B}/pi", "the-bot"])
        assert rules == {A: f"g{A}/nas", B: "nas"}  # B's rule never watched B's own data
    finally:
        await db.dispose()


async def test_a_rule_reads_only_hosts_its_server_may_see_when_evaluated(
    monitoring_ctx: WebContext, monitor: Monitor
) -> None:
    """Rules are checked against visibility when saved, and again at every evaluation: a rule
    stored on another server's host, or on the bot's host after an owner stops sharing it,
    reads no data and fires nothing."""
    from cogs.monitoring.alerts import Rule

    a_host = agent_key(A, "nas")
    await monitor.ingest(a_host, time.time(), {"cpu.percent": 95.0})
    rule = Rule("cpu.percent", ">", 50.0, cooldown_s=0)
    common = {"severity": "warning", "channel_id": 1, "role_id": None, "created_by": 1}
    own = await monitor.alerts.add(A, rule, host=a_host, **common)
    foreign = await monitor.alerts.add(B, rule, host=a_host, **common)

    await monitor.check_alerts()
    states = {r.id: r.state for r in await monitor.alerts.list()}
    assert states[own.id] == "firing"
    assert states[foreign.id] == "ok"

    # The bot's own host: B's rule fires while it is shared, and reads nothing once it is not.
    await monitor.ingest(WEB_HOST, time.time(), {"cpu.percent": 95.0})
    shared_rule = await monitor.alerts.add(B, rule, host=WEB_HOST, **common)
    await monitor.registry.set_shared(B, False)
    await monitor.check_alerts()
    states = {r.id: r.state for r in await monitor.alerts.list()}
    assert states[shared_rule.id] == "ok"
    await monitor.registry.set_shared(B, True)
    await monitor.check_alerts()
    states = {r.id: r.state for r in await monitor.alerts.list()}
    assert states[shared_rule.id] == "firing"
