"""Which live role or channel each template node is: the stored source->target id map
first (a node saved from this very guild carries its own snowflake), then (type, name,
parent), then (type, name) when that pair is unique on both sides (a channel moved
elsewhere). Each live object is matched at most once."""

from __future__ import annotations

from cogs.templates.document import ChannelSpec, Template
from cogs.templates.live import LiveChannel, LiveGuild


def match(template: Template, live: LiveGuild, id_map: dict[str, int]) -> dict[str, int]:
    """Template node key -> live id, for every node found in the guild."""
    found: dict[str, int] = {}
    _match_roles(template, live, id_map, found)
    _match_channels(template, live, id_map, found)
    return found


def _match_roles(
    template: Template, live: LiveGuild, id_map: dict[str, int], found: dict[str, int]
) -> None:
    usable = {r.id for r in live.roles if not r.managed and r.id != live.id}
    taken: set[int] = set()
    for role in template.roles:
        target = id_map.get(role.key, int(role.id) if role.id else None)
        if target in usable and target not in taken:
            found[role.key] = target
            taken.add(target)
    for role in template.roles:
        if role.key in found:
            continue
        for candidate in live.roles_top_down():
            if candidate.id in usable and candidate.id not in taken and candidate.name == role.name:
                found[role.key] = candidate.id
                taken.add(candidate.id)
                break


def _compatible(node: ChannelSpec, channel: LiveChannel) -> bool:
    """Same type, or text and announcement (Discord converts between those two)."""
    kinds = {node.type, channel.type_name}
    return node.type == channel.type_name or kinds == {"text", "announcement"}


def _match_channels(
    template: Template, live: LiveGuild, id_map: dict[str, int], found: dict[str, int]
) -> None:
    by_id = {c.id: c for c in live.channels}
    taken: set[int] = set()
    nodes = list(template.walk())

    def claim(node: ChannelSpec, channel: LiveChannel) -> None:
        found[node.key] = channel.id
        taken.add(channel.id)

    for node in nodes:
        # Snowflakes are unique: a node saved from this very guild names its channel.
        source = int(node.id) if node.id else -1
        channel = by_id.get(id_map.get(node.key, source))
        if channel is not None and channel.id not in taken and _compatible(node, channel):
            claim(node, channel)
    for node in nodes:  # parents come first, so a child's parent is settled
        if node.key in found:
            continue
        parent = found.get(node.parent.key) if node.parent else None
        if node.parent is not None and parent is None:
            continue
        for channel in live.children(parent):
            if channel.id not in taken and (channel.type_name, channel.name) == (
                node.type,
                node.name,
            ):
                claim(node, channel)
                break
    for node in nodes:  # moved elsewhere: unique (type, name) on both sides
        if node.key in found:
            continue
        same = [n for n in nodes if (n.type, n.name) == (node.type, node.name)]
        candidates = [
            c
            for c in live.channels
            if c.id not in taken and (c.type_name, c.name) == (node.type, node.name)
        ]
        if len(same) == 1 and len(candidates) == 1:
            claim(node, candidates[0])
