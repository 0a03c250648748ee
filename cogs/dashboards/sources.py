"""Gathers what a dashboard's widgets show, from the metrics service (monitoring, when it is
loaded) and the server's statistics, into a Snapshot the pure renderer reads."""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.metrics import MetricsSource
from cogs.dashboards.charts import charts_available
from cogs.dashboards.layout import Layout, Widget
from cogs.dashboards.render import Snapshot, ViewState, WidgetData, number

log = logging.getLogger(__name__)

HISTORY_WINDOW = timedelta(hours=1)
NO_MONITORING = "monitoring is not loaded"
DISK_METRIC = "disk.{}.percent"


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


def resolve_host(widget: Widget, state: ViewState, hosts: tuple[str, ...]) -> str:
    if widget.source.host:
        return widget.source.host
    if state.host and state.host in hosts:
        return state.host
    return hosts[0] if hosts else ""


def _links(widget: Widget) -> str:
    return "\n".join(f"[{link.label}]({link.url})" for link in widget.source.links)


async def _metric(
    widget: Widget,
    metrics: MetricsSource,
    host: str,
    disk: str,
    now: datetime,
    latest: Mapping[str, float],
    names: list[str],
) -> WidgetData:
    metric = widget.source.metric.replace("{disk}", disk)
    if widget.format == "table":
        pattern = metric if "*" in metric else f"{metric}*"
        rows = tuple(
            (name, number(latest[name]) + (widget.unit or ""))
            for name in names
            if fnmatch.fnmatchcase(name, pattern) and name in latest
        )
        if not rows:
            return WidgetData(unavailable=f"no metric {metric} on {host}")
        return WidgetData(rows=rows)
    if metric not in latest:
        return WidgetData(unavailable=f"no metric {metric} on {host}")
    if widget.format == "chart" and not charts_available():
        return WidgetData(unavailable="charts need Pillow, which is not installed")
    history: tuple[float, ...] = ()
    if widget.format in ("sparkline", "chart"):
        points = await metrics.history(host, metric, now - HISTORY_WINDOW, now)
        history = tuple(round(p.value, 3) for p in points)
    return WidgetData(value=latest[metric], history=history)


async def collect(
    layout: Layout,
    state: ViewState,
    metrics: MetricsSource | None,
    stats: ServerStats | None,
    now: datetime,
) -> Snapshot:
    """Data for the widgets of the current page; a source that is gone is "unavailable"."""
    page = min(state.page, layout.page_count - 1)
    hosts: tuple[str, ...] = ()
    if metrics is not None:
        try:
            hosts = tuple(metrics.hosts())
        except Exception:
            log.exception("The metrics service failed to list hosts")
    chosen_host = state.host if state.host in hosts else (hosts[0] if hosts else "")
    cache: dict[str, tuple[dict[str, float], list[str]]] = {}

    def host_data(host: str) -> tuple[dict[str, float], list[str]]:
        if host not in cache:
            assert metrics is not None
            cache[host] = (dict(metrics.latest(host)), list(metrics.metric_names(host)))
        return cache[host]

    disks: tuple[str, ...] = ()
    if chosen_host:
        try:
            disks = disks_of(host_data(chosen_host)[1])
        except Exception:
            log.exception("The metrics service failed for host %s", chosen_host)
    disk = state.disk if state.disk in disks else (disks[0] if disks else "")

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
            else:
                host = resolve_host(widget, ViewState(page, chosen_host, disk), hosts)
                if host not in hosts:
                    data[widget.id] = WidgetData(unavailable=f"host {host or '?'} not reporting")
                elif kind == "containers":
                    data[widget.id] = WidgetData(items=tuple(metrics.containers(host)))
                elif kind == "services":
                    data[widget.id] = WidgetData(items=tuple(metrics.services(host)))
                else:
                    latest, names = host_data(host)
                    data[widget.id] = await _metric(widget, metrics, host, disk, now, latest, names)
        except Exception:
            log.exception("Collecting widget %s failed", widget.id)
            data[widget.id] = WidgetData(unavailable="its source failed")
    return Snapshot(widgets=data, hosts=hosts, disks=disks)
