"""Buttons: page through a template, confirm an apply (invoker only, expiring), cancel a job."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable

import nextcord

from bot.mentions import no_mentions

CANCEL_JOB_ID = "template:cancel-job"


CALLBACK = "/interactions/{interaction_id}/{interaction_token}/callback"
UPDATE_MESSAGE = 7


async def update_message(
    interaction: nextcord.Interaction,
    content: str | None = None,
    *,
    embed: nextcord.Embed | None = None,
    view: nextcord.ui.View | None = None,
) -> None:
    """Answer a button press by replacing its message (text, embed and buttons as given;
    what is not given is cleared). Through nextcord's own `edit_message`, so nextcord knows
    the press was answered (sent around it, nextcord's view acknowledged it a second time:
    400, code 40060); bot.mentions.install_update_default gives it allowed_mentions."""
    await interaction.response.edit_message(
        content=content,
        embeds=[embed] if embed is not None else [],
        view=view,
    )


class InvokerOnly(nextcord.ui.View):
    def __init__(self, invoker_id: int, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self.invoker_id = invoker_id

    async def interaction_check(self, interaction: nextcord.Interaction) -> bool:
        if interaction.user is not None and interaction.user.id == self.invoker_id:
            return True
        await interaction.response.send_message(
            "Only the person who ran the command can use these buttons.",
            ephemeral=True,
            allowed_mentions=no_mentions(),
        )
        return False


class Pages(InvokerOnly):
    def __init__(self, invoker_id: int, pages: list[nextcord.Embed]) -> None:
        super().__init__(invoker_id, timeout=300)
        self.pages = pages
        self.index = 0
        self._sync()

    def _sync(self) -> None:
        self.previous.disabled = self.index == 0
        self.next.disabled = self.index >= len(self.pages) - 1

    @nextcord.ui.button(label="Previous", custom_id="template:prev")
    async def previous(self, _: nextcord.ui.Button, interaction: nextcord.Interaction) -> None:
        self.index = max(0, self.index - 1)
        self._sync()
        await update_message(interaction, embed=self.pages[self.index], view=self)

    @nextcord.ui.button(label="Next", custom_id="template:next")
    async def next(self, _: nextcord.ui.Button, interaction: nextcord.Interaction) -> None:
        self.index = min(len(self.pages) - 1, self.index + 1)
        self._sync()
        await update_message(interaction, embed=self.pages[self.index], view=self)


class Confirm(InvokerOnly):
    """Confirm or Cancel; `on_confirm` runs once, and the buttons expire."""

    def __init__(
        self,
        invoker_id: int,
        on_confirm: Callable[[nextcord.Interaction], Awaitable[None]],
        *,
        timeout: float = 120,
    ) -> None:
        super().__init__(invoker_id, timeout=timeout)
        self.on_confirm = on_confirm
        self.origin: nextcord.Interaction | None = None

    @nextcord.ui.button(
        label="Confirm", style=nextcord.ButtonStyle.danger, custom_id="template:confirm"
    )
    async def confirm(self, _: nextcord.ui.Button, interaction: nextcord.Interaction) -> None:
        self.stop()
        await self.on_confirm(interaction)

    @nextcord.ui.button(label="Cancel", custom_id="template:abort")
    async def abort(self, _: nextcord.ui.Button, interaction: nextcord.Interaction) -> None:
        self.stop()
        await update_message(interaction, "Apply cancelled; nothing changed.")

    async def on_timeout(self) -> None:
        if self.origin is not None:
            with contextlib.suppress(nextcord.HTTPException):
                await self.origin.edit_original_message(
                    content="The confirmation expired; nothing changed.",
                    embed=None,
                    view=None,
                    allowed_mentions=no_mentions(),
                )


class CancelJob(nextcord.ui.View):
    """The Cancel button under a progress message; persistent, so it works after a restart."""

    def __init__(self, on_cancel: Callable[[nextcord.Interaction], Awaitable[None]]) -> None:
        super().__init__(timeout=None)
        self.on_cancel = on_cancel

    @nextcord.ui.button(label="Cancel apply", custom_id=CANCEL_JOB_ID)
    async def cancel(self, _: nextcord.ui.Button, interaction: nextcord.Interaction) -> None:
        await self.on_cancel(interaction)
