"""What the Sandbox page shows, built from the server's state: channel tree, messages as
Discord renders them (safe markdown subset, embeds, components), the slash-command forms and
the modal a member has open. Pure functions over :mod:`sandbox.state`; no aiohttp here."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from sandbox import permissions as perm
from sandbox.snowflake import snowflake_datetime
from sandbox.state import (
    GUILD_ANNOUNCEMENT,
    GUILD_CATEGORY,
    GUILD_FORUM,
    GUILD_MEDIA,
    GUILD_STAGE_VOICE,
    GUILD_TEXT,
    GUILD_VOICE,
    LOADING,
    ApplicationCommand,
    Attachment,
    Channel,
    Guild,
    Interaction,
    Member,
    Message,
)
from web.discord_view import (
    STRING_SELECT,
    AttachmentView,
    MessageView,
    Names,
    component_view,
    embed_view,
    markdown,
)

if TYPE_CHECKING:
    from sandbox.server import SandboxServer

MESSAGE_LIMIT = 50
MESSAGE_CHANNELS = frozenset({GUILD_TEXT, GUILD_ANNOUNCEMENT})
# icon names the templates draw (sandbox_icons.html); emoji fonts are often missing
CHANNEL_ICONS = {
    GUILD_TEXT: "text",
    GUILD_ANNOUNCEMENT: "announcement",
    GUILD_VOICE: "voice",
    GUILD_STAGE_VOICE: "voice",
    GUILD_FORUM: "forum",
    GUILD_MEDIA: "forum",
}
AVATAR_COLOURS = ("#5865f2", "#3ba55c", "#faa61a", "#ed4245", "#eb459e", "#747f8d")
SUB_COMMAND, SUB_COMMAND_GROUP = 1, 2
STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE, MENTIONABLE, NUMBER = 3, 4, 5, 6, 7, 8, 9, 10
USER_SELECT, ROLE_SELECT, MENTIONABLE_SELECT, CHANNEL_SELECT = 5, 6, 7, 8
TEXT_INPUT, LABEL = 4, 18


# -- guild, channels, members ------------------------------------------------------------------


@dataclass
class ChannelItem:
    id: int
    name: str
    icon: str
    selectable: bool
    visible: bool  # the acting member may view it


@dataclass
class CategoryItem:
    name: str | None
    channels: list[ChannelItem]


@dataclass
class MemberItem:
    id: int
    name: str
    colour: str | None
    bot: bool


def names_of(server: SandboxServer, guild: Guild | None) -> Names:
    """Mention names for :func:`markdown` from the sandbox's users, roles and channels."""
    names = Names(users={u.id: u.username for u in server.state.users.values()})
    if guild is not None:
        names.roles = {r.id: r.name for r in guild.roles.values()}
        names.channels = {c.id: c.name or "" for c in guild.channels.values()}
    return names


def _position(channel: Channel) -> tuple[int, int]:
    return (channel.position, channel.id)


def channel_tree(guild: Guild, user_id: int) -> list[CategoryItem]:
    """Channels without a category first, then each category with its channels."""

    def item(channel: Channel) -> ChannelItem:
        visible = bool(guild.channel_permissions(user_id, channel) & perm.VIEW_CHANNEL)
        return ChannelItem(
            channel.id,
            channel.name or "",
            CHANNEL_ICONS.get(channel.type, "text"),
            channel.type in MESSAGE_CHANNELS,
            visible,
        )

    channels = sorted(guild.channels.values(), key=_position)
    tree = [
        CategoryItem(
            None, [item(c) for c in channels if c.parent_id is None and c.type != GUILD_CATEGORY]
        )
    ]
    for category in (c for c in channels if c.type == GUILD_CATEGORY):
        children = [item(c) for c in channels if c.parent_id == category.id]
        tree.append(CategoryItem(category.name, children))
    return [group for group in tree if group.channels or group.name]


def first_text_channel(guild: Guild) -> Channel | None:
    for group in channel_tree(guild, guild.owner_id):
        for entry in group.channels:
            if entry.selectable:
                return guild.channels[entry.id]
    return None


def role_colour(guild: Guild, member: Member | None) -> str | None:
    """The colour of the member's highest coloured role, as Discord colours names."""
    if member is None:
        return None
    roles = [guild.roles[r] for r in member.roles if r in guild.roles and guild.roles[r].color]
    if not roles:
        return None
    return f"#{max(roles, key=lambda r: r.position).color:06x}"


