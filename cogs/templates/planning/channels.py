"""Channel phases: create what is missing (overwrites in the create call, so nothing is
ever visible to more people than the template says), update what differs, and the guild
settings that name channels."""

from __future__ import annotations

from typing import Any

from cogs.templates.document import CHANNEL_TYPES, ChannelSpec
from cogs.templates.live import FIELD_MAP, LiveChannel
from cogs.templates.planning.context import PlanContext
from cogs.templates.planning.model import Step, StepKind, ref
from cogs.templates.planning.overwrites import (
    kept_overwrites,
    overwrite_payload,
    overwrites_equal,
)


def props_payload(node: ChannelSpec, channel: LiveChannel | None) -> dict[str, Any]:
    """The node's properties in Discord's names; only those that differ from `channel`."""
    out: dict[str, Any] = {}
    for name, value in node.props.items():
        api_name = FIELD_MAP[name][0]
        if name == "tags":
            value = [
                {
                    "name": tag["name"],
                    "moderated": tag.get("moderated", False),
                    "emoji_name": tag.get("emoji_name"),
                    "emoji_id": tag.get("emoji_id"),
                }
                for tag in value
            ]
            if channel is not None and value == channel.prop("tags"):
                continue
            if channel is not None:  # keep existing tags' ids, so posts keep their tags
                ids = {t["name"]: t.get("id") for t in channel.raw.get("available_tags") or []}
                value = [
                    {**tag, "id": ids[tag["name"]]} if ids.get(tag["name"]) else tag
                    for tag in value
                ]
        elif name == "default_reaction" and value is not None:
            value = {"emoji_name": value.get("emoji_name"), "emoji_id": value.get("emoji_id")}
            if channel is not None and value == channel.prop(name):
                continue
        elif channel is not None and value == channel.prop(name):
            continue
        out[api_name] = value
    return out


def create_channels(ctx: PlanContext) -> None:
    """Categories first, then channels, each created with its overwrites."""
    cats = [n for n in ctx.template.channels if n.type == "category"]
    rest = [n for n in ctx.template.walk() if n.type != "category"]
    for node in cats + rest:
        if node.key in ctx.plan.matches:
            continue
        payload: dict[str, Any] = {"name": node.name, "type": CHANNEL_TYPES[node.type]}
        payload.update(props_payload(node, None))
        payload["position"] = ctx.siblings(node).index(node)
        if node.parent is not None:
            parent = ctx.target(node.parent.key)
            payload["parent_id"] = str(parent) if parent is not None else ref(node.parent.key)
        payload["permission_overwrites"] = overwrite_payload(ctx, node)
        kind = "category" if node.type == "category" else f"#{node.name}"
        label = f"create category {node.name}" if node.type == "category" else f"create {kind}"
        ctx.plan.steps.append(Step(StepKind.CREATE_CHANNEL, label, payload, node.key))
        ctx.new.add(node.key)
        ctx.mark(node.key, "+")
        ctx.plan.counts["create"] += 1


def update_channels(ctx: PlanContext) -> None:
    """One edit per matched channel that differs (name, type, properties, overwrites)."""
    for node in ctx.template.walk():
        target = ctx.target(node.key)
        if target is None or node.key in ctx.new:
            continue
        channel = ctx.live.channel(target)
        assert channel is not None
        payload: dict[str, Any] = {}
        changed = []
        if channel.name != node.name:
            payload["name"] = node.name
            changed.append(f"renamed from {channel.name}")
        if channel.type_name != node.type:
            payload["type"] = CHANNEL_TYPES[node.type]
            changed.append(f"type {channel.type_name} -> {node.type}")
        props = props_payload(node, channel)
        if props:
            payload.update(props)
            changed.append(", ".join(sorted(k for k in node.props if FIELD_MAP[k][0] in props)))
        if not overwrites_equal(ctx, node, channel):
            payload["permission_overwrites"] = overwrite_payload(ctx, node) + kept_overwrites(
                ctx, channel
            )
            changed.append("permissions")
        if payload:
            ctx.plan.steps.append(
                Step(StepKind.EDIT_CHANNEL, f"update #{node.name}", payload, target=target)
            )
            ctx.mark(node.key, "~", "; ".join(changed))
            ctx.plan.counts["update"] += 1
    guild_settings(ctx)


def guild_settings(ctx: PlanContext) -> None:
    """One edit of the server's settings, when any differ."""
    settings = ctx.template.settings
    raw = ctx.live.raw
    payload: dict[str, Any] = {}
    for key, api in (
        ("afk_timeout", "afk_timeout"),
        ("verification_level", "verification_level"),
        ("default_notifications", "default_message_notifications"),
    ):
        if key in settings and settings[key] != raw.get(api):
            payload[api] = settings[key]
    for key, api in (
        ("system_channel", "system_channel_id"),
        ("afk_channel", "afk_channel_id"),
    ):
        if key not in settings:
            continue
        name = settings[key]
        node = next((n for n in ctx.template.walk() if n.name == name), None) if name else None
        if node is None:
            if raw.get(api) is not None:
                payload[api] = None
            continue
        target = ctx.target(node.key)
        if target is None or str(target) != str(raw.get(api)):
            payload[api] = str(target) if target is not None else ref(node.key)
    if payload:
        ctx.plan.steps.append(Step(StepKind.EDIT_GUILD, "update server settings", payload))
        ctx.plan.counts["update"] += 1
