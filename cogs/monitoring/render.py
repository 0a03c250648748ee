"""Embeds and text for the commands and alerts: values with units, unicode sparklines, and
host names and addresses hidden unless the guild shows them."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import nextcord

from bot.metrics import format_bytes, format_duration
from cogs.monitoring.catalogue import CATALOGUE

BLOCKS = "▁▂▃▄▅▆▇█"
SEVERITY_COLOURS = {"info": 0x3498DB, "warning": 0xF1C40F, "critical": 0xE74C3C}
OK_COLOUR = 0x2ECC71
_IPV4 = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")
_IPV6 = re.compile(r"\b(?:[0-9a-fA-F]{0,4}:){2,7}[0-9a-fA-F]{0,4}\b")


def sparkline(values: Sequence[float], width: int = 24) -> str:
    """`values` squeezed into `width` block characters (bucket averages), low to high."""
    values = [v for v in values if v == v]
    if not values:
        return ""
    if len(values) > width:
        size = len(values) / width
        values = [
            sum(chunk) / len(chunk)
            for i in range(width)
            if (chunk := values[int(i * size) : max(int((i + 1) * size), int(i * size) + 1)])
        ]
    low, high = min(values), max(values)
    span = high - low
    if span == 0:
        return BLOCKS[0 if high == 0 else 3] * len(values)
    return "".join(BLOCKS[min(7, int((v - low) / span * 8))] for v in values)


def human_bytes(value: float) -> str:
    return format_bytes(value)


def human_duration(seconds: float) -> str:
    return format_duration(seconds)


def format_value(metric: str, value: float | None) -> str:
    """A metric's value in the unit the catalogue declares (bot.metrics.format_value)."""
    if value is None:
        return "n/a"
    return CATALOGUE.format(metric, value)


def mask_addresses(text: str) -> str:
    return _IPV6.sub("•••", _IPV4.sub("•••", text))


def _bar(percent: float | None, width: int = 10) -> str:
    if percent is None:
        return ""
    filled = max(0, min(width, round(percent / 100 * width)))
    return "█" * filled + "░" * (width - filled)


def status_embed(
    host: str,
    ts: float,
    metrics: Mapping[str, float],
    sparks: Mapping[str, str],
    status: Mapping[str, str] | None = None,
) -> nextcord.Embed:
    embed = nextcord.Embed(
        title=f"Status · {host}",
        colour=OK_COLOUR,
        timestamp=datetime.fromtimestamp(ts, UTC),
    )
    lines = []
    for label, metric in (("CPU", "cpu.percent"), ("Memory", "mem.percent")):
        value = metrics.get(metric)
        lines.append(f"**{label}** {format_value(metric, value)} {_bar(value)}")
        if sparks.get(metric):
            lines.append(f"`{sparks[metric]}` last hour")
    if "load.1" in metrics:
        lines.append(
            f"**Load** {metrics['load.1']:.2f} {metrics.get('load.5', 0):.2f} "
            f"{metrics.get('load.15', 0):.2f}"
        )
    disks = [k for k in metrics if k.startswith("disk.") and k.endswith(".percent")]
    for key in disks[:3]:
        mount = key.removeprefix("disk.").removesuffix(".percent")
        lines.append(f"**Disk {mount}** {metrics[key]:.0f} % {_bar(metrics[key])}")
    if "uptime_s" in metrics:
        lines.append(f"**Up** {human_duration(metrics['uptime_s'])}")
    gpus = [k for k in metrics if k.startswith("gpu.") and k.endswith(".util")]
    if gpus:
        lines.append("**GPU** " + ", ".join(f"{metrics[k]:.0f} %" for k in gpus))
    running = [k for k in metrics if k.startswith("container.") and k.endswith(".running")]
    if running:
        up = sum(1 for k in running if metrics[k] >= 0.5)
        lines.append(f"**Containers** {up}/{len(running)} running")
    services = [k for k in metrics if k.startswith("service.") and k.endswith(".up")]
    if services:
        up = sum(1 for k in services if metrics[k] >= 0.5)
        lines.append(f"**Services** {up}/{len(services)} up")
    embed.description = "\n".join(lines)[:4000]
    if status:
        missing = [f"{name}: {why}" for name, why in status.items() if why != "ok"]
        if missing:
            embed.set_footer(text=mask_addresses("Unavailable: " + "; ".join(missing))[:2000])
    return embed


