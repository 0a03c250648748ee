"""`bot.answers.answer`: private, nothing pings, and after a private defer it fills the
deferred message instead of answering twice."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import nextcord
from nextcord.ext import commands

from bot import checks
from bot.answers import answer


class Recorder:
    """An interaction stand-in that records how it was answered."""

    def __init__(self, *, done: bool) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        self.response = SimpleNamespace(is_done=lambda: done, send_message=self._send)

    async def _send(self, *args: Any, **kwargs: Any) -> None:
        self.calls.append(("send_message", args, kwargs))

    async def edit_original_message(self, *args: Any, **kwargs: Any) -> None:
        self.calls.append(("edit_original_message", args, kwargs))


async def test_a_first_answer_is_an_ephemeral_response_that_pings_nobody() -> None:
    interaction = Recorder(done=False)
    embed = nextcord.Embed(title="t")
    await answer(interaction, "Saved.", embed=embed)  # type: ignore[arg-type]
    [(method, args, kwargs)] = interaction.calls
    assert method == "send_message" and args == ("Saved.",)
    assert kwargs["ephemeral"] is True and kwargs["embed"] is embed
    assert kwargs["allowed_mentions"].to_dict() == {"parse": []}


async def test_after_a_defer_the_answer_fills_the_deferred_message() -> None:
    interaction = Recorder(done=True)
    await answer(interaction, "Imported.")  # type: ignore[arg-type]
    [(method, _, kwargs)] = interaction.calls
    assert method == "edit_original_message" and kwargs["content"] == "Imported."
    assert kwargs["allowed_mentions"].to_dict() == {"parse": []}


def test_a_manager_subcommand_is_declared_with_the_one_guard() -> None:
    class Gadgets(commands.Cog):
        @checks.manager_command("gadget", "Gadgets.")
        async def gadget(self, interaction: nextcord.Interaction) -> None:
            """Parent."""

        @checks.manager_subcommand(gadget, "add", "Add a gadget.")
        async def add(self, interaction: nextcord.Interaction) -> None:
            """Child."""

    cog = Gadgets()
    gadget = cog.gadget
    assert gadget.default_member_permissions == nextcord.Permissions(manage_guild=True)
    assert gadget.contexts == [nextcord.InteractionContextType.guild]
    add = gadget.children["add"]
    assert add.description == "Add a gadget." and len(add.checks) == 1
