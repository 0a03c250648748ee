"""A real nextcord client against the sandbox: connect, commands, components, resume."""

from __future__ import annotations

import asyncio

import nextcord
from nextcord.ext import commands

from bot.discord_http import use_corrected_http
from sandbox.server import SandboxServer
from sandbox.state import Guild
from tests.sandbox.conftest import BotStarter, make_bot


async def test_bot_connects_and_sees_the_guild(
    sandbox: SandboxServer, demo: Guild, nextcord_bot: commands.Bot
) -> None:
    guild = nextcord_bot.get_guild(demo.id)
    assert guild is not None
    assert guild.name == "Demo"
    assert {c.name for c in guild.channels} >= {"Info", "rules", "general", "Lounge", "ideas"}
    assert guild.me.guild_permissions.administrator
    assert nextcord_bot.user.id == sandbox.bot_user_id


async def test_prefix_command_is_answered(
    sandbox: SandboxServer, demo: Guild, nextcord_bot: commands.Bot
) -> None:
    general = demo.channel("general")
    asked = sandbox.post_message_as("alice", general, "!ping")
    call = await sandbox.wait_for_call(method="POST", route="/channels/{channel_id}/messages")
    assert call["status"] == 200
    reply = sandbox.state.channel_messages(general.id)[-1]
    assert reply.content == "pong"
    assert reply.author.id == sandbox.bot_user_id
    assert reply.message_reference["message_id"] == str(asked.id)


async def test_slash_command_with_options_is_answered(
    sandbox: SandboxServer, demo: Guild, start_bot: BotStarter
) -> None:
    bot = make_bot()

    @bot.slash_command(name="greet", description="Greet someone")
    async def greet(
        interaction: nextcord.Interaction,
        who: nextcord.Member = nextcord.SlashOption(description="whom"),  # noqa: B008
        times: int = nextcord.SlashOption(description="how often", default=1),
    ) -> None:
        await interaction.response.send_message(f"hello {who.name} x{times}")

    await start_bot(bot)
    command = await sandbox.wait_for_command("greet")
    assert command.options[0]["name"] == "who"
    general = demo.channel("general")
    inter = sandbox.invoke_command(
        "greet", user="alice", channel=general, options={"who": "bob", "times": 3}
    )
    await sandbox.wait_for_response(inter)
    assert inter.response_type == 4
    message = sandbox.state.channel_messages(general.id)[-1]
    assert message.content == "hello bob x3"
    assert message.id == inter.original_message_id
    assert message.interaction_metadata["id"] == str(inter.id)


async def test_deferred_then_followup_and_ephemeral(
    sandbox: SandboxServer, demo: Guild, start_bot: BotStarter
) -> None:
    bot = make_bot()

    @bot.slash_command(name="slow", description="Thinks first")
    async def slow(interaction: nextcord.Interaction) -> None:
        await interaction.response.defer()
        await interaction.followup.send("done thinking")
        await interaction.followup.send("just for you", ephemeral=True)

    await start_bot(bot)
    await sandbox.wait_for_command("slow")
    general = demo.channel("general")
    inter = sandbox.invoke_command("slow", user="alice", channel=general)
    await sandbox.wait_for_call(
        lambda c: (
            c["method"] == "POST"
            and c["route"] == "/webhooks/{webhook_id}/{webhook_token}"
            and (c["json"] or {}).get("flags") == 64
        )
    )
    assert inter.response_type == 5
    visible = sandbox.state.channel_messages(general.id)
    assert [m.content for m in visible] == ["done thinking"]
    assert visible[0].id == inter.original_message_id
    ephemeral = sandbox.state.ephemeral_messages[inter.followup_ids[0]]
    assert ephemeral.content == "just for you"


