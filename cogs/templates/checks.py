"""Before any write: what the bot lacks to carry out a plan, in words a server admin acts on."""

from __future__ import annotations

from cogs.templates.document import permission_bits
from cogs.templates.live import LiveGuild
from cogs.templates.plan import Plan, StepKind
from cogs.templates.planning.model import CHANNEL_KINDS, ROLE_KINDS

ADMINISTRATOR = 1 << 3


def _title(name: str) -> str:
    return name.replace("_", " ").title().replace("Tts", "TTS").replace("Vad", "VAD")


def missing_for_plan(plan: Plan, live: LiveGuild, bot_role_ids: list[int]) -> list[str]:
    """Every permission the bot lacks and every role it must sit above; empty: go ahead."""
    mine = [r for r in live.roles if r.id in bot_role_ids or r.id == live.id]
    held = 0
    for role in mine:
        held |= role.permissions
    top = max((r.position for r in mine if r.id != live.id), default=0)
    admin = bool(held & ADMINISTRATOR)
    bits = permission_bits()
    needed: set[str] = set()
    granted = 0
    above: list[str] = []
    for step in plan.steps:
        if step.kind in CHANNEL_KINDS:
            needed.add("manage_channels")
            payload = step.payload if isinstance(step.payload, dict) else {}
            for ow in payload.get("permission_overwrites") or []:
                needed.add("manage_roles")
                granted |= int(ow["allow"]) | int(ow["deny"])
        elif step.kind in ROLE_KINDS:
            needed.add("manage_roles")
            if isinstance(step.payload, dict) and step.payload.get("permissions"):
                granted |= int(step.payload["permissions"])
            targets = (
                [int(e["id"]) for e in step.payload if not isinstance(e["id"], dict)]
                if step.kind is StepKind.REORDER_ROLES
                else [step.target]
                if step.target is not None
                else []
            )
            for target in targets:
                role = live.role(target)
                if role is not None and role.id != live.id and role.position >= top:
                    above.append(role.name)
            if step.kind is StepKind.REORDER_ROLES and len(step.payload) >= top:
                above.append(f"the {len(step.payload)} roles of the template")
        elif step.kind is StepKind.EDIT_GUILD:
            needed.add("manage_guild")
    missing: list[str] = []
    if not admin:
        missing += [_title(n) for n in sorted(needed) if not held & bits[n]]
        extra = granted & ~held
        names = [_title(n) for n, bit in bits.items() if extra & bit]
        if names:
            missing.append(
                "the permissions the template grants, which I can only give if I have them: "
                + ", ".join(names)
            )
    for name in dict.fromkeys(above):
        missing.append(f"my role must be above {name}")
    return missing