def members(guild: Guild) -> list[MemberItem]:
    """The guild's people (bots left out), by name."""
    people = [m for m in guild.members.values() if not m.user.bot]
    return [
        MemberItem(m.user.id, m.nick or m.user.username, role_colour(guild, m), False)
        for m in sorted(people, key=lambda m: m.user.username)
    ]


# -- messages ----------------------------------------------------------------------------------


def _avatar_colour(user_id: int) -> str:
    return AVATAR_COLOURS[(user_id >> 22) % len(AVATAR_COLOURS)]


def _format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%H:%M")


def command_path(inter: Interaction) -> str:
    """``guild list`` for an interaction that ran a subcommand."""
    words = [str(inter.data.get("name", ""))]
    options = inter.data.get("options") or []
    while options and options[0].get("type") in (SUB_COMMAND, SUB_COMMAND_GROUP):
        words.append(options[0]["name"])
        options = options[0].get("options") or []
    return " ".join(words)


def _used(server: SandboxServer, message: Message) -> str | None:
    meta = message.interaction_metadata
    if not meta or meta.get("type") != 2:
        return None
    inter = server.state.interactions.get(int(meta["id"]))
    name = command_path(inter) if inter is not None else meta.get("name", "")
    return f"{meta['user']['username']} used /{name}"


def _reply_to(server: SandboxServer, message: Message) -> str | None:
    ref = message.message_reference
    if not ref or not ref.get("message_id"):
        return None
    original = server.state.messages.get(message.channel_id, {}).get(int(ref["message_id"]))
    if original is None:
        return "Original message was deleted"
    return f"{original.author.username}: {original.content[:80]}"


def _select_options(
    server: SandboxServer, guild: Guild | None, component: dict[str, Any]
) -> list[dict[str, Any]]:
    kind = component["type"]
    if kind == STRING_SELECT:
        return [
            {
                "label": o.get("label", ""),
                "value": o.get("value", ""),
                "description": o.get("description"),
                "selected": bool(o.get("default")),
            }
            for o in component.get("options") or []
        ]
    if guild is None:
        return []
    found: list[dict[str, Any]] = []
    if kind in (USER_SELECT, MENTIONABLE_SELECT):
        found += [{"label": m.name, "value": str(m.id)} for m in members(guild)]
    if kind in (ROLE_SELECT, MENTIONABLE_SELECT):
        found += [
            {"label": "@" + r.name, "value": str(r.id)}
            for r in reversed(guild.sorted_roles())
            if r.id != guild.id
        ]
    if kind == CHANNEL_SELECT:
        found += [
            {"label": "#" + (c.name or ""), "value": str(c.id)}
            for c in sorted(guild.channels.values(), key=_position)
            if c.type != GUILD_CATEGORY
        ]
    return found


def _component(server: SandboxServer, guild: Guild | None, raw: dict[str, Any]) -> dict[str, Any]:
    return component_view(raw, lambda select: _select_options(server, guild, select))


IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
}


def image_type(attachment: Attachment) -> str | None:
    """The image type to serve ``attachment`` as, or None for a file to download. By name, as
    clients send most files as application/octet-stream; SVG is never an image here."""
    suffix = PurePosixPath(attachment.filename.lower()).suffix
    kind = IMAGE_TYPES.get(suffix)
    declared = (attachment.content_type or "").split(";", 1)[0].strip().lower()
    if kind is None or declared not in ("", "application/octet-stream", kind):
        return None
    return kind


def attachment_url(attachment: Attachment) -> str:
    """Where the page serves the file (the sandbox's own address may not be reachable)."""
    return f"/sandbox/attachments/{attachment.id}/{quote(attachment.filename, safe='')}"


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def _files(message: Message, embeds: list[dict[str, Any]]) -> list[AttachmentView]:
    """The message's attachments; one an embed shows (``attachment://name``) is drawn there
    instead, as Discord does."""
    by_name = {a.filename: a for a in message.attachments}
    for embed in embeds:
        image = embed.get("image")
        if image and image.get("url") is None and image.get("name") in by_name:
            image["url"] = attachment_url(by_name.pop(image["name"]))
    return [
        AttachmentView(a.filename, attachment_url(a), _size(len(a.data)), image_type(a) is not None)
        for a in message.attachments
        if a.filename in by_name
    ]