async def test_button_press_updates_the_message(
    sandbox: SandboxServer, demo: Guild, start_bot: BotStarter
) -> None:
    bot = make_bot()
    pressed: list[int] = []

    class Counter(nextcord.ui.View):
        @nextcord.ui.button(label="+1", custom_id="count")
        async def count(
            self, button: nextcord.ui.Button, interaction: nextcord.Interaction
        ) -> None:
            pressed.append(interaction.user.id)
            await interaction.response.edit_message(content=f"count {len(pressed)}")

    @bot.command()
    async def counter(ctx: commands.Context) -> None:
        await ctx.send("count 0", view=Counter())

    await start_bot(bot)
    general = demo.channel("general")
    sandbox.post_message_as("alice", general, "!counter")
    call = await sandbox.wait_for_call(method="POST", route="/channels/{channel_id}/messages")
    message = sandbox.state.message(general.id, int(call["response"]["id"]))
    assert message.components[0]["components"][0]["custom_id"] == "count"
    bob = demo.member("bob")
    inter = sandbox.click_button(message, "count", user=bob)
    await sandbox.wait_for_response(inter)
    assert inter.response_type == 7
    assert pressed == [bob.user.id]
    assert message.content == "count 1"
    update = await sandbox.wait_for_dispatch("MESSAGE_UPDATE", since=0)
    assert update["data"]["content"] == "count 1"


async def test_select_menu_values_reach_the_view(
    sandbox: SandboxServer, demo: Guild, start_bot: BotStarter
) -> None:
    bot = make_bot()
    chosen: list[list[str]] = []

    class Picker(nextcord.ui.View):
        @nextcord.ui.select(
            custom_id="colour",
            options=[nextcord.SelectOption(label=c, value=c) for c in ("red", "green", "blue")],
            max_values=2,
        )
        async def pick(self, select: nextcord.ui.Select, interaction: nextcord.Interaction) -> None:
            chosen.append(list(select.values))
            await interaction.response.send_message(f"you chose {', '.join(select.values)}")

    @bot.command()
    async def picker(ctx: commands.Context) -> None:
        await ctx.send("pick", view=Picker())

    await start_bot(bot)
    general = demo.channel("general")
    sandbox.post_message_as("alice", general, "!picker")
    call = await sandbox.wait_for_call(method="POST", route="/channels/{channel_id}/messages")
    inter = sandbox.select_values(
        int(call["response"]["id"]), "colour", ["red", "blue"], user="carol"
    )
    await sandbox.wait_for_response(inter)
    assert chosen == [["red", "blue"]]
    assert sandbox.state.channel_messages(general.id)[-1].content == "you chose red, blue"


async def test_modal_round_trip(sandbox: SandboxServer, demo: Guild, start_bot: BotStarter) -> None:
    bot = make_bot()
    received: list[str] = []

    class Feedback(nextcord.ui.Modal):
        def __init__(self) -> None:
            super().__init__("Feedback", custom_id="feedback")
            self.text = nextcord.ui.TextInput(label="Your idea", custom_id="idea")
            self.add_item(self.text)

        async def callback(self, interaction: nextcord.Interaction) -> None:
            received.append(self.text.value or "")
            await interaction.response.send_message("thanks", ephemeral=True)

    @bot.slash_command(name="feedback", description="Tell us")
    async def feedback(interaction: nextcord.Interaction) -> None:
        await interaction.response.send_modal(Feedback())

    await start_bot(bot)
    await sandbox.wait_for_command("feedback")
    general = demo.channel("general")
    first = sandbox.invoke_command("feedback", user="alice", channel=general)
    await sandbox.wait_for_response(first)
    assert first.modal is not None and first.modal["title"] == "Feedback"
    second = sandbox.submit_modal(first, {"idea": "more dashboards"})
    await sandbox.wait_for_response(second)
    assert received == ["more dashboards"]
    reply = sandbox.state.ephemeral_messages[second.original_message_id]
    assert reply.content == "thanks"


