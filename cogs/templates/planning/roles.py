"""Role phases: create missing roles without permissions (so nobody holds rights before
the channels that limit them exist), then set permissions, update, and order them."""

from __future__ import annotations

from typing import Any

from cogs.templates.document import RoleSpec
from cogs.templates.live import LiveRole
from cogs.templates.planning.context import PlanContext
from cogs.templates.planning.model import Step, StepKind, ref


def create_roles(ctx: PlanContext) -> None:
    if not ctx.opts.roles:
        for role in ctx.template.roles:
            if role.key not in ctx.plan.matches:
                used = any(ow.role == role.name for n in ctx.template.walk() for ow in n.overwrites)
                if used:
                    ctx.plan.errors.append(
                        f"role {role.name!r} does not exist here and roles are not applied; "
                        "apply with roles, or create it first"
                    )
        return
    for role in ctx.template.roles:
        if role.key in ctx.plan.matches:
            continue
        payload: dict[str, Any] = {
            "name": role.name,
            "permissions": "0",
            "color": role.color,
            "hoist": role.hoist,
            "mentionable": role.mentionable,
        }
        if role.unicode_emoji:
            payload["unicode_emoji"] = role.unicode_emoji
        ctx.plan.steps.append(
            Step(StepKind.CREATE_ROLE, f"create role {role.name}", payload, role.key)
        )
        ctx.new.add(role.key)
        ctx.mark(role.key, "+")
        ctx.plan.counts["create"] += 1


def role_diff(role: RoleSpec, live: LiveRole) -> dict[str, Any]:
    """The fields of `live` that differ from the template's role, in Discord's names."""
    payload: dict[str, Any] = {}
    if live.name != role.name:
        payload["name"] = role.name
    if live.color != role.color:
        payload["color"] = role.color
    if live.hoist != role.hoist:
        payload["hoist"] = role.hoist
    if live.mentionable != role.mentionable:
        payload["mentionable"] = role.mentionable
    if (live.unicode_emoji or None) != (role.unicode_emoji or None):
        payload["unicode_emoji"] = role.unicode_emoji
    if live.permissions != role.permissions:
        payload["permissions"] = str(role.permissions)
    return payload


def update_roles(ctx: PlanContext) -> None:
    """Permissions of the roles just made, edits of the others, @everyone, then order."""
    if not ctx.opts.roles:
        return
    for role in ctx.template.roles:
        target = ctx.target(role.key)
        if role.key in ctx.new:
            if role.permissions:
                ctx.plan.steps.append(
                    Step(
                        StepKind.EDIT_ROLE,
                        f"set permissions of {role.name}",
                        {"permissions": str(role.permissions)},
                        target=None,
                        key=role.key,
                    )
                )
            continue
        live = ctx.live.role(target)  # type: ignore[arg-type]
        assert live is not None
        payload = role_diff(role, live)
        if payload:
            ctx.plan.steps.append(
                Step(StepKind.EDIT_ROLE, f"update role {role.name}", payload, target=target)
            )
            ctx.mark(role.key, "~", ", ".join(sorted(payload)))
            ctx.plan.counts["update"] += 1
    everyone = ctx.live.everyone
    wanted = ctx.template.everyone_permissions
    if wanted is not None and everyone is not None and everyone.permissions != wanted:
        ctx.plan.steps.append(
            Step(
                StepKind.EDIT_ROLE,
                "update @everyone permissions",
                {"permissions": str(wanted)},
                target=ctx.live.id,
            )
        )
        ctx.plan.counts["update"] += 1
    reorder_roles(ctx)


def reorder_roles(ctx: PlanContext) -> None:
    """One bulk position update over only the template's roles, when their order differs."""
    roles = ctx.template.roles
    if not roles:
        return
    existing = [r.id for r in ctx.live.roles_top_down()]
    by_target = {ctx.target(role.key): role.key for role in roles if role.key not in ctx.new}
    predicted = [by_target[rid] for rid in existing if rid in by_target]
    predicted += [role.key for role in roles if role.key in ctx.new]
    wanted = [role.key for role in roles]
    if predicted == wanted:
        return
    count = len(roles)
    payload = []
    for index, role in enumerate(roles):
        target = ctx.target(role.key)
        payload.append(
            {
                "id": str(target) if target is not None else ref(role.key),
                "position": count - index,
            }
        )
        if role.key not in ctx.new:
            ctx.mark(role.key, ">", "reordered")
    ctx.plan.steps.append(Step(StepKind.REORDER_ROLES, "reorder roles", payload))
    ctx.plan.counts["move"] += 1
