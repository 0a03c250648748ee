"""What a plan is made of: the kinds of step, a step, the plan, and the options an apply
takes. The executor and the permission check read the same `StepKind`."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from cogs.templates.document import MAX_ROLES

# Discord lets a guild create 500 channels (categories included) per day.
CHANNEL_CREATES_PER_DAY = 500


class StepKind(StrEnum):
    """Every request an apply can send; stored by value in the job's journal."""

    CREATE_ROLE = "create_role"
    CREATE_CHANNEL = "create_channel"
    EDIT_CHANNEL = "edit_channel"
    EDIT_GUILD = "edit_guild"
    REORDER_CHANNELS = "reorder_channels"
    EDIT_ROLE = "edit_role"
    REORDER_ROLES = "reorder_roles"
    DELETE_CHANNEL = "delete_channel"
    DELETE_ROLE = "delete_role"


CHANNEL_KINDS = frozenset(
    {
        StepKind.CREATE_CHANNEL,
        StepKind.EDIT_CHANNEL,
        StepKind.REORDER_CHANNELS,
        StepKind.DELETE_CHANNEL,
    }
)
ROLE_KINDS = frozenset(
    {StepKind.CREATE_ROLE, StepKind.EDIT_ROLE, StepKind.REORDER_ROLES, StepKind.DELETE_ROLE}
)
CREATE_KINDS = frozenset({StepKind.CREATE_ROLE, StepKind.CREATE_CHANNEL})


@dataclass
class Step:
    kind: StepKind
    label: str
    payload: Any = None
    key: str | None = None  # the template node a create makes (its id goes to the map)
    target: int | None = None  # the live object an edit or delete touches

    def __post_init__(self) -> None:
        self.kind = StepKind(self.kind)  # a journal (or a test) may give the plain string

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
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

    def count(self, kind: StepKind) -> int:
        return sum(1 for step in self.steps if step.kind is kind)

    def summary(self) -> str:
        c = self.counts
        text = (
            f"{c['create']} to create, {c['update']} to update, {c['move']} to move, "
            f"{c['delete']} to delete"
        )
        if self.kept:
            text += f"; {len(self.kept)} kept (they hold messages or members)"
        return text


# The actor of an apply run from the command line: the bot's operator, who holds the bot's
# token and so acts with the bot's own rights; no member's rules apply to it.
OPERATOR = 0


@dataclass
class ApplyOptions:
    prune: bool = False
    roles: bool = True
    confirm_deletes: frozenset[str] = frozenset()  # channel names allowed to go with messages
    role_quota: int = MAX_ROLES  # role creations Discord still allows in this 48 h window
    channel_quota: int = CHANNEL_CREATES_PER_DAY  # channel creations left in this 24 h
    assigned_roles: frozenset[int] | None = frozenset()  # held by members (None: unknown)


def ref(key: str) -> dict[str, str]:
    """A placeholder for the id of an object this plan creates; the executor resolves it."""
    return {"$ref": key}
