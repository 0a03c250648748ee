"""The driver acts as members against a real nextcord bot and waits for its answers."""

from __future__ import annotations

import asyncio
import inspect

import nextcord
import pytest
from nextcord.ext import commands

from sandbox.driver import MemberDriver, SandboxDriver
from sandbox.server import SandboxServer
from sandbox.state import Guild
from tests.sandbox.conftest import DEMO, BotStarter, make_bot


@pytest.fixture
def driver(sandbox: SandboxServer) -> SandboxDriver:
    return SandboxDriver(sandbox, timeout=5.0)


def test_load_and_lookups(driver: SandboxDriver) -> None:
    [guild] = driver.load(DEMO)
    bob = driver.member("bob")
    assert bob.guild is guild
    assert bob.member.roles == [guild.role("Mod").id]
    assert driver.channel("#general").id == guild.channel("general").id
    assert driver.guild().name == "Demo"
    with pytest.raises(LookupError, match="No member called 'zed'"):
        driver.member("zed")
    with pytest.raises(LookupError, match="No channel called #nowhere"):
        driver.channel("nowhere")


async def test_say_returns_the_bots_reply(
    driver: SandboxDriver, demo: Guild, nextcord_bot: commands.Bot
) -> None:
    reply = await driver.member("alice").say("general", "!ping")
    assert reply.content == "pong"
    assert reply.author.id == driver.server.bot_user_id
    asked = int(reply.message_reference["message_id"])
    assert driver.server.state.message(reply.channel_id, asked).content == "!ping"
    sent = driver.calls(route="/channels/{channel_id}/messages", method="POST")
    assert [c["json"]["content"] for c in sent] == ["pong"]
    assert driver.calls(method="DELETE") == []


async def test_wait_for_reply_only_takes_newer_bot_messages(
    driver: SandboxDriver, demo: Guild, nextcord_bot: commands.Bot
) -> None:
    alice = driver.member("alice")
    first = await alice.say("general", "!ping")
    asked = alice.post("general", "!ping")
    second = await driver.wait_for_reply("general", after=asked)
    assert second.id > first.id
    assert await driver.wait_for_reply("general") is first


async def test_slash_command_with_subcommand_and_options(
    driver: SandboxDriver, demo: Guild, start_bot: BotStarter
) -> None:
    bot = make_bot()

    @bot.slash_command(name="dice", description="Dice")
    async def dice(interaction: nextcord.Interaction) -> None:
        """Parent."""

    @dice.subcommand(name="roll", description="Roll some dice")
    async def roll(
        interaction: nextcord.Interaction,
        sides: int = nextcord.SlashOption(description="sides"),
        secret: bool = nextcord.SlashOption(description="only me", default=False),
    ) -> None:
        await interaction.response.send_message(f"d{sides} by {interaction.user}", ephemeral=secret)

    await start_bot(bot)
    await driver.server.wait_for_command("dice")
    carol = driver.member("carol")
    public = await carol.run("dice roll", {"sides": 20}, channel="general")
    assert (public.type, public.content, public.ephemeral) == (4, "d20 by carol", False)
    secret = await carol.run("/dice roll", {"sides": 6, "secret": True}, channel="general")
    assert secret.ephemeral and secret.content == "d6 by carol"
    assert secret.message.interaction_metadata["user"]["id"] == str(carol.id)


async def test_options_named_like_the_drivers_own_parameters(
    driver: SandboxDriver, demo: Guild, start_bot: BotStarter
) -> None:
    """Regression: ``run(..., channel=...)`` once took options as ``**kwargs``, so a command
    with a ``channel`` option (``/alert add``) failed with "multiple values for 'channel'"."""
    bot = make_bot()

    @bot.slash_command(name="echo", description="Echoes its options")
    async def echo(
        interaction: nextcord.Interaction,
        command: str = nextcord.SlashOption(description="d"),
        options: str = nextcord.SlashOption(description="d"),
        channel: nextcord.abc.GuildChannel = nextcord.SlashOption(description="d"),  # noqa: B008
        timeout: int = nextcord.SlashOption(description="d"),
    ) -> None:
        await interaction.response.send_message(f"{command} {options} #{channel} {timeout}")

    await start_bot(bot)
    await driver.server.wait_for_command("echo")
    own = set(inspect.signature(MemberDriver.run).parameters)
    own |= set(inspect.signature(MemberDriver.invoke).parameters)
    own.discard("self")
    values: dict[str, object] = {
        "command": "c",
        "options": "o",
        "channel": demo.channel("rules").id,
        "timeout": 7,
    }
    assert own <= set(values), "every driver parameter needs an option of that name here"
    answer = await driver.member("carol").run("echo", values, channel="general", timeout=5)
    assert answer.content == "c o #rules 7"
    assert answer.message is not None
    assert answer.message.channel_id == demo.channel("general").id


