"""The pure plan: what to send so that a live guild matches a template, in a safe order.

Matching (cogs.templates.matching) pairs template nodes with live objects; a rename is an
update. Order (why: members are never exposed):
1. roles, created without permissions;  2. categories;  3. channels, with their overwrites
in the create call;  4. updates (and guild settings);  5. one bulk channel-position update,
split only where Discord allows one parent change per request (40009);  6. role permissions
and positions;  7. deletions, only with prune, never a channel holding messages unless the
confirmation names it. References to objects created earlier are {"$ref": key} placeholders
that the executor resolves through the id map.

Each phase lives in `cogs.templates.planning.<phase>` and works on one `PlanContext`."""

from __future__ import annotations

from cogs.templates.document import Template
from cogs.templates.live import LiveGuild
from cogs.templates.matching import match
from cogs.templates.planning.channel_order import reorder_channels
from cogs.templates.planning.channels import create_channels, update_channels
from cogs.templates.planning.context import EVERYONE_KEY, PlanContext
from cogs.templates.planning.deletions import deletions
from cogs.templates.planning.limits import check_limits
from cogs.templates.planning.model import (
    CHANNEL_CREATES_PER_DAY,
    ApplyOptions,
    Plan,
    Step,
    StepKind,
    ref,
)
from cogs.templates.planning.roles import create_roles, update_roles
from cogs.templates.planning.tree import render_tree

__all__ = [
    "CHANNEL_CREATES_PER_DAY",
    "EVERYONE_KEY",
    "ApplyOptions",
    "Plan",
    "Step",
    "StepKind",
    "make_plan",
    "ref",
]

PHASES = (
    create_roles,
    create_channels,
    update_channels,
    reorder_channels,
    update_roles,
    deletions,
    check_limits,
    render_tree,
)


def make_plan(
    template: Template,
    live: LiveGuild,
    id_map: dict[str, int] | None = None,
    options: ApplyOptions | None = None,
) -> Plan:
    """Everything to send, in order; `plan.errors` non-empty means: send nothing."""
    ctx = PlanContext(template, live, dict(id_map or {}), options or ApplyOptions())
    ctx.plan.matches.update(match(template, live, ctx.id_map))
    for phase in PHASES:
        phase(ctx)
    return ctx.plan
