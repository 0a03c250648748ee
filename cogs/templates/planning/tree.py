"""The plan as the tree a person reads: one line per role and channel, marked
+ create, ~ update, > move, - delete, ! kept, = unchanged."""

from __future__ import annotations

from cogs.templates.planning.context import PlanContext
from cogs.templates.planning.model import StepKind


def line(marker: str, label: str, detail: str) -> str:
    return f"{marker:<2} {label}" + (f"  ({detail})" if detail else "")


def render_tree(ctx: PlanContext) -> None:
    lines = ctx.plan.tree
    for role in ctx.template.roles:
        marker, detail = ctx.markers.get(role.key, ("=", ""))
        lines.append(line(marker, f"@{role.name}", detail))
    for node in ctx.template.walk():
        marker, detail = ctx.markers.get(node.key, ("=", ""))
        indent = "  " if node.parent is not None else ""
        label = node.name.upper() if node.type == "category" else f"#{node.name}"
        lines.append(line(marker, indent + label, detail))
    by_target = {s.target: s for s in ctx.plan.steps}
    for channel in ctx.live.channels:
        step = by_target.get(channel.id)
        if step is not None and step.kind is StepKind.DELETE_CHANNEL:
            lines.append(line("-", f"#{channel.name}", ""))
    for name in ctx.plan.kept:
        why = "members hold it: kept" if name.startswith("@") else "holds messages: kept"
        lines.append(line("!", name if name.startswith("@") else f"#{name}", why))
    for role in ctx.live.roles:
        step = by_target.get(role.id)
        if step is not None and step.kind is StepKind.DELETE_ROLE:
            lines.append(line("-", f"@{role.name}", ""))