def system_pages(
    host: str,
    metrics: Mapping[str, float],
    cpu: Mapping[str, Any] | None,
    sparks: Mapping[str, str],
    processes: Sequence[Mapping[str, Any]] | None = None,
) -> list[nextcord.Embed]:
    """Pages for /system: CPU and memory, disks, network, sensors, top processes."""
    pages: list[nextcord.Embed] = []

    def page(title: str, lines: list[str]) -> None:
        embed = nextcord.Embed(title=f"{title} · {host}", colour=OK_COLOUR)
        embed.description = ("\n".join(lines) or "Nothing reported.")[:4000]
        pages.append(embed)

    cores = sorted(
        (int(k.rsplit(".", 1)[1]), v) for k, v in metrics.items() if k.startswith("cpu.core.")
    )
    lines = []
    if cpu:
        lines.append(f"**Model** {cpu['model']} ({cpu['cores']} cores, {cpu['threads']} threads)")
    lines.append(f"**CPU** {format_value('cpu.percent', metrics.get('cpu.percent'))}")
    if sparks.get("cpu.percent"):
        lines.append(f"`{sparks['cpu.percent']}`")
    if cores:
        lines.append("**Per core** " + " ".join(f"{v:.0f}" for _, v in cores[:64]))
    if "cpu.freq_mhz" in metrics:
        lines.append(f"**Frequency** {metrics['cpu.freq_mhz']:.0f} MHz")
    if "load.1" in metrics:
        lines.append(
            f"**Load** {metrics['load.1']:.2f} / {metrics['load.5']:.2f} / {metrics['load.15']:.2f}"
        )
    if "mem.used" in metrics:
        lines.append(
            f"**Memory** {human_bytes(metrics['mem.used'])} of "
            f"{human_bytes(metrics.get('mem.total', 0))} ({metrics.get('mem.percent', 0):.0f} %)"
        )
    if sparks.get("mem.percent"):
        lines.append(f"`{sparks['mem.percent']}`")
    if "swap.used" in metrics:
        lines.append(
            f"**Swap** {human_bytes(metrics['swap.used'])} ({metrics.get('swap.percent', 0):.0f} %)"
        )
    if "uptime_s" in metrics:
        lines.append(
            f"**Uptime** {human_duration(metrics['uptime_s'])} · "
            f"**Processes** {metrics.get('procs', 0):.0f}"
        )
    page("System", lines)

    lines = []
    for key in sorted(k for k in metrics if k.startswith("disk.") and k.endswith(".percent")):
        base = key.removesuffix(".percent")
        mount = base.removeprefix("disk.")
        text = (
            f"**{mount}** {human_bytes(metrics.get(base + '.used', 0))} of "
            f"{human_bytes(metrics.get(base + '.total', 0))} ({metrics[key]:.0f} %)"
        )
        if base + ".read_bps" in metrics:
            text += (
                f" · read {human_bytes(metrics[base + '.read_bps'])}/s, "
                f"write {human_bytes(metrics[base + '.write_bps'])}/s"
            )
        lines.append(text)
    page("Disks", lines)

    lines = []
    for key in sorted(k for k in metrics if k.startswith("net.") and k.endswith(".rx_total")):
        base = key.removesuffix(".rx_total")
        nic = base.removeprefix("net.")
        text = (
            f"**{nic}** received {human_bytes(metrics[key])}, "
            f"sent {human_bytes(metrics.get(base + '.tx_total', 0))}"
        )
        if base + ".rx_bps" in metrics:
            text += (
                f" · ↓ {human_bytes(metrics[base + '.rx_bps'])}/s "
                f"↑ {human_bytes(metrics[base + '.tx_bps'])}/s"
            )
        lines.append(text)
    page("Network", lines)

    lines = [
        f"**{k.removeprefix('temp.')}** {v:.0f} °C"
        for k, v in sorted(metrics.items())
        if k.startswith("temp.")
    ]
    lines += [
        f"**fan {k.removeprefix('fan.')}** {v:.0f} RPM"
        for k, v in sorted(metrics.items())
        if k.startswith("fan.")
    ]
    page("Sensors", lines or ["This host exposes no temperature or fan sensors."])

    if processes is not None:
        lines = ["**By CPU**"]
        lines += [
            f"`{p['pid']:>7}` {p['name'][:30]} {p['cpu']:.1f} %"
            for p in processes
            if p["rank"] == "cpu"
        ]
        lines.append("**By memory**")
        lines += [
            f"`{p['pid']:>7}` {p['name'][:30]} {human_bytes(p['mem'])}"
            for p in processes
            if p["rank"] == "mem"
        ]
        page("Processes", lines)
    for index, embed in enumerate(pages, start=1):
        embed.set_footer(text=f"Page {index}/{len(pages)}")
    return pages


