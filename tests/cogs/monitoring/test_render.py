"""Sparklines, value formats, hidden host names and addresses."""

from __future__ import annotations

from cogs.monitoring.render import (
    format_value,
    mask_addresses,
    sparkline,
    status_embed,
)


def test_sparkline_spans_low_to_high_and_squeezes_to_width() -> None:
    assert sparkline([0, 1, 2, 3, 4, 5, 6, 7]) == "▁▂▃▄▅▆▇█"
    assert sparkline([]) == ""
    assert sparkline([5, 5, 5]) == "▄▄▄"
    line = sparkline([float(i) for i in range(360)], width=24)  # an hour of 10 s samples
    assert len(line) == 24 and line[0] == "▁" and line[-1] == "█"
    assert list(line) == sorted(line)


def test_values_carry_units() -> None:
    assert format_value("mem.used", 3 * 1024**3) == "3 GiB"
    assert format_value("net.eth0.rx_bps", 2048) == "2 KiB/s"
    assert format_value("net.eth0.rx_total", 774940513) == "739 MiB"
    assert format_value("load.1", 0.695312) == "0.7"
    assert format_value("temp.coretemp", 61.24) == "61.2 °C"
    assert format_value("cpu.percent", 12.345) == "12.3%"
    assert format_value("uptime_s", 90061) == "1d 1h"
    assert format_value("service.3.up", 0.0) == "down"
    assert format_value("cpu.percent", None) == "n/a"


def test_addresses_are_masked() -> None:
    text = "ClientConnectorError: Cannot connect to host 10.0.0.5:443 or fe80::1:2:3"
    masked = mask_addresses(text)
    assert "10.0.0.5" not in masked and "fe80" not in masked and "Cannot connect" in masked


def test_status_embed_names_what_is_unavailable_without_addresses() -> None:
    embed = status_embed(
        "host 1",
        1_800_000_000,
        {"cpu.percent": 50.0, "mem.percent": 20.0, "uptime_s": 3600},
        {"cpu.percent": "▁▂▃"},
        {"system": "ok", "docker": "cannot reach the Docker API at tcp://10.1.2.3:2375"},
    )
    assert "**CPU** 50%" in embed.description and "`▁▂▃` last hour" in embed.description
    assert embed.footer.text.startswith("Unavailable: docker:")
    assert "10.1.2.3" not in embed.footer.text
