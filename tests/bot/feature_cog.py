"""A stand-in feature extension for the guild-approval tests: one slash command."""

import nextcord
from nextcord.ext import commands


class FeatureCog(commands.Cog):
    @nextcord.slash_command(name="ping", description="Answers pong.")
    async def ping(self, interaction: nextcord.Interaction) -> None:
        await interaction.response.send_message("pong")

    @commands.command(name="ping")
    async def ping_prefix(self, ctx: commands.Context) -> None:
        await ctx.send("pong")


def setup(bot: commands.Bot) -> None:
    bot.add_cog(FeatureCog())
