"""The layout model: JSON validation with errors by path, the grid, and capacity limits."""

from __future__ import annotations

from typing import Any

import pytest

from cogs.dashboards.layout import (
    LayoutError,
    action_rows,
    field_count,
    grid_rows,
    layout_to_json,
    parse_layout,
)
from cogs.dashboards.presets import PRESETS, preset


def widget(wid: str, width: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "id": wid,
        "title": wid.upper(),
        "width": width,
        "source": {"kind": "markdown", "text": "x"},
        "format": "value",
        **extra,
    }


def errors_of(data: Any) -> list[str]:
    with pytest.raises(LayoutError) as caught:
        parse_layout(data)
    return caught.value.errors


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_parses_and_round_trips(name: str) -> None:
    layout = preset(name)
    assert parse_layout(layout_to_json(layout)) == layout


def test_errors_are_named_by_path_and_all_reported_at_once() -> None:
    errors = errors_of(
        {
            "title": "x" * 257,
            "interval": 5,
            "widgets": [
                widget("a"),
                {"id": "a", "title": "t", "width": 4, "source": {"kind": "nope"}},
                {
                    "id": "c",
                    "title": "t",
                    "source": {"kind": "server", "stat": "members"},
                    "format": "bar",
                },
                {"id": "d", "title": "t", "source": {"kind": "links", "links": [{"label": "x"}]}},
                {
                    "id": "e",
                    "title": "t",
                    "source": {"kind": "metric", "metric": "a.*"},
                    "format": "sparkline",
                },
            ],
            "actions": [{"type": "button", "action": "explode"}, {"type": "select"}],
            "extra": 1,
        }
    )
    assert "title: is 257 characters; Discord allows at most 256" in errors
    assert "interval: must be between 10 and 86400" in errors
    assert "widgets[1].id: 'a' is used by another widget" in errors
    assert "widgets[1].width: must be between 1 and 3" in errors
    assert any(e.startswith("widgets[1].source.kind: must be one of") for e in errors)
    assert any(e.startswith("widgets[2].format: 'bar' does not suit a server") for e in errors)
    assert "widgets[3].source.links[0].url: is required" in errors
    assert (
        "widgets[4].source.metric: a metric with * shows a table, or the highest of its "
        "values (value, bar)"
    ) in errors
    assert any(e.startswith("actions[0].action: a button must be one of") for e in errors)
    assert any(e.startswith("actions[1].action: a select must be one of") for e in errors)
    assert "extra: is not a known field" in errors


@pytest.mark.parametrize("bad", [None, [], "layout", 3])
def test_a_layout_must_be_an_object(bad: Any) -> None:
    assert errors_of(bad) == ["the layout must be a JSON object"]


def test_interval_minimum_is_ten_seconds_and_default_thirty() -> None:
    assert parse_layout({"title": "t", "widgets": []}).interval == 30
    assert parse_layout({"title": "t", "widgets": [], "interval": 10}).interval == 10
    assert "interval: must be between 10 and 86400" in errors_of(
        {"title": "t", "widgets": [], "interval": 9}
    )


def test_grid_packs_rows_of_three_columns_in_order() -> None:
    layout = parse_layout(
        {
            "title": "t",
            "widgets": [widget("a"), widget("b", 2), widget("c", 2), widget("d", 3), widget("e")],
        }
    )
    rows = [[w.id for w in row] for row in grid_rows(layout.widgets)]
    assert rows == [["a", "b"], ["c"], ["d"], ["e"]]
    # a+b: 2 fields and 1 spacer; c: 1 field (next row is full width, no spacer); d; e.
    assert field_count(layout.widgets) == 6


def test_too_many_widgets_are_refused_naming_the_limit() -> None:
    assert parse_layout({"title": "t", "widgets": [widget(f"w{i}") for i in range(25)]})
    errors = errors_of({"title": "t", "widgets": [widget(f"w{i}") for i in range(26)]})
    assert errors == [
        "widgets: Page 1 needs 26 fields (widgets plus row spacers); Discord shows at most 25 "
        "fields in an embed"
    ]
    # Spacers count: 13 rows of (width 2 + nothing) need 13 fields plus 24 spacers.
    errors = errors_of({"title": "t", "widgets": [widget(f"w{i}", 2) for i in range(13)]})
    assert "at most 25 fields" in errors[0]


