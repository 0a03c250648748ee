"""The monitoring page: access, chart data, and every edit with its bad-input errors."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import text as text_sql

from cogs.monitoring import web as monitoring_web
from cogs.monitoring.alerts import Rule
from cogs.monitoring.games import GameServer, GameStatus
from cogs.monitoring.monitor import Monitor
from cogs.monitoring.web import REFUSALS
from tests.cogs.monitoring.conftest import CHANNEL_ID, OTHER_GUILD_CHANNEL_ID, ROLE_ID, WEB_HOST
from tests.web.conftest import ADMIN_ID, GUILD_ID, MEMBER_ID, csrf_token, sign_in
from web.app import create_app
from web.context import WebContext

PAGE = f"/guilds/{GUILD_ID}/monitoring"
CHANNEL = str(CHANNEL_ID)


@pytest.fixture
async def client(monitoring_ctx: WebContext, aiohttp_client: Any) -> TestClient:
    return await aiohttp_client(create_app(monitoring_ctx))


async def admin(client: TestClient, ctx: WebContext) -> str:
    await sign_in(client, ctx, ADMIN_ID)
    return await csrf_token(client, PAGE)


async def test_page_shows_live_values_tabs_and_the_chart(
    client: TestClient, monitoring_ctx: WebContext
) -> None:
    await sign_in(client, monitoring_ctx, ADMIN_ID)
    response = await client.get(PAGE)
    text = await response.text()
    assert response.status == 200, text
    assert 'data-testid="history-chart"' in text and "/static/vendor/chart.js/" in text
    assert f'href="/guilds/{GUILD_ID}/monitoring">Monitoring</a>' in text
    assert "55%" in text  # the newest cpu.percent
    assert WEB_HOST not in text  # hidden by default: shown as "host 1"
    assert "host 1" in text
    script = await client.get("/static/monitoring/monitoring.js")
    assert script.status == 200


async def test_the_page_shows_a_new_sample_and_metric_on_the_next_request(
    client: TestClient, monitoring_ctx: WebContext
) -> None:
    await sign_in(client, monitoring_ctx, ADMIN_ID)
    cpu = 'data-metric="cpu.percent">'
    disk = 'value="disk./data.percent"'
    before = await (await client.get(PAGE)).text()
    assert cpu + "55%" in before and disk not in before
    monitor = monitoring_ctx.app_keys[monitoring_web.MONITOR_KEY]
    await monitor.ingest(WEB_HOST, time.time() - 1, {"cpu.percent": 77.0, "disk./data.percent": 3})
    after = await (await client.get(PAGE)).text()
    assert cpu + "77%" in after and cpu + "55%" not in after
    assert after.count(disk) == 2  # the picker and the rule datalist know it now
    picked = await (await client.get(PAGE + "?metric=disk./data.percent")).text()
    assert disk + " selected>" in picked


async def test_the_page_shows_rules_checks_and_tokens_written_elsewhere_on_the_next_request(
    client: TestClient, monitoring_ctx: WebContext
) -> None:
    """The configuration is kept in memory while its counter (triggers on its four tables)
    stays put: a write by any process, through the stores or plain SQL, shows next time."""
    await sign_in(client, monitoring_ctx, ADMIN_ID)
    assert "No rules yet." in await (await client.get(PAGE)).text()
    assert "No rules yet." in await (await client.get(PAGE)).text()  # from memory now
    other = Monitor(monitoring_ctx.db, host="elsewhere")  # another process's stores
    rule = await other.alerts.add(
        GUILD_ID, Rule("mem.percent", ">", 93.5), host=WEB_HOST, severity="critical",
        channel_id=CHANNEL_ID, role_id=None, created_by=ADMIN_ID,
    )  # fmt: skip
    text = await (await client.get(PAGE)).text()
    assert "mem.percent &gt; 93.5" in text and "No rules yet." not in text
    await other.config.create_token(GUILD_ID, "far-away-box", ADMIN_ID)
    assert "far-away-box" in await (await client.get(PAGE)).text()
    async with monitoring_ctx.db.session() as session, session.begin():
        await session.execute(
            text_sql("DELETE FROM monitoring_alert_rules WHERE id = :id"), {"id": rule.id}
        )
    assert "No rules yet." in await (await client.get(PAGE)).text()
    game = await other.config.add_game(
        GameServer(0, GUILD_ID, "far-away-world", "source", "198.51.100.7", 27015).validate(),
        ADMIN_ID,
    )
    assert "far-away-world" in await (await client.get(PAGE)).text()
    async with monitoring_ctx.db.session() as session, session.begin():
        await session.execute(
            text_sql("DELETE FROM monitoring_game_servers WHERE id = :id"), {"id": game.id}
        )
    assert "far-away-world" not in await (await client.get(PAGE)).text()


async def test_live_json_shows_each_new_sample(
    client: TestClient, monitoring_ctx: WebContext
) -> None:
    await sign_in(client, monitoring_ctx, ADMIN_ID)
    first = await (await client.get(PAGE + "/live.json")).json()
    assert first["values"]["cpu.percent"] == "55%"
    assert await (await client.get(PAGE + "/live.json")).json() == first  # from memory
    monitor = monitoring_ctx.app_keys[monitoring_web.MONITOR_KEY]
    await monitor.ingest(WEB_HOST, time.time() - 1, {"cpu.percent": 77.0})
    after = await (await client.get(PAGE + "/live.json")).json()
    assert after["values"]["cpu.percent"] == "77%" and after["ts"] > first["ts"]


async def test_the_page_follows_the_live_server_and_game_polls_on_the_next_request(
    client: TestClient, monitoring_ctx: WebContext
) -> None:
    """The page is drawn once per content (web.drawn_pages): a channel or role renamed in
    Discord and a new game poll each show on the next request, with no write of ours."""
    await sign_in(client, monitoring_ctx, ADMIN_ID)
    assert "#status" in await (await client.get(PAGE)).text()
    directory = monitoring_ctx.app_keys[monitoring_web.GUILDS_KEY]
    directory.channels[GUILD_ID] = [(CHANNEL_ID, "status-renamed")]
    directory.role_list[GUILD_ID] = [(ROLE_ID, "Ops-renamed")]
    text = await (await client.get(PAGE)).text()
    assert "#status-renamed" in text and "@Ops-renamed" in text
    monitor = monitoring_ctx.app_keys[monitoring_web.MONITOR_KEY]
    game = await monitor.config.add_game(
        GameServer(0, GUILD_ID, "polled-world", "source", "198.51.100.7", 27015).validate(),
        ADMIN_ID,
    )
    assert "not polled yet" in await (await client.get(PAGE)).text()
    monitor.games.status = {game.id: GameStatus(online=True, at=time.time(), ping_ms=12.0)}
    text = await (await client.get(PAGE)).text()
    assert "not polled yet" not in text and "online · 0/0 players · 12 ms" in text


async def test_members_without_manage_server_are_refused(
    client: TestClient, monitoring_ctx: WebContext
) -> None:
    await sign_in(client, monitoring_ctx, MEMBER_ID)
    assert (await client.get(PAGE)).status == 403
    assert (await client.get(PAGE + "/series.json")).status == 403


async def test_series_json_picks_the_host_and_range(
    client: TestClient, monitoring_ctx: WebContext
) -> None:
    await sign_in(client, monitoring_ctx, ADMIN_ID)
    response = await client.get(PAGE + "/series.json?host=host+1&metric=cpu.percent&range=1h")
    body = await response.json()
    assert response.status == 200, body
    assert body["tier"] == 0 and [p[1] for p in body["points"]] == [12.5, 55.0]
    bad = await client.get(PAGE + "/series.json?range=2h")
    assert bad.status == 400
    unknown = await client.get(PAGE + "/series.json?host=elsewhere")
    assert unknown.status == 404


async def test_series_json_shows_a_new_sample_on_the_next_request(
    client: TestClient, monitoring_ctx: WebContext
) -> None:
    await sign_in(client, monitoring_ctx, ADMIN_ID)
    url = PAGE + "/series.json?host=host+1&metric=cpu.percent&range=1h"
    assert [p[1] for p in (await (await client.get(url)).json())["points"]] == [12.5, 55.0]
    monitor = monitoring_ctx.app_keys[monitoring_web.MONITOR_KEY]
    await monitor.ingest(WEB_HOST, time.time() - 5, {"cpu.percent": 70.0})
    body = await (await client.get(url)).json()
    assert [p[1] for p in body["points"]] == [12.5, 55.0, 70.0]


RULE = {"metric": "cpu.percent", "comparison": ">", "threshold": "90", "channel": CHANNEL}


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"metric": "cpu.nope"}, "metric", "unknown metric"),
        ({"metric": "memory.percent"}, "metric", "did you mean mem.percent"),
        ({"metric": "gpu.0.utilization"}, "metric", "did you mean gpu.{index}.util"),
        ({"threshold": "101"}, "threshold", "between 0 and 100"),
        ({"threshold": "lots"}, "threshold", "is not a number"),
        ({"threshold": "inf"}, "threshold", "must be a finite number"),
        ({"threshold": "nan"}, "threshold", "must be a finite number"),
        ({"threshold": "1e999"}, "threshold", "must be a finite number"),
        ({"channel": "general"}, "channel", "is not a Discord id"),
        ({"channel": "²"}, "channel", "is not a Discord id"),
        ({"channel": str(2**63)}, "channel", "is not a Discord id"),
        ({"channel": "1" * 25}, "channel", "is not a Discord id"),
        ({"role": "١٢٣"}, "role", "is not a Discord id"),  # Arabic-Indic digits
        ({"role": str(2**64 + 5)}, "role", "is not a Discord id"),
        # ids of another server: refused when saved
        ({"channel": str(OTHER_GUILD_CHANNEL_ID)}, "channel", "this server&#39;s text channels"),
        ({"role": str(OTHER_GUILD_CHANNEL_ID)}, "role", "this server&#39;s roles"),
        ({"duration": "-4"}, "duration", "between 0 and 86400"),
        ({"duration": "³"}, "duration", "not a whole number"),
    ],
)
async def test_bad_rules_are_refused_naming_the_field(
    client: TestClient, monitoring_ctx: WebContext, changes: dict, field: str, words: str
) -> None:
    token = await admin(client, monitoring_ctx)
    response = await client.post(PAGE + "/rules", data={**RULE, **changes, "csrf_token": token})
    text = await response.text()
    assert response.status == 400
    assert f'data-testid="error-rule-{field}"' in text and words in text


async def test_rules_are_added_and_removed(
    client: TestClient, monitoring_ctx: WebContext, monitor: Monitor
) -> None:
    token = await admin(client, monitoring_ctx)
    response = await client.post(
        PAGE + "/rules", data={**RULE, "csrf_token": token}, allow_redirects=False
    )
    assert response.status == 303, await response.text()
    rules = await monitor.alerts.list(GUILD_ID)
    assert [(r.metric, r.threshold, r.host, r.channel_id) for r in rules] == [
        ("cpu.percent", 90.0, WEB_HOST, int(CHANNEL))
    ]
    no_csrf = await client.post(PAGE + f"/rules/{rules[0].id}/delete")
    assert no_csrf.status == 403
    removed = await client.post(
        PAGE + f"/rules/{rules[0].id}/delete", data={"csrf_token": token}, allow_redirects=False
    )
    assert removed.status == 303
    assert await monitor.alerts.list(GUILD_ID) == []


CHECK = {"name": "web", "kind": "http", "target": "https://example.org/health", "timeout": "3"}


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"target": "ftp://example.org/"}, "target", "http:// or https://"),
        ({"kind": "tcp", "target": "db.lan", "port": "70000"}, "port", "1 to 65535"),
        ({"kind": "tcp", "target": "db.lan", "port": "0"}, "port", "1 to 65535"),
        ({"kind": "tcp", "target": "db.lan", "port": "ssh"}, "port", "1 to 65535"),
        ({"timeout": "999"}, "timeout", "0.1 and 60"),
    ],
)
async def test_bad_checks_are_refused_naming_the_field(
    client: TestClient,
    monitoring_ctx: WebContext,
    monitor: Monitor,
    changes: dict,
    field: str,
    words: str,
) -> None:
    token = await admin(client, monitoring_ctx)
    response = await client.post(PAGE + "/checks", data={**CHECK, **changes, "csrf_token": token})
    text = await response.text()
    assert response.status == 400
    assert f'data-testid="error-check-{field}"' in text and words in text
    assert await monitor.config.checks(GUILD_ID) == []


async def test_a_good_check_is_added(
    client: TestClient, monitoring_ctx: WebContext, monitor: Monitor
) -> None:
    monitor.services.policy.allow_private = True  # the owner allowed the bot's own network
    token = await admin(client, monitoring_ctx)
    response = await client.post(
        PAGE + "/checks",
        data={**CHECK, "kind": "tcp", "target": "10.0.0.5", "port": "5432", "csrf_token": token},
        allow_redirects=False,
    )
    assert response.status == 303, await response.text()
    [check] = await monitor.config.all_checks()
    assert (check.kind, check.target, check.port) == ("tcp", "10.0.0.5", 5432)
    page = await (await client.get(PAGE)).text()
    assert "10.0.0.5" not in page  # addresses hidden unless the guild shows them


PUBLIC = "93.184.215.14"


@pytest.mark.parametrize(
    ("target", "kind", "words"),
    [
        ("127.0.0.1", "loopback", "127.0.0.1 is a loopback address"),
        ("169.254.169.254", "link-local", "a link-local address"),
        ("10.0.0.5", "private", "a private address"),
        ("192.168.1.1", "private", "a private address"),
        ("0.0.0.0", "unspecified", "an unspecified address".replace("an ", "a ")),
        ("::1", "loopback", "a loopback address"),
        ("fe80::1", "link-local", "a link-local address"),
        ("fd00::5", "private", "a private address"),
        ("::ffff:127.0.0.1", "loopback", "a loopback address"),
        ("metadata.internal", "link-local", "resolves to 169.254.169.254, which is a link-local"),
        ("mixed.example", "private", "resolves to 10.1.1.1, which is a private"),
    ],
)
async def test_checks_on_the_bots_own_network_need_the_owners_consent(
    client: TestClient,
    monitoring_ctx: WebContext,
    monitor: Monitor,
    target: str,
    kind: str,
    words: str,
) -> None:
    async def resolve(host: str, port: int) -> list[str]:
        return {"metadata.internal": ["169.254.169.254"], "mixed.example": [PUBLIC, "10.1.1.1"]}[
            host
        ]

    monitor.services.policy.resolve = resolve
    token = await admin(client, monitoring_ctx)
    for data in (
        {**CHECK, "kind": "tcp", "target": target, "port": "22"},
        {**CHECK, "target": f"http://[{target}]/" if ":" in target else f"http://{target}/"},
    ):
        response = await client.post(PAGE + "/checks", data={**data, "csrf_token": token})
        text = await response.text()
        assert response.status == 400, text
        assert 'data-testid="error-check-target"' in text
        assert words in text and "MONITORING_ALLOW_PRIVATE_TARGETS" in text
    assert await monitor.config.checks(GUILD_ID) == []


async def post_samples(client: TestClient, token: str, **metrics: float):  # type: ignore[no-untyped-def]
    import time

    return await client.post(
        "/api/monitoring/ingest",
        json={"samples": [{"ts": time.time(), "metrics": metrics}]},
        headers={"Authorization": f"Bearer {token}"},
    )


async def test_agent_tokens_post_and_are_refused_once_revoked(
    client: TestClient,
    monitoring_ctx: WebContext,
    monitor: Monitor,
    caplog: pytest.LogCaptureFixture,
) -> None:
    csrf = await admin(client, monitoring_ctx)
    bad_host = await client.post(PAGE + "/tokens", data={"host": "no spaces", "csrf_token": csrf})
    assert bad_host.status == 400 and 'data-testid="error-token-host"' in await bad_host.text()
    created = await client.post(PAGE + "/tokens", data={"host": "nas", "csrf_token": csrf})
    text = await created.text()
    assert created.status == 200
    token = text.split('<code class="user-select-all">')[1].split("</code>")[0]
    assert token.startswith("fcm_")

    client.session.cookie_jar.clear()  # the agent has no session, no CSRF token
    stored = await post_samples(client, token, **{"cpu.percent": 33.0})
    assert stored.status == 200, await stored.text()
    assert (await stored.json()) == {"stored": 1, "host": "nas"}
    assert (await monitor.history.latest(f"g{GUILD_ID}/nas"))[1] == {"cpu.percent": 33.0}

    REFUSALS.seen.clear()
    with caplog.at_level(logging.WARNING, logger="cogs.monitoring.web"):
        for _ in range(3):
            wrong = await post_samples(client, "fcm_wrong", x=1.0)
            assert wrong.status == 401 and "wrong" in (await wrong.json())["error"]
    assert sum("wrong token" in r.getMessage() for r in caplog.records) == 1  # logged once

    [row] = await monitor.config.tokens(GUILD_ID)
    await sign_in(client, monitoring_ctx, ADMIN_ID)
    csrf = await csrf_token(client, PAGE)
    revoked = await client.post(
        PAGE + f"/tokens/{row.id}/revoke", data={"csrf_token": csrf}, allow_redirects=False
    )
    assert revoked.status == 303
    client.session.cookie_jar.clear()
    refused = await post_samples(client, token, **{"cpu.percent": 1.0})
    assert refused.status == 401 and "revoked" in (await refused.json())["error"]
    bad_body = await client.post(
        "/api/monitoring/ingest", data=b"{}", headers={"Authorization": "Bearer "}
    )
    assert bad_body.status == 401


@pytest.mark.parametrize("raw", [str(2**63), str(2**64), "١٢", "2147483648", "0"])
async def test_odd_rule_and_check_ids_in_urls_are_a_404(
    client: TestClient, monitoring_ctx: WebContext, raw: str
) -> None:
    token = await admin(client, monitoring_ctx)
    for kind in ("rules", "checks"):
        response = await client.post(PAGE + f"/{kind}/{raw}/delete", data={"csrf_token": token})
        assert response.status == 404, (kind, raw, await response.text())


@pytest.mark.parametrize("raw", [str(2**63), str(2**64), "١٢", "2147483648", "0"])
async def test_odd_token_ids_in_urls_are_a_404(
    client: TestClient, monitoring_ctx: WebContext, raw: str
) -> None:
    # The token route read its id with `\\d+` and int(): Unicode digits passed, and an id
    # past the 32-bit column reached the database (a 500).
    token = await admin(client, monitoring_ctx)
    response = await client.post(PAGE + f"/tokens/{raw}/revoke", data={"csrf_token": token})
    assert response.status == 404, (raw, await response.text())


async def test_a_malformed_server_id_is_a_404(
    client: TestClient, monitoring_ctx: WebContext
) -> None:
    await sign_in(client, monitoring_ctx, ADMIN_ID)
    for raw in ("²", str(2**64)):
        assert (await client.get(f"/guilds/{raw}/monitoring")).status == 404


async def test_rules_pick_a_channel_and_a_role_of_this_server(
    client: TestClient, monitoring_ctx: WebContext, monitor: Monitor
) -> None:
    await sign_in(client, monitoring_ctx, ADMIN_ID)
    text = await (await client.get(PAGE)).text()
    assert '<select class="form-select" id="rule-channel" name="channel"' in text
    assert f'<option value="{CHANNEL_ID}" >#status</option>' in text
    assert '<select class="form-select" id="rule-role" name="role"' in text
    assert f'<option value="{ROLE_ID}" >@Ops</option>' in text
    assert str(OTHER_GUILD_CHANNEL_ID) not in text  # another server's channel is not offered
    token = await csrf_token(client, PAGE)
    response = await client.post(
        PAGE + "/rules",
        data={**RULE, "role": str(ROLE_ID), "csrf_token": token},
        allow_redirects=False,
    )
    assert response.status == 303, await response.text()
    [rule] = await monitor.alerts.list(GUILD_ID)
    assert (rule.channel_id, rule.role_id) == (CHANNEL_ID, ROLE_ID)
    listed = await (await client.get(PAGE)).text()
    assert "<td>#status</td>" in listed  # the rule shows the channel's name, not its id


async def test_a_server_has_at_most_fifty_rules(
    client: TestClient, monitoring_ctx: WebContext, monitor: Monitor
) -> None:
    from cogs.monitoring.alert_store import MAX_RULES_PER_GUILD
    from cogs.monitoring.alerts import Rule

    for _ in range(MAX_RULES_PER_GUILD):
        await monitor.alerts.add(
            GUILD_ID, Rule("cpu.percent", ">", 90), host=WEB_HOST, severity="warning",
            channel_id=CHANNEL_ID, role_id=None, created_by=ADMIN_ID,
        )  # fmt: skip
    token = await admin(client, monitoring_ctx)
    response = await client.post(PAGE + "/rules", data={**RULE, "csrf_token": token})
    text = await response.text()
    assert response.status == 400
    assert 'data-testid="error-rule-rules"' in text
    assert f"the most allowed is {MAX_RULES_PER_GUILD}; remove one first" in text
    assert len(await monitor.alerts.list(GUILD_ID)) == MAX_RULES_PER_GUILD


async def test_series_json_charts_every_catalogue_metric_and_refuses_others(
    client: TestClient, monitoring_ctx: WebContext
) -> None:
    from cogs.monitoring.catalogue import CATALOGUE

    await sign_in(client, monitoring_ctx, ADMIN_ID)
    for spec in CATALOGUE.specs:
        name = spec.sample_name()
        response = await client.get(PAGE + "/series.json", params={"metric": name})
        body = await response.json()
        assert response.status == 200, (name, body)
        assert body["metric"] == name and body["end"] - body["start"] == 3600
    unknown = await client.get(PAGE + "/series.json", params={"metric": "memory.percent"})
    assert unknown.status == 400 and "did you mean mem.percent" in await unknown.text()


async def test_the_bot_hosts_newest_sample_is_one_object_until_the_next(
    monitor: Monitor,
) -> None:
    """live.json keeps its answer while Monitor.latest returns the same object: for the
    bot's own host too (it made a new pair on every call, so every request formatted the
    whole sample again)."""
    await monitor.sampler.tick()  # a real sample of this machine
    first = await monitor.latest(monitor.host)
    assert first is not None and "cpu.percent" in first[1]
    assert await monitor.latest(monitor.host) is first
    await monitor.sampler.tick()
    second = await monitor.latest(monitor.host)
    assert second is not first and second[0] >= first[0]