def message_view(server: SandboxServer, message: Message, names: Names) -> MessageView:
    guild = server.state.guilds.get(message.guild_id) if message.guild_id else None
    member = guild.members.get(message.author.id) if guild else None
    name = (
        (member.nick if member else None) or message.author.global_name or message.author.username
    )
    moment = snowflake_datetime(message.id)
    embeds = [embed_view(e, names) for e in message.embeds]
    rows = []
    for row in message.components:
        children = row.get("components") if row.get("type") == 1 else [row]
        rows.append([_component(server, guild, c) for c in children or []])
    return MessageView(
        id=message.id,
        author=name,
        author_colour=role_colour(guild, member) if guild else None,
        avatar_colour="#5865f2" if message.author.bot else _avatar_colour(message.author.id),
        initials=name[:1].upper() or "?",
        bot=message.author.bot,
        time=_format_time(moment),
        iso_time=moment.isoformat(),
        content=markdown(message.content, names),
        embeds=embeds,
        rows=rows,
        ephemeral=message.ephemeral,
        loading=bool(message.flags & LOADING),
        edited=message.edited_timestamp is not None,
        used=_used(server, message),
        reply_to=_reply_to(server, message),
        attachments=_files(message, embeds),
    )


def visible_messages(server: SandboxServer, channel: Channel, viewer_id: int) -> list[Message]:
    """The channel's messages, with the ephemeral ones only their interaction's user sees."""
    shown = list(server.state.channel_messages(channel.id))
    for message in server.state.ephemeral_messages.values():
        meta = message.interaction_metadata or {}
        if message.channel_id == channel.id and meta.get("user", {}).get("id") == str(viewer_id):
            shown.append(message)
    shown.sort(key=lambda m: m.id)
    return shown[-MESSAGE_LIMIT:]


def message_views(server: SandboxServer, channel: Channel, viewer_id: int) -> list[MessageView]:
    guild = server.state.guilds.get(channel.guild_id) if channel.guild_id else None
    names = names_of(server, guild)
    return [message_view(server, m, names) for m in visible_messages(server, channel, viewer_id)]


# -- slash commands ----------------------------------------------------------------------------


@dataclass
class OptionField:
    name: str
    description: str
    required: bool
    input: str  # "text", "integer", "number", "boolean", "select", "unsupported"
    choices: list[tuple[str, str]]  # (value, label) for selects


@dataclass
class CommandForm:
    path: str  # "guild list"
    description: str
    options: list[OptionField]

    @property
    def key(self) -> str:
        return hashlib.sha1(self.path.encode()).hexdigest()[:10]


def _option_field(guild: Guild, option: dict[str, Any]) -> OptionField:
    kind = option.get("type")
    choices = [(str(c["value"]), c["name"]) for c in option.get("choices") or []]
    if choices:
        widget = "select"
    elif kind == STRING:
        widget = "text"
    elif kind == INTEGER:
        widget = "integer"
    elif kind == NUMBER:
        widget = "number"
    elif kind == BOOLEAN:
        widget, choices = "select", [("true", "True"), ("false", "False")]
    elif kind in (USER, MENTIONABLE, ROLE, CHANNEL):
        widget = "select"
        if kind in (USER, MENTIONABLE):
            choices += [(str(m.id), m.name) for m in members(guild)]
        if kind in (ROLE, MENTIONABLE):
            roles = [r for r in reversed(guild.sorted_roles()) if r.id != guild.id]
            choices += [(str(r.id), "@" + r.name) for r in roles]
        if kind == CHANNEL:
            channels = sorted(guild.channels.values(), key=_position)
            choices += [(str(c.id), "#" + (c.name or "")) for c in channels]
    else:
        widget = "unsupported"
    return OptionField(
        option.get("name", ""),
        option.get("description", ""),
        bool(option.get("required")),
        widget,
        choices,
    )


def guild_commands(server: SandboxServer, guild: Guild) -> list[ApplicationCommand]:
    """Chat-input commands usable in ``guild``; guild commands shadow global ones."""
    found: dict[str, ApplicationCommand] = {}
    for command in server.state.commands.values():
        if command.type != 1 or command.guild_id not in (None, guild.id):
            continue
        if command.name not in found or command.guild_id is not None:
            found[command.name] = command
    return [found[name] for name in sorted(found)]


