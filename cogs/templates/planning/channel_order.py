"""Channel order and parents in bulk: one position update per request, with at most one
parent change in each (Discord's error 40009). Discord renumbers positions per parent and
display group, so relative order is compared, never raw numbers."""

from __future__ import annotations

from typing import Any

from cogs.templates.document import ChannelSpec
from cogs.templates.live import display_group
from cogs.templates.planning.context import PlanContext
from cogs.templates.planning.model import Step, StepKind, ref


def reorder_channels(ctx: PlanContext) -> None:
    entries: list[dict[str, Any]] = []
    moves: list[dict[str, Any]] = []
    created = {
        key: i
        for i, key in enumerate(s.key for s in ctx.plan.steps if s.kind is StepKind.CREATE_CHANNEL)
    }
    live_ids = {c.id for c in ctx.live.channels}
    parents: list[ChannelSpec | None] = [
        None,
        *(n for n in ctx.template.channels if n.type == "category"),
    ]
    for parent in parents:
        pool = parent.children if parent is not None else ctx.template.channels
        parent_target = ctx.target(parent.key) if parent is not None else None
        for group in (0, 1, 2):
            wanted = [n for n in pool if display_group(n.type) == group]
            if not wanted:
                continue
            predicted = []
            changes_parent = set()
            for index, node in enumerate(wanted):
                target = ctx.target(node.key)
                if node.key in created:
                    predicted.append(
                        ((index, max(live_ids, default=0) + 1 + created[node.key]), node.key)
                    )
                    continue
                channel = ctx.live.channel(target)  # type: ignore[arg-type]
                assert channel is not None
                if channel.parent_id != parent_target or (
                    parent is not None and parent.key in ctx.new
                ):
                    changes_parent.add(node.key)
                predicted.append(((channel.position, channel.id), node.key))
            order = [key for _, key in sorted(predicted)]
            if order == [n.key for n in wanted] and not changes_parent:
                continue
            for index, node in enumerate(wanted):
                target = ctx.target(node.key)
                entry: dict[str, Any] = {
                    "id": str(target) if target is not None else ref(node.key),
                    "position": index,
                }
                if node.key in changes_parent:
                    entry["parent_id"] = (
                        None
                        if parent is None
                        else (str(parent_target) if parent_target else ref(parent.key))
                    )
                    moves.append(entry)
                    ctx.mark(node.key, ">", f"into {parent.name if parent else 'top level'}")
                    ctx.plan.counts["move"] += 1
                else:
                    entries.append(entry)
                    if node.key not in ctx.new and node.key in ctx.plan.matches:
                        live_channel = ctx.live.channel(ctx.plan.matches[node.key])
                        if live_channel and order.index(node.key) != index:
                            ctx.mark(node.key, ">", "reordered")
                            ctx.plan.counts["move"] += 1
    if not entries and not moves:
        return
    # Discord takes at most one parent change per request (error 40009).
    batches = [entries + moves[:1], *([m] for m in moves[1:])]
    for i, batch in enumerate(batches, start=1):
        label = "reorder channels" + (f" ({i} of {len(batches)})" if len(batches) > 1 else "")
        ctx.plan.steps.append(Step(StepKind.REORDER_CHANNELS, label, batch))