def test_widgets_on_other_pages_have_their_own_25_fields() -> None:
    widgets = [widget(f"w{i}", page=i // 20) for i in range(40)]
    layout = parse_layout({"title": "t", "widgets": widgets})
    assert layout.page_count == 2


def test_too_many_charts_are_refused_naming_the_embed_limit() -> None:
    chart = {"source": {"kind": "metric", "metric": "cpu.percent"}, "format": "chart"}
    errors = errors_of({"title": "t", "widgets": [widget(f"c{i}", **chart) for i in range(10)]})
    assert "at most 10 embeds per message" in errors[0]


def test_too_many_action_rows_are_refused_naming_the_limit() -> None:
    buttons = [{"type": "button", "action": "run", "run": f"a{i}"} for i in range(25)]
    assert len(parse_layout({"title": "t", "widgets": [], "actions": buttons}).actions) == 25
    buttons.append({"type": "select", "action": "page"})
    errors = errors_of({"title": "t", "widgets": [], "actions": buttons})
    assert errors == [
        "actions: need 6 action rows (5 buttons to a row, one per select); Discord allows at most 5"
    ]


def test_buttons_fill_rows_of_five_and_selects_take_a_row_each() -> None:
    actions = [{"type": "button", "action": "run", "run": f"a{i}"} for i in range(7)]
    actions += [{"type": "select", "action": "host"}, {"type": "select", "action": "disk"}]
    layout = parse_layout({"title": "t", "widgets": [], "actions": actions})
    assert [len(row) for row in action_rows(layout.actions)] == [5, 2, 1, 1]


def test_duplicate_actions_are_refused() -> None:
    errors = errors_of(
        {
            "title": "t",
            "widgets": [],
            "actions": [{"type": "button", "action": "refresh"}] * 2,
        }
    )
    assert errors == ["actions[1]: 'refresh' appears twice"]


@pytest.mark.parametrize("scale", [float("inf"), float("-inf"), float("nan"), 1e300, 0, -5])
def test_a_bar_scale_must_be_finite_and_in_range(scale: float) -> None:
    errors = errors_of({"title": "t", "widgets": [widget("a", max=scale)]})
    assert any(e.startswith("widgets[0].max: must be a finite number") for e in errors), errors


ODD_VALUES = ([], {}, ["primary"], {"a": 1}, 1, 1.5, True)


@pytest.mark.parametrize("odd", ODD_VALUES, ids=repr)
def test_a_choice_of_the_wrong_type_is_named_never_a_crash(odd: Any) -> None:
    """Every field picked from a list is checked to be text first: a list or an object is
    a named error, not a TypeError (unhashable) from a dict lookup."""
    layout = {
        "title": "t",
        "widgets": [
            widget("a", format=odd),
            {**widget("b"), "source": {"kind": odd}},
            {**widget("c"), "source": {"kind": "server", "stat": odd}},
        ],
        "actions": [
            {"type": "button", "action": "refresh", "style": odd},
            {"type": odd, "action": "refresh"},
            {"type": "select", "action": odd},
        ],
    }
    errors = errors_of(layout)
    for path in (
        "widgets[0].format",
        "widgets[1].source.kind",
        "widgets[2].source.stat",
        "actions[0].style",
        "actions[1].type",
        "actions[2].action",
    ):
        assert any(
            e.startswith(path + ": must be") or e.startswith(path + ": a ") for e in errors
        ), (
            path,
            errors,
        )


@pytest.mark.parametrize(
    "scale",
    [10**400, -(10**400), 10**16, 0, float("inf"), "5"],
    ids=["1e400", "-1e400", "1e16", "0", "inf", "text"],
)
def test_a_bar_scale_out_of_range_is_named_even_beyond_a_float(scale: Any) -> None:
    errors = errors_of({"title": "t", "widgets": [widget("a", max=scale)]})
    assert errors == ["widgets[0].max: must be a finite number above 0 and at most 1e+15"]


def test_a_whole_number_bar_scale_is_kept() -> None:
    assert parse_layout({"title": "t", "widgets": [widget("a", max=10**15)]}).widgets[0].max == 1e15


def test_ids_and_names_with_a_trailing_newline_are_refused() -> None:
    errors = errors_of(
        {
            "title": "t",
            "widgets": [
                widget("w1\n"),
                {**widget("m"), "source": {"kind": "metric", "metric": "cpu.percent\n"}},
            ],
            "actions": [{"type": "button", "action": "run", "run": "x\n"}],
        }
    )
    assert "widgets[0].id: must be 1-32 letters, digits, - or _" in errors
    assert any(e.startswith("widgets[1].source.metric: may hold") for e in errors), errors
    assert "actions[0].run: must be 1-32 letters, digits, - or _" in errors
