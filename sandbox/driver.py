"""A readable driver over :class:`SandboxServer` for tests and demos.

Build the world from a compact description, then act as its members::

    driver = SandboxDriver(server)
    driver.load(DEMO)
    bob = driver.member("bob")
    reply = await bob.say("general", "!ping")            # the bot's reply Message
    answer = await bob.run("guild list", channel="general")
    answer.content, answer.ephemeral                     # what the bot answered
    await bob.run("alert add", {"metric": "cpu.percent", "channel": status_id}, channel="general")
    await bob.press(answer.message, "confirm")
    modal = await bob.run("feedback", channel="general")  # answered with a modal
    await bob.submit(modal, idea="more dashboards")

Every action returns once the bot answered, or raises :class:`TimeoutError` with a sentence
naming what it waited for. Waiting is event-driven: each bot answer arrives as a REST call,
so the driver re-checks its condition after every call the server logs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from sandbox.errors import ApiError
from sandbox.state import LOADING, Channel, Guild, Interaction, Member, Message

if TYPE_CHECKING:
    from sandbox.server import SandboxServer

T = TypeVar("T")

CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE, MODAL = 4, 5, 6, 7, 9
MessageRef = Message | int
ChannelRef = Channel | str | int


@dataclass
class Answer:
    """The bot's answer to one interaction: its callback and the message it produced."""

    interaction: Interaction
    message: Message | None

    @property
    def type(self) -> int | None:
        """The callback type (4 message, 5 deferred, 6 deferred update, 7 update, 9 modal)."""
        return self.interaction.response_type

    @property
    def modal(self) -> dict[str, Any] | None:
        return self.interaction.modal

    @property
    def content(self) -> str:
        return self.message.content if self.message is not None else ""

    @property
    def ephemeral(self) -> bool:
        return self.message is not None and self.message.ephemeral


class SandboxDriver:
    """Builds guilds and acts as their members against one running :class:`SandboxServer`."""

    def __init__(self, server: SandboxServer, *, timeout: float = 5.0) -> None:
        self.server = server
        self.timeout = timeout

    def load(self, description: dict[str, Any]) -> list[Guild]:
        """Guilds, roles, members and channels from a description (see sandbox.description)."""
        return self.server.load(description)

    def guild(self, name: str | None = None) -> Guild:
        """The guild called ``name``, or the first one."""
        if name is not None:
            return self.server.state.find_guild(name)
        for guild in self.server.state.guilds.values():
            return guild
        raise LookupError("The sandbox has no guild yet: load a description first.")

    def member(self, name: str, *, guild: Guild | str | None = None) -> MemberDriver:
        """Act as the member ``name`` (of ``guild``, else of the first guild that has them)."""
        guilds = (
            [guild if isinstance(guild, Guild) else self.guild(guild)]
            if guild is not None
            else list(self.server.state.guilds.values())
        )
        for candidate in guilds:
            try:
                return MemberDriver(self, candidate, candidate.member(name))
            except KeyError:
                continue
        raise LookupError(f"No member called {name!r} in the sandbox's guilds.")

    def member_by_id(self, user_id: int, guild: Guild) -> MemberDriver:
        member = guild.members.get(user_id)
        if member is None:
            raise LookupError(f"User {user_id} is not a member of {guild.name!r}.")
        return MemberDriver(self, guild, member)

    def channel(self, ref: ChannelRef, guild: Guild | None = None) -> Channel:
        """A channel by object, id or name (looked up in ``guild`` first)."""
        if isinstance(ref, Channel):
            return ref
        if isinstance(ref, int):
            try:
                return self.server.state.channels[ref]
            except KeyError:
                raise LookupError(f"No channel with id {ref} in the sandbox.") from None
        name = ref.removeprefix("#")
        try:
            return (
                guild.channel(name) if guild is not None else self.server.state.find_channel(name)
            )
        except KeyError:
            raise LookupError(f"No channel called #{name} in the sandbox.") from None

    def advance_clock(self, seconds: float) -> None:
        """Let ``seconds`` pass for the sandbox (see :mod:`sandbox.clock`): messages age and
        rate-limit windows run out, without sleeping."""
        self.server.clock.advance(seconds)

    def message(self, ref: MessageRef) -> Message:
        return ref if isinstance(ref, Message) else self.server.state.find_message(ref)

    def calls(
        self, *, route: str | None = None, method: str | None = None, status: int | None = None
    ) -> list[dict[str, Any]]:
        """Logged REST calls, filtered by route template, method and status."""
        return [
            call
            for call in self.server.calls
            if (route is None or call["route"] == route)
            and (method is None or call["method"] == method)
            and (status is None or call["status"] == status)
        ]

    async def wait_for_reply(
        self, channel: ChannelRef, *, after: MessageRef | None = None, timeout: float | None = None
    ) -> Message:
        """The bot's first message in ``channel`` newer than ``after`` (default: anything)."""
        ch = self.channel(channel)
        after_id = (after.id if isinstance(after, Message) else after) or 0

        def reply() -> Message | None:
            for message in self.server.state.channel_messages(ch.id):
                if message.id > after_id and message.author.id == self.server.bot_user_id:
                    return message
            return None

        return await self.until(reply, f"reply in #{ch.name}", timeout)

    async def answer(self, inter: Interaction, what: str, timeout: float | None = None) -> Answer:
        """Wait for the bot's callback to ``inter``; a deferral waits for the real message."""

        def answered() -> Answer | None:
            if inter.response_type is None:
                return None
            message = self._answer_message(inter)
            if inter.response_type == DEFERRED_CHANNEL_MESSAGE and (
                message is None or message.flags & LOADING
            ):
                return None
            return Answer(inter, message)

        return await self.until(answered, what, timeout)

    def _answer_message(self, inter: Interaction) -> Message | None:
        message_id = inter.original_message_id
        if inter.response_type in (DEFERRED_UPDATE, UPDATE_MESSAGE):
            message_id = inter.message_id
        if message_id is None:
            return None
        try:
            return self.server.state.find_message(message_id)
        except ApiError:  # deleted meanwhile
            return None

    async def until(
        self, check: Callable[[], T | None], what: str, timeout: float | None = None
    ) -> T:
        """``check()`` once it is not None, re-checked after every REST call the bot makes."""
        timeout = self.timeout if timeout is None else timeout
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = check()
            if result is not None:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"The bot did not {what} within {timeout:g} s.")
            try:
                await self.server.wait_for_call(timeout=remaining)
            except TimeoutError:
                continue