async def test_resume_after_dropped_socket_replays_missed_events(
    sandbox: SandboxServer, demo: Guild, nextcord_bot: commands.Bot
) -> None:
    seen: list[str] = []
    resumed = asyncio.Event()
    got_message = asyncio.Event()

    async def on_message(message: nextcord.Message) -> None:
        seen.append(message.content)
        got_message.set()

    async def on_resumed() -> None:
        resumed.set()

    nextcord_bot.add_listener(on_message)
    nextcord_bot.add_listener(on_resumed)
    identifies = sandbox.gateway.identify_count
    sandbox.faults.drop_gateway(hold=True)
    sandbox.post_message_as("alice", demo.channel("general"), "said while you were away")
    await asyncio.sleep(0)
    sandbox.faults.release_gateway()
    await asyncio.wait_for(resumed.wait(), 5)
    await sandbox.wait_for_dispatch("RESUMED", since=0)
    await asyncio.wait_for(got_message.wait(), 5)
    assert seen == ["said while you were away"]
    assert sandbox.gateway.identify_count == identifies


class QuickShardedBot(commands.AutoShardedBot):
    """nextcord waits 5 s between shard IDENTIFYs by default; the sandbox needs no pause."""

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        return None


async def test_auto_sharded_bot_gets_guilds_per_shard(
    sandbox: SandboxServer, start_bot: BotStarter
) -> None:
    zero = sandbox.add_guild("Shard Zero", shard=(0, 2))
    one = sandbox.add_guild("Shard One", shard=(1, 2))
    bot = QuickShardedBot(
        command_prefix="!",
        intents=nextcord.Intents.all(),
        guild_ready_timeout=0.05,
        shard_count=2,
    )
    use_corrected_http(bot)  # as create_bot does for ShardedFoundryBot
    await start_bot(bot)
    assert bot.get_guild(zero.id).shard_id == 0
    assert bot.get_guild(one.id).shard_id == 1
    sessions = {s.shard_id: s for s in sandbox.gateway.sessions.values()}
    assert sorted(sessions) == [0, 1]
    created = [f for f in sessions[1].history if f["t"] == "GUILD_CREATE"]
    assert [f["d"]["id"] for f in created] == [str(one.id)]


async def test_reconnect_op_makes_the_bot_resume(
    sandbox: SandboxServer, demo: Guild, nextcord_bot: commands.Bot
) -> None:
    mark = len(sandbox.dispatches)
    identifies = sandbox.gateway.identify_count
    await sandbox.faults.send_reconnect()
    await sandbox.wait_for_dispatch("RESUMED", since=mark)
    assert sandbox.gateway.identify_count == identifies


async def test_invalid_session_makes_the_bot_identify_again(
    sandbox: SandboxServer, demo: Guild, nextcord_bot: commands.Bot
) -> None:
    mark = len(sandbox.dispatches)
    await sandbox.faults.send_invalid_session(resumable=False)
    await sandbox.wait_for_dispatch("READY", since=mark)
    await sandbox.wait_for_dispatch("GUILD_CREATE", since=mark)
    assert sandbox.gateway.identify_count == 2


async def test_bot_sees_channel_and_role_changes_made_by_the_driver(
    sandbox: SandboxServer, demo: Guild, nextcord_bot: commands.Bot
) -> None:
    created = asyncio.Event()

    async def on_guild_channel_create(channel: nextcord.abc.GuildChannel) -> None:
        if channel.name == "fresh":
            created.set()

    nextcord_bot.add_listener(on_guild_channel_create)
    sandbox.add_channel(demo, "fresh")
    await asyncio.wait_for(created.wait(), 5)
    guild = nextcord_bot.get_guild(demo.id)
    new = await guild.create_role(name="Made by bot")
    assert demo.role("Made by bot").id == new.id
    channel = await guild.create_text_channel("bot-made", category=guild.categories[0])
    assert demo.channel("bot-made").parent_id == guild.categories[0].id
    await channel.set_permissions(new, send_messages=False)
    assert demo.channel("bot-made").overwrites[new.id].deny
