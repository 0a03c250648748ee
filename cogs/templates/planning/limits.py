"""Discord's limits that depend on the live guild, checked before anything is sent: the
channel and role caps, per-category size, the daily and 48-hour creation quotas, boost-level
bitrates and Community-only channel types."""

from __future__ import annotations

from cogs.templates.document import MAX_CHANNELS, MAX_PER_CATEGORY, MAX_ROLES, ChannelSpec
from cogs.templates.planning.context import PlanContext
from cogs.templates.planning.model import CHANNEL_CREATES_PER_DAY, StepKind

BITRATE_BY_TIER = {0: 96000, 1: 128000, 2: 256000, 3: 384000}
COMMUNITY_TYPES = frozenset({"announcement", "stage"})


def check_limits(ctx: PlanContext) -> None:
    plan, live, opts = ctx.plan, ctx.live, ctx.opts
    errors = plan.errors
    deleted = {s.target for s in plan.steps if s.kind is StepKind.DELETE_CHANNEL}
    creates = plan.count(StepKind.CREATE_CHANNEL)
    final = len(live.channels) - len(deleted) + creates
    if final > MAX_CHANNELS:
        errors.append(
            f"the server would hold {final} channels; Discord allows {MAX_CHANNELS} "
            "(apply with prune, or remove channels from the template)"
        )
    for node in ctx.template.channels:
        target = ctx.target(node.key)
        if node.type != "category" or target is None:
            continue
        mine = set(filter(None, (ctx.target(n.key) for n in node.children)))
        foreign = [
            c
            for c in live.channels
            if c.parent_id == target
            and c.id not in mine
            and c.id not in deleted
            and c.id not in set(plan.matches.values())
        ]
        if len(foreign) + len(node.children) > MAX_PER_CATEGORY:
            errors.append(
                f"category {node.name!r} would hold {len(foreign) + len(node.children)} "
                f"channels; Discord allows {MAX_PER_CATEGORY}"
            )
    new_roles = plan.count(StepKind.CREATE_ROLE)
    gone_roles = plan.count(StepKind.DELETE_ROLE)
    if len(live.roles) + new_roles - gone_roles > MAX_ROLES:
        errors.append(
            f"the server would hold {len(live.roles) + new_roles} roles; Discord allows {MAX_ROLES}"
        )
    if new_roles > opts.role_quota:
        errors.append(
            f"the template creates {new_roles} roles; Discord lets this server create only "
            f"{opts.role_quota} more in the current 48 hours"
        )
    if creates > opts.channel_quota:
        errors.append(
            f"the template creates {creates} channels; Discord lets a server create "
            f"{CHANNEL_CREATES_PER_DAY} a day, and after the creations of the last 24 hours "
            f"only {opts.channel_quota} more are left: try again later, or apply a "
            "smaller template"
        )
    top = BITRATE_BY_TIER.get(live.premium_tier, 96000)
    community = "COMMUNITY" in (live.raw.get("features") or [])
    for node in ctx.template.walk():
        if node.props.get("bitrate", 0) > top and node.type == "voice":
            errors.append(
                f"#{node.name}: bitrate {node.props['bitrate']} is above this server's "
                f"{top} (boost level {live.premium_tier})"
            )
        if (
            node.type in COMMUNITY_TYPES
            and not community
            and (node.key in ctx.new or live_type(ctx, node) != node.type)
        ):
            errors.append(f"#{node.name}: {node.type} channels need a Community server")


def live_type(ctx: PlanContext, node: ChannelSpec) -> str | None:
    target = ctx.target(node.key)
    channel = ctx.live.channel(target) if target is not None else None
    return channel.type_name if channel else None
