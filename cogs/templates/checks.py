"""Before any write: what the bot lacks to carry out a plan, and what the member applying it
may not do themselves, in words a server admin acts on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cogs.templates.document import permission_bits
from cogs.templates.live import LiveGuild, LiveOverwrite, LiveRole
from cogs.templates.plan import Plan, Step, StepKind
from cogs.templates.planning.model import CHANNEL_KINDS, ROLE_KINDS

if TYPE_CHECKING:
    from cogs.templates.api import GuildApi

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


# the member who applies -------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    """The person an apply acts for, as the live server sees them."""

    id: int
    role_ids: frozenset[int]

    @classmethod
    def from_api(cls, raw: dict[str, Any]) -> Member:
        return cls(int(raw["user"]["id"]), frozenset(int(r) for r in raw.get("roles") or []))


async def member_of(api: GuildApi, user_id: int) -> Member | None:
    """The member `user_id` of the api's server, as it is now; None when not in it."""
    from nextcord import NotFound

    try:
        return Member.from_api(await api.member(user_id))
    except NotFound:
        return None


def _names(bits: int) -> str:
    return ", ".join(_title(n) for n, bit in permission_bits().items() if bits & bit) or str(bits)


def _unresolved(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"$ref"}


def channel_permissions(
    base: int, live: LiveGuild, member: Member, overwrites: list[LiveOverwrite]
) -> int:
    """`base` (the member's server-wide permissions) in a channel with these overwrites,
    in Discord's order: @everyone, then the member's roles together, then the member."""
    if base & ADMINISTRATOR:
        return base
    by_target = {(ow.type, ow.id): ow for ow in overwrites}
    everyone = by_target.get((0, live.id))
    if everyone is not None:
        base = (base & ~everyone.deny) | everyone.allow
    allow = deny = 0
    for role_id in member.role_ids:
        ow = by_target.get((0, role_id))
        if ow is not None:
            allow, deny = allow | ow.allow, deny | ow.deny
    base = (base & ~deny) | allow
    own = by_target.get((1, member.id))
    if own is not None:
        base = (base & ~own.deny) | own.allow
    return base


def member_refusals(
    steps: list[Step], live: LiveGuild, member: Member | None, id_map: dict[str, int] | None = None
) -> list[str]:
    """What Discord would refuse `member` if they made these changes themselves, each with
    its reason; empty: go ahead. The bot acts for the person who applies, so it keeps to
    the same rules: nobody grants a permission they lack (on a role, or allowed or denied
    in a channel's overwrite), and nobody but the owner edits, moves or deletes a role at or
    above their own highest role. The owner may do anything, and Administrator holds every
    permission (but not a place in the role order). `member` None: not in the server."""
    if member is None:
        return ["you are not a member of this server any more"]
    if str(member.id) == str(live.raw.get("owner_id")):
        return []
    id_map = id_map or {}
    held = 0
    for role in live.roles:
        if role.id == live.id or role.id in member.role_ids:
            held |= role.permissions
    admin = bool(held & ADMINISTRATOR)
    mine = [r for r in live.roles if r.id in member.role_ids and r.id != live.id]
    # Discord orders roles by position, and of two at one position the older (smaller id)
    # is higher: a role made just now at position 1 sits below an older role there.
    highest = max(mine, key=lambda r: (r.position, -r.id), default=None)
    top = (highest.position, -highest.id) if highest is not None else (0, 0)
    top_text = f"your highest role, @{highest.name}" if highest else "you hold no role"
    new_names = {
        step.key: step.payload.get("name", step.key)
        for step in steps
        if step.kind is StepKind.CREATE_ROLE and step.key and isinstance(step.payload, dict)
    }

    def live_id(value: Any) -> int | None:
        if _unresolved(value):
            made = id_map.get(value["$ref"])
            return made
        return int(value) if value is not None else None

    def role_name(role_id: int | None, key: Any = None) -> str:
        role = live.role(role_id) if role_id is not None else None
        if role is not None:
            return "@everyone" if role.id == live.id else f"@{role.name}"
        ref_key = key["$ref"] if _unresolved(key) else key
        return f"@{new_names.get(ref_key, ref_key)}"

    refused: list[str] = []

    def above(role: LiveRole | None, doing: str) -> None:
        if role is not None and role.id != live.id and (role.position, -role.id) >= top:
            refused.append(
                f"{doing} @{role.name}: it is at or above {top_text} (only roles below it)"
            )

    def grants(bits: int, what: str) -> None:
        if not admin and bits & ~held:
            refused.append(f"{what} {_names(bits & ~held)}: permissions you do not have")

    for step in steps:
        payload = step.payload
        if step.kind in (StepKind.CREATE_ROLE, StepKind.EDIT_ROLE):
            target = step.target if step.target is not None else id_map.get(step.key or "")
            role = live.role(target) if target is not None else None
            name = role_name(target, step.key)
            if step.kind is StepKind.EDIT_ROLE:
                above(role, "edit")
            if isinstance(payload, dict) and payload.get("permissions") is not None:
                old = role.permissions if role is not None else 0
                grants(int(payload["permissions"]) & ~old, f"give {name}")
        elif step.kind is StepKind.DELETE_ROLE:
            above(live.role(step.target) if step.target is not None else None, "delete")
        elif step.kind is StepKind.REORDER_ROLES:
            for entry in payload:
                role_id = live_id(entry["id"])
                role = live.role(role_id) if role_id is not None else None
                position = int(entry["position"])
                if role is not None and role.position == position:
                    continue
                above(role, "move")
                # a role this apply makes is newer than any: below the others at its position
                rank = (position, -role.id if role is not None else -(1 << 64))
                if rank >= top and (role is None or (role.position, -role.id) < top):
                    refused.append(
                        f"move {role_name(role_id, entry['id'])} to position {position}: "
                        f"at or above {top_text}"
                    )
        elif step.kind in (StepKind.CREATE_CHANNEL, StepKind.EDIT_CHANNEL) and isinstance(
            payload, dict
        ):
            wanted = payload.get("permission_overwrites")
            if not wanted or admin:
                continue
            channel = live.channel(step.target) if step.target is not None else None
            if channel is None and step.key:
                made = id_map.get(step.key)
                channel = live.channel(made) if made is not None else None
            parent_id = payload.get("parent_id")
            parent = (
                None if _unresolved(parent_id) or not parent_id else live.channel(int(parent_id))
            )
            context = channel or parent
            here = channel_permissions(held, live, member, context.overwrites if context else [])
            existing = {(ow.type, ow.id): ow for ow in channel.overwrites} if channel else {}
            name = payload.get("name") or (channel.name if channel else "a new channel")
            for ow in wanted:
                target_id = live_id(ow["id"])
                kind = int(ow.get("type", 0))
                before = existing.get((kind, target_id)) if target_id is not None else None
                added = (int(ow.get("allow") or 0) & ~(before.allow if before else 0)) | (
                    int(ow.get("deny") or 0) & ~(before.deny if before else 0)
                )
                lacking = added & ~here
                if lacking:
                    whom = f"member {target_id}" if kind == 1 else role_name(target_id, ow["id"])
                    refused.append(
                        f"set #{name}'s overwrite for {whom} on {_names(lacking)}: permissions "
                        "you do not have in that channel"
                    )
    return list(dict.fromkeys(refused))
