"""The pure renderer: Discord's limits kept exactly, overflow cut visibly, the grid as
fields, every format, components and the payload hash."""

from __future__ import annotations

from typing import Any

import pytest

from bot.metrics import HostView, StatusItem
from cogs.dashboards import limits
from cogs.dashboards.layout import parse_layout
from cogs.dashboards.render import (
    BLANK,
    ELLIPSIS,
    Snapshot,
    ViewState,
    WidgetData,
    bar,
    cut,
    fit_lines,
    message_chars,
    parse_custom_id,
    render,
    sparkline,
)


def layout_of(*widgets: dict[str, Any], **extra: Any):  # type: ignore[no-untyped-def]
    return parse_layout({"title": "Dash", "widgets": list(widgets), **extra})


def metric(wid: str, fmt: str = "value", width: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "id": wid,
        "title": wid,
        "width": width,
        "source": {"kind": "metric", "metric": "cpu.percent"},
        "format": fmt,
        **extra,
    }


def note(wid: str, text: str = "x", width: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "id": wid,
        "title": wid,
        "width": width,
        "source": {"kind": "markdown", "text": text},
        "format": "value",
        **extra,
    }


def check_limits(payload: dict[str, Any]) -> None:
    """Every hard limit Discord enforces on a message, asserted."""
    embeds = payload["embeds"]
    assert 1 <= len(embeds) <= limits.EMBEDS
    for embed in embeds:
        assert len(embed.get("title", "")) <= limits.TITLE
        assert len(embed.get("description", "")) <= limits.DESCRIPTION
        assert len(embed.get("fields", [])) <= limits.FIELDS
        for field in embed.get("fields", []):
            assert 1 <= len(field["name"]) <= limits.FIELD_NAME
            assert 1 <= len(field["value"]) <= limits.FIELD_VALUE
    assert message_chars(payload) <= limits.MESSAGE_TOTAL
    rows = payload["components"]
    assert len(rows) <= limits.ACTION_ROWS
    for row in rows:
        assert 1 <= len(row["components"]) <= limits.BUTTONS_PER_ROW
        for item in row["components"]:
            assert len(item["custom_id"]) <= limits.CUSTOM_ID
            if item["type"] == 3:
                assert len(row["components"]) == 1
                assert 1 <= len(item["options"]) <= limits.SELECT_OPTIONS
                assert len(item["placeholder"]) <= limits.SELECT_PLACEHOLDER
            else:
                assert len(item["label"]) <= limits.BUTTON_LABEL


# cutting


@pytest.mark.parametrize("limit", [1, 2, 5, 256, 1024])
def test_cut_keeps_the_limit_exactly_and_shows_the_cut(limit: int) -> None:
    assert cut("a" * limit, limit) == "a" * limit
    longer = cut("a" * (limit + 1), limit)
    assert len(longer) == limit and longer.endswith(ELLIPSIS)


def test_fit_lines_says_how_many_lines_were_left_out() -> None:
    lines = [f"line {i:02}" for i in range(100)]
    text = fit_lines(lines, 60)
    assert len(text) <= 60
    shown = text.splitlines()
    assert shown[-1] == f"(+{100 - (len(shown) - 1)} more)"
    assert shown[:-1] == lines[: len(shown) - 1]
    assert fit_lines(lines[:3], 100) == "line 00\nline 01\nline 02"


# formats


def test_value_bar_and_sparkline_formats() -> None:
    layout = layout_of(
        metric("v", unit="%"), metric("b", "bar", unit="%"), metric("s", "sparkline", unit="%")
    )
    data = WidgetData(value=42.0, history=(1.0, 2.0, 4.0, 8.0))
    fields = render(layout, Snapshot({"v": data, "b": data, "s": data})).payload["embeds"][0][
        "fields"
    ]
    assert [f["value"] for f in fields] == [
        "**42%**",
        "`████░░░░░░` 42%",
        "`▁▂▄█` 42%",
    ]
    assert bar(250, 100, "") == "`██████████` 250"
    assert sparkline([5, 5, 5], 10) == "▁▁▁"
    assert len(sparkline(range(100), 12)) == 12


