"""Discord server templates (GET /guilds/templates/{code}) -> a FoundryCord template.

Pure: it reads the `serialized_source_guild` of Discord's GuildTemplate object, whose ids
are template-local small integers (role 0 is @everyone; channels' `parent_id` and
overwrites refer to those local ids)."""

from __future__ import annotations

import re
from typing import Any

from cogs.templates.document import (
    TYPE_FIELDS,
    TYPE_NAMES,
    ChannelSpec,
    Overwrite,
    RoleSpec,
    Template,
    TemplateError,
    check_template,
)
from cogs.templates.live import LiveChannel

CODE_PATTERN = re.compile(
    r"^(?:https?://)?(?:discord\.new/|(?:www\.)?discord(?:app)?\.com/template/)?"
    r"([A-Za-z0-9-]{2,})/?$"
)


def template_code(text: str) -> str | None:
    """The code from a bare code or a discord.new / discord.com/template link."""
    match = CODE_PATTERN.match(text.strip())
    return match.group(1) if match else None


def _props(raw: dict[str, Any], type_name: str) -> dict[str, Any]:
    channel = LiveChannel.from_api({**raw, "id": raw.get("id") or 0})
    props = {}
    for name in sorted(TYPE_FIELDS[type_name]):
        value = channel.prop(name)
        if name == "tags":
            value = [
                {k: v for k, v in tag.items() if v is not None and k != "emoji_id"}
                | ({"emoji_id": str(tag["emoji_id"])} if tag.get("emoji_id") else {})
                for tag in value
            ]
        if name == "default_reaction" and value is not None:
            value = {
                "emoji_name": value.get("emoji_name"),
                "emoji_id": str(value["emoji_id"]) if value.get("emoji_id") else None,
            }
        props[name] = value
    return props


def from_discord_template(data: dict[str, Any]) -> Template:
    """Convert; raises TemplateError listing what cannot be carried over."""
    source = data.get("serialized_source_guild") or {}
    errors: list[str] = []
    roles_by_id: dict[int, str] = {}
    template = Template(
        name=str(data.get("name") or source.get("name") or "imported")[:100],
        description=str(data.get("description") or ""),
    )
    listed = source.get("roles") or []
    for raw in listed:
        if int(raw["id"]) == 0:
            template.everyone_permissions = int(raw.get("permissions") or 0)
            roles_by_id[0] = "@everyone"
            continue
        roles_by_id[int(raw["id"])] = raw["name"]
    # Discord lists roles bottom-up after @everyone; a template lists them top-down.
    for raw in reversed([r for r in listed if int(r["id"]) != 0]):
        colors = raw.get("colors") or {}
        template.roles.append(
            RoleSpec(
                name=raw["name"],
                color=int(colors.get("primary_color", raw.get("color")) or 0),
                hoist=bool(raw.get("hoist")),
                mentionable=bool(raw.get("mentionable")),
                permissions=int(raw.get("permissions") or 0),
                unicode_emoji=raw.get("unicode_emoji"),
            )
        )
    channels = sorted(source.get("channels") or [], key=lambda c: c.get("position") or 0)
    nodes: dict[int, ChannelSpec] = {}
    for i, raw in enumerate(channels):
        type_name = TYPE_NAMES.get(int(raw["type"]))
        if type_name is None:
            errors.append(
                f"$.serialized_source_guild.channels[{i}].type: "
                f"channel type {raw['type']} cannot be templated"
            )
            continue
        overwrites = []
        for ow in raw.get("permission_overwrites") or []:
            kind = ow.get("type")
            allow, deny = int(ow.get("allow") or 0), int(ow.get("deny") or 0)
            if kind in (1, "1", "member"):
                overwrites.append(Overwrite(member=int(ow["id"]), allow=allow, deny=deny))
            elif int(ow["id"]) in roles_by_id:
                overwrites.append(
                    Overwrite(role=roles_by_id[int(ow["id"])], allow=allow, deny=deny)
                )
        nodes[int(raw["id"])] = ChannelSpec(
            name=raw.get("name") or "unnamed",
            type=type_name,
            props=_props(raw, type_name),
            overwrites=overwrites,
        )
    for raw in channels:
        node = nodes.get(int(raw["id"]))
        if node is None:
            continue
        parent_id = raw.get("parent_id")
        parent = nodes.get(int(parent_id)) if parent_id is not None else None
        if parent is not None:
            node.parent = parent
            parent.children.append(node)
            if {(o.target, o.allow, o.deny) for o in node.overwrites} == {
                (o.target, o.allow, o.deny) for o in parent.overwrites
            }:
                node.sync, node.overwrites = True, []
        else:
            template.channels.append(node)

    def name_of(local: Any) -> str | None:
        node = nodes.get(int(local)) if local is not None else None
        return node.name if node else None

    template.settings = {
        "system_channel": name_of(source.get("system_channel_id")),
        "afk_channel": name_of(source.get("afk_channel_id")),
        "afk_timeout": source.get("afk_timeout", 300),
        "verification_level": source.get("verification_level", 0),
        "default_notifications": source.get("default_message_notifications", 0),
    }
    errors += check_template(template)
    if errors:
        raise TemplateError(errors)
    return template
