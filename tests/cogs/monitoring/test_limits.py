"""Per-server limits under parallel adds, on SQLite and PostgreSQL: alert rules, service
checks, game servers and live agent tokens each stop exactly at their cap, however many
adds race, and every add past it is refused with the cap's own message."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from bot.database import Database
from bot.models import GuildRecord
from cogs.monitoring.alert_store import MAX_RULES_PER_GUILD, AlertStore, TooManyRules
from cogs.monitoring.alerts import Rule
from cogs.monitoring.collectors.services import ServiceCheck
from cogs.monitoring.config_store import (
    MAX_CHECKS_PER_GUILD,
    MAX_TOKENS_PER_GUILD,
    ConfigStore,
    GameServerLimit,
    TokenLimit,
)
from cogs.monitoring.games import MAX_GAME_SERVERS_PER_GUILD, GameServer

GUILD = 400000000000000005
EXTRA = 20


async def race(
    db: Database, add: Callable[[int], Awaitable[object]], limit: int
) -> list[BaseException]:
    async with db.session() as session, session.begin():
        session.add(GuildRecord(id=GUILD, name="Lab", status="approved"))
    results = await asyncio.gather(*(add(i) for i in range(limit + EXTRA)), return_exceptions=True)
    return [r for r in results if isinstance(r, BaseException)]


async def test_parallel_alert_rules_stop_at_the_cap(migrated_db: Database) -> None:
    store = AlertStore(migrated_db)

    def add(i: int) -> Awaitable[object]:
        rule = Rule("cpu.percent", ">", float(i))
        return store.add(
            GUILD, rule, host="h", severity="warning", channel_id=1, role_id=None, created_by=1
        )

    refused = await race(migrated_db, add, MAX_RULES_PER_GUILD)
    assert len(refused) == EXTRA and all(isinstance(e, TooManyRules) for e in refused), refused
    assert len(await store.list(GUILD)) == MAX_RULES_PER_GUILD


async def test_parallel_service_checks_stop_at_the_cap(migrated_db: Database) -> None:
    store = ConfigStore(migrated_db)

    def add(i: int) -> Awaitable[object]:
        return store.add_check(GUILD, ServiceCheck(0, f"c{i}", "tcp", "example.org", 80))

    refused = await race(migrated_db, add, MAX_CHECKS_PER_GUILD)
    assert len(refused) == EXTRA, refused
    assert all("at most 25 service checks" in str(e) for e in refused), refused
    assert len(await store.checks(GUILD)) == MAX_CHECKS_PER_GUILD


async def test_parallel_game_servers_stop_at_the_cap(migrated_db: Database) -> None:
    store = ConfigStore(migrated_db)

    def add(i: int) -> Awaitable[object]:
        return store.add_game(GameServer(0, GUILD, f"g{i}", "source", "example.org", 27015), 1)

    refused = await race(migrated_db, add, MAX_GAME_SERVERS_PER_GUILD)
    assert len(refused) == EXTRA and all(isinstance(e, GameServerLimit) for e in refused), refused
    assert len(await store.games(GUILD)) == MAX_GAME_SERVERS_PER_GUILD


async def test_parallel_agent_tokens_stop_at_the_cap(migrated_db: Database) -> None:
    store = ConfigStore(migrated_db)
    refused = await race(
        migrated_db, lambda i: store.create_token(GUILD, f"h{i}", 1), MAX_TOKENS_PER_GUILD
    )
    assert len(refused) == EXTRA and all(isinstance(e, TokenLimit) for e in refused), refused
    assert len(await store.tokens(GUILD)) == MAX_TOKENS_PER_GUILD
