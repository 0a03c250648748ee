"""`/dashboard create|list|remove|refresh` for members with Manage Server, and the
listeners that keep the dashboards attached to their messages (ready, message deleted)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

import nextcord
from nextcord.ext import commands

from bot.mentions import no_mentions
from cogs.dashboards.presets import PRESET_LABELS, preset
from cogs.dashboards.render import fit_lines
from cogs.dashboards.service import DashboardService

if TYPE_CHECKING:
    from bot.client import FoundryBot

MANAGE_ONLY = "You need Manage Server to manage dashboards."


def _can_manage(interaction: nextcord.Interaction) -> bool:
    perms = getattr(interaction.user, "guild_permissions", None)
    return perms is not None and perms.manage_guild


class DashboardsCog(commands.Cog):
    def __init__(self, bot: FoundryBot, service: DashboardService) -> None:
        self.bot = bot
        self.service = service

    async def cog_stop(self) -> None:
        """Called by the bot process before it closes the database (bot/runtime.py)."""
        task = self.service._sync_task
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.service.in_flight:
            await asyncio.wait(set(self.service.in_flight), timeout=3)
        await self.service.scheduler.close()

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

    @nextcord.slash_command(
        name="dashboard",
        description="Live dashboards the bot keeps current.",
        default_member_permissions=nextcord.Permissions(manage_guild=True),
        contexts=[nextcord.InteractionContextType.guild],
    )
    async def dashboard(self, interaction: nextcord.Interaction) -> None:
        """Parent of the /dashboard subcommands."""

    @dashboard.subcommand(name="create", description="Post a dashboard from a preset.")
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
        if not _can_manage(interaction) or interaction.guild_id is None:
            await interaction.response.send_message(
                MANAGE_ONLY, ephemeral=True, allowed_mentions=no_mentions()
            )
            return
        if preset_name not in PRESET_LABELS:
            await interaction.response.send_message(
                f"Unknown preset {preset_name!r}; pick one of the choices.",
                ephemeral=True,
                allowed_mentions=no_mentions(),
            )
            return
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
        except ValueError as exc:
            await interaction.response.send_message(
                str(exc), ephemeral=True, allowed_mentions=no_mentions()
            )
            return
        await interaction.response.send_message(
            f"Dashboard #{record.id} ({record.name}) is being posted in <#{channel_id}>; "
            "it updates itself when its data changes.",
            ephemeral=True,
            allowed_mentions=no_mentions(),
        )

    @dashboard.subcommand(name="list", description="This server's dashboards.")
    async def list_(self, interaction: nextcord.Interaction) -> None:
        if not _can_manage(interaction) or interaction.guild_id is None:
            await interaction.response.send_message(
                MANAGE_ONLY, ephemeral=True, allowed_mentions=no_mentions()
            )
            return
        records = await self.service.store.list(interaction.guild_id)
        lines = [
            f"#{r.id} **{r.name}** in <#{r.channel_id}>"
            + (f" (stopped: {r.error})" if r.error else "")
            for r in records
        ] or ["No dashboards yet: /dashboard create adds one."]
        await interaction.response.send_message(
            fit_lines(lines, 2000), ephemeral=True, allowed_mentions=no_mentions()
        )

    async def _own(self, interaction: nextcord.Interaction, dashboard_id: int) -> bool:
        record = self.service.records.get(dashboard_id)
        if record is None or record.guild_id != interaction.guild_id:
            await interaction.response.send_message(
                f"This server has no dashboard #{dashboard_id} (see /dashboard list).",
                ephemeral=True,
                allowed_mentions=no_mentions(),
            )
            return False
        return True

    @dashboard.subcommand(name="remove", description="Delete a dashboard and its message.")
    async def remove(
        self,
        interaction: nextcord.Interaction,
        dashboard_id: int = nextcord.SlashOption(
            name="id", description="The number from /dashboard list", min_value=1
        ),
    ) -> None:
        if not _can_manage(interaction):
            await interaction.response.send_message(
                MANAGE_ONLY, ephemeral=True, allowed_mentions=no_mentions()
            )
            return
        if not await self._own(interaction, dashboard_id):
            return
        await interaction.response.defer(ephemeral=True)
        record = await self.service.remove(dashboard_id, interaction.user.id)
        await interaction.followup.send(
            f"Dashboard #{dashboard_id} ({record.name if record else '?'}) removed.",
            ephemeral=True,
            allowed_mentions=no_mentions(),
        )

    @dashboard.subcommand(name="refresh", description="Update a dashboard now.")
    async def refresh(
        self,
        interaction: nextcord.Interaction,
        dashboard_id: int = nextcord.SlashOption(
            name="id", description="The number from /dashboard list", min_value=1
        ),
    ) -> None:
        if not _can_manage(interaction):
            await interaction.response.send_message(
                MANAGE_ONLY, ephemeral=True, allowed_mentions=no_mentions()
            )
            return
        if not await self._own(interaction, dashboard_id):
            return
        self.service.scheduler.request(dashboard_id, force=True)
        await interaction.response.send_message(
            f"Dashboard #{dashboard_id} will be updated within a few seconds.",
            ephemeral=True,
            allowed_mentions=no_mentions(),
        )
