"""A stand-in feature extension for the core's end-to-end tests: `/ping`, a command guarded
by `bot.checks.manage_guild()`, and `/fail`, which fails in each way the one error handler
(bot.errors) must answer."""

import nextcord
from nextcord.ext import commands

from bot import checks
from bot.errors import UserError
from bot.mentions import no_mentions

USER_ERROR = "That server has no such thing; pick one from the list."
FAILURES = [
    "user",
    "user-after-defer",
    "user-after-public-defer",
    "user-after-answer",
    "crash",
    "crash-after-answer",
]


class Boom(RuntimeError):
    """An unexpected fault, as a bug would raise."""


class UpdateView(nextcord.ui.View):
    """A button whose press edits its own message (a type 7 callback)."""

    def __init__(self) -> None:
        super().__init__(timeout=None)

    @nextcord.ui.button(label="Update", custom_id="feature:update")
    async def update(self, button: nextcord.ui.Button, interaction: nextcord.Interaction) -> None:
        # nextcord's edit_message takes no allowed_mentions: bot.mentions adds one.
        await interaction.response.edit_message(content="updated @everyone", view=None)


class FeatureCog(commands.Cog):
    @nextcord.slash_command(name="ping", description="Answers pong.")
    async def ping(self, interaction: nextcord.Interaction) -> None:
        await interaction.response.send_message("pong", allowed_mentions=no_mentions())

    @commands.command(name="ping")
    async def ping_prefix(self, ctx: commands.Context) -> None:
        await ctx.send("pong", allowed_mentions=no_mentions())

    @nextcord.slash_command(name="manage", description="Needs Manage Server.")
    @checks.manage_guild()
    async def manage(self, interaction: nextcord.Interaction) -> None:
        await interaction.response.send_message(
            "managed", ephemeral=True, allowed_mentions=no_mentions()
        )

    @nextcord.slash_command(name="update", description="A message with an Update button.")
    async def update(self, interaction: nextcord.Interaction) -> None:
        await interaction.response.send_message(
            "press it", view=UpdateView(), allowed_mentions=no_mentions()
        )

    @nextcord.slash_command(name="fail", description="Fails on purpose.")
    async def fail(
        self,
        interaction: nextcord.Interaction,
        how: str = nextcord.SlashOption(choices=FAILURES),
    ) -> None:
        if how.endswith("after-defer"):
            await interaction.response.defer(ephemeral=True)
        elif how.endswith("after-public-defer"):
            await interaction.response.defer(ephemeral=False)
        elif how.endswith("after-answer"):
            await interaction.response.send_message(
                "working on it", ephemeral=True, allowed_mentions=no_mentions()
            )
        if how.startswith("user"):
            raise UserError(USER_ERROR)
        raise Boom("an unexpected fault")


def setup(bot: commands.Bot) -> None:
    bot.add_cog(FeatureCog())
