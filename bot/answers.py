"""The one way a command answers the member privately: ephemeral, with nothing that pings.

    await answer(interaction, "Saved.")  # the response
    await interaction.response.defer(ephemeral=True)  # slow work: defer privately first,
    ...
    await answer(interaction, "Imported.")  # then the answer fills the deferred message

Failures are not answered here: raise `bot.errors.UserError` and the one handler tells them."""

from __future__ import annotations

from typing import Any

import nextcord

from bot.mentions import no_mentions


async def answer(interaction: nextcord.Interaction, text: str | None = None, **kwargs: Any) -> None:
    """Answer privately with `text` (and `embed=`, `file=`, `view=`...): the interaction's
    response, or, once a private `defer()` took that place, the deferred message itself."""
    if interaction.response.is_done():
        await interaction.edit_original_message(
            content=text, allowed_mentions=no_mentions(), **kwargs
        )
        return
    await interaction.response.send_message(
        text, ephemeral=True, allowed_mentions=no_mentions(), **kwargs
    )
