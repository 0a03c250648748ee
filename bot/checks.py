"""The one guard for commands that change a server: Manage Server, checked against the
member's live permissions in that guild.

    @template.subcommand(name="apply")
    @checks.manage_guild()
    async def apply(self, interaction, ...): ...

or, for a subcommand, both in one line: `@checks.manager_subcommand(template, "apply", "...")`.

A refused member gets `NEEDS_MANAGE_GUILD` privately through `bot.errors`. For component
callbacks (buttons, selects), call `require_manage_guild(interaction)`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import nextcord
from nextcord.ext import application_checks

from bot.errors import UserCheckFailure, UserError

T = TypeVar("T")

NEEDS_MANAGE_GUILD = "You need the Manage Server permission in this server to do that."
GUILD_ONLY = "This works only inside a server."


def has_manage_guild(interaction: nextcord.Interaction) -> bool:
    """Whether the member who interacted has Manage Server in the interaction's guild."""
    if interaction.guild_id is None:
        return False
    perms = getattr(interaction.user, "guild_permissions", None)
    return bool(perms is not None and perms.manage_guild)


def require_manage_guild(interaction: nextcord.Interaction) -> int:
    """The guild id, or UserError when outside a server or without Manage Server."""
    if interaction.guild_id is None:
        raise UserError(GUILD_ONLY)
    if not has_manage_guild(interaction):
        raise UserError(NEEDS_MANAGE_GUILD)
    return interaction.guild_id


def manager_command(name: str, description: str) -> Callable[[Any], Any]:
    """A slash command (the parent of subcommands) for server managers: offered only inside
    servers, and by default only to members with Manage Server (a server may widen that in
    its Integrations settings, so each subcommand still carries `manage_guild()`)."""
    return nextcord.slash_command(
        name=name,
        description=description,
        default_member_permissions=nextcord.Permissions(manage_guild=True),
        contexts=[nextcord.InteractionContextType.guild],
    )


def manager_subcommand(parent: Any, name: str, description: str) -> Callable[[Any], Any]:
    """A subcommand of `parent` guarded by `manage_guild()`: declared and guarded in one line,
    so no subcommand of a manager group goes without the check."""

    def declare(callback: Any) -> Any:
        return parent.subcommand(name=name, description=description)(manage_guild()(callback))

    return declare


def manage_guild() -> Callable[[T], T]:
    """A slash-command check: Manage Server in the guild where the command runs."""

    def predicate(interaction: nextcord.Interaction) -> bool:
        if interaction.guild_id is None:
            raise UserCheckFailure(GUILD_ONLY)
        if not has_manage_guild(interaction):
            raise UserCheckFailure(NEEDS_MANAGE_GUILD)
        return True

    return application_checks.check(predicate)