def gpu_embed(
    host: str, metrics: Mapping[str, float], info: Mapping[str, Any] | None, reason: str | None
) -> nextcord.Embed:
    embed = nextcord.Embed(title=f"GPUs · {host}", colour=OK_COLOUR)
    indexes = sorted({int(k.split(".")[1]) for k in metrics if k.startswith("gpu.")})
    if not indexes:
        embed.description = f"No GPU data: {reason or 'this host reports no NVIDIA GPU'}."
        return embed
    names = {g.get("index"): g.get("name") for g in (info or {}).get("gpus", [])}
    for i in indexes[:10]:
        m = lambda s, i=i: metrics.get(f"gpu.{i}.{s}")  # noqa: E731
        lines = [
            f"Utilisation {format_value('x.util', m('util'))}",
            f"Memory {human_bytes(m('mem_used') or 0)} of {human_bytes(m('mem_total') or 0)}",
        ]
        if m("temp") is not None:
            lines.append(f"Temperature {m('temp'):.0f} °C")
        if m("power_w") is not None:
            lines.append(f"Power {m('power_w'):.0f} W")
        if m("fan") is not None:
            lines.append(f"Fan {m('fan'):.0f} %")
        embed.add_field(name=f"GPU {i}: {names.get(i) or ''}", value="\n".join(lines))
    return embed


def containers_embed(
    host: str, info: Mapping[str, Any] | None, metrics: Mapping[str, float], reason: str | None
) -> nextcord.Embed:
    embed = nextcord.Embed(title=f"Containers · {host}", colour=OK_COLOUR)
    rows = (info or {}).get("containers")
    if rows is None:
        names = sorted({k.split(".")[1] for k in metrics if k.startswith("container.")})
        rows = [
            {
                "name": n,
                "state": "running" if metrics.get(f"container.{n}.running") else "stopped",
                "cpu": metrics.get(f"container.{n}.cpu"),
                "mem": metrics.get(f"container.{n}.mem"),
                "restarts": metrics.get(f"container.{n}.restarts"),
            }
            for n in names
        ]
    if not rows:
        embed.description = f"No containers: {reason or 'none reported'}."
        return embed
    lines = []
    for row in sorted(rows, key=lambda r: (r.get("state") != "running", r["name"]))[:40]:
        icon = "🟢" if row.get("state") == "running" else "🔴"
        health = row.get("health")
        text = f"{icon} **{row['name']}** {row.get('state', '?')}"
        if health and health != "none":
            text += f" ({health})"
        if row.get("image"):
            text += f" · `{row['image'][:40]}`"
        if row.get("cpu") is not None:
            text += f" · CPU {row['cpu']:.1f} %"
        if row.get("mem") is not None:
            text += f" · {human_bytes(row['mem'])}"
        if row.get("restarts"):
            text += f" · {row['restarts']:.0f} restarts"
        lines.append(text)
    embed.description = "\n".join(lines)[:4000]
    return embed


def services_embed(
    checks: Sequence[Any],
    metrics: Mapping[str, float],
    details: Mapping[int, str],
    *,
    show_addresses: bool,
) -> nextcord.Embed:
    embed = nextcord.Embed(title="Services", colour=OK_COLOUR)
    if not checks:
        embed.description = "No service checks yet: add them on the web editor's Monitoring page."
        return embed
    lines = []
    for check in checks:
        up = metrics.get(f"service.{check.id}.up")
        icon = "⚪" if up is None else ("🟢" if up >= 0.5 else "🔴")
        target = check.target + (f":{check.port}" if check.port else "")
        if not show_addresses:
            target = "hidden"
        latency = metrics.get(f"service.{check.id}.latency_ms")
        text = f"{icon} **{check.name}** ({check.kind} {target})"
        if latency is not None:
            text += f" · {latency:.0f} ms"
        if check.id in details and (up is None or up < 0.5):
            detail = details[check.id]
            text += f" · {detail if show_addresses else mask_addresses(detail)}"
        lines.append(text)
    embed.description = "\n".join(lines)[:4000]
    return embed


def plain(text: str) -> str:
    """Text from elsewhere (host and metric names an agent chose) shown literally: markdown
    escaped, and mention syntax broken so it neither pings nor renders as a mention."""
    escaped = nextcord.utils.escape_markdown(str(text))
    return escaped.replace("@", "@\u200b").replace("<#", "<\u200b#")


