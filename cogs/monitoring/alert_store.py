"""Alert rules and their state in the database.

Each evaluation writes the new states and the events to announce in one transaction (an
outbox). Delivery (`cogs.monitoring.delivery`) claims an event before sending it with its
nonce and marks it done afterwards; an event claimed but not marked may already be on
Discord, so it is looked for there before it is sent again. A restart resumes every rule
where it was, sends what was decided but not yet sent, and sends nothing twice."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Select, delete, func, select, update

from bot.database import Database
from bot.locks import quota_lock
from cogs.monitoring.alerts import Rule, RuleState, evaluate
from cogs.monitoring.models import AlertEvent, AlertRule

MAX_RULES_PER_GUILD = 50


class TooManyRules(ValueError):
    """The guild already has the most rules allowed."""


def new_nonce() -> str:
    """A message nonce (Discord allows 25 characters)."""
    return "fca" + secrets.token_hex(10)


@dataclass(frozen=True)
class PendingEvent:
    event_id: int
    kind: str
    value: float | None
    at: float
    rule: AlertRule
    nonce: str
    claimed: bool = False  # a send may have reached Discord already


def rule_of(row: AlertRule) -> Rule:
    return Rule(
        row.metric, row.comparison, row.threshold, row.duration_s, row.cooldown_s, row.hysteresis
    )


def rules_query(guild_id: int | None = None) -> Select[tuple[AlertRule]]:
    """Every rule, or one server's, by id."""
    query = select(AlertRule).order_by(AlertRule.id)
    if guild_id is not None:
        query = query.where(AlertRule.guild_id == guild_id)
    return query


class AlertStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._hosts_cache: set[tuple[str, str]] | None = None
        # With several bot processes: which guilds' rules this process evaluates and
        # delivers (bot.cluster; None: every guild).
        self.owns: Callable[[int], bool] | None = None

    async def add(
        self,
        guild_id: int,
        rule: Rule,
        *,
        host: str,
        severity: str,
        channel_id: int,
        role_id: int | None,
        created_by: int,
        max_rules: int = MAX_RULES_PER_GUILD,
    ) -> AlertRule:
        """Store a rule; TooManyRules when the guild has `max_rules` already."""
        row = AlertRule(
            guild_id=guild_id,
            metric=rule.metric,
            host=host,
            comparison=rule.comparison,
            threshold=rule.threshold,
            hysteresis=rule.hysteresis,
            duration_s=rule.duration_s,
            cooldown_s=rule.cooldown_s,
            severity=severity,
            channel_id=channel_id,
            role_id=role_id,
            created_by=created_by,
            state="ok",
        )
        async with self.db.session() as session, session.begin():
            # Serialises this server's adds until the commit: parallel adds cannot all
            # pass the count.
            await quota_lock(session, "alert-rules", guild_id)
            count = await session.scalar(
                select(func.count()).select_from(AlertRule).where(AlertRule.guild_id == guild_id)
            )
            if (count or 0) >= max_rules:
                raise TooManyRules(
                    f"this server has {count} alert rules, the most allowed is {max_rules}; "
                    "remove one first"
                )
            session.add(row)
        self._hosts_cache = None
        return row

    async def list(self, guild_id: int | None = None) -> list[AlertRule]:
        async with self.db.session() as session:
            return list(await session.scalars(rules_query(guild_id)))

    async def remove(self, guild_id: int, rule_id: int) -> bool:
        async with self.db.session() as session, session.begin():
            result = await session.execute(
                delete(AlertRule).where(AlertRule.guild_id == guild_id, AlertRule.id == rule_id)
            )
        self._hosts_cache = None
        return bool(result.rowcount)

    async def watched(self) -> set[tuple[str, str]]:
        """(host, metric) pairs some rule watches."""
        if self._hosts_cache is None:
            self._hosts_cache = {(r.host, r.metric) for r in await self.list()}
        return self._hosts_cache

    async def evaluate(self, now: float, value_of: Callable[[int, str, str], float | None]) -> int:
        """Step every rule with its current value, read on behalf of the rule's guild (a host
        the guild may no longer see reads as no data); returns how many events were decided."""
        async with self.db.session() as session, session.begin():
            rows = [
                row
                for row in await session.scalars(select(AlertRule))
                if self.owns is None or self.owns(row.guild_id)
            ]
            decided = 0
            for row in rows:
                value = value_of(row.guild_id, row.host, row.metric)
                before = RuleState(row.state, row.pending_since, row.last_fired_at)
                after, event = evaluate(rule_of(row), before, value, now)
                if after != before:
                    row.state = after.state
                    row.pending_since = after.pending_since
                    row.last_fired_at = after.last_fired_at
                if event is not None:
                    row.last_value = value  # only on events: no row write per rule per tick
                    session.add(
                        AlertEvent(
                            rule_id=row.id, kind=event, value=value, at=now, nonce=new_nonce()
                        )
                    )
                    decided += 1
        return decided

    async def unsent(self) -> list[PendingEvent]:
        async with self.db.session() as session:
            result = await session.execute(
                select(AlertEvent, AlertRule)
                .join(AlertRule, AlertRule.id == AlertEvent.rule_id)
                .where(AlertEvent.sent_at.is_(None))
                .order_by(AlertEvent.id)
            )
            return [
                PendingEvent(
                    e.id,
                    e.kind,
                    e.value,
                    e.at,
                    r,
                    e.nonce or f"fca{e.id}",
                    e.claimed_at is not None,
                )
                for e, r in result
                if self.owns is None or self.owns(r.guild_id)
            ]

    async def claim(self, event_id: int, now: float) -> None:
        """Record that a send is about to happen (before it happens)."""
        async with self.db.session() as session, session.begin():
            await session.execute(
                update(AlertEvent)
                .where(AlertEvent.id == event_id, AlertEvent.sent_at.is_(None))
                .values(claimed_at=now)
            )

    async def mark_sent(self, event_id: int, now: float, outcome: str = "sent") -> None:
        """The event needs nothing more: sent, refused, dropped or superseded."""
        async with self.db.session() as session, session.begin():
            event = await session.get(AlertEvent, event_id)
            if event is not None:
                event.sent_at = now
                event.outcome = outcome