def test_status_list_table_and_count_of_containers() -> None:
    layout = layout_of(
        {"id": "s", "title": "S", "width": 3, "source": {"kind": "containers"}, "format": "status"},
        {"id": "t", "title": "T", "width": 3, "source": {"kind": "services"}, "format": "table"},
        {"id": "c", "title": "C", "width": 1, "source": {"kind": "services"}, "format": "value"},
    )
    items = (StatusItem("web", True, "healthy"), StatusItem("db", False))
    snap = Snapshot({k: WidgetData(items=items) for k in "stc"})
    values = [f["value"] for f in render(layout, snap).payload["embeds"][0]["fields"]]
    assert values[0] == "🟢 web · healthy\n🔴 db"
    assert values[1] == "```\nweb  up\ndb   down\n```"
    assert values[2] == "**1/2** up"


def test_a_long_status_list_is_cut_with_a_count() -> None:
    layout = layout_of(
        {"id": "s", "title": "S", "width": 3, "source": {"kind": "containers"}, "format": "status"}
    )
    items = tuple(StatusItem(f"container-{i:03}", i % 2 == 0, "x" * 20) for i in range(200))
    value = render(layout, Snapshot({"s": WidgetData(items=items)})).payload["embeds"][0]["fields"][
        0
    ]["value"]
    assert len(value) <= limits.FIELD_VALUE
    assert value.splitlines()[-1].startswith("(+") and value.endswith(" more)")


def test_metric_table_lists_rows() -> None:
    layout = layout_of(
        {
            "id": "n",
            "title": "Net",
            "width": 3,
            "source": {"kind": "metric", "metric": "net.*"},
            "format": "table",
        }
    )
    snap = Snapshot({"n": WidgetData(rows=(("net.rx", "12"), ("net.tx", "3.5")))})
    assert render(layout, snap).payload["embeds"][0]["fields"][0]["value"] == (
        "```\nnet.rx  12\nnet.tx  3.5\n```"
    )


def test_missing_or_unavailable_data_shows_unavailable() -> None:
    layout = layout_of(metric("a"), metric("b"), metric("c"))
    snap = Snapshot({"b": WidgetData(unavailable="host gone"), "c": WidgetData()})
    values = [f["value"] for f in render(layout, snap).payload["embeds"][0]["fields"]]
    assert values == ["unavailable", "unavailable (host gone)", "unavailable"]


def test_chart_is_an_embed_image_with_its_points() -> None:
    layout = layout_of(metric("c", "chart"), metric("d", "chart"))
    snap = Snapshot({"c": WidgetData(value=1, history=(1.0, 2.0)), "d": WidgetData()})
    rendered = render(layout, snap)
    embeds = rendered.payload["embeds"]
    assert "fields" not in embeds[0]
    assert embeds[1]["image"] == {"url": "attachment://chart-c.png"}
    assert embeds[2]["description"] == "unavailable (no history)"
    assert [c.points for c in rendered.charts] == [(1.0, 2.0)]


def test_markdown_and_links() -> None:
    layout = layout_of(
        note("m", "**hi**"),
        {
            "id": "l",
            "title": "Links",
            "width": 1,
            "source": {"kind": "links", "links": [{"label": "Wiki", "url": "https://w.example"}]},
            "format": "value",
        },
    )
    snap = Snapshot({"m": WidgetData(text="**hi**"), "l": WidgetData(text="[Wiki](https://w)")})
    values = [f["value"] for f in render(layout, snap).payload["embeds"][0]["fields"]]
    assert values == ["**hi**", "[Wiki](https://w)"]


# grid to fields