def game_status_line(view: Any, *, show_address: str = "") -> str:
    """One game server as a line: status dot, name, players/max, map, ping (or why offline).
    `view` is a bot.metrics.GameServerView; every server-given text is shown literally."""
    if view.online is None:
        dot, state = "⚪", "not polled yet"
    elif view.online:
        players = f"{view.players}/{view.max_players}" if view.max_players else f"{view.players}"
        parts = [f"{players} players"]
        if view.map:
            parts.append(plain(view.map))
        if view.ping_ms is not None:
            parts.append(f"{view.ping_ms:.0f} ms")
        dot, state = "🟢", " · ".join(parts)
    else:
        dot, state = "🔴", "offline" + (f" ({mask_addresses(view.detail)})" if view.detail else "")
    where = f" `{show_address}`" if show_address else ""
    return f"{dot} **{plain(view.name)}**{where} · {state}"


def games_embed(views: Sequence[Any], addresses: Mapping[str, str]) -> nextcord.Embed:
    """/gameserver list: every game server of this Discord server, with its id; `addresses`
    (key -> address:port) only where the server shows addresses."""
    embed = nextcord.Embed(title="Game servers", colour=OK_COLOUR)
    if not views:
        embed.description = "No game servers yet: add one with /gameserver add."
        return embed
    lines = [
        f"`#{view.key[2:]}` " + game_status_line(view, show_address=addresses.get(view.key, ""))
        for view in views
    ]
    embed.description = "\n".join(lines)[:4000]
    return embed


def _with_rule_footer(embed: nextcord.Embed, rule: Any, ref: str) -> nextcord.Embed:
    """An alert's footer: its rule, and the delivery's nonce a resend looks for."""
    footer = f"FoundryCord monitoring · rule #{rule.id}"
    return embed.set_footer(text=f"{footer} · ref {ref}" if ref else footer)


def game_alert_embed(kind: str, rule: Any, game: str, at: float, ref: str = "") -> nextcord.Embed:
    """A game server's offline / back-online alert (its rule: failed_polls >= N)."""
    name = plain(game)
    when = datetime.fromtimestamp(at, UTC)
    if kind == "fire":
        polls = int(rule.threshold)
        embed = nextcord.Embed(
            title=f"Offline: {name}"[:256],
            description=f"**{name}** has not answered {polls} poll{'s' * (polls != 1)} "
            f"in a row (rule #{rule.id}).",
            colour=SEVERITY_COLOURS.get(rule.severity, 0xF1C40F),
            timestamp=when,
        )
    else:
        embed = nextcord.Embed(
            title=f"Back online: {name}"[:256],
            description=f"**{name}** answers again (rule #{rule.id}).",
            colour=OK_COLOUR,
            timestamp=when,
        )
    return _with_rule_footer(embed, rule, ref)


def alert_embed(
    kind: str, rule: Any, host: str, value: float | None, at: float, ref: str = ""
) -> nextcord.Embed:
    """The embed sent when a rule fires ("fire") or clears ("recover"). `ref` (the event's
    nonce) goes in the footer so a resend can find the message on Discord."""
    shown = format_value(rule.metric, value)
    limit = format_value(rule.metric, rule.threshold)
    when = datetime.fromtimestamp(at, UTC)
    metric, where = plain(rule.metric), plain(host)
    if kind == "fire":
        embed = nextcord.Embed(
            title=f"{rule.severity.upper()}: {metric} {rule.comparison} {limit}"[:256],
            description=f"**{metric}** on **{where}** is {shown} "
            f"(rule #{rule.id}: {rule.comparison} {limit}"
            + (f" for {human_duration(rule.duration_s)}" if rule.duration_s else "")
            + ").",
            colour=SEVERITY_COLOURS.get(rule.severity, 0xF1C40F),
            timestamp=when,
        )
    else:
        embed = nextcord.Embed(
            title=f"Recovered: {metric}"[:256],
            description=f"**{metric}** on **{where}** is back to {shown} (rule #{rule.id}).",
            colour=OK_COLOUR,
            timestamp=when,
        )
    return _with_rule_footer(embed, rule, ref)


def speedtest_embed(result: Any) -> nextcord.Embed:
    embed = nextcord.Embed(
        title="Speedtest", colour=OK_COLOUR, timestamp=datetime.fromtimestamp(result.at, UTC)
    )
    embed.add_field(name="Download", value=f"{result.download_mbps:.1f} Mbit/s")
    embed.add_field(name="Upload", value=f"{result.upload_mbps:.1f} Mbit/s")
    embed.add_field(name="Ping", value=f"{result.ping_ms:.0f} ms")
    embed.set_footer(text=f"Server: {result.server}"[:200])
    return embed
