"""Prune: delete what the template lacks, never a channel holding messages unless the
confirmation names it, never a category that keeps such a channel, never a role a member
holds (or any role when members cannot be listed)."""

from __future__ import annotations

from cogs.templates.live import LiveChannel
from cogs.templates.planning.context import PlanContext
from cogs.templates.planning.model import Step, StepKind


def deletions(ctx: PlanContext) -> None:
    if not ctx.opts.prune:
        return
    matched = set(ctx.plan.matches.values())
    doomed = [c for c in ctx.live.channels if c.id not in matched]
    kept_ids: set[int] = set()
    for channel in doomed:
        if channel.holds_messages and channel.name not in ctx.opts.confirm_deletes:
            kept_ids.add(channel.id)
            ctx.plan.kept.append(channel.name)
    ordered = sorted(doomed, key=lambda c: c.type_name == "category")
    for channel in ordered:
        if channel.id in kept_ids:
            continue
        if channel.type_name == "category" and any(
            c.parent_id == channel.id
            and (c.id in kept_ids or c.id in matched)
            and not leaves(ctx, c, channel.id)
            for c in ctx.live.channels
        ):
            kept_ids.add(channel.id)
            ctx.plan.kept.append(channel.name)
            continue
        ctx.plan.steps.append(
            Step(StepKind.DELETE_CHANNEL, f"delete #{channel.name}", None, target=channel.id)
        )
        ctx.plan.counts["delete"] += 1
    if not ctx.opts.roles:
        return
    for role in ctx.live.roles:
        if role.managed or role.id == ctx.live.id or role.id in matched:
            continue
        assigned = ctx.opts.assigned_roles
        if assigned is None or role.id in assigned:  # members would lose it: keep
            ctx.plan.kept.append(f"@{role.name}")
            continue
        ctx.plan.steps.append(
            Step(StepKind.DELETE_ROLE, f"delete role {role.name}", None, target=role.id)
        )
        ctx.plan.counts["delete"] += 1


def leaves(ctx: PlanContext, channel: LiveChannel, parent_id: int) -> bool:
    """Whether a matched channel moves out of `parent_id` in this plan."""
    for node in ctx.template.walk():
        if ctx.plan.matches.get(node.key) == channel.id:
            parent = ctx.target(node.parent.key) if node.parent else None
            return parent != parent_id
    return False
