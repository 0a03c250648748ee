"""The template document: a versioned JSON tree of roles, categories and channels.

`load_document` is the single way in: size check, JSON parse, migration of older versions,
JSON Schema validation (jsonschema is imported on first use), then the Discord-limit checks
that a schema cannot express. Every problem is reported with its JSON path; nothing is
half-loaded."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from web.json_body import JsonRefused, parse_json_text

CURRENT_VERSION = 2
FORMAT = "foundrycord-template"
MAX_DOCUMENT_BYTES = 1024 * 1024
MAX_CHANNELS = 500
MAX_PER_CATEGORY = 50
MAX_ROLES = 250
SCHEMA_PATH = Path(__file__).with_name("schema.json")
# A real template nests 9 JSON levels at most (document, channels, category, channels,
# channel, overwrites, overwrite, allow, name); anything much deeper is refused before the
# schema validator (which recurses per level) ever sees it.
MAX_NESTING = 16

# Discord channel type names and ids; the template speaks names.
CHANNEL_TYPES = {
    "text": 0,
    "voice": 2,
    "category": 4,
    "announcement": 5,
    "stage": 13,
    "forum": 15,
}
TYPE_NAMES = {value: key for key, value in CHANNEL_TYPES.items()}
VOICE_LIKE = frozenset({"voice", "stage"})
TEXT_LIKE = frozenset({"text", "announcement", "forum"})

# Which optional properties each channel type carries (Discord ignores or refuses the rest).
TYPE_FIELDS: dict[str, frozenset[str]] = {
    "category": frozenset(),
    "text": frozenset(
        {"topic", "nsfw", "slowmode", "default_auto_archive", "default_thread_slowmode"}
    ),
    "announcement": frozenset({"topic", "nsfw", "default_auto_archive"}),
    "voice": frozenset(
        {"nsfw", "slowmode", "bitrate", "user_limit", "rtc_region", "video_quality"}
    ),
    "stage": frozenset({"nsfw", "slowmode", "bitrate", "user_limit", "rtc_region"}),
    "forum": frozenset(
        {
            "topic",
            "nsfw",
            "slowmode",
            "default_auto_archive",
            "default_thread_slowmode",
            "tags",
            "default_reaction",
            "sort_order",
            "layout",
        }
    ),
}
SETTING_CHANNELS = ("system_channel", "afk_channel")


class TemplateError(ValueError):
    """A document that cannot be used; `errors` lists every problem as 'path: message'."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("; ".join(errors))


@dataclass
class Overwrite:
    """An overwrite for a role (by name, "@everyone" included) or a member (by id)."""

    role: str | None = None
    member: int | None = None
    allow: int = 0
    deny: int = 0

    @property
    def target(self) -> str:
        return f"member:{self.member}" if self.member is not None else f"role:{self.role}"


@dataclass
class RoleSpec:
    name: str
    color: int = 0
    hoist: bool = False
    mentionable: bool = False
    permissions: int = 0
    unicode_emoji: str | None = None
    id: str | None = None

    @property
    def key(self) -> str:
        return f"r:{self.id}" if self.id else f"r:name:{self.name}"


@dataclass
class ChannelSpec:
    name: str
    type: str
    props: dict[str, Any] = field(default_factory=dict)
    overwrites: list[Overwrite] = field(default_factory=list)
    sync: bool = False
    children: list[ChannelSpec] = field(default_factory=list)
    id: str | None = None
    parent: ChannelSpec | None = field(default=None, repr=False, compare=False)

    @property
    def key(self) -> str:
        if self.id:
            return f"c:{self.id}"
        where = self.parent.name if self.parent is not None else ""
        return f"c:{self.type}:{where}/{self.name}"


@dataclass
class Template:
    name: str
    description: str = ""
    roles: list[RoleSpec] = field(default_factory=list)
    everyone_permissions: int | None = None
    channels: list[ChannelSpec] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)

    def walk(self) -> Iterator[ChannelSpec]:
        """Every channel node, parents before their children, in document order."""
        for node in self.channels:
            yield node
            yield from node.children

    def count(self) -> int:
        return sum(1 for _ in self.walk())