async def test_deferred_answer_waits_for_the_follow_up(
    driver: SandboxDriver, demo: Guild, start_bot: BotStarter
) -> None:
    bot = make_bot()
    release = asyncio.Event()

    @bot.slash_command(name="slow", description="Thinks first")
    async def slow(interaction: nextcord.Interaction) -> None:
        await interaction.response.defer()
        await release.wait()
        await interaction.followup.send("done thinking")

    await start_bot(bot)
    await driver.server.wait_for_command("slow")
    running = asyncio.create_task(driver.member("bob").run("slow", channel="general"))
    await driver.server.wait_for_call(
        route="/interactions/{interaction_id}/{interaction_token}/callback"
    )
    assert not running.done()
    release.set()
    answer = await running
    assert answer.type == 5
    assert answer.content == "done thinking"


async def test_press_choose_and_submit(
    driver: SandboxDriver, demo: Guild, start_bot: BotStarter
) -> None:
    bot = make_bot()

    class Ideas(nextcord.ui.Modal):
        def __init__(self) -> None:
            super().__init__("Your idea", custom_id="ideas")
            self.idea = nextcord.ui.TextInput(label="Idea", custom_id="idea")
            self.add_item(self.idea)

        async def callback(self, interaction: nextcord.Interaction) -> None:
            await interaction.response.send_message(f"noted: {self.idea.value}", ephemeral=True)

    class Panel(nextcord.ui.View):
        @nextcord.ui.button(label="Count", custom_id="count")
        async def count(
            self, button: nextcord.ui.Button, interaction: nextcord.Interaction
        ) -> None:
            await interaction.response.edit_message(content=f"pressed by {interaction.user}")

        @nextcord.ui.select(
            custom_id="colour",
            options=[nextcord.SelectOption(label=c) for c in ("red", "green", "blue")],
            max_values=2,
        )
        async def colour(
            self, select: nextcord.ui.Select, interaction: nextcord.Interaction
        ) -> None:
            await interaction.response.send_message("chose " + "+".join(select.values))

        @nextcord.ui.button(label="Idea", custom_id="idea")
        async def idea(self, button: nextcord.ui.Button, interaction: nextcord.Interaction) -> None:
            await interaction.response.send_modal(Ideas())

    @bot.command()
    async def panel(ctx: commands.Context) -> None:
        await ctx.send("panel", view=Panel())

    await start_bot(bot)
    bob = driver.member("bob")
    panel_message = await bob.say("general", "!panel")
    pressed = await bob.press(panel_message, "count")
    assert pressed.type == 7 and pressed.message is panel_message
    assert panel_message.content == "pressed by bob"
    chosen = await bob.choose(panel_message.id, "colour", "red", "blue")
    assert chosen.content == "chose red+blue"
    opened = await bob.press(panel_message, "idea")
    assert opened.modal is not None and opened.modal["title"] == "Your idea"
    submitted = await bob.submit(opened, idea="a rack dashboard")
    assert submitted.ephemeral and submitted.content == "noted: a rack dashboard"
    with pytest.raises(ValueError, match="not answer that interaction with a modal"):
        await bob.submit(chosen, idea="x")


async def test_timeouts_name_what_they_waited_for(
    driver: SandboxDriver, demo: Guild, start_bot: BotStarter
) -> None:
    bot = make_bot()

    @bot.slash_command(name="silent", description="Never answers")
    async def silent(interaction: nextcord.Interaction) -> None:
        return None

    await start_bot(bot)
    await driver.server.wait_for_command("silent")
    alice = driver.member("alice")
    with pytest.raises(TimeoutError, match=r"did not answer /silent \(run by alice in #general\)"):
        await alice.run("silent", channel="general", timeout=0.2)
    with pytest.raises(TimeoutError, match="did not reply in #general"):
        await alice.say("general", "nobody listens", timeout=0.2)
    with pytest.raises(KeyError, match="has not registered a command 'nope'"):
        await alice.run("nope", channel="general")
