"""Gathers what a dashboard's widgets show, from the metrics service (monitoring, when it is
loaded) and the server's statistics, into a Snapshot the pure renderer reads.

Every read is made on behalf of the dashboard's guild (`bot.metrics.MetricsSource`): a host
that guild may not see is "unavailable", never data; hosts are named by `host_label`, and
values are formatted in human units from the catalogue's unit."""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.metrics import GameServerView, HostView, MetricCatalogue, MetricsSource, format_value
from cogs.dashboards.charts import charts_available
from cogs.dashboards.layout import Layout, Widget
from cogs.dashboards.render import Snapshot, ViewState, WidgetData, player_list

log = logging.getLogger(__name__)

HISTORY_WINDOW = timedelta(hours=1)
NO_MONITORING = "monitoring is not loaded"
NOT_VISIBLE = "that host is not available to this server"
DISK_METRIC = "disk.{}.percent"
# Which collector writes which names, to say why a metric is missing.
COLLECTOR_OF = {
    "gpu": "gpu",
    "container": "docker",
    "service": "services",
    "speedtest": "speedtest",
}
NET_SUFFIXES = ("rx_bps", "tx_bps", "rx_total", "tx_total")


@dataclass(frozen=True)
class ServerStats:
    """A guild's numbers; None where the bot cannot know (online needs presences)."""

    members: int | None = None
    online: int | None = None
    boosts: int | None = None
    channels: int | None = None


def disks_of(metric_names: list[str]) -> tuple[str, ...]:
    """Mount points from names like "disk./.percent" or "disk./data.percent"."""
    found = []
    for name in metric_names:
        if name.startswith("disk.") and name.endswith(".percent"):
            mount = name[len("disk.") : -len(".percent")]
            if mount and mount not in found:
                found.append(mount)
    return tuple(found)


def _links(widget: Widget) -> str:
    return "\n".join(f"[{link.label}]({link.url})" for link in widget.source.links)


def unit_of(widget: Widget, name: str, catalogue: MetricCatalogue | None) -> str:
    """The widget's own unit if it names one, else the catalogue's."""
    if widget.unit:
        return widget.unit
    return catalogue.unit(name) if catalogue is not None else ""


def missing_reason(metric: str, label: str, unavailable: Mapping[str, str]) -> str:
    """Why `metric` has no value on the host called `label`."""
    collector = COLLECTOR_OF.get(metric.split(".", 1)[0], "system")
    why = unavailable.get(collector)
    if why:
        return f"{collector}: {why}"
    return f"no metric {metric} on {label}"


def network_rows(
    latest: Mapping[str, float], names: list[str], catalogue: MetricCatalogue | None
) -> tuple[tuple[str, str], ...]:
    """One row per interface that has moved a byte: rates now, and totals."""

    def fmt(name: str) -> str:
        unit = catalogue.unit(name) if catalogue is not None else ""
        return format_value(latest[name], unit) if name in latest else "?"

    nics: list[str] = []
    for name in names:
        parts = name.split(".")
        is_net = len(parts) == 3 and parts[0] == "net" and parts[2] in NET_SUFFIXES
        if is_net and parts[1] not in nics:
            nics.append(parts[1])
    rows = []
    for nic in nics:
        totals = [latest.get(f"net.{nic}.rx_total"), latest.get(f"net.{nic}.tx_total")]
        rates = [latest.get(f"net.{nic}.rx_bps"), latest.get(f"net.{nic}.tx_bps")]
        if not any(v for v in (*totals, *rates) if v is not None):
            continue  # down, or never moved a byte (ifb0 and the like)
        text = f"↓ {fmt(f'net.{nic}.rx_bps')}  ↑ {fmt(f'net.{nic}.tx_bps')}"
        if any(t is not None for t in totals):
            text += f"  ({fmt(f'net.{nic}.rx_total')} in, {fmt(f'net.{nic}.tx_total')} out)"
        rows.append((nic, text))
    return tuple(rows)


async def _metric(
    widget: Widget,
    metrics: MetricsSource,
    guild_id: int,
    host: HostView,
    disk: str,
    now: datetime,
    latest: Mapping[str, float],
    names: list[str],
    unavailable: Mapping[str, str],
) -> WidgetData:
    catalogue = _catalogue(metrics)
    metric = widget.source.metric.replace("{disk}", disk)
    if widget.format == "table":
        pattern = metric if "*" in metric else f"{metric}*"
        matched = [n for n in names if fnmatch.fnmatchcase(n, pattern) and n in latest]
        if matched and all(n.startswith("net.") for n in matched):
            rows = network_rows(latest, matched, catalogue)
            if not rows:
                return WidgetData(unavailable=f"no interface on {host.label} has moved a byte")
            return WidgetData(rows=rows)
        rows = tuple(
            (
                catalogue.label(n) if catalogue is not None else n,
                format_value(latest[n], unit_of(widget, n, catalogue)),
            )
            for n in matched
        )
        if not rows:
            return WidgetData(unavailable=missing_reason(metric, host.label, unavailable))
        return WidgetData(rows=rows)
    if "*" in metric:  # a value, bar or sparkline of a glob: the highest of its metrics
        matched = [n for n in names if fnmatch.fnmatchcase(n, metric) and n in latest]
        if not matched:
            return WidgetData(unavailable=missing_reason(metric, host.label, unavailable))
        metric = max(matched, key=lambda n: latest[n])
    if metric not in latest:
        return WidgetData(unavailable=missing_reason(metric, host.label, unavailable))
    if widget.format == "chart" and not charts_available():
        return WidgetData(unavailable="charts need Pillow, which is not installed")
    history: tuple[float, ...] = ()
    if widget.format in ("sparkline", "chart"):
        points = await metrics.history(guild_id, host.key, metric, now - HISTORY_WINDOW, now)
        history = tuple(round(p.value, 3) for p in points)
    return WidgetData(
        value=latest[metric], history=history, unit=unit_of(widget, metric, catalogue)
    )