# permissions -------------------------------------------------------------------------------


@cache
def permission_bits() -> dict[str, int]:
    import nextcord

    return {
        name: getattr(nextcord.Permissions, name).flag for name in nextcord.Permissions.VALID_FLAGS
    }


def permissions_to_json(value: int) -> list[str] | str:
    """Names when every bit has one (readable in git), else the decimal string."""
    names = [name for name, bit in permission_bits().items() if value & bit]
    covered = 0
    for name in names:
        covered |= permission_bits()[name]
    return sorted(names) if covered == value else str(value)


# Permissions Discord defines that nextcord 3.2 has no name for (its `Permissions.all()` is
# -1, every bit, so it cannot bound a value): a live role may hold them, so a snapshot may
# carry them, as a decimal string.
UNNAMED_PERMISSION_BITS = {
    "view_creator_monetization_analytics": 1 << 41,
    "use_soundboard": 1 << 42,
    "use_external_sounds": 1 << 45,
    "send_polls": 1 << 49,
    "use_external_apps": 1 << 50,
    "pin_messages": 1 << 51,
}


@cache
def all_permissions() -> int:
    """Every bit Discord defines a permission for; anything else is not a permission."""
    bits = 0
    for bit in [*permission_bits().values(), *UNNAMED_PERMISSION_BITS.values()]:
        bits |= bit
    return bits


def _permissions(raw: Any, path: str, errors: list[str], owner: str = "") -> int:
    """The bits of a permissions field; `owner` ("role 'Mod'") says whose, in errors."""
    if raw is None:
        return 0
    if isinstance(raw, str):
        value = int(raw)
        if value & ~all_permissions():
            whose = f" of {owner}" if owner else ""
            errors.append(
                f"{path}: {raw} is not a permission value{whose}: it sets bits Discord defines "
                f"no permission for (every permission together is {all_permissions()})"
            )
            return 0
        return value
    bits = 0
    for name in raw:
        bit = permission_bits().get(name)
        if bit is None:
            errors.append(f"{path}: unknown permission {name!r}")
        else:
            bits |= bit
    return bits


# migration ---------------------------------------------------------------------------------


def _migrate_v1(doc: dict[str, Any]) -> dict[str, Any]:
    """Version 1 keyed overwrites by role name and spelt slowmode `rate_limit_per_user`."""

    def node(raw: Any) -> Any:
        if not isinstance(raw, dict):
            return raw
        out = dict(raw)
        if "rate_limit_per_user" in out:
            out["slowmode"] = out.pop("rate_limit_per_user")
        if isinstance(out.get("overwrites"), dict):
            out["overwrites"] = [
                {"role": target, **(bits if isinstance(bits, dict) else {})}
                for target, bits in out["overwrites"].items()
            ]
        if isinstance(out.get("channels"), list):
            out["channels"] = [node(child) for child in out["channels"]]
        return out

    migrated = dict(doc)
    if isinstance(doc.get("channels"), list):
        migrated["channels"] = [node(child) for child in doc["channels"]]
    migrated["version"] = 2
    return migrated


MIGRATIONS = {1: _migrate_v1}


def migrate(doc: dict[str, Any]) -> dict[str, Any]:
    version = doc.get("version")
    if not isinstance(version, int) or version < 1 or version > CURRENT_VERSION:
        raise TemplateError(
            [f"$.version: {version!r} is not a known version (1 to {CURRENT_VERSION})"]
        )
    while doc["version"] < CURRENT_VERSION:
        doc = MIGRATIONS[doc["version"]](doc)
    return doc


# loading -----------------------------------------------------------------------------------


def pattern_matches(pattern: str, text: str) -> bool:
    """A JSON Schema `pattern` as it is meant: an anchored "$" ends the string. Python's
    "$" also matches before a final newline, which let "123\\n" pass as an id."""
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return re.search(pattern, text) is not None


