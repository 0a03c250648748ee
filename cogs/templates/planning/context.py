"""What every phase of the planner reads and writes: the template, the live guild, the
options, the plan being built, and which template keys it creates."""

from __future__ import annotations

from dataclasses import dataclass, field

from cogs.templates.document import ChannelSpec, Template
from cogs.templates.live import LiveGuild, display_group
from cogs.templates.planning.model import ApplyOptions, Plan

EVERYONE_KEY = "r:@everyone"


@dataclass
class PlanContext:
    template: Template
    live: LiveGuild
    id_map: dict[str, int]
    opts: ApplyOptions
    plan: Plan = field(default_factory=Plan)
    role_keys: dict[str, str] = field(default_factory=dict)  # role name -> template key
    new: set[str] = field(default_factory=set)  # keys created by this plan
    managed_roles: set[int] = field(default_factory=set)  # bots' own roles: never templated
    markers: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> tree marker

    def __post_init__(self) -> None:
        self.plan.matches[EVERYONE_KEY] = self.live.id
        self.role_keys = {role.name: role.key for role in self.template.roles}
        self.role_keys["@everyone"] = EVERYONE_KEY
        self.managed_roles = {r.id for r in self.live.roles if r.managed}

    def target(self, key: str) -> int | None:
        """The live object a template key is matched to (None: created by this plan)."""
        return self.plan.matches.get(key)

    def mark(self, key: str, marker: str, detail: str = "") -> None:
        """Note for the tree what happens to `key` (+ create, ~ update, > move)."""
        old, old_detail = self.markers.get(key, ("=", ""))
        if old in ("+",):
            return
        if old == "~" and marker == ">":
            marker = "~>"
        detail = ", ".join(part for part in (old_detail, detail) if part)
        self.markers[key] = (marker, detail)

    def siblings(self, node: ChannelSpec) -> list[ChannelSpec]:
        """The nodes sharing `node`'s parent and display group (text-like, voice-like...)."""
        pool = node.parent.children if node.parent is not None else self.template.channels
        return [n for n in pool if display_group(n.type) == display_group(node.type)]