def test_grid_widths_become_inline_and_full_fields_with_spacers() -> None:
    layout = layout_of(note("a"), note("b", width=2), note("c", width=2), note("d", width=3))
    fields = render(layout, Snapshot()).payload["embeds"][0]["fields"]
    assert [(f["name"], f["inline"]) for f in fields] == [
        ("a", True),
        ("b", True),
        (BLANK, True),  # ends the row of a and b as the grid does
        ("c", True),
        ("d", False),
    ]


# limits


def test_everything_too_long_is_cut_to_the_limits() -> None:
    big = {"title": "T" * 256, "description": "D" * 4096}
    widgets = [note(f"w{i}", width=3) | {"title": "N" * 256} for i in range(25)]
    layout = layout_of(*widgets, **big)
    snap = Snapshot({f"w{i}": WidgetData(text="V" * 5000) for i in range(25)})
    payload = render(layout, snap).payload
    check_limits(payload)
    assert message_chars(payload) == limits.MESSAGE_TOTAL
    assert any(f["value"].endswith(ELLIPSIS) for f in payload["embeds"][0]["fields"])


@pytest.mark.parametrize("count", [0, 1, 24, 25])
def test_field_counts_up_to_25_are_kept(count: int) -> None:
    layout = layout_of(*[note(f"w{i}") for i in range(count)])
    payload = render(layout, Snapshot()).payload
    check_limits(payload)
    assert len(payload["embeds"][0].get("fields", [])) == count


def test_select_options_are_cut_to_25_and_say_how_many_more() -> None:
    layout = layout_of(
        metric("a"),
        actions=[{"type": "select", "action": "host"}, {"type": "select", "action": "page"}],
    )
    hosts = tuple(HostView(f"host-{i:02}", f"host-{i:02}") for i in range(40))
    payload = render(layout, Snapshot(hosts=hosts), ViewState(host="host-03")).payload
    check_limits(payload)
    select = payload["components"][0]["components"][0]
    assert len(select["options"]) == 25
    assert select["placeholder"] == "Choose a host (+15 more not listed)"
    assert [o["value"] for o in select["options"] if o.get("default")] == ["host-03"]


def test_buttons_and_paging() -> None:
    layout = layout_of(
        note("a"),
        note("b", page=1),
        actions=[
            {"type": "button", "action": "prev_page"},
            {"type": "button", "action": "next_page"},
            {"type": "button", "action": "run", "run": "speedtest", "style": "success"},
        ],
    )
    first = render(layout, Snapshot(), ViewState(page=0), dashboard_id=7).payload
    buttons = first["components"][0]["components"]
    assert [b["custom_id"] for b in buttons] == [
        "fcd:7:prev_page",
        "fcd:7:next_page",
        "fcd:7:run:speedtest",
    ]
    assert buttons[0].get("disabled") is True and "disabled" not in buttons[1]
    assert buttons[2]["style"] == 3 and buttons[2]["label"] == "Run speedtest"
    assert first["embeds"][0]["footer"]["text"] == "Page 1 (1/2)"
    second = render(layout, Snapshot(), ViewState(page=1), dashboard_id=7).payload
    assert second["embeds"][0]["fields"][0]["name"] == "b"
    assert second["components"][0]["components"][1].get("disabled") is True
    # A page beyond the last (a page was removed) shows the last.
    assert (
        render(layout, Snapshot(), ViewState(page=9)).payload
        == render(layout, Snapshot(), ViewState(page=1)).payload
    )
    assert parse_custom_id("fcd:7:run:speedtest") == (7, "run:speedtest")
    assert parse_custom_id("other:7:x") is None
    # a forged press: "²" passed str.isdigit and then failed int() (an error, not "not ours")
    assert parse_custom_id("fcd:²:x") is None
    assert parse_custom_id("fcd:٣:x") is None


# the hash