@cache
def _validator() -> Any:
    import jsonschema  # heavy: imported on the first template that is loaded
    from jsonschema.exceptions import ValidationError

    def pattern(validator: Any, value: str, instance: Any, _: Any) -> Iterator[Any]:
        if validator.is_type(instance, "string") and not pattern_matches(value, instance):
            yield ValidationError(f"{instance!r} does not match {value!r}")

    strict = jsonschema.validators.extend(jsonschema.Draft202012Validator, {"pattern": pattern})
    return strict(json.loads(SCHEMA_PATH.read_text()))


def _json_path(parts: Any) -> str:
    path = "$"
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def schema_errors(doc: Any) -> list[str]:
    errors = sorted(_validator().iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))
    return [f"{_json_path(e.absolute_path)}: {e.message}" for e in errors]


def nesting_depth(value: Any) -> int:
    """How deeply lists and objects nest in parsed JSON, counted without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if depth > MAX_NESTING:
            break  # deep enough to refuse; no need to walk the rest
        stack.extend((child, depth + 1) for child in children)
    return deepest


def _too_deep() -> TemplateError:
    return TemplateError(
        [
            f"$: the template nests more than {MAX_NESTING} JSON levels deep; a category "
            "holds channels and a channel holds nothing"
        ]
    )


def parse_json(raw: str | bytes) -> Any:
    size = len(raw.encode() if isinstance(raw, str) else raw)
    if size > MAX_DOCUMENT_BYTES:
        raise TemplateError(
            [f"$: the document is {size} bytes; at most {MAX_DOCUMENT_BYTES} are accepted"]
        )
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        raise TemplateError([f"$: not valid JSON ({exc})"]) from None
    try:
        return parse_json_text(text, max_depth=MAX_NESTING)
    except JsonRefused as exc:
        raise TemplateError([f"$: {str(exc).removeprefix('the body is ')}"]) from None


def text_errors(value: Any) -> list[str]:
    """Every string (object keys included) that is not text: a lone surrogate such as
    "\\ud800" that JSON can spell but UTF-8, the database and Discord cannot hold."""
    errors: list[str] = []
    stack: list[tuple[Any, str]] = [(value, "$")]
    while stack:
        item, path = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                where = f"{path}.{key}" if isinstance(key, str) else path
                if isinstance(key, str) and not _encodable(key):
                    errors.append(f"{where}: the key {key!r} {_NOT_TEXT}")
                stack.append((child, where))
        elif isinstance(item, list):
            stack.extend((child, f"{path}[{i}]") for i, child in enumerate(item))
        elif isinstance(item, str) and not _encodable(item):
            errors.append(f"{path}: {item!r} {_NOT_TEXT}")
    return sorted(errors)


_NOT_TEXT = "holds a lone surrogate (half of a UTF-16 pair), which is not text; remove it"


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def name_errors(name: str) -> list[str]:
    """Why `name` cannot name a saved template: `name@<server id>` is how another server's
    shared template is reached, so a name of one's own with "@" could hide it."""
    errors = []
    if "@" in name:
        errors.append(
            f"name: {name!r} contains '@', which only other servers' shared templates carry "
            "(name@<server id>); choose a name without '@'"
        )
    if not _encodable(name):
        errors.append(f"name: {name!r} {_NOT_TEXT}")
    return errors


def load_document(raw: str | bytes | dict[str, Any]) -> Template:
    """A Template from JSON text or an already parsed dict; raises TemplateError."""
    doc = parse_json(raw) if isinstance(raw, str | bytes) else raw
    if not isinstance(doc, dict):
        raise TemplateError(["$: a template is a JSON object"])
    depth = nesting_depth(doc)
    if depth > MAX_NESTING:
        raise _too_deep()
    unreadable = text_errors(doc)
    if unreadable:
        raise TemplateError(unreadable)
    doc = migrate(dict(doc))
    errors = schema_errors(doc)
    if errors:
        raise TemplateError(errors)
    template = _build(doc, errors)
    errors += check_template(template)
    if errors:
        raise TemplateError(errors)
    return template


