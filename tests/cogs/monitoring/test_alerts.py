"""Pure rule evaluation: duration, hysteresis, cooldown; and rule validation."""

from __future__ import annotations

import math

import pytest

from cogs.monitoring.alerts import Rule, RuleError, RuleState, evaluate, validate_rule


def run(rule: Rule, values: list[tuple[float, float | None]]) -> list[tuple[float, str]]:
    state, events = RuleState(), []
    for now, value in values:
        state, event = evaluate(rule, state, value, now)
        if event:
            events.append((now, event))
    return events


def test_fires_after_the_duration_and_recovers_with_hysteresis() -> None:
    rule = Rule("cpu.percent", ">", 90, duration_s=30, cooldown_s=0, hysteresis=5)
    events = run(
        rule,
        [
            (0, 95),
            (10, 96),
            (20, 80),
            (30, 95),
            (40, 95),
            (50, 95),
            (60, 95),
            (70, 88),
            (80, 91),
            (90, 86),
            (100, 84),
        ],
    )
    # the dip at 20 s restarts the wait; firing needs 30 s of breach: 30 -> 60
    # 88 and 86 are within the 5-point hysteresis: still firing; 84 recovers
    assert events == [(60, "fire"), (100, "recover")]


def test_cooldown_holds_a_refire_until_it_passes() -> None:
    rule = Rule("cpu.percent", ">", 90, duration_s=0, cooldown_s=300, hysteresis=0)
    events = run(rule, [(0, 95), (10, 50), (20, 95), (200, 95), (300, 95), (310, 50)])
    assert events == [(0, "fire"), (10, "recover"), (300, "fire"), (310, "recover")]


def test_missing_values_change_nothing() -> None:
    rule = Rule("cpu.percent", ">", 90)
    assert run(rule, [(0, 95), (10, None), (20, None)]) == [(0, "fire")]


def test_less_than_rules() -> None:
    rule = Rule("service.3.up", "<", 1, hysteresis=0)
    assert run(rule, [(0, 1), (10, 0), (20, 0), (30, 1)]) == [(10, "fire"), (30, "recover")]


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"metric": "cpu.percentage"}, "metric", "unknown metric 'cpu.percentage'"),
        ({"metric": "memory.percent"}, "metric", "did you mean mem.percent"),
        ({"metric": "gpu.0.utilization"}, "metric", "unknown metric 'gpu.0.utilization'"),
        ({"metric": "disk.{mount}.percent"}, "metric", "name one metric"),
        ({"metric": ""}, "metric", "name one metric"),
        ({"threshold": 150}, "threshold", "between 0 and 100"),
        ({"threshold": -1}, "threshold", "between 0 and 100"),
        ({"threshold": math.nan}, "threshold", "between"),
        ({"metric": "service.3.up", "threshold": 2}, "threshold", "between 0 and 1"),
        ({"comparison": "=="}, "comparison", "one of"),
        ({"duration_s": -5}, "duration", "between 0"),
        ({"severity": "doom"}, "severity", "one of"),
    ],
)
def test_bad_rules_name_the_field(changes: dict, field: str, words: str) -> None:
    fields = {"metric": "cpu.percent", "comparison": ">", "threshold": 90.0, **changes}
    with pytest.raises(RuleError) as info:
        validate_rule(**fields)
    assert info.value.field == field and words in info.value.message


def test_good_rule_gets_default_hysteresis() -> None:
    rule, severity = validate_rule(metric="cpu.percent", comparison=">", threshold=80)
    assert rule.hysteresis == 4.0 and severity == "warning"
    silent, _ = validate_rule(metric="host.silence_s", comparison=">", threshold=60)
    assert silent.hysteresis == 0


def test_every_metric_in_the_catalogue_can_have_a_rule() -> None:
    """Rules choose from the catalogue: each family's sample name is accepted, without the
    metric ever having been written (a GPU rule on a host that has not reported yet)."""
    from cogs.monitoring.alerts import threshold_range
    from cogs.monitoring.catalogue import CATALOGUE

    for spec in CATALOGUE.specs:
        name = spec.sample_name()
        low, _ = threshold_range(name)
        rule, _ = validate_rule(metric=name, comparison=">", threshold=max(low, 1.0))
        assert rule.metric == name


def test_a_trailing_newline_does_not_make_a_metric_a_percentage_or_a_flag() -> None:
    from cogs.monitoring.alerts import threshold_range

    assert threshold_range("cpu.percent") == (0.0, 100.0)
    assert threshold_range("svc.1.up") == (0.0, 1.0)
    assert threshold_range("cpu.percent\n") == threshold_range("svc.1.up\n") == (-1e15, 1e15)
