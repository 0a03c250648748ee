"""Live guild -> template: what `/template save` and `python -m bot template export` write."""

from __future__ import annotations

from cogs.templates.document import TYPE_FIELDS, ChannelSpec, Overwrite, RoleSpec, Template
from cogs.templates.live import LiveChannel, LiveGuild

SETTINGS_FIELDS = {
    "afk_timeout": "afk_timeout",
    "verification_level": "verification_level",
    "default_notifications": "default_message_notifications",
}


def _overwrites(guild: LiveGuild, channel: LiveChannel) -> list[Overwrite]:
    out = []
    for ow in sorted(channel.overwrites, key=lambda o: (o.type, o.id != guild.id, o.id)):
        if ow.type == 1:
            out.append(Overwrite(member=ow.id, allow=ow.allow, deny=ow.deny))
            continue
        role = guild.role(ow.id)
        if role is None or role.managed:
            continue  # a bot's own role cannot be recreated elsewhere
        name = "@everyone" if role.id == guild.id else role.name
        out.append(Overwrite(role=name, allow=ow.allow, deny=ow.deny))
    return out


def _same_overwrites(a: LiveChannel, b: LiveChannel) -> bool:
    def key(channel: LiveChannel) -> set[tuple[int, int, int, int]]:
        return {(o.id, o.type, o.allow, o.deny) for o in channel.overwrites}

    return key(a) == key(b)


def _node(guild: LiveGuild, channel: LiveChannel, parent: LiveChannel | None) -> ChannelSpec:
    type_name = channel.type_name or "text"
    props = {name: channel.prop(name) for name in sorted(TYPE_FIELDS[type_name])}
    sync = parent is not None and _same_overwrites(channel, parent)
    return ChannelSpec(
        name=channel.name,
        type=type_name,
        props=props,
        overwrites=[] if sync else _overwrites(guild, channel),
        sync=sync,
        id=str(channel.id),
    )


def snapshot(guild: LiveGuild, name: str, description: str = "") -> Template:
    """The guild's roles (top-down, managed ones and @everyone left out), its @everyone
    permissions, its channel tree in display order and its guild settings."""
    template = Template(name=name, description=description)
    for role in guild.roles_top_down():
        if role.managed:
            continue
        template.roles.append(
            RoleSpec(
                name=role.name,
                color=role.color,
                hoist=role.hoist,
                mentionable=role.mentionable,
                permissions=role.permissions,
                unicode_emoji=role.unicode_emoji,
                id=str(role.id),
            )
        )
    everyone = guild.everyone
    if everyone is not None:
        template.everyone_permissions = everyone.permissions
    for channel in guild.children(None):
        node = _node(guild, channel, None)
        template.channels.append(node)
        if channel.type_name == "category":
            for child in guild.children(channel.id):
                child_node = _node(guild, child, channel)
                child_node.parent = node
                node.children.append(child_node)
    raw = guild.raw
    settings = {key: raw[api] for key, api in SETTINGS_FIELDS.items() if api in raw}
    for key, api in (("system_channel", "system_channel_id"), ("afk_channel", "afk_channel_id")):
        if api in raw:
            found = guild.channel(int(raw[api])) if raw[api] else None
            settings[key] = found.name if found is not None else None
    template.settings = settings
    return template
