"""One kind of error a member sees, and the one handler that answers it.

Command code and the helpers it calls raise `UserError("what is wrong and how to fix it")`
instead of replying and returning a sentinel; the handler installed by `install_error_handler`
answers privately (ephemeral), whether or not the interaction was already acknowledged.
Anything else is logged with its traceback and the member gets a short apology."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import nextcord
from nextcord.errors import ApplicationCheckFailure, ApplicationInvokeError
from nextcord.ext import commands

from bot.mentions import no_mentions

log = logging.getLogger(__name__)

FAILED = "Something went wrong; the error has been logged."
PRIVATE_ANSWER = "That did not work; you were told why privately."


class UserError(Exception):
    """A problem the member can fix, told to them as this sentence (ephemeral)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UserCheckFailure(ApplicationCheckFailure):
    """A check refused the command; its text is shown to the member."""


def user_message(error: BaseException) -> str | None:
    """The sentence to show for `error`, or None when it is a fault to log."""
    if isinstance(error, ApplicationInvokeError):
        error = error.original
    if isinstance(error, UserError):
        return error.message
    if isinstance(error, ApplicationCheckFailure):
        return str(error) or "You cannot use this command."
    return None


async def reply_privately(interaction: nextcord.Interaction, text: str) -> None:
    """Answer `interaction` with an ephemeral message, as a follow-up if already answered."""
    try:
        if interaction.response.is_done():
            if not await _public_thinking(interaction):
                await interaction.followup.send(
                    text, ephemeral=True, allowed_mentions=no_mentions()
                )
                return
            # End the public "thinking..." first, so the private answer is a message of its
            # own; then take the public one away.
            await interaction.edit_original_message(
                content=PRIVATE_ANSWER, allowed_mentions=no_mentions()
            )
            await interaction.followup.send(text, ephemeral=True, allowed_mentions=no_mentions())
            await interaction.delete_original_message()
        else:
            await interaction.response.send_message(
                text, ephemeral=True, allowed_mentions=no_mentions()
            )
    except nextcord.HTTPException as exc:
        log.warning("Could not answer an interaction: %s", exc)


async def _public_thinking(interaction: nextcord.Interaction) -> bool:
    """Whether the answer so far is a public `defer()` ("thinking..."): Discord turns the
    first follow-up into that message, public whatever the follow-up's own flags say."""
    try:
        original = await interaction.original_message()
    except nextcord.HTTPException:
        return False  # no original message (a component's deferred update)
    return bool(original.flags.loading and not original.flags.ephemeral)


async def answer_error(interaction: nextcord.Interaction, error: BaseException) -> None:
    """What the one handler does: a user error is told, anything else logged."""
    message = user_message(error)
    if message is None:
        original = getattr(error, "original", error)
        log.error("Command failed", exc_info=(type(original), original, original.__traceback__))
        message = FAILED
    await reply_privately(interaction, message)


def guarded(
    handler: Callable[[nextcord.Interaction], Awaitable[None]],
) -> Callable[[nextcord.Interaction], Awaitable[None]]:
    """Wrap a component callback (button, select) so a UserError it raises is told
    privately and anything else is logged, as the slash-command handler does."""

    async def run(interaction: nextcord.Interaction) -> None:
        try:
            await handler(interaction)
        except Exception as exc:  # every failure gets an answer
            await answer_error(interaction, exc)

    return run


def install_error_handler(bot: commands.Bot | commands.AutoShardedBot) -> None:
    """The one handler of slash-command and prefix-command errors."""

    async def on_application_command_error(
        interaction: nextcord.Interaction, error: Exception
    ) -> None:
        await answer_error(interaction, error)

    # Replace, not add: nextcord's default `Client.on_application_command_error`
    # (nextcord/client.py, 3.2 lines 601-628) still runs beside any listener and prints
    # every error's traceback to stderr, UserErrors included (unlike on_command_error, it
    # does not check for listeners). The instance attribute takes its place in dispatch.
    bot.on_application_command_error = on_application_command_error  # type: ignore[method-assign]

    async def on_command_error(ctx: commands.Context, error: Exception) -> None:
        if isinstance(error, commands.CommandNotFound):
            return
        if isinstance(error, commands.CommandInvokeError) and isinstance(error.original, UserError):
            error = error.original
        if isinstance(error, UserError | commands.CheckFailure):
            await ctx.reply(
                str(error) or "You cannot use this command.",
                mention_author=False,
                allowed_mentions=no_mentions(),
            )
            return
        log.error("Command failed", exc_info=(type(error), error, error.__traceback__))

    bot.add_listener(on_command_error, "on_command_error")