def test_hash_is_stable_and_follows_content() -> None:
    layout = layout_of(metric("a"))
    one = render(layout, Snapshot({"a": WidgetData(value=1)}))
    assert one.digest == render(layout, Snapshot({"a": WidgetData(value=1)})).digest
    assert one.digest != render(layout, Snapshot({"a": WidgetData(value=2)})).digest
    chart = layout_of(metric("a", "chart"))
    assert (
        render(chart, Snapshot({"a": WidgetData(value=1, history=(1.0,))})).digest
        != render(chart, Snapshot({"a": WidgetData(value=1, history=(2.0,))})).digest
    )


def test_an_empty_dashboard_is_still_a_payload_discord_accepts() -> None:
    embed = render(parse_layout({"title": "", "widgets": []}), Snapshot()).payload["embeds"][0]
    assert "title" not in embed and embed["description"] == "(nothing to show yet)"


def test_a_long_placeholder_is_cut_but_keeps_the_count_of_hidden_options() -> None:
    layout = layout_of(
        metric("a"), actions=[{"type": "select", "action": "host", "label": "P" * 150}]
    )
    hosts = tuple(HostView(f"h{i}", f"h{i}") for i in range(30))
    select = render(layout, Snapshot(hosts=hosts)).payload["components"][0]["components"][0]
    assert len(select["placeholder"]) == limits.SELECT_PLACEHOLDER
    assert select["placeholder"].endswith("… (+5 more not listed)")


def test_cutting_a_huge_overflow_stays_cheap() -> None:
    """Cutting 25 full fields, their names, a full title and description down to 6000
    characters is one bisection, not a character at a time (a generous bound)."""
    import time

    items = tuple(StatusItem(f"c-{i:03}-" + "x" * 60, i % 3 != 0, "y" * 40) for i in range(300))
    widgets = [
        {
            "id": f"w{i}",
            "title": "N" * 256,
            "width": 3,
            "source": {"kind": "containers"},
            "format": "status",
        }
        for i in range(25)
    ]
    layout = layout_of(*widgets, title="T" * 256, description="D" * 4096)
    snapshot = Snapshot({f"w{i}": WidgetData(items=items) for i in range(25)})
    started = time.perf_counter()
    payload = render(layout, snapshot).payload
    assert time.perf_counter() - started < 1.0
    check_limits(payload)
    assert message_chars(payload) == limits.MESSAGE_TOTAL
    lengths = {len(f["value"]) for f in payload["embeds"][0]["fields"]}
    assert max(lengths) - min(lengths) <= 1  # the cut is shared evenly


def test_values_are_rounded_to_what_a_person_reads_in_human_units() -> None:
    layout = layout_of(metric("load"), metric("rate", "sparkline"), metric("pct", "bar"))
    snap = Snapshot(
        {
            "load": WidgetData(value=0.695312),
            "rate": WidgetData(value=1_572_864.0, history=(1.0, 2.0), unit="B/s"),
            "pct": WidgetData(value=42.123456, unit="%"),
        }
    )
    values = [f["value"] for f in render(layout, snap).payload["embeds"][0]["fields"]]
    assert values == ["**0.7**", "`▁█` 1.5 MiB/s", "`████░░░░░░` 42.1%"]


def test_tables_stay_code_blocks_when_the_message_is_cut_to_6000() -> None:
    rows = tuple((f"row-{i:03}", "x" * 30) for i in range(40))
    widgets = [
        {
            "id": f"t{i}",
            "title": "T" * 200,
            "width": 3,
            "source": {"kind": "metric", "metric": "net.*"},
            "format": "table",
        }
        for i in range(8)
    ]
    layout = layout_of(*widgets)
    snap = Snapshot({f"t{i}": WidgetData(rows=rows) for i in range(8)})
    payload = render(layout, snap).payload
    check_limits(payload)
    for f in payload["embeds"][0]["fields"]:
        value = f["value"]
        assert value.startswith("```\n") and value.endswith("\n```"), value[-20:]
        assert value.count("```") == 2