def _catalogue(metrics: MetricsSource) -> MetricCatalogue | None:
    try:
        return metrics.catalogue
    except Exception:
        return None


async def collect(
    layout: Layout,
    state: ViewState,
    metrics: MetricsSource | None,
    stats: ServerStats | None,
    now: datetime,
    guild_id: int = 0,
) -> Snapshot:
    """Data for the widgets of the current page, as `guild_id` may see it; a source that is
    gone, or a host that guild may not see, is "unavailable"."""
    page = min(state.page, layout.page_count - 1)
    hosts: tuple[HostView, ...] = ()
    if metrics is not None:
        try:
            hosts = tuple(metrics.hosts(guild_id))
        except Exception:
            log.exception("The metrics service failed to list hosts")
    by_key = {h.key: h for h in hosts}
    chosen = by_key.get(state.host) or (hosts[0] if hosts else None)
    cache: dict[str, tuple[dict[str, float], list[str], dict[str, str]]] = {}

    def host_data(key: str) -> tuple[dict[str, float], list[str], dict[str, str]]:
        if key not in cache:
            assert metrics is not None
            try:
                unavailable = dict(metrics.unavailable(guild_id, key))
            except Exception:
                unavailable = {}
            cache[key] = (
                dict(metrics.latest(guild_id, key)),
                list(metrics.metric_names(guild_id, key)),
                unavailable,
            )
        return cache[key]

    disks: tuple[str, ...] = ()
    if chosen is not None:
        try:
            disks = disks_of(host_data(chosen.key)[1])
        except Exception:
            log.exception("The metrics service failed for a host")
    disk = state.disk if state.disk in disks else (disks[0] if disks else "")
    games: tuple[GameServerView, ...] = ()
    wants_games = any(w.source.kind == "games" for w in layout.widgets) or any(
        a.action == "game" for a in layout.actions
    )
    if metrics is not None and wants_games:
        try:  # one read per render: the poller polled them once, whoever looks
            games = tuple(metrics.game_servers(guild_id))
        except Exception:
            log.exception("The metrics service failed to list game servers")

    data: dict[str, WidgetData] = {}
    for widget in layout.page_widgets(page):
        kind = widget.source.kind
        try:
            if kind == "markdown":
                data[widget.id] = WidgetData(text=widget.source.text)
            elif kind == "links":
                data[widget.id] = WidgetData(text=_links(widget))
            elif kind == "server":
                value = getattr(stats, widget.source.stat, None) if stats else None
                data[widget.id] = (
                    WidgetData(value=float(value))
                    if value is not None
                    else WidgetData(unavailable=f"{widget.source.stat} is not known")
                )
            elif metrics is None:
                data[widget.id] = WidgetData(unavailable=NO_MONITORING)
            elif kind == "games":
                if widget.format == "table":
                    chosen_game = next((g for g in games if g.key == state.game), None)
                    shown = chosen_game or (games[0] if games else None)
                    data[widget.id] = WidgetData(games=games, text=player_list(shown))
                else:
                    data[widget.id] = WidgetData(games=games)
            else:
                host = by_key.get(widget.source.host) if widget.source.host else chosen
                if host is None:
                    # A stored key this guild may not see (or no host at all): never data.
                    data[widget.id] = WidgetData(unavailable=NOT_VISIBLE)
                    continue
                latest, names, unavailable = host_data(host.key)
                if kind in ("containers", "services"):
                    items = tuple(
                        metrics.containers(guild_id, host.key)
                        if kind == "containers"
                        else metrics.services(guild_id, host.key)
                    )
                    collector = "docker" if kind == "containers" else "services"
                    if not items and unavailable.get(collector):
                        data[widget.id] = WidgetData(
                            unavailable=f"{collector}: {unavailable[collector]}"
                        )
                    else:
                        data[widget.id] = WidgetData(items=items)
                else:
                    data[widget.id] = await _metric(
                        widget, metrics, guild_id, host, disk, now, latest, names, unavailable
                    )
        except Exception:
            log.exception("Collecting widget %s failed", widget.id)
            data[widget.id] = WidgetData(unavailable="its source failed")
    return Snapshot(
        widgets=data,
        hosts=hosts,
        disks=disks,
        host_label=chosen.label if chosen is not None and state.host == chosen.key else "",
        games=games,
    )
