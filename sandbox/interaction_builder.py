"""Builds INTERACTION_CREATE payloads the way Discord sends them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.state import Channel, Interaction, Member, Message, User

if TYPE_CHECKING:
    from sandbox.world import World

SUB_COMMAND, SUB_COMMAND_GROUP = 1, 2
USER, CHANNEL, ROLE, MENTIONABLE = 6, 7, 8, 9
TEXT_INPUT, LABEL = 4, 18


def build_interaction(
    world: World,
    type: int,
    user: User,
    channel: Channel,
    data: dict[str, Any],
    message: Message | None,
) -> Interaction:
    state = world.state
    inter_id = state.new_id()
    token = state.new_token()
    guild = state.guilds.get(channel.guild_id) if channel.guild_id is not None else None
    payload: dict[str, Any] = {
        "id": str(inter_id),
        "application_id": str(world.application_id),
        "type": type,
        "data": data,
        "token": token,
        "version": 1,
        "channel_id": str(channel.id),
        "channel": channel.to_dict(),
        "locale": "en-US",
        "entitlements": [],
        "attachment_size_limit": 10 * 1024 * 1024,
    }
    if guild is not None:
        member = guild.members.get(user.id)
        if member is None:
            raise KeyError(f"user {user.username!r} is not a member of {guild.name!r}")
        payload.update(
            {
                "guild_id": str(guild.id),
                "guild": {"id": str(guild.id), "locale": "en-US", "features": []},
                "guild_locale": "en-US",
                "member": {
                    **member.to_dict(),
                    "permissions": str(guild.channel_permissions(user.id, channel)),
                },
                "app_permissions": str(guild.channel_permissions(world.bot_user_id, channel)),
                "authorizing_integration_owners": {"0": str(guild.id)},
                "context": 0,
            }
        )
    else:
        payload.update(
            {
                "user": user.to_dict(),
                "app_permissions": "0",
                "authorizing_integration_owners": {"1": str(user.id)},
                "context": 1,
            }
        )
    if message is not None:
        payload["message"] = world.message_payload(message)
    return Interaction(
        id=inter_id,
        token=token,
        type=type,
        application_id=world.application_id,
        user_id=user.id,
        channel_id=channel.id,
        guild_id=guild.id if guild else None,
        data=data,
        payload=payload,
        message_id=message.id if message else None,
    )


def _find_command(world: World, channel: Channel, name: str, kind: int | None) -> Any:
    commands = [
        c
        for c in world.state.commands.values()
        if c.name == name and (kind is None or c.type == kind)
    ]
    for command in commands:  # guild commands shadow global ones
        if command.guild_id is not None and command.guild_id == channel.guild_id:
            return command
    for command in commands:
        if command.guild_id is None:
            return command
    raise KeyError(f"the bot has not registered a command {name!r}")


def command_data(
    world: World,
    channel: Channel,
    name: str,
    options: dict[str, Any],
    target: Any,
    *,
    focused: str | None = None,
) -> dict[str, Any]:
    """``data`` of an APPLICATION_COMMAND (or AUTOCOMPLETE) interaction."""
    kind = None
    if target is not None:
        kind = 3 if isinstance(target, Message) else 2
    command = _find_command(world, channel, name, kind)
    resolved: dict[str, dict[str, Any]] = {}
    data: dict[str, Any] = {"id": str(command.id), "name": command.name, "type": command.type}
    if command.guild_id is not None:
        data["guild_id"] = str(command.guild_id)
    if command.type == 1:
        data["options"] = _options(world, channel, command.options, options, resolved, focused)
    elif target is not None:
        if isinstance(target, Message):
            data["target_id"] = str(target.id)
            resolved.setdefault("messages", {})[str(target.id)] = world.message_payload(target)
        else:
            user = world.resolve_user(target)
            data["target_id"] = str(user.id)
            _resolve_user(world, channel, user, resolved)
    if resolved:
        data["resolved"] = resolved
    return data


def _options(
    world: World,
    channel: Channel,
    definitions: list[dict[str, Any]],
    given: dict[str, Any],
    resolved: dict[str, dict[str, Any]],
    focused: str | None,
) -> list[dict[str, Any]]:
    out = []
    for name, value in given.items():
        definition = next((d for d in definitions if d.get("name") == name), None)
        if definition is None:
            raise KeyError(f"command has no option {name!r}")
        kind = definition["type"]
        if kind in (SUB_COMMAND, SUB_COMMAND_GROUP):
            inner = _options(
                world, channel, definition.get("options") or [], value or {}, resolved, focused
            )
            out.append({"name": name, "type": kind, "options": inner})
            continue
        option: dict[str, Any] = {
            "name": name,
            "type": kind,
            "value": _option_value(world, channel, kind, value, resolved),
        }
        if focused == name:
            option["focused"] = True
        out.append(option)
    return out


def _option_value(
    world: World,
    channel: Channel,
    kind: int,
    value: Any,
    resolved: dict[str, dict[str, Any]],
) -> Any:
    state = world.state
    if kind == USER or (kind == MENTIONABLE and isinstance(value, User | Member)):
        user = world.resolve_user(value)
        _resolve_user(world, channel, user, resolved)
        return str(user.id)
    if kind == CHANNEL:
        target = world.resolve_channel(value)
        resolved.setdefault("channels", {})[str(target.id)] = {
            **target.to_dict(),
            "permissions": str(
                state.guilds[channel.guild_id].channel_permissions(world.bot_user_id, target)
                if channel.guild_id is not None
                else 0
            ),
        }
        return str(target.id)
    if kind in (ROLE, MENTIONABLE):
        guild = state.guilds[channel.guild_id] if channel.guild_id is not None else None
        role = value
        if guild is not None and not hasattr(value, "id"):
            role = guild.role(value) if isinstance(value, str) else guild.roles[int(value)]
        resolved.setdefault("roles", {})[str(role.id)] = role.to_dict()
        return str(role.id)
    return value


def _resolve_user(
    world: World, channel: Channel, user: User, resolved: dict[str, dict[str, Any]]
) -> None:
    resolved.setdefault("users", {})[str(user.id)] = user.to_dict()
    if channel.guild_id is None:
        return
    guild = world.state.guilds[channel.guild_id]
    member = guild.members.get(user.id)
    if member is not None:
        resolved.setdefault("members", {})[str(user.id)] = {
            **member.to_dict(with_user=False),
            "permissions": str(guild.channel_permissions(user.id, channel)),
        }


def find_component(components: list[dict[str, Any]], custom_id: str) -> dict[str, Any] | None:
    """The component with ``custom_id`` anywhere in a message's layout."""
    for component in components:
        if component.get("custom_id") == custom_id:
            return component
        children = list(component.get("components") or [])
        for key in ("component", "accessory"):
            if isinstance(component.get(key), dict):
                children.append(component[key])
        found = find_component(children, custom_id)
        if found is not None:
            return found
    return None


def modal_submit_data(modal: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    """``data`` of a MODAL_SUBMIT for ``modal`` (the bot's type 9 answer)."""
    rows = []
    unused = set(values)
    for row in modal.get("components") or []:
        if row.get("type") == LABEL and isinstance(row.get("component"), dict):
            inner = row["component"]
            unused.discard(inner.get("custom_id"))
            rows.append(
                {
                    "type": LABEL,
                    "component": {
                        "type": inner.get("type", TEXT_INPUT),
                        "custom_id": inner.get("custom_id"),
                        "value": values.get(inner.get("custom_id"), ""),
                    },
                }
            )
            continue
        submitted = []
        for comp in row.get("components") or []:
            unused.discard(comp.get("custom_id"))
            submitted.append(
                {
                    "type": comp.get("type", TEXT_INPUT),
                    "custom_id": comp.get("custom_id"),
                    "value": values.get(comp.get("custom_id"), comp.get("value") or ""),
                }
            )
        rows.append({"type": 1, "components": submitted})
    if unused:
        raise KeyError(f"modal has no inputs {sorted(unused)}")
    return {"custom_id": modal.get("custom_id"), "components": rows}
