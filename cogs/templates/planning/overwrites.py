"""Permission overwrites as Discord takes them: names become role ids (or placeholders for
roles this plan creates), synced channels take their category's."""

from __future__ import annotations

from typing import Any

from cogs.templates.document import ChannelSpec, Overwrite
from cogs.templates.live import LiveChannel
from cogs.templates.planning.context import PlanContext
from cogs.templates.planning.model import ref


def overwrites_for(node: ChannelSpec) -> list[Overwrite]:
    return node.parent.overwrites if node.sync and node.parent is not None else node.overwrites


def overwrite_payload(ctx: PlanContext, node: ChannelSpec) -> list[dict[str, Any]]:
    out = []
    for ow in overwrites_for(node):
        if ow.member is not None:
            target: Any = str(ow.member)
            kind = 1
        else:
            key = ctx.role_keys[ow.role or ""]
            resolved = ctx.target(key)
            target = str(resolved) if resolved is not None else ref(key)
            kind = 0
        out.append({"id": target, "type": kind, "allow": str(ow.allow), "deny": str(ow.deny)})
    return out


def overwrites_equal(ctx: PlanContext, node: ChannelSpec, channel: LiveChannel) -> bool:
    wanted = set()
    for item in overwrite_payload(ctx, node):
        if isinstance(item["id"], dict):
            return False  # names a role this plan creates
        wanted.add((int(item["id"]), item["type"], int(item["allow"]), int(item["deny"])))
    have = {
        (o.id, o.type, o.allow, o.deny)
        for o in channel.overwrites
        if not (o.type == 0 and o.id in ctx.managed_roles)
    }
    return wanted == have


def kept_overwrites(ctx: PlanContext, channel: LiveChannel) -> list[dict[str, Any]]:
    """Overwrites for managed roles (bots' own) are not templated: an update keeps them."""
    return [
        {"id": str(o.id), "type": 0, "allow": str(o.allow), "deny": str(o.deny)}
        for o in channel.overwrites
        if o.type == 0 and o.id in ctx.managed_roles
    ]
