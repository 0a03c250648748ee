"""The pure plan: what to send so that a live guild matches a template, in a safe order.

Matching (cogs.templates.matching) pairs template nodes with live objects; a rename is an
update. Order (why: members are never exposed):
1. roles, created without permissions;  2. categories;  3. channels, with their overwrites
in the create call;  4. updates (and guild settings);  5. one bulk channel-position update,
split only where Discord allows one parent change per request (40009);  6. role permissions
and positions;  7. deletions, only with prune, never a channel holding messages unless the
confirmation names it. References to objects created earlier are {"$ref": key} placeholders
that the executor resolves through the id map."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cogs.templates.document import (
    CHANNEL_TYPES,
    MAX_CHANNELS,
    MAX_PER_CATEGORY,
    MAX_ROLES,
    ChannelSpec,
    Overwrite,
    RoleSpec,
    Template,
)
from cogs.templates.live import FIELD_MAP, LiveChannel, LiveGuild, LiveRole, display_group
from cogs.templates.matching import match

EVERYONE_KEY = "r:@everyone"
BITRATE_BY_TIER = {0: 96000, 1: 128000, 2: 256000, 3: 384000}
COMMUNITY_TYPES = frozenset({"announcement", "stage"})
WRITE_KINDS = (
    "create_role",
    "create_channel",
    "edit_channel",
    "edit_guild",
    "reorder_channels",
    "edit_role",
    "reorder_roles",
    "delete_channel",
    "delete_role",
)


@dataclass
class Step:
    kind: str
    label: str
    payload: Any = None
    key: str | None = None  # the template node a create makes (its id goes to the map)
    target: int | None = None  # the live object an edit or delete touches

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "label": self.label,
            "payload": self.payload,
            "key": self.key,
            "target": self.target,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Step:
        return cls(**raw)


@dataclass
class Plan:
    steps: list[Step] = field(default_factory=list)
    matches: dict[str, int] = field(default_factory=dict)
    tree: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(
        default_factory=lambda: {"create": 0, "update": 0, "move": 0, "delete": 0}
    )

    @property
    def empty(self) -> bool:
        return not self.steps

    def summary(self) -> str:
        c = self.counts
        text = (
            f"{c['create']} to create, {c['update']} to update, {c['move']} to move, "
            f"{c['delete']} to delete"
        )
        if self.kept:
            text += f"; {len(self.kept)} kept (they hold messages or members)"
        return text


# Discord lets a guild create 500 channels (categories included) per day.
CHANNEL_CREATES_PER_DAY = 500


@dataclass
class ApplyOptions:
    prune: bool = False
    roles: bool = True
    confirm_deletes: frozenset[str] = frozenset()  # channel names allowed to go with messages
    role_quota: int = MAX_ROLES  # role creations Discord still allows in this 48 h window
    channel_quota: int = CHANNEL_CREATES_PER_DAY  # channel creations left in this 24 h
    assigned_roles: frozenset[int] | None = frozenset()  # held by members (None: unknown)


def ref(key: str) -> dict[str, str]:
    return {"$ref": key}


def _group(node: ChannelSpec) -> int:
    return display_group(node.type)


class _Planner:
    def __init__(
        self, template: Template, live: LiveGuild, id_map: dict[str, int], opts: ApplyOptions
    ) -> None:
        self.t = template
        self.live = live
        self.id_map = id_map
        self.opts = opts
        self.plan = Plan()
        self.plan.matches[EVERYONE_KEY] = live.id
        self.role_keys: dict[str, str] = {role.name: role.key for role in template.roles}
        self.role_keys["@everyone"] = EVERYONE_KEY
        self.new: set[str] = set()  # keys created by this plan
        self.managed_roles = {r.id for r in live.roles if r.managed}
        self.markers: dict[str, tuple[str, str]] = {}

    # matching ------------------------------------------------------------------------------

    # helpers -------------------------------------------------------------------------------

    def target(self, key: str) -> int | None:
        return self.plan.matches.get(key)

    def mark(self, key: str, marker: str, detail: str = "") -> None:
        old, old_detail = self.markers.get(key, ("=", ""))
        if old in ("+",):
            return
        if old == "~" and marker == ">":
            marker = "~>"
        detail = ", ".join(part for part in (old_detail, detail) if part)
        self.markers[key] = (marker, detail)

    def overwrites_for(self, node: ChannelSpec) -> list[Overwrite]:
        return node.parent.overwrites if node.sync and node.parent is not None else node.overwrites

    def overwrite_payload(self, node: ChannelSpec) -> list[dict[str, Any]]:
        out = []
        for ow in self.overwrites_for(node):
            if ow.member is not None:
                target: Any = str(ow.member)
                kind = 1
            else:
                key = self.role_keys[ow.role or ""]
                resolved = self.target(key)
                target = str(resolved) if resolved is not None else ref(key)
                kind = 0
            out.append({"id": target, "type": kind, "allow": str(ow.allow), "deny": str(ow.deny)})
        return out

    def overwrites_equal(self, node: ChannelSpec, channel: LiveChannel) -> bool:
        wanted = set()
        for item in self.overwrite_payload(node):
            if isinstance(item["id"], dict):
                return False  # names a role this plan creates
            wanted.add((int(item["id"]), item["type"], int(item["allow"]), int(item["deny"])))
        have = {
            (o.id, o.type, o.allow, o.deny)
            for o in channel.overwrites
            if not (o.type == 0 and o.id in self.managed_roles)
        }
        return wanted == have

    def kept_overwrites(self, channel: LiveChannel) -> list[dict[str, Any]]:
        """Overwrites for managed roles (bots' own) are not templated: an update keeps them."""
        return [
            {"id": str(o.id), "type": 0, "allow": str(o.allow), "deny": str(o.deny)}
            for o in channel.overwrites
            if o.type == 0 and o.id in self.managed_roles
        ]

    def props_payload(self, node: ChannelSpec, channel: LiveChannel | None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, value in node.props.items():
            api_name = FIELD_MAP[name][0]
            if name == "tags":
                value = [
                    {
                        "name": tag["name"],
                        "moderated": tag.get("moderated", False),
                        "emoji_name": tag.get("emoji_name"),
                        "emoji_id": tag.get("emoji_id"),
                    }
                    for tag in value
                ]
                if channel is not None and value == channel.prop("tags"):
                    continue
                if channel is not None:  # keep existing tags' ids, so posts keep their tags
                    ids = {t["name"]: t.get("id") for t in channel.raw.get("available_tags") or []}
                    value = [
                        {**tag, "id": ids[tag["name"]]} if ids.get(tag["name"]) else tag
                        for tag in value
                    ]
            elif name == "default_reaction" and value is not None:
                value = {"emoji_name": value.get("emoji_name"), "emoji_id": value.get("emoji_id")}
                if channel is not None and value == channel.prop(name):
                    continue
            elif channel is not None and value == channel.prop(name):
                continue
            out[api_name] = value
        return out

    # the phases ----------------------------------------------------------------------------

    def roles(self) -> None:
        if not self.opts.roles:
            for role in self.t.roles:
                if role.key not in self.plan.matches:
                    used = any(ow.role == role.name for n in self.t.walk() for ow in n.overwrites)
                    if used:
                        self.plan.errors.append(
                            f"role {role.name!r} does not exist here and roles are not applied; "
                            "apply with roles, or create it first"
                        )
            return
        for role in self.t.roles:
            if role.key in self.plan.matches:
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
            self.plan.steps.append(
                Step("create_role", f"create role {role.name}", payload, role.key)
            )
            self.new.add(role.key)
            self.mark(role.key, "+")
            self.plan.counts["create"] += 1

    def create_channels(self) -> None:
        cats = [n for n in self.t.channels if n.type == "category"]
        rest = [n for n in self.t.walk() if n.type != "category"]
        for node in cats + rest:
            if node.key in self.plan.matches:
                continue
            payload: dict[str, Any] = {"name": node.name, "type": CHANNEL_TYPES[node.type]}
            payload.update(self.props_payload(node, None))
            siblings = self.siblings(node)
            payload["position"] = siblings.index(node)
            if node.parent is not None:
                parent = self.target(node.parent.key)
                payload["parent_id"] = str(parent) if parent is not None else ref(node.parent.key)
            payload["permission_overwrites"] = self.overwrite_payload(node)
            kind = "category" if node.type == "category" else f"#{node.name}"
            label = f"create category {node.name}" if node.type == "category" else f"create {kind}"
            self.plan.steps.append(Step("create_channel", label, payload, node.key))
            self.new.add(node.key)
            self.mark(node.key, "+")
            self.plan.counts["create"] += 1

    def siblings(self, node: ChannelSpec) -> list[ChannelSpec]:
        pool = node.parent.children if node.parent is not None else self.t.channels
        return [n for n in pool if _group(n) == _group(node)]

    def update_channels(self) -> None:
        for node in self.t.walk():
            target = self.target(node.key)
            if target is None or node.key in self.new:
                continue
            channel = self.live.channel(target)
            assert channel is not None
            payload: dict[str, Any] = {}
            changed = []
            if channel.name != node.name:
                payload["name"] = node.name
                changed.append(f"renamed from {channel.name}")
            if channel.type_name != node.type:
                payload["type"] = CHANNEL_TYPES[node.type]
                changed.append(f"type {channel.type_name} -> {node.type}")
            props = self.props_payload(node, channel)
            if props:
                payload.update(props)
                changed.append(", ".join(sorted(k for k in node.props if FIELD_MAP[k][0] in props)))
            if not self.overwrites_equal(node, channel):
                payload["permission_overwrites"] = self.overwrite_payload(
                    node
                ) + self.kept_overwrites(channel)
                changed.append("permissions")
            if payload:
                self.plan.steps.append(
                    Step("edit_channel", f"update #{node.name}", payload, target=target)
                )
                self.mark(node.key, "~", "; ".join(changed))
                self.plan.counts["update"] += 1
        self.guild_settings()

    def guild_settings(self) -> None:
        settings = self.t.settings
        raw = self.live.raw
        payload: dict[str, Any] = {}
        for key, api in (
            ("afk_timeout", "afk_timeout"),
            ("verification_level", "verification_level"),
            ("default_notifications", "default_message_notifications"),
        ):
            if key in settings and settings[key] != raw.get(api):
                payload[api] = settings[key]
        for key, api in (
            ("system_channel", "system_channel_id"),
            ("afk_channel", "afk_channel_id"),
        ):
            if key not in settings:
                continue
            name = settings[key]
            node = next((n for n in self.t.walk() if n.name == name), None) if name else None
            if node is None:
                if raw.get(api) is not None:
                    payload[api] = None
                continue
            target = self.target(node.key)
            if target is None or str(target) != str(raw.get(api)):
                payload[api] = str(target) if target is not None else ref(node.key)
        if payload:
            self.plan.steps.append(Step("edit_guild", "update server settings", payload))
            self.plan.counts["update"] += 1

    def reorder_channels(self) -> None:
        entries: list[dict[str, Any]] = []
        moves: list[dict[str, Any]] = []
        created = {
            key: i
            for i, key in enumerate(s.key for s in self.plan.steps if s.kind == "create_channel")
        }
        live_ids = {c.id for c in self.live.channels}
        parents: list[ChannelSpec | None] = [
            None,
            *(n for n in self.t.channels if n.type == "category"),
        ]
        for parent in parents:
            pool = parent.children if parent is not None else self.t.channels
            parent_target = self.target(parent.key) if parent is not None else None
            for group in (0, 1, 2):
                wanted = [n for n in pool if _group(n) == group]
                if not wanted:
                    continue
                predicted = []
                changes_parent = set()
                for index, node in enumerate(wanted):
                    target = self.target(node.key)
                    if node.key in created:
                        predicted.append(
                            ((index, max(live_ids, default=0) + 1 + created[node.key]), node.key)
                        )
                        continue
                    channel = self.live.channel(target)  # type: ignore[arg-type]
                    assert channel is not None
                    if channel.parent_id != parent_target or (
                        parent is not None and parent.key in self.new
                    ):
                        changes_parent.add(node.key)
                    predicted.append(((channel.position, channel.id), node.key))
                order = [key for _, key in sorted(predicted)]
                if order == [n.key for n in wanted] and not changes_parent:
                    continue
                for index, node in enumerate(wanted):
                    target = self.target(node.key)
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
                        self.mark(node.key, ">", f"into {parent.name if parent else 'top level'}")
                        self.plan.counts["move"] += 1
                    else:
                        entries.append(entry)
                        if node.key not in self.new and node.key in self.plan.matches:
                            live_channel = self.live.channel(self.plan.matches[node.key])
                            if live_channel and order.index(node.key) != index:
                                self.mark(node.key, ">", "reordered")
                                self.plan.counts["move"] += 1
        if not entries and not moves:
            return
        # Discord takes at most one parent change per request (error 40009).
        batches = [entries + moves[:1], *([m] for m in moves[1:])]
        for i, batch in enumerate(batches, start=1):
            label = "reorder channels" + (f" ({i} of {len(batches)})" if len(batches) > 1 else "")
            self.plan.steps.append(Step("reorder_channels", label, batch))

    def role_updates(self) -> None:
        if not self.opts.roles:
            return
        for role in self.t.roles:
            target = self.target(role.key)
            if role.key in self.new:
                if role.permissions:
                    self.plan.steps.append(
                        Step(
                            "edit_role",
                            f"set permissions of {role.name}",
                            {"permissions": str(role.permissions)},
                            target=None,
                            key=role.key,
                        )
                    )
                continue
            live = self.live.role(target)  # type: ignore[arg-type]
            assert live is not None
            payload = self.role_diff(role, live)
            if payload:
                self.plan.steps.append(
                    Step("edit_role", f"update role {role.name}", payload, target=target)
                )
                self.mark(role.key, "~", ", ".join(sorted(payload)))
                self.plan.counts["update"] += 1
        everyone = self.live.everyone
        wanted = self.t.everyone_permissions
        if wanted is not None and everyone is not None and everyone.permissions != wanted:
            self.plan.steps.append(
                Step(
                    "edit_role",
                    "update @everyone permissions",
                    {"permissions": str(wanted)},
                    target=self.live.id,
                )
            )
            self.plan.counts["update"] += 1
        self.reorder_roles()

    @staticmethod
    def role_diff(role: RoleSpec, live: LiveRole) -> dict[str, Any]:
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

    def reorder_roles(self) -> None:
        if not self.t.roles:
            return
        existing = [r.id for r in self.live.roles_top_down()]
        by_target = {
            self.target(role.key): role.key for role in self.t.roles if role.key not in self.new
        }
        predicted = [by_target[rid] for rid in existing if rid in by_target]
        predicted += [role.key for role in self.t.roles if role.key in self.new]
        wanted = [role.key for role in self.t.roles]
        if predicted == wanted:
            return
        count = len(self.t.roles)
        payload = []
        for index, role in enumerate(self.t.roles):
            target = self.target(role.key)
            payload.append(
                {
                    "id": str(target) if target is not None else ref(role.key),
                    "position": count - index,
                }
            )
            if role.key not in self.new:
                self.mark(role.key, ">", "reordered")
        self.plan.steps.append(Step("reorder_roles", "reorder roles", payload))
        self.plan.counts["move"] += 1

    def deletions(self) -> None:
        if not self.opts.prune:
            return
        matched = set(self.plan.matches.values())
        doomed = [c for c in self.live.channels if c.id not in matched]
        kept_ids: set[int] = set()
        for channel in doomed:
            if channel.holds_messages and channel.name not in self.opts.confirm_deletes:
                kept_ids.add(channel.id)
                self.plan.kept.append(channel.name)
        ordered = sorted(doomed, key=lambda c: c.type_name == "category")
        for channel in ordered:
            if channel.id in kept_ids:
                continue
            if channel.type_name == "category" and any(
                c.parent_id == channel.id
                and (c.id in kept_ids or c.id in matched)
                and not self.leaves(c, channel.id)
                for c in self.live.channels
            ):
                kept_ids.add(channel.id)
                self.plan.kept.append(channel.name)
                continue
            self.plan.steps.append(
                Step("delete_channel", f"delete #{channel.name}", None, target=channel.id)
            )
            self.plan.counts["delete"] += 1
        if not self.opts.roles:
            return
        for role in self.live.roles:
            if role.managed or role.id == self.live.id or role.id in matched:
                continue
            assigned = self.opts.assigned_roles
            if assigned is None or role.id in assigned:  # members would lose it: keep
                self.plan.kept.append(f"@{role.name}")
                continue
            self.plan.steps.append(
                Step("delete_role", f"delete role {role.name}", None, target=role.id)
            )
            self.plan.counts["delete"] += 1

    def leaves(self, channel: LiveChannel, parent_id: int) -> bool:
        """Whether a matched channel moves out of `parent_id` in this plan."""
        for node in self.t.walk():
            if self.plan.matches.get(node.key) == channel.id:
                parent = self.target(node.parent.key) if node.parent else None
                return parent != parent_id
        return False

    # limits that depend on the live guild -------------------------------------------------

    def check_limits(self) -> None:
        errors = self.plan.errors
        deleted = {s.target for s in self.plan.steps if s.kind == "delete_channel"}
        creates = sum(1 for s in self.plan.steps if s.kind == "create_channel")
        final = len(self.live.channels) - len(deleted) + creates
        if final > MAX_CHANNELS:
            errors.append(
                f"the server would hold {final} channels; Discord allows {MAX_CHANNELS} "
                "(apply with prune, or remove channels from the template)"
            )
        for node in self.t.channels:
            target = self.target(node.key)
            if node.type != "category" or target is None:
                continue
            mine = set(filter(None, (self.target(n.key) for n in node.children)))
            foreign = [
                c
                for c in self.live.channels
                if c.parent_id == target
                and c.id not in mine
                and c.id not in deleted
                and c.id not in set(self.plan.matches.values())
            ]
            if len(foreign) + len(node.children) > MAX_PER_CATEGORY:
                errors.append(
                    f"category {node.name!r} would hold {len(foreign) + len(node.children)} "
                    f"channels; Discord allows {MAX_PER_CATEGORY}"
                )
        new_roles = sum(1 for s in self.plan.steps if s.kind == "create_role")
        gone_roles = sum(1 for s in self.plan.steps if s.kind == "delete_role")
        if len(self.live.roles) + new_roles - gone_roles > MAX_ROLES:
            errors.append(
                f"the server would hold {len(self.live.roles) + new_roles} roles; Discord allows "
                f"{MAX_ROLES}"
            )
        if new_roles > self.opts.role_quota:
            errors.append(
                f"the template creates {new_roles} roles; Discord lets this server create only "
                f"{self.opts.role_quota} more in the current 48 hours"
            )
        new_channels = sum(1 for s in self.plan.steps if s.kind == "create_channel")
        if new_channels > self.opts.channel_quota:
            errors.append(
                f"the template creates {new_channels} channels; Discord lets a server create "
                f"{CHANNEL_CREATES_PER_DAY} a day, and after the creations of the last 24 hours "
                f"only {self.opts.channel_quota} more are left: try again later, or apply a "
                "smaller template"
            )
        top = BITRATE_BY_TIER.get(self.live.premium_tier, 96000)
        community = "COMMUNITY" in (self.live.raw.get("features") or [])
        for node in self.t.walk():
            if node.props.get("bitrate", 0) > top and node.type == "voice":
                errors.append(
                    f"#{node.name}: bitrate {node.props['bitrate']} is above this server's "
                    f"{top} (boost level {self.live.premium_tier})"
                )
            if (
                node.type in COMMUNITY_TYPES
                and not community
                and (node.key in self.new or self.live_type(node) != node.type)
            ):
                errors.append(f"#{node.name}: {node.type} channels need a Community server")

    def live_type(self, node: ChannelSpec) -> str | None:
        target = self.target(node.key)
        channel = self.live.channel(target) if target is not None else None
        return channel.type_name if channel else None

    # the tree ------------------------------------------------------------------------------

    def render_tree(self) -> None:
        lines = self.plan.tree
        for role in self.t.roles:
            marker, detail = self.markers.get(role.key, ("=", ""))
            lines.append(_line(marker, f"@{role.name}", detail))
        for node in self.t.walk():
            marker, detail = self.markers.get(node.key, ("=", ""))
            indent = "  " if node.parent is not None else ""
            label = node.name.upper() if node.type == "category" else f"#{node.name}"
            lines.append(_line(marker, indent + label, detail))
        names = {s.target: s for s in self.plan.steps}
        for channel in self.live.channels:
            if channel.id in names and names[channel.id].kind == "delete_channel":
                lines.append(_line("-", f"#{channel.name}", ""))
        for name in self.plan.kept:
            why = "members hold it: kept" if name.startswith("@") else "holds messages: kept"
            lines.append(_line("!", name if name.startswith("@") else f"#{name}", why))
        for role in self.live.roles:
            if role.id in names and names[role.id].kind == "delete_role":
                lines.append(_line("-", f"@{role.name}", ""))

    def run(self) -> Plan:
        self.plan.matches.update(match(self.t, self.live, self.id_map))
        self.roles()
        self.create_channels()
        self.update_channels()
        self.reorder_channels()
        self.role_updates()
        self.deletions()
        self.check_limits()
        self.render_tree()
        return self.plan


def _line(marker: str, label: str, detail: str) -> str:
    return f"{marker:<2} {label}" + (f"  ({detail})" if detail else "")


def make_plan(
    template: Template,
    live: LiveGuild,
    id_map: dict[str, int] | None = None,
    options: ApplyOptions | None = None,
) -> Plan:
    """Everything to send, in order; `plan.errors` non-empty means: send nothing."""
    return _Planner(template, live, dict(id_map or {}), options or ApplyOptions()).run()