class MemberDriver:
    """One member of one guild: everything they do reaches the bot as real gateway events."""

    def __init__(self, driver: SandboxDriver, guild: Guild, member: Member) -> None:
        self.driver = driver
        self.guild = guild
        self.member = member

    @property
    def name(self) -> str:
        return self.member.user.username

    @property
    def id(self) -> int:
        return self.member.user.id

    def _channel(self, ref: ChannelRef) -> Channel:
        return self.driver.channel(ref, self.guild)

    def post(self, channel: ChannelRef, content: str, **payload: Any) -> Message:
        """Send a message without waiting for the bot."""
        return self.driver.server.post_message_as(
            self.member, self._channel(channel), content, **payload
        )

    async def say(
        self, channel: ChannelRef, content: str, *, timeout: float | None = None, **payload: Any
    ) -> Message:
        """Send a message and return the bot's reply in that channel."""
        sent = self.post(channel, content, **payload)
        return await self.driver.wait_for_reply(sent.channel_id, after=sent, timeout=timeout)

    def invoke(
        self, command: str, *, channel: ChannelRef, options: dict[str, Any] | None = None
    ) -> Interaction:
        """Send the slash command without waiting; ``"guild list"`` names a subcommand."""
        name, *path = command.removeprefix("/").split()
        nested: dict[str, Any] = dict(options or {})
        for sub in reversed(path):
            nested = {sub: nested}
        return self.driver.server.invoke_command(
            name, user=self.member, channel=self._channel(channel), options=nested
        )

    async def run(
        self,
        command: str,
        options: dict[str, Any] | None = None,
        /,
        *,
        channel: ChannelRef,
        timeout: float | None = None,
    ) -> Answer:
        """Run a slash command with ``options`` (by option name) and return the bot's answer.

        Options travel as one dict, never as keyword arguments, so an option may be called
        ``channel`` or ``timeout`` (as ``/alert add channel:`` is) without meeting the
        driver's own parameters.
        """
        inter = self.invoke(command, channel=channel, options=options)
        where = self._channel(channel).name
        return await self.driver.answer(
            inter, f"answer /{command} (run by {self.name} in #{where})", timeout
        )

    async def press(
        self, message: MessageRef, custom_id: str, *, timeout: float | None = None
    ) -> Answer:
        """Press the button ``custom_id`` on ``message``."""
        inter = self.driver.server.click_button(
            self.driver.message(message), custom_id, user=self.member
        )
        return await self.driver.answer(
            inter, f"answer {self.name}'s press of button {custom_id!r}", timeout
        )

    async def choose(
        self, message: MessageRef, custom_id: str, *values: str, timeout: float | None = None
    ) -> Answer:
        """Choose ``values`` in the select menu ``custom_id`` on ``message``."""
        inter = self.driver.server.select_values(
            self.driver.message(message), custom_id, list(values), user=self.member
        )
        return await self.driver.answer(
            inter, f"answer {self.name}'s choice in select {custom_id!r}", timeout
        )

    async def submit(
        self, opened: Answer | Interaction, *, timeout: float | None = None, **fields: str
    ) -> Answer:
        """Fill in and submit the modal the bot opened in answer to ``opened``."""
        origin = opened.interaction if isinstance(opened, Answer) else opened
        if origin.modal is None:
            raise ValueError("The bot did not answer that interaction with a modal.")
        inter = self.driver.server.submit_modal(origin, fields, user=self.member)
        title = origin.modal.get("title") or origin.modal.get("custom_id")
        return await self.driver.answer(inter, f"answer the submitted modal {title!r}", timeout)
