"""Keeps feature commands out of guilds an owner has not approved, and tells a pending
guild once why the bot is quiet."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

import nextcord
from nextcord.errors import ApplicationCheckFailure
from nextcord.ext import commands

from bot.cluster import Cluster
from bot.errors import install_error_handler
from bot.guild_access import GuildAccess
from bot.mentions import no_mentions
from bot.models import GUILD_APPROVED, GUILD_PENDING, GUILD_REJECTED
from bot.shards import client_owns_guild
from bot.startup import StartupWork

log = logging.getLogger(__name__)

PENDING_NOTICE = (
    "Hi! Thanks for adding **FoundryCord**. This bot is self-hosted, and its owner must "
    "approve a new server before its commands work here. The owner has been asked to; "
    "once approved, everything is available straight away."
)
PENDING_REPLY = (
    "This server is waiting for the bot owner's approval, so FoundryCord's commands are "
    "not available here yet."
)


class GuildNotApproved(ApplicationCheckFailure):
    """A feature command was used in a guild that is not approved."""


def is_always_allowed(interaction: nextcord.Interaction) -> bool:
    """Commands of a cog marked `always_allowed` (guild approval, web sign-in) work anywhere."""
    command = interaction.application_command
    cog = getattr(command, "parent_cog", None)
    return bool(getattr(cog, "always_allowed", False))


def install_guild_gate(
    bot: commands.Bot | commands.AutoShardedBot, access: GuildAccess, startup: StartupWork
) -> None:
    """Gate commands on approval, and admit each guild as it arrives; admissions and the
    reconciliation at READY count as `startup` work."""

    async def approved_guild_only(interaction: nextcord.Interaction) -> bool:
        if interaction.guild_id is None or is_always_allowed(interaction):
            return True
        if await access.status(interaction.guild_id) == GUILD_APPROVED:
            return True
        raise GuildNotApproved(PENDING_REPLY)

    cluster = bot.services.cluster  # type: ignore[union-attr]

    async def on_guild_join(guild: nextcord.Guild) -> None:
        await startup.run(admit(access, guild, cluster))

    async def on_guild_available(guild: nextcord.Guild) -> None:
        await startup.run(admit(access, guild, cluster))

    async def on_ready() -> None:
        await startup.run(
            reconcile(access, bot.guilds, owned=lambda guild_id: client_owns_guild(bot, guild_id))
        )

    async def on_guild_remove(guild: nextcord.Guild) -> None:
        await guild_removed(access, guild)
        try:
            await cluster.release(guild.id)
        except Exception:
            log.exception("Could not release guild %s in the process table", guild.id)

    async def approved_guild_only_for_prefix(ctx: commands.Context) -> bool:
        # Prefix commands (the bot answers @mentions) pass the same gate.
        if ctx.guild is None or getattr(ctx.cog, "always_allowed", False):
            return True
        if await access.status(ctx.guild.id) == GUILD_APPROVED:
            return True
        raise commands.CheckFailure(PENDING_REPLY)

    bot.add_application_command_check(approved_guild_only)
    bot.add_check(approved_guild_only_for_prefix)

    install_error_handler(bot)
    bot.add_listener(on_guild_join, "on_guild_join")
    bot.add_listener(on_guild_available, "on_guild_available")
    bot.add_listener(on_ready, "on_ready")
    bot.add_listener(on_guild_remove, "on_guild_remove")


async def reconcile(
    access: GuildAccess,
    guilds: Iterable[nextcord.Guild],
    *,
    owned: Callable[[int], bool] | None = None,
) -> None:
    """At READY (each new session): guilds recorded as present that the bot is not in any
    more (removed while it was offline) are marked as left. A guild in an outage is still
    among ``bot.guilds``, as unavailable, so it is not counted as gone. ``owned`` limits it
    to this process's shards: the other processes' guilds are theirs to reconcile."""
    try:
        await access.reconcile((g.id for g in guilds), owned=owned)
    except Exception:  # the bot keeps running; the next READY tries again
        log.exception("Could not reconcile the guild records with the guilds the bot is in")


async def guild_removed(access: GuildAccess, guild: nextcord.Guild) -> None:
    """The bot was removed from a guild, or left it. An outage is not a removal, but needs no
    check here: nextcord turns GUILD_DELETE with `unavailable` into on_guild_unavailable, and
    only a real removal into on_guild_remove (whose guild may still say `unavailable` if an
    outage came first)."""
    try:
        await access.left(guild.id)
    except Exception:
        log.exception("Could not record leaving guild %s (%s)", guild.name, guild.id)


async def admit(access: GuildAccess, guild: nextcord.Guild, cluster: Cluster | None = None) -> None:
    """Record a guild (and that this process holds it); leave it if rejected, tell it once
    if pending."""
    record = await access.joined(guild.id, guild.name)
    if cluster is not None:
        await cluster.hold(guild.id)
    if record.status == GUILD_REJECTED:
        log.info("Leaving rejected guild %s (%s)", guild.name, guild.id)
        await guild.leave()
    elif record.status == GUILD_PENDING and await access.mark_notice_sent(guild.id):
        channel = notice_channel(guild)
        if channel is not None:
            try:
                await channel.send(PENDING_NOTICE, allowed_mentions=no_mentions())
            except nextcord.HTTPException as exc:
                log.warning("Could not post the approval notice in %s: %s", guild.name, exc)


def notice_channel(guild: nextcord.Guild) -> nextcord.TextChannel | None:
    me = guild.me
    candidates = [guild.system_channel, *sorted(guild.text_channels, key=lambda c: c.position)]
    for channel in candidates:
        if channel is not None and channel.permissions_for(me).send_messages:
            return channel
    return None
