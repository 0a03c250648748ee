"""Presses of a dashboard's buttons and selects: whether the press is for this dashboard
(its own message in its own server), the next view state (`next_state`, pure, beside the
pure renderer), and the answer: the message updated in place, a private details or action
answer. Failures a member can fix are `UserError`s, answered privately by `bot.errors`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Protocol

import nextcord
from nextcord.http import Route

from bot.checks import require_manage_guild
from bot.errors import UserError, guarded
from bot.features import FeatureServices, ServiceKey
from bot.mentions import no_mentions
from cogs.dashboards.layout import Layout
from cogs.dashboards.render import Rendered, ViewState, cut, parse_custom_id

if TYPE_CHECKING:
    from cogs.dashboards.live import LiveDashboards
    from cogs.dashboards.store import DashboardRecord

log = logging.getLogger(__name__)


class Actions(Protocol):
    """What a dashboard's action buttons run: a named action, answered with a sentence.
    No feature offers one yet; the one that does moves this contract to `bot/`."""

    def names(self) -> Collection[str]:
        """The actions `run` knows, so a layout naming another is refused when saved."""
        ...

    async def run(self, name: str) -> str: ...


ACTIONS_SERVICE: ServiceKey[Actions] = ServiceKey("actions")
GONE = "This dashboard no longer exists."
CONTROL_GONE = "That control is no longer on this dashboard."


def next_state(layout: Layout, state: ViewState, key: str, values: Sequence[str]) -> ViewState:
    """The view state after pressing control `key` (with a select's `values`)."""
    last_page = layout.page_count - 1
    if key == "prev_page":
        return replace(state, page=max(state.page - 1, 0))
    if key == "next_page":
        return replace(state, page=min(state.page + 1, last_page))
    if key == "page" and values and values[0].isascii() and values[0].isdigit():
        return replace(state, page=min(int(values[0]), last_page))
    if key == "host" and values:
        return replace(state, host=values[0][:100], disk="")
    if key == "disk" and values:
        return replace(state, disk=values[0][:100])
    if key == "game" and values:
        return replace(state, game=values[0][:100])
    return state


UPDATE_MESSAGE = 7  # the interaction callback that updates the pressed message in place
CALLBACK = "/interactions/{interaction_id}/{interaction_token}/callback"


class Dispatcher:
    def __init__(
        self,
        bot: nextcord.Client,
        live: LiveDashboards,
        render_record: Callable[[DashboardRecord], Awaitable[Rendered]],
        details: Callable[[DashboardRecord], Awaitable[str]],
        services: FeatureServices,
    ) -> None:
        self.bot = bot
        self.live = live
        self.render_record = render_record
        self.details = details
        self.services = services  # bot.services.provided, for the actions service

    def callback_for(self, custom_id: str) -> Callable[[nextcord.Interaction], Awaitable[None]]:
        answer = guarded(lambda interaction: self.on_component(interaction, custom_id))

        async def callback(interaction: nextcord.Interaction) -> None:
            self.live.track(asyncio.current_task())
            await answer(interaction)

        return callback

    def press_is_for(self, record: DashboardRecord, interaction: nextcord.Interaction) -> bool:
        """Whether `interaction` was pressed on `record`'s own message, in its own server."""
        if interaction.guild_id != record.guild_id or interaction.message is None:
            return False
        entry = self.live.scheduler.entries.get(record.id)
        known = {record.message_id, entry.message_id if entry is not None else None} - {None}
        return interaction.message.id in known

    async def on_component(self, interaction: nextcord.Interaction, custom_id: str) -> None:
        parsed = parse_custom_id(custom_id)
        record = self.live.records.get(parsed[0]) if parsed else None
        if parsed is None or record is None or not self.press_is_for(record, interaction):
            # A custom_id is only text: a press is honoured for the dashboard on that very
            # message in that very server, never for one named by a forged or stale id.
            raise UserError(GONE)
        key = parsed[1]
        if key not in {a.key for a in record.layout.actions}:
            raise UserError(CONTROL_GONE)
        if key == "details":
            await interaction.response.send_message(
                await self.details(record), ephemeral=True, allowed_mentions=no_mentions()
            )
            return
        if key.startswith("run:"):
            await self._run_action(interaction, key.removeprefix("run:"))
            return
        values = (interaction.data or {}).get("values") or []
        state = next_state(record.layout, record.view_state, key, values)
        if state != record.view_state:
            await self.live.store.set_view_state(record.id, state)
            record = replace(record, view_state=state)
            self.live.records[record.id] = record
        rendered = await self.render_record(record)
        scheduler = self.live.scheduler
        if rendered.charts:
            # Files cannot ride on this answer cheaply: acknowledge, then edit as usual.
            await interaction.response.defer()
            scheduler.request(record.id, force=True)
            return
        # The message updated in place with the renderer's payload byte for byte (its
        # allowed_mentions included, which nextcord's edit_message cannot send), through the
        # bot's public HTTP client. The persistent view does not auto-defer, so nothing
        # needs nextcord's private record that the press was answered.
        route = Route(
            "POST", CALLBACK, interaction_id=interaction.id, interaction_token=interaction.token
        )
        await self.bot.http.request(route, json={"type": UPDATE_MESSAGE, "data": rendered.payload})
        entry = scheduler.entries.get(record.id)
        if entry is not None:
            entry.last_hash = rendered.digest
            entry.verified = True
        await self.live.store.message_edited(record.id, rendered.digest)

    async def _run_action(self, interaction: nextcord.Interaction, name: str) -> None:
        require_manage_guild(interaction)
        actions = self.services.get(ACTIONS_SERVICE)
        if actions is None:
            raise UserError(
                f"The action {name!r} is unavailable: no loaded feature provides actions."
            )
        await interaction.response.defer(ephemeral=True)
        try:
            result = await actions.run(name)
        except Exception as exc:
            log.exception("Dashboard action %s failed", name)
            result = f"{name} failed: {exc}"
        await interaction.followup.send(
            cut(str(result), 2000), ephemeral=True, allowed_mentions=no_mentions()
        )
