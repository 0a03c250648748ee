"""The templates feature's environment variables, declared here and read with the core's
at start (`settings.feature(SETTINGS)` is a `TemplatesSettings`)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.settings import FeatureSettings, Variable


@dataclass(frozen=True)
class TemplatesSettings:
    template_snapshot_hours: int = 24
    template_snapshot_days: int = 30


def _hours(raw: str) -> int:
    value = int(raw)
    if not 0 <= value <= 168:
        raise ValueError(raw)
    return value


def _days(raw: str) -> int:
    value = int(raw)
    if not 1 <= value <= 365:
        raise ValueError(raw)
    return value


SETTINGS = FeatureSettings(
    "templates",
    TemplatesSettings,
    (
        Variable(
            "TEMPLATE_SNAPSHOT_HOURS",
            "template_snapshot_hours",
            _hours,
            "hours between two snapshots of each server's structure, 0 to 168 (0: off)",
        ),
        Variable("TEMPLATE_SNAPSHOT_DAYS", "template_snapshot_days", _days, "days kept, 1 to 365"),
    ),
)
