"""`/dashboard create|list|remove|refresh` for members with Manage Server, and the
listeners that keep the dashboards attached to their messages (ready, message deleted)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import nextcord
from nextcord.ext import commands

from bot import checks
from bot.answers import answer
from bot.errors import UserError
from cogs.dashboards.presets import PRESET_LABELS, preset
from cogs.dashboards.render import fit_lines
from cogs.dashboards.service import DashboardService

if TYPE_CHECKING:
    from bot.client import FoundryBot

# The `id` option of /dashboard remove|refresh (nextcord only reads it, so one serves both).
ID = nextcord.SlashOption(name="id", description="The number from /dashboard list", min_value=1)


class DashboardsCog(commands.Cog):
    def __init__(self, bot: FoundryBot, service: DashboardService) -> None:
        self.bot = bot
        self.service = service

    async def cog_stop(self) -> None:
        """Called by the bot process before it closes the database (bot/runtime.py)."""
        await self.service.shutdown()

    def cog_unload(self) -> None:
        self.service.stop()

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        await self.service.start()

    @commands.Cog.listener()
    async def on_raw_message_delete(self, payload: nextcord.RawMessageDeleteEvent) -> None:
        self.service.message_deleted(payload.message_id)

    @commands.Cog.listener()
    async def on_raw_bulk_message_delete(self, payload: nextcord.RawBulkMessageDeleteEvent) -> None:
        for message_id in payload.message_ids:
            self.service.message_deleted(message_id)

    @checks.manager_command("dashboard", "Live dashboards the bot keeps current.")
    async def dashboard(self, interaction: nextcord.Interaction) -> None:
        """Parent of the /dashboard subcommands."""

    @checks.manager_subcommand(dashboard, "list", "This server's dashboards.")
    async def list_(self, interaction: nextcord.Interaction) -> None:
        assert interaction.guild_id is not None  # checks.manage_guild: inside a server
        records = await self.service.store.list(interaction.guild_id)
        lines = [
            f"#{r.id} **{r.name}** in <#{r.channel_id}>"
            + (f" (stopped: {r.error})" if r.error else "")
            for r in records
        ] or ["No dashboards yet: /dashboard create adds one."]
        await answer(interaction, fit_lines(lines, 2000))

    @checks.manager_subcommand(dashboard, "create", "Post a dashboard from a preset.")
    async def create(
        self,
        interaction: nextcord.Interaction,
        preset_name: str = nextcord.SlashOption(
            name="preset",
            description="What the dashboard shows",
            choices={label: key for key, label in PRESET_LABELS.items()},
        ),
        channel: nextcord.TextChannel = nextcord.SlashOption(  # noqa: B008
            description="Where to post it (default: here)", required=False, default=None
        ),
        name: str = nextcord.SlashOption(
            description="A name for /dashboard list", required=False, max_length=100, default=""
        ),
    ) -> None:
        assert interaction.guild_id is not None  # checks.manage_guild: inside a server
        if preset_name not in PRESET_LABELS:
            raise UserError(f"Unknown preset {preset_name!r}; pick one of the choices.")
        channel_id = channel.id if channel is not None else interaction.channel_id
        assert channel_id is not None
        try:
            record = await self.service.create(
                interaction.guild_id,
                channel_id,
                name or PRESET_LABELS[preset_name],
                preset(preset_name),
                interaction.user.id,
            )
        except ValueError as exc:  # the server's cap, or a metric monitoring never writes
            raise UserError(str(exc)) from None
        await answer(
            interaction,
            f"Dashboard #{record.id} ({record.name}) is being posted in <#{channel_id}>; "
            "it updates itself when its data changes.",
        )

    def _own(self, interaction: nextcord.Interaction, dashboard_id: int) -> None:
        """UserError unless dashboard `dashboard_id` belongs to this server."""
        record = self.service.records.get(dashboard_id)
        if record is None or record.guild_id != interaction.guild_id:
            raise UserError(f"This server has no dashboard #{dashboard_id} (see /dashboard list).")

    @checks.manager_subcommand(dashboard, "remove", "Delete a dashboard and its message.")
    async def remove(self, interaction: nextcord.Interaction, dashboard_id: int = ID) -> None:
        self._own(interaction, dashboard_id)
        await interaction.response.defer(ephemeral=True)
        record = await self.service.remove(dashboard_id, interaction.user.id)
        await answer(
            interaction, f"Dashboard #{dashboard_id} ({record.name if record else '?'}) removed."
        )

    @checks.manager_subcommand(dashboard, "refresh", "Update a dashboard now.")
    async def refresh(self, interaction: nextcord.Interaction, dashboard_id: int = ID) -> None:
        self._own(interaction, dashboard_id)
        self.service.scheduler.request(dashboard_id, force=True)
        await answer(
            interaction, f"Dashboard #{dashboard_id} will be updated within a few seconds."
        )
