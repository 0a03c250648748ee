"""What people do in the world: the driver's API (post, run commands, press buttons...).

Each action goes through the same validation a REST call would, then emits like one.
"""

from __future__ import annotations

from typing import Any

from sandbox.description import load_description
from sandbox.interaction_builder import (
    build_interaction,
    command_data,
    find_component,
    modal_submit_data,
)
from sandbox.rest.channels import add_channel
from sandbox.rest.messages import create_message
from sandbox.state import Channel, Guild, Interaction, Message, Role
from sandbox.world import ChannelRef, UserRef, World


class Actions(World):
    """A :class:`World` plus the actions of its members."""

    def add_channel(
        self,
        guild: Guild,
        name: str,
        type: int | str = 0,
        *,
        parent: Channel | None = None,
        overwrites: list[dict[str, Any]] | None = None,
        **fields: Any,
    ) -> Channel:
        """A channel built through the same validation as POST /guilds/{g}/channels."""
        return add_channel(self, guild, name, type, parent=parent, overwrites=overwrites, **fields)

    def edit_channel_as(self, user: UserRef, channel: ChannelRef, **payload: Any) -> Channel:
        """A member edits a channel (name, topic, overwrites, ...) with the rights the REST
        call would need (Manage Channels; Manage Roles for overwrites), recorded in the audit
        log and dispatched as CHANNEL_UPDATE, as Discord's client does."""
        from sandbox import permissions as perm
        from sandbox.rest import audit
        from sandbox.rest.channels import update_channel
        from sandbox.rest.common import require_channel

        target = self.resolve_channel(channel)
        guild = self.state.guild(target.guild_id)  # type: ignore[arg-type]
        who = self.resolve_user(user)
        require_channel(guild, target, who.id, perm.MANAGE_CHANNELS)
        if "permission_overwrites" in payload:
            require_channel(guild, target, who.id, perm.MANAGE_ROLES)
        before = audit.channel_state(target)
        update_channel(self.state, guild, target, payload)
        audit.record_channel_update(self, guild, who.id, target, before)
        self.emit("CHANNEL_UPDATE", target.to_dict(), guild_id=guild.id)
        return target

    def edit_role_as(self, user: UserRef, role: Role, **payload: Any) -> Role:
        """A member edits a role (name, permissions, colour, hoist, mentionable) with the
        rights the REST call would need (Manage Roles, and a role above it; only permissions
        they hold themselves), recorded in the audit log and dispatched as GUILD_ROLE_UPDATE,
        as Discord's client does."""
        from sandbox import limits
        from sandbox import permissions as perm
        from sandbox.rest import audit
        from sandbox.rest.common import (
            parse_bits,
            require_above,
            require_grantable,
            require_guild,
        )
        from sandbox.rest.roles import apply_role_edit

        guild = self.state.guild(role.guild_id)
        who = self.resolve_user(user)
        require_guild(guild, who.id, perm.MANAGE_ROLES)
        require_above(guild, who.id, role)
        limits.check_role(payload)
        if payload.get("permissions") is not None:
            bits = parse_bits(payload["permissions"], ("permissions",))
            require_grantable(guild, who.id, bits)
        before = audit.role_state(role)
        apply_role_edit(role, payload)
        audit.record_role_update(self, guild, who.id, role, before)
        event = {"guild_id": str(guild.id), "role": role.to_dict()}
        self.emit("GUILD_ROLE_UPDATE", event, guild_id=guild.id)
        return role

    def post_message_as(
        self,
        user: UserRef,
        channel: ChannelRef,
        content: str = "",
        **payload: Any,
    ) -> Message:
        """A message by ``user`` (not the bot), dispatched as MESSAGE_CREATE."""
        return create_message(
            self,
            self.resolve_channel(channel),
            self.resolve_user(user),
            {"content": content, **payload},
        )

    def load(self, description: dict[str, Any]) -> list[Guild]:
        """Build guilds from a compact description; see :mod:`sandbox.description`."""
        return load_description(self, description)

    # interactions

    def create_interaction(
        self,
        type: int,
        *,
        user: UserRef,
        channel: ChannelRef,
        data: dict[str, Any],
        message: Message | None = None,
    ) -> Interaction:
        """Send a real INTERACTION_CREATE (id + token) and remember it."""
        inter = build_interaction(
            self, type, self.resolve_user(user), self.resolve_channel(channel), data, message
        )
        return self.register_interaction(inter)

    def invoke_command(
        self,
        name: str,
        *,
        user: UserRef,
        channel: ChannelRef,
        options: dict[str, Any] | None = None,
        target: UserRef | Message | None = None,
    ) -> Interaction:
        """Run the synced command ``name`` (slash, or user/message context menu)."""
        ch = self.resolve_channel(channel)
        data = command_data(self, ch, name, options or {}, target)
        return self.create_interaction(2, user=user, channel=ch, data=data)

    def autocomplete(
        self,
        name: str,
        *,
        user: UserRef,
        channel: ChannelRef,
        options: dict[str, Any],
        focused: str,
    ) -> Interaction:
        """An AUTOCOMPLETE interaction with ``focused`` the option being typed."""
        ch = self.resolve_channel(channel)
        data = command_data(self, ch, name, options, None, focused=focused)
        return self.create_interaction(4, user=user, channel=ch, data=data)

    def click_button(self, message: Message | int, custom_id: str, *, user: UserRef) -> Interaction:
        return self._component(message, custom_id, user, None)

    def select_values(
        self, message: Message | int, custom_id: str, values: list[str], *, user: UserRef
    ) -> Interaction:
        return self._component(message, custom_id, user, values)

    def _component(
        self, message: Message | int, custom_id: str, user: UserRef, values: list[str] | None
    ) -> Interaction:
        msg = message if isinstance(message, Message) else self.state.find_message(message)
        component = find_component(msg.components, custom_id)
        if component is None:
            raise KeyError(f"no component {custom_id!r} on message {msg.id}")
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component["type"]}
        if values is not None:
            data["values"] = list(values)
        return self.create_interaction(3, user=user, channel=msg.channel_id, data=data, message=msg)

    def submit_modal(
        self,
        origin: Interaction,
        values: dict[str, str],
        *,
        user: UserRef | None = None,
    ) -> Interaction:
        """Submit the modal the bot answered ``origin`` with; ``values`` by custom_id."""
        modal = origin.modal
        if modal is None:
            raise ValueError("the bot did not answer this interaction with a modal")
        message = None
        if origin.message_id is not None:
            message = self.state.find_message(origin.message_id)
        return self.create_interaction(
            5,
            user=user if user is not None else origin.user_id,
            channel=origin.channel_id,
            data=modal_submit_data(modal, values),
            message=message,
        )