def _build(doc: dict[str, Any], errors: list[str]) -> Template:
    roles = [
        RoleSpec(
            name=raw["name"],
            color=raw.get("color", 0),
            hoist=raw.get("hoist", False),
            mentionable=raw.get("mentionable", False),
            permissions=_permissions(
                raw.get("permissions"), f"$.roles[{i}].permissions", errors, f"role {raw['name']!r}"
            ),
            unicode_emoji=raw.get("unicode_emoji"),
            id=raw.get("id"),
        )
        for i, raw in enumerate(doc.get("roles", []))
    ]
    everyone = doc.get("everyone")
    template = Template(
        name=doc["name"],
        description=doc.get("description", ""),
        roles=roles,
        everyone_permissions=(
            _permissions(everyone.get("permissions"), "$.everyone.permissions", errors, "@everyone")
            if everyone and "permissions" in everyone
            else None
        ),
        settings=dict(doc.get("settings", {})),
    )
    for i, raw in enumerate(doc["channels"]):
        template.channels.append(_node(raw, f"$.channels[{i}]", None, errors))
    return template


def _node(
    raw: dict[str, Any], path: str, parent: ChannelSpec | None, errors: list[str]
) -> ChannelSpec:
    props = {
        key: value
        for key, value in raw.items()
        if key not in {"id", "name", "type", "overwrites", "sync", "channels"}
    }
    overwrites = []
    for j, ow in enumerate(raw.get("overwrites", [])):
        where = f"{path}.overwrites[{j}]"
        whose = (
            f"the overwrite for {ow['role']!r} in {raw['name']!r}"
            if "role" in ow
            else f"the overwrite for member {ow.get('member')} in {raw['name']!r}"
        )
        overwrites.append(
            Overwrite(
                role=ow.get("role"),
                member=int(ow["member"]) if "member" in ow else None,
                allow=_permissions(ow.get("allow"), f"{where}.allow", errors, whose),
                deny=_permissions(ow.get("deny"), f"{where}.deny", errors, whose),
            )
        )
    name = raw["name"]
    if raw["type"] in TEXT_LIKE:  # Discord stores these lower case with dashes
        name = re.sub(r"\s+", "-", name.strip()).lower()
    node = ChannelSpec(
        name=name,
        type=raw["type"],
        props=props,
        overwrites=overwrites,
        sync=raw.get("sync", False),
        id=raw.get("id"),
        parent=parent,
    )
    for j, child in enumerate(raw.get("channels", [])):
        node.children.append(_node(child, f"{path}.channels[{j}]", node, errors))
    return node


# the checks a schema cannot express -------------------------------------------------------


def _paths(template: Template) -> Iterator[tuple[str, ChannelSpec]]:
    for i, node in enumerate(template.channels):
        yield f"$.channels[{i}]", node
        for j, child in enumerate(node.children):
            yield f"$.channels[{i}].channels[{j}]", child


