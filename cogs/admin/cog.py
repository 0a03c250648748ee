"""`/guild approve|reject|list` for the bot's owners and `/web` for a sign-in link."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

import nextcord
from nextcord.ext import commands

from bot import checks
from bot.answers import answer
from bot.errors import UserError
from bot.guild_objects import parse_snowflake
from bot.guild_settings import SettingSpec
from bot.models import GUILD_PENDING

if TYPE_CHECKING:
    from bot.client import FoundryBot
    from bot.models import GuildRecord

log = logging.getLogger(__name__)

SETTINGS = (
    SettingSpec(
        name="web_links",
        label="Sign-in links",
        type="bool",
        default=True,
        help="Let members with Manage Server get a web editor sign-in link with /web here.",
    ),
)
WEB_NEEDS_MANAGE = (
    "You need the Manage Server permission in this server to open its settings in the web "
    "editor, so no sign-in link was made. Ask a server admin, or run /web in a server you manage."
)
WEB_LINKS_OFF = (
    "Sign-in links are turned off in this server (web editor: Settings > Sign-in links). "
    "Run /web in another server, or ask an admin to turn them back on."
)


def guild_list_text(records: Sequence[GuildRecord], retention_days: int) -> str:
    """`/guild list`: the servers the bot is in, those waiting for approval, and those it
    left (with when, and until when their data is kept), each group apart."""
    present = [r for r in records if r.left_at is None]
    active = [r for r in present if r.status != GUILD_PENDING]
    pending = [r for r in present if r.status == GUILD_PENDING]
    left = sorted((r for r in records if r.left_at is not None), key=lambda r: r.left_at)
    lines = [f"The bot is in {len(present)} server(s)."]
    if active:
        lines += ["", "**Approved**"]
        lines += [f"`{r.id}` **{r.name}**: {r.status}" for r in active]
    if pending:
        lines += ["", "**Waiting for approval**"]
        lines += [f"`{r.id}` **{r.name}**: {r.status}" for r in pending]
    if left:
        lines += ["", "**Left**"]
        for r in left:
            assert r.left_at is not None
            line = f"`{r.id}` **{r.name}**: left {r.left_at:%Y-%m-%d} (was {r.status})"
            if retention_days > 0:
                until = r.left_at + timedelta(days=retention_days)
                line += f", data kept until {until:%Y-%m-%d}"
            lines.append(line)
    return "\n".join(lines)


NEEDS_OWNER = "Only the bot's owners can manage servers."
NOT_A_GUILD_ID = "Give a server id (a number of 17-19 digits), or run this inside the server."
# The `guild_id` option of /guild approve|reject (nextcord only reads it, so one serves both).
SERVER = nextcord.SlashOption(description="Server id (default: this server)", required=False)


def parse_guild_id(raw: str) -> int | None:
    """A server id from command text (ASCII digits, a signed 64-bit id), else None."""
    value = parse_snowflake(raw)
    return value if value is not None and value >= 10**14 else None


class AdminCog(commands.Cog):
    # Works in guilds that are still pending: this is how they get approved.
    always_allowed = True

    def __init__(self, bot: FoundryBot) -> None:
        self.bot = bot

    def _is_owner(self, interaction: nextcord.Interaction) -> bool:
        return interaction.user is not None and (
            interaction.user.id in self.bot.services.settings.owner_ids
        )

    def _require_owner(self, interaction: nextcord.Interaction) -> None:
        if not self._is_owner(interaction):
            raise UserError(NEEDS_OWNER)

    @nextcord.slash_command(name="guild", description="Approve or reject servers (bot owners).")
    async def guild(self, interaction: nextcord.Interaction) -> None:
        """Parent of the /guild subcommands."""

    @guild.subcommand(name="list", description="Servers the bot is in and their approval state.")
    async def guild_list(self, interaction: nextcord.Interaction) -> None:
        self._require_owner(interaction)
        records = await self.bot.services.guild_access.list()
        if not records:
            text = "No servers yet."
        else:
            retention = self.bot.services.settings.left_guild_retention_days
            text = guild_list_text(records, retention)
        await answer(interaction, text[:2000])

    @guild.subcommand(name="approve", description="Let a server use FoundryCord.")
    async def guild_approve(
        self, interaction: nextcord.Interaction, guild_id: str = SERVER
    ) -> None:
        await self._decide(interaction, guild_id, approve=True)

    @guild.subcommand(name="reject", description="Refuse a server; the bot leaves it.")
    async def guild_reject(self, interaction: nextcord.Interaction, guild_id: str = SERVER) -> None:
        await self._decide(interaction, guild_id, approve=False)

    async def _decide(
        self, interaction: nextcord.Interaction, raw_id: str | None, *, approve: bool
    ) -> None:
        if not self._is_owner(interaction):
            raise UserError("Only the bot's owners can approve or reject servers.")
        target = parse_guild_id(raw_id) if raw_id else interaction.guild_id
        if target is None:
            raise UserError(NOT_A_GUILD_ID)
        access = self.bot.services.guild_access
        record = await access.get(target)
        if record is None or record.left_at is not None:
            raise UserError(f"The bot is not in a server with id {target}.")
        if approve:
            await access.approve(target, interaction.user.id)
            await answer(interaction, f"Server `{target}` approved.")
            return
        # Answer before deciding: rejecting the current server makes the bot leave it.
        await answer(interaction, f"Server `{target}` rejected; the bot is leaving it.")
        await access.reject(target, interaction.user.id)

    @nextcord.slash_command(name="web", description="Get a one-time link to the web editor.")
    async def web(self, interaction: nextcord.Interaction) -> None:
        context = getattr(self.bot, "web_context", None)
        if context is None or not self.bot.services.settings.web_enabled:
            raise UserError("The web editor is turned off on this bot (WEB_ENABLED=false).")
        guild_id = interaction.guild_id
        owner = interaction.user.id in self.bot.services.settings.owner_ids
        # As the setting's help says: links in a server are for its managers (the web
        # editor would show them nothing else). In a DM, the editor lists only the
        # servers the user manages, checked live on every page.
        if guild_id is not None and not owner and not checks.has_manage_guild(interaction):
            raise UserError(WEB_NEEDS_MANAGE)
        if guild_id is not None and not await self.bot.services.guild_settings.get(
            guild_id, "web_links"
        ):
            raise UserError(WEB_LINKS_OFF)
        link = await context.signin.issue(interaction.user.id)
        await answer(
            interaction,
            f"Your sign-in link (single use, valid 10 minutes): {link}",
            suppress_embeds=True,  # a link preview would fetch, and so spend, the link
        )