def command_forms(server: SandboxServer, guild: Guild) -> list[CommandForm]:
    """One form per runnable command path: subcommands get their own."""
    forms = []

    def walk(path: str, description: str, options: list[dict[str, Any]]) -> None:
        subs = [o for o in options if o.get("type") in (SUB_COMMAND, SUB_COMMAND_GROUP)]
        if not subs:
            forms.append(CommandForm(path, description, [_option_field(guild, o) for o in options]))
            return
        for sub in subs:
            walk(f"{path} {sub['name']}", sub.get("description", ""), sub.get("options") or [])

    for command in guild_commands(server, guild):
        walk(command.name, command.description, command.options)
    return forms


def find_option(server: SandboxServer, guild: Guild, path: str) -> dict[str, dict[str, Any]]:
    """The option definitions of the command path ``path``, by name."""
    name, *subs = path.split()
    command = next((c for c in guild_commands(server, guild) if c.name == name), None)
    if command is None:
        raise LookupError(f"The bot has not registered a slash command /{name}.")
    options = command.options
    for sub in subs:
        match = next((o for o in options if o.get("name") == sub), None)
        if match is None or match.get("type") not in (SUB_COMMAND, SUB_COMMAND_GROUP):
            raise LookupError(f"/{name} has no subcommand {sub!r}.")
        options = match.get("options") or []
    return {o["name"]: o for o in options}


def coerce_options(
    server: SandboxServer, guild: Guild, path: str, raw: dict[str, Any]
) -> dict[str, Any]:
    """Form values (strings) as the types the command's options declare."""
    definitions = find_option(server, guild, path)
    values: dict[str, Any] = {}
    for name, definition in definitions.items():
        given = raw.get(name)
        if given is None or str(given).strip() == "":
            if definition.get("required"):
                raise ValueError(f"The option {name!r} of /{path} is required.")
            continue
        values[name] = _coerce(guild, definition, str(given).strip())
    unknown = set(raw) - set(definitions)
    if unknown:
        raise ValueError(f"/{path} has no option {sorted(unknown)[0]!r}.")
    return values


def _coerce(guild: Guild, definition: dict[str, Any], value: str) -> Any:
    kind = definition.get("type")
    name = definition.get("name")
    try:
        if kind == INTEGER:
            return int(value)
        if kind == NUMBER:
            return float(value)
        if kind == BOOLEAN:
            return value.lower() in ("true", "1", "yes", "on")
        if kind == MENTIONABLE:
            target = int(value)
            member = guild.members.get(target)
            return member.user if member is not None else target
        if kind in (USER, CHANNEL, ROLE):
            return int(value)
    except ValueError:
        raise ValueError(f"The option {name!r} needs a number, not {value!r}.") from None
    return value


# -- modals ------------------------------------------------------------------------------------


@dataclass
class ModalField:
    custom_id: str
    label: str
    paragraph: bool
    placeholder: str
    value: str
    required: bool
    max_length: int | None


@dataclass
class ModalView:
    interaction_id: int
    title: str
    fields: list[ModalField]


def _text_input(raw: dict[str, Any], label: str | None = None) -> ModalField | None:
    if raw.get("type") != TEXT_INPUT:
        return None
    return ModalField(
        custom_id=raw.get("custom_id", ""),
        label=label or raw.get("label") or raw.get("custom_id", ""),
        paragraph=raw.get("style") == 2,
        placeholder=raw.get("placeholder") or "",
        value=raw.get("value") or "",
        required=raw.get("required", True),
        max_length=raw.get("max_length"),
    )


def open_modal(server: SandboxServer, guild: Guild, user_id: int) -> ModalView | None:
    """The modal the bot last opened for ``user_id`` in ``guild``, unless already submitted."""
    mine = [
        i
        for i in server.state.interactions.values()
        if i.user_id == user_id and i.guild_id == guild.id
    ]
    opened = [i for i in mine if i.modal is not None]
    if not opened:
        return None
    origin = max(opened, key=lambda i: i.id)
    modal = origin.modal or {}
    if any(
        i.type == 5 and i.id > origin.id and i.data.get("custom_id") == modal.get("custom_id")
        for i in mine
    ):
        return None
    fields = []
    for row in modal.get("components") or []:
        if row.get("type") == LABEL and isinstance(row.get("component"), dict):
            found = _text_input(row["component"], row.get("label"))
            fields += [found] if found else []
            continue
        for comp in row.get("components") or []:
            found = _text_input(comp)
            fields += [found] if found else []
    return ModalView(origin.id, modal.get("title") or "Form", fields)