def check_template(template: Template) -> list[str]:
    """Discord's limits and the template's own consistency, every problem listed."""
    errors: list[str] = []
    role_names = [role.name for role in template.roles]
    seen_roles: set[str] = set()
    for i, name in enumerate(role_names):
        if name in seen_roles:
            errors.append(f"$.roles[{i}].name: the role name {name!r} is used twice")
        if name == "@everyone":
            errors.append(f"$.roles[{i}].name: @everyone is set with $.everyone, not as a role")
        seen_roles.add(name)
    known_roles = seen_roles | {"@everyone"}
    total = 0
    siblings: dict[int, set[tuple[str, str]]] = {}
    for path, node in _paths(template):
        total += 1
        if node.type not in CHANNEL_TYPES:
            errors.append(
                f"{path}.type: unknown channel type {node.type!r} "
                f"(one of {', '.join(CHANNEL_TYPES)})"
            )
            continue
        if not 1 <= len(node.name) <= 100:
            errors.append(f"{path}.name: {len(node.name)} characters; Discord allows 1 to 100")
        group = id(node.parent)
        if (node.type, node.name.lower()) in siblings.setdefault(group, set()):
            where = f"category {node.parent.name!r}" if node.parent else "the top level"
            errors.append(f"{path}.name: {node.name!r} appears twice in {where}")
        siblings[group].add((node.type, node.name.lower()))
        if node.parent is not None and node.type == "category":
            errors.append(f"{path}.type: a category cannot sit inside a category")
        if node.children and node.type != "category":
            errors.append(f"{path}.channels: only a category holds channels")
        if len(node.children) > MAX_PER_CATEGORY:
            errors.append(
                f"{path}.channels: {len(node.children)} channels; a category holds at most "
                f"{MAX_PER_CATEGORY}"
            )
        if node.sync and node.parent is None:
            errors.append(f"{path}.sync: only a channel in a category can sync with it")
        for key in node.props:
            if key not in TYPE_FIELDS[node.type]:
                errors.append(f"{path}.{key}: not a property of a {node.type} channel")
        topic = node.props.get("topic")
        limit = 4096 if node.type == "forum" else 1024
        if topic is not None and len(topic) > limit:
            errors.append(f"{path}.topic: {len(topic)} characters; at most {limit}")
        if node.type == "voice" and node.props.get("user_limit", 0) > 99:
            errors.append(f"{path}.user_limit: a voice channel allows at most 99")
        if node.type == "stage" and node.props.get("bitrate", 0) > 64000:
            errors.append(f"{path}.bitrate: a stage channel allows at most 64000")
        if len(node.props.get("tags", [])) > 20:
            errors.append(f"{path}.tags: at most 20 tags per forum")
        for j, ow in enumerate(node.overwrites):
            if ow.role is not None and ow.role not in known_roles:
                errors.append(
                    f"{path}.overwrites[{j}].role: no role called {ow.role!r} in this template"
                )
        if len(node.overwrites) > 1000:
            errors.append(f"{path}.overwrites: at most 1000 per channel")
    if total > MAX_CHANNELS:
        errors.append(f"$.channels: {total} channels; a server holds at most {MAX_CHANNELS}")
    names = {node.name for node in template.walk()}
    for key in SETTING_CHANNELS:
        value = template.settings.get(key)
        if value is not None and value not in names:
            errors.append(f"$.settings.{key}: no channel called {value!r} in this template")
    return errors


# writing -----------------------------------------------------------------------------------


def _overwrite_json(ow: Overwrite) -> dict[str, Any]:
    out: dict[str, Any] = {"role": ow.role} if ow.member is None else {"member": str(ow.member)}
    out["allow"] = permissions_to_json(ow.allow)
    out["deny"] = permissions_to_json(ow.deny)
    return out


def _node_json(node: ChannelSpec, with_ids: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if with_ids and node.id:
        out["id"] = node.id
    out["name"] = node.name
    out["type"] = node.type
    out.update(node.props)
    if node.sync:
        out["sync"] = True
    elif node.overwrites:
        out["overwrites"] = [_overwrite_json(ow) for ow in node.overwrites]
    if node.type == "category":
        out["channels"] = [_node_json(child, with_ids) for child in node.children]
    return out


def to_document(template: Template, *, with_ids: bool = True) -> dict[str, Any]:
    """The current-version JSON document (ids kept unless `with_ids` is False)."""
    doc: dict[str, Any] = {
        "format": FORMAT,
        "version": CURRENT_VERSION,
        "name": template.name,
    }
    if template.description:
        doc["description"] = template.description
    roles = []
    for role in template.roles:
        item: dict[str, Any] = {"id": role.id} if with_ids and role.id else {}
        item.update(
            name=role.name,
            color=role.color,
            hoist=role.hoist,
            mentionable=role.mentionable,
            permissions=permissions_to_json(role.permissions),
        )
        if role.unicode_emoji:
            item["unicode_emoji"] = role.unicode_emoji
        roles.append(item)
    doc["roles"] = roles
    if template.everyone_permissions is not None:
        doc["everyone"] = {"permissions": permissions_to_json(template.everyone_permissions)}
    doc["channels"] = [_node_json(node, with_ids) for node in template.channels]
    if template.settings:
        doc["settings"] = dict(template.settings)
    return doc


def dump(template: Template, *, with_ids: bool = True) -> str:
    return json.dumps(to_document(template, with_ids=with_ids), indent=2, ensure_ascii=False)
