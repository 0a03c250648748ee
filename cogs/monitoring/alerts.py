"""Alert rules: validation, and pure evaluation with duration, hysteresis and cooldown.

A rule is `ok`, `pending` (its condition holds but not yet for `duration_s`) or `firing`.
It fires when the condition has held for `duration_s` and the last fire is at least
`cooldown_s` ago; it recovers only once the value is back past the threshold by the
hysteresis margin, so a value hovering at the threshold does not flap. A missing value
(a host that stopped reporting) changes nothing: that is what `host.silence_s` is for."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

from bot.metrics import MetricCatalogue, UnknownMetric
from cogs.monitoring.catalogue import CATALOGUE

COMPARISONS = (">", ">=", "<", "<=")
SEVERITIES = ("info", "warning", "critical")
SILENCE_METRIC = "host.silence_s"  # also declared in the catalogue
# \Z, not $: `$` also matches before a trailing "\n".
_PERCENT = re.compile(r"(percent\Z|^cpu\.core\.\d+\Z|^gpu\.\d+\.(util|fan)\Z)")
_BOOLEAN = re.compile(r"\.(up|running|online)\Z")


class RuleError(ValueError):
    """A rule field is wrong; `field` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Rule:
    metric: str
    comparison: str
    threshold: float
    duration_s: int = 0
    cooldown_s: int = 300
    hysteresis: float = 0.0


@dataclass(frozen=True)
class RuleState:
    state: str = "ok"
    pending_since: float | None = None
    last_fired_at: float | None = None


def threshold_range(metric: str) -> tuple[float, float]:
    if _PERCENT.search(metric):
        return 0.0, 100.0
    if _BOOLEAN.search(metric):
        return 0.0, 1.0
    if metric == SILENCE_METRIC:
        return 1.0, 365 * 86400.0
    return -1e15, 1e15


def validate_rule(
    *,
    metric: str,
    comparison: str,
    threshold: float,
    catalogue: MetricCatalogue = CATALOGUE,
    duration_s: int = 0,
    cooldown_s: int = 300,
    hysteresis: float | None = None,
    severity: str = "warning",
) -> tuple[Rule, str]:
    """A checked Rule and severity, or RuleError naming the first wrong field."""
    metric = metric.strip()
    if not metric or len(metric) > 120 or "{" in metric or "}" in metric:
        raise RuleError("metric", "name one metric, such as cpu.percent or disk./.percent")
    try:
        catalogue.check(metric)  # a concrete name of a declared family, else close names
    except UnknownMetric as exc:
        raise RuleError("metric", str(exc)) from None
    if comparison not in COMPARISONS:
        raise RuleError("comparison", f"must be one of {' '.join(COMPARISONS)}")
    low, high = threshold_range(metric)
    if not math.isfinite(threshold) or not low <= threshold <= high:
        raise RuleError("threshold", f"must be between {low:g} and {high:g} for {metric}")
    if not 0 <= duration_s <= 86400:
        raise RuleError("duration", "must be between 0 and 86400 seconds")
    if not 0 <= cooldown_s <= 7 * 86400:
        raise RuleError("cooldown", "must be between 0 and 604800 seconds")
    if severity not in SEVERITIES:
        raise RuleError("severity", f"must be one of {', '.join(SEVERITIES)}")
    if hysteresis is None:
        # 5 % of the threshold by default, so a value hovering there does not flap
        hysteresis = abs(threshold) * 0.05 if metric != SILENCE_METRIC else 0.0
    if not math.isfinite(hysteresis) or hysteresis < 0 or hysteresis > (high - low):
        raise RuleError("hysteresis", "must be a positive number within the metric's range")
    rule = Rule(metric, comparison, float(threshold), duration_s, cooldown_s, float(hysteresis))
    return rule, severity


def breached(rule: Rule, value: float) -> bool:
    return {
        ">": value > rule.threshold,
        ">=": value >= rule.threshold,
        "<": value < rule.threshold,
        "<=": value <= rule.threshold,
    }[rule.comparison]


def cleared(rule: Rule, value: float) -> bool:
    """Back on the good side by the hysteresis margin."""
    if rule.comparison in (">", ">="):
        return value < rule.threshold - rule.hysteresis or (
            rule.hysteresis == 0 and not breached(rule, value)
        )
    return value > rule.threshold + rule.hysteresis or (
        rule.hysteresis == 0 and not breached(rule, value)
    )


def evaluate(
    rule: Rule, state: RuleState, value: float | None, now: float
) -> tuple[RuleState, str | None]:
    """The next state and the event to announce: "fire", "recover" or None."""
    if value is None:
        return state, None
    if state.state == "firing":
        if cleared(rule, value):
            return replace(state, state="ok", pending_since=None), "recover"
        return state, None
    if not breached(rule, value):
        return replace(state, state="ok", pending_since=None), None
    since = state.pending_since if state.state == "pending" else now
    held = now - (since if since is not None else now)
    cooled = state.last_fired_at is None or now - state.last_fired_at >= rule.cooldown_s
    if held >= rule.duration_s and cooled:
        return RuleState("firing", None, now), "fire"
    return replace(state, state="pending", pending_since=since), None
