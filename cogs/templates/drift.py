"""Drift: a server pins a template (its own or a built-in) and the bot tells it when the
server stops matching.

The cog passes every channel and role change from the gateway to `DriftWatcher.touch`; a
quiet time (`QUIET_S`) after the last change of a pinned server, the watcher compares the
live server with the pinned template using the same plan an apply makes (`make_plan`: the
only REST reads are the plan's own, the guild, its channels and roles, plus one audit-log
page to say who changed what). While an apply of that server runs (a Revert included) its
changes are the bot's own: the check waits until the job is done, and then finds nothing
to report. One drift episode has one report message, edited as more changes come, and
closed when the server matches again (reverted, accepted, or changed back)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update

from bot.database import Database
from cogs.templates.document import TemplateError
from cogs.templates.history import SnapshotStore
from cogs.templates.models import TemplatePin
from cogs.templates.planning.model import ApplyOptions, Plan

log = logging.getLogger(__name__)

QUIET_S = 5.0  # seconds without a change before a pinned server is compared
CHANNEL_UPDATE, CHANNEL_CREATE, CHANNEL_DELETE = 11, 10, 12
OVERWRITE_ACTIONS = (13, 14, 15)
ROLE_ACTIONS = (30, 31, 32)
REPORT_LINES = 40
REVERT_ID = "templates:drift:revert"
ACCEPT_ID = "templates:drift:accept"


@dataclass(frozen=True)
class Pin:
    guild_id: int
    template_name: str
    channel_id: int
    report_message_id: int | None
    report_nonce: str | None = None


class PinStore:
    """One pin per server (its template's name and the report channel)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, guild_id: int) -> Pin | None:
        async with self.db.session() as session:
            row = await session.get(TemplatePin, guild_id)
            if row is None:
                return None
            return Pin(
                row.guild_id,
                row.template_name,
                row.channel_id,
                row.report_message_id,
                row.report_nonce,
            )

    async def pinned_guilds(self) -> set[int]:
        async with self.db.session() as session:
            return set(await session.scalars(select(TemplatePin.guild_id)))

    async def pin(self, guild_id: int, name: str, channel_id: int, actor_id: int) -> None:
        async with self.db.session() as session, session.begin():
            await session.execute(delete(TemplatePin).where(TemplatePin.guild_id == guild_id))
            session.add(
                TemplatePin(
                    guild_id=guild_id, template_name=name, channel_id=channel_id,
                    pinned_by=actor_id,
                )
            )  # fmt: skip

    async def unpin(self, guild_id: int) -> bool:
        async with self.db.session() as session, session.begin():
            result = await session.execute(
                delete(TemplatePin).where(TemplatePin.guild_id == guild_id)
            )
        return bool(result.rowcount)

    async def set_report(self, guild_id: int, message_id: int | None) -> None:
        """The episode's report (None: closed); any claim is done with."""
        async with self.db.session() as session, session.begin():
            await session.execute(
                update(TemplatePin)
                .where(TemplatePin.guild_id == guild_id)
                .values(report_message_id=message_id, report_nonce=None)
            )

    async def claim(self, guild_id: int, nonce: str) -> None:
        """About to post a report with `nonce` (recorded before the send)."""
        async with self.db.session() as session, session.begin():
            await session.execute(
                update(TemplatePin)
                .where(TemplatePin.guild_id == guild_id)
                .values(report_nonce=nonce)
            )


def drift_options() -> ApplyOptions:
    """How a pinned template is compared and reverted: roles too, nothing deleted (a new
    channel or role someone adds is theirs, not drift)."""
    return ApplyOptions(prune=False, roles=True)


class DriftService:
    """Pins and comparisons, shared by the cog (reports, buttons, commands) and the web
    pages; `watcher` is the cog's, set when it loads."""

    def __init__(self, templates: Any, settings: Any = None) -> None:
        from cogs.templates.settings import TemplatesSettings

        self.templates = templates  # cogs.templates.service.TemplateService
        self.settings = settings or TemplatesSettings()
        self.pins = PinStore(templates.store.db)
        self.snapshots = SnapshotStore(templates.store.db)
        self.watcher: DriftWatcher | None = None

    async def compare(self, guild_id: int, name: str) -> tuple[Any, Plan]:
        """(the pinned template as found, the plan that would make the server match it):
        the plan's own REST reads (guild, channels, roles) and nothing else."""
        from cogs.templates.plan import make_plan

        found = await self.templates.lookup(guild_id, name)
        live = await self.templates.api(guild_id).fetch()
        id_map = await self.templates.store.id_map(found.ref, guild_id)
        return found, make_plan(found.template, live, id_map, drift_options())

    async def pin(self, guild_id: int, name: str, channel_id: int, actor_id: int) -> Plan:
        """Pin this server's own template or a built-in (LookupError, TemplateError); the
        objects that match it now are its own from here on, so a later rename is drift."""
        found, plan = await self.compare(guild_id, name)
        if found.origin_guild_id is not None:
            raise TemplateError(["name: pin one of this server's own templates or a built-in"])
        await self.templates.store.merge_id_map(found.ref, guild_id, dict(plan.matches))
        await self.pins.pin(guild_id, name, channel_id, actor_id)
        if self.watcher is not None:
            self.watcher.pinned.add(guild_id)
            if not plan.empty:
                self.watcher.arm(guild_id)
        return plan

    async def unpin(self, guild_id: int) -> bool:
        if self.watcher is not None:
            self.watcher.pinned.discard(guild_id)
        return await self.pins.unpin(guild_id)


def changed_lines(plan: Plan) -> list[str]:
    """The plan's marked tree without the unchanged lines: what drifted."""
    return [line for line in plan.tree if not line.startswith("=")]


def who_changed(
    entries: Sequence[dict[str, Any]],
    users: Sequence[dict[str, Any]],
    targets: set[int],
    bot_id: int,
) -> list[str]:
    """Names of the people (never the bot) whose audit-log entries touch `targets` (the
    live objects the plan would change), newest first."""
    names = {int(u["id"]): str(u.get("global_name") or u.get("username") or u["id"]) for u in users}
    found: list[str] = []
    for entry in entries:
        user_id = int(entry.get("user_id") or 0)
        target = int(entry.get("target_id") or 0)
        if user_id == bot_id or (targets and target not in targets):
            continue
        name = names.get(user_id, f"user {user_id}")
        if name not in found:
            found.append(name)
    return found


def report_embed(
    template_name: str,
    plan: Plan | None,
    who: Sequence[str] | None,
    *,
    closed: str | None = None,
    ref: str = "",
) -> dict[str, Any]:
    """The drift report: the changed part of the plan's tree (what Revert would do), who
    changed it; `closed` says how an episode ended (its buttons go)."""
    from nextcord.utils import escape_markdown

    name = escape_markdown(template_name)
    if closed is not None:
        return {
            "title": f"Back in shape: {template_name}"[:256],
            "description": f"This server matches **{name}** again: {closed}."[:4096],
            "color": 0x2ECC71,
        }
    assert plan is not None
    lines = changed_lines(plan)
    shown = lines[:REPORT_LINES]
    if len(lines) > REPORT_LINES:
        shown.append(f"... and {len(lines) - REPORT_LINES} more")
    body = "\n".join(shown).replace("```", "'''")
    if who is None:
        by = "Who changed it: unknown (the bot cannot read the audit log)."
    elif who:
        by = "Changed by: " + ", ".join(escape_markdown(w) for w in who[:10]) + "."
    else:
        by = "Who changed it: not in the audit log."
    return {
        "title": f"Drift from {template_name}: {plan.summary()}"[:256],
        "description": (
            f"This server no longer matches its pinned template **{name}**. {by}\n"
            f"```diff\n{body[:3500]}\n```\n**Revert** applies the template again; "
            "**Accept** saves the server as the template's new version."
        )[:4096],
        "color": 0xE67E22,
        "footer": {
            "text": "+ create  ~ update  > move  (as Revert would do it)"
            + (f" · ref {ref}" if ref else "")
        },
    }


def report_components(disabled: bool = False) -> list[dict[str, Any]]:
    buttons = [
        {"type": 2, "style": 4, "label": "Revert", "custom_id": REVERT_ID},
        {"type": 2, "style": 3, "label": "Accept", "custom_id": ACCEPT_ID},
    ]
    if disabled:
        for button in buttons:
            button["disabled"] = True
    return [{"type": 1, "components": buttons}]


class DriftWatcher:
    """Debounces the changes of pinned servers and runs `check(guild_id)` once a quiet time
    after the last one; while `busy(guild_id)` (an apply runs), it waits and looks again."""

    def __init__(
        self,
        check: Callable[[int], Awaitable[None]],
        busy: Callable[[int], bool],
        *,
        quiet_s: float = QUIET_S,
    ) -> None:
        self.check = check
        self.busy = busy
        self.quiet_s = quiet_s
        self.pinned: set[int] = set()
        self.events: dict[int, int] = {}  # changes seen per server since its last check
        self.checks = 0
        self._timers: dict[int, asyncio.Task[None]] = {}
        self._checking: set[int] = set()
        self._again: set[int] = set()

    def touch(self, guild_id: int | None) -> None:
        """A channel, role or overwrite of `guild_id` changed."""
        if guild_id is None or guild_id not in self.pinned:
            return
        self.events[guild_id] = self.events.get(guild_id, 0) + 1
        self.arm(guild_id)

    def arm(self, guild_id: int) -> None:
        if guild_id in self._checking:  # compared now: once more when that is done
            self._again.add(guild_id)
            return
        timer = self._timers.get(guild_id)
        if timer is not None and not timer.done():
            timer.cancel()  # still in its quiet time: nothing half done
        self._timers[guild_id] = asyncio.get_running_loop().create_task(
            self._after_quiet(guild_id), name=f"drift-{guild_id}"
        )

    async def _after_quiet(self, guild_id: int) -> None:
        await asyncio.sleep(self.quiet_s)
        while self.busy(guild_id):  # the bot's own apply: look once it is done  # noqa: ASYNC110
            await asyncio.sleep(self.quiet_s)
        self._timers.pop(guild_id, None)
        self.events.pop(guild_id, None)
        self._checking.add(guild_id)
        self.checks += 1
        try:
            await self.check(guild_id)
        except Exception:
            log.exception("Checking server %s for drift failed", guild_id)
        finally:
            self._checking.discard(guild_id)
        if guild_id in self._again:
            self._again.discard(guild_id)
            self.arm(guild_id)

    async def close(self) -> None:
        timers, self._timers = list(self._timers.values()), {}
        for timer in timers:
            timer.cancel()
        for timer in timers:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await timer
