"""Sparklines, value formats, hidden host names and addresses."""

from __future__ import annotations

from cogs.monitoring.render import (
    HostNames,
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
    assert format_value("mem.used", 3 * 1024**3) == "3.0 GiB"
    assert format_value("net.eth0.rx_bps", 2048) == "2.0 KiB/s"
    assert format_value("cpu.percent", 12.345) == "12.3 %"
    assert format_value("uptime_s", 90061) == "1d 1h"
    assert format_value("service.3.up", 0.0) == "down"
    assert format_value("cpu.percent", None) == "n/a"


def test_host_names_hidden_unless_shown() -> None:
    hidden = HostNames(["nas", "db-1"], show=False)
    assert hidden.label("nas") == "host 2" and hidden.label("db-1") == "host 1"
    assert hidden.resolve("host 2", "db-1") == "nas"
    assert hidden.resolve("nas", "db-1") == "nas"  # the real name works too
    assert hidden.resolve(None, "db-1") == "db-1"
    assert hidden.resolve("elsewhere", "db-1") is None
    assert HostNames(["nas"], show=True).label("nas") == "nas"


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
    assert "**CPU** 50.0 %" in embed.description and "`▁▂▃` last hour" in embed.description
    assert embed.footer.text.startswith("Unavailable: docker:")
    assert "10.1.2.3" not in embed.footer.text
