"""Alert rules and their state in the database.

Each evaluation writes the new states and the events to announce in one transaction; an
event is marked sent once Discord has it. So a restart resumes every rule where it was,
sends what was decided but not yet sent, and sends nothing twice."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, select

from bot.database import Database
from cogs.monitoring.alerts import Rule, RuleState, evaluate
from cogs.monitoring.models import AlertEvent, AlertRule


@dataclass(frozen=True)
class PendingEvent:
    event_id: int
    kind: str
    value: float | None
    at: float
    rule: AlertRule


def rule_of(row: AlertRule) -> Rule:
    return Rule(
        row.metric, row.comparison, row.threshold, row.duration_s, row.cooldown_s, row.hysteresis
    )


class AlertStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._hosts_cache: set[tuple[str, str]] | None = None

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
    ) -> AlertRule:
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
            session.add(row)
        self._hosts_cache = None
        return row

    async def list(self, guild_id: int | None = None) -> list[AlertRule]:
        query = select(AlertRule).order_by(AlertRule.id)
        if guild_id is not None:
            query = query.where(AlertRule.guild_id == guild_id)
        async with self.db.session() as session:
            return list(await session.scalars(query))

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

    async def evaluate(
        self, now: float, value_of: Callable[[str, str], float | None]
    ) -> list[PendingEvent]:
        """Step every rule with its current value; returns the events still to send."""
        async with self.db.session() as session, session.begin():
            rows = list(await session.scalars(select(AlertRule)))
            for row in rows:
                value = value_of(row.host, row.metric)
                before = RuleState(row.state, row.pending_since, row.last_fired_at)
                after, event = evaluate(rule_of(row), before, value, now)
                if after != before:
                    row.state = after.state
                    row.pending_since = after.pending_since
                    row.last_fired_at = after.last_fired_at
                if event is not None:
                    row.last_value = value  # only on events: no row write per rule per tick
                    session.add(AlertEvent(rule_id=row.id, kind=event, value=value, at=now))
        return await self.unsent()

    async def unsent(self) -> list[PendingEvent]:
        async with self.db.session() as session:
            result = await session.execute(
                select(AlertEvent, AlertRule)
                .join(AlertRule, AlertRule.id == AlertEvent.rule_id)
                .where(AlertEvent.sent_at.is_(None))
                .order_by(AlertEvent.id)
            )
            return [PendingEvent(e.id, e.kind, e.value, e.at, r) for e, r in result]

    async def mark_sent(self, event_id: int, now: float) -> None:
        async with self.db.session() as session, session.begin():
            event = await session.get(AlertEvent, event_id)
            if event is not None:
                event.sent_at = now
