"""The monitoring page of each server: live values, history charts, alert rules, service
checks and agent tokens; JSON for the chart; and the agents' ingestion endpoint."""

from __future__ import annotations

import json
import logging
import math
import time
from typing import Any, Protocol

import aiohttp_jinja2
import nextcord
from aiohttp import web
from markupsafe import Markup

from bot import guild_objects
from bot.features import FeatureWeb
from bot.metrics import UnknownMetric
from cogs.monitoring.agent import INGEST_PATH
from cogs.monitoring.alert_store import TooManyRules
from cogs.monitoring.alerts import COMPARISONS, SEVERITIES, RuleError, validate_rule
from cogs.monitoring.catalogue import CATALOGUE, SILENCE_METRIC
from cogs.monitoring.collectors.services import CheckError, ServiceCheck
from cogs.monitoring.config_store import GameServerLimit, TokenLimit
from cogs.monitoring.games import PROTOCOLS, GameServerError
from cogs.monitoring.history import MAX_NAME_LEN, bad_metric_name, bad_value
from cogs.monitoring.hosts import HostNames, agent_key, split_key
from cogs.monitoring.monitor import Monitor
from cogs.monitoring.render import format_value
from web.auth import flash, require_owner
from web.context import get_context, state_versions
from web.drawn_pages import render_page
from web.errors import PageError
from web.forms import form_float, form_int, form_snowflake, form_str, parse_id, read_form
from web.guild_page import managed_guild, page_context
from web.json_body import read_json

log = logging.getLogger(__name__)


class GuildDirectory(Protocol):
    """A server's text channels and roles as the bot sees them live, and the check that an
    id a manager gave is one of them (`bot.guild_objects` in the running bot)."""

    def text_channels(self, guild_id: int) -> list[tuple[int, str]]: ...
    def roles(self, guild_id: int) -> list[tuple[int, str]]: ...
    def check_channel(self, guild_id: int, channel_id: int) -> None: ...
    def check_role(self, guild_id: int, role_id: int) -> None: ...


class BotGuildDirectory:
    """GuildDirectory over the running client's cache; ForeignObject for an id of another
    server (or none)."""

    def __init__(self, client: nextcord.Client) -> None:
        self.client = client

    def text_channels(self, guild_id: int) -> list[tuple[int, str]]:
        guild = self.client.get_guild(guild_id)
        return [(c.id, c.name) for c in guild.text_channels] if guild else []

    def roles(self, guild_id: int) -> list[tuple[int, str]]:
        guild = self.client.get_guild(guild_id)
        if guild is None:
            return []
        return [(r.id, r.name) for r in reversed(guild.roles) if not r.is_default()]

    def check_channel(self, guild_id: int, channel_id: int) -> None:
        guild_objects.text_channel_of(self.client, guild_id, channel_id)

    def check_role(self, guild_id: int, role_id: int) -> None:
        guild_objects.role_of(self.client, guild_id, role_id)


routes = web.RouteTableDef()
MONITOR_KEY = web.AppKey("monitoring_monitor", Monitor)
GUILDS_KEY = web.AppKey("monitoring_guilds", GuildDirectory)
RANGES = {"1h": 3600, "6h": 6 * 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400,
          "1y": 365 * 86400}  # fmt: skip
DEFAULT_METRIC = "cpu.percent"
MAX_INGEST_METRICS = 2000
MAX_INGEST_SAMPLES = 360
MAX_INGEST_BYTES = 4 * 1024 * 1024
MAX_CLOCK_SKEW_S = 120  # an agent's clock may run this far ahead of the server's
FAR_AHEAD_S = 365 * 86400  # a ts further ahead is said to be "more than a year" ahead
MAX_SAMPLE_AGE_S = 7 * 86400
MAX_REFUSED_SHOWN = 50
# series.json: the points' JSON of the last answer per (host, metric, range), kept with the
# Series it was made from (history.query returns the same object while nothing changed).
MAX_POINTS_JSON = 256
_POINTS_JSON: dict[tuple[str, str, int], tuple[object, str]] = {}
SHARING_PATH = "/owner/monitoring"
SHOW_HOSTS = "monitoring_show_hosts"  # the setting cog.SHOW_HOSTS registers
CONFIG_SCOPE = "monitoring_config"  # its state_versions counter (monitoring_0004)


def feature_web(monitor: Monitor, guilds: GuildDirectory) -> FeatureWeb:
    return FeatureWeb.of_package(
        __file__,
        routes=[routes],
        tab="Monitoring",
        app_keys={MONITOR_KEY: monitor, GUILDS_KEY: guilds},
        token_paths=[INGEST_PATH],
    )


def _row_id(request: web.Request, name: str) -> int:
    """A rule, check or token id from the URL: ASCII digits within the 32-bit column, else
    404."""
    value = parse_id(request.match_info[name])
    if value is None or not 1 <= value <= 2**31 - 1:
        raise PageError(404, "There is no such rule, check or token here; reload the page.")
    return value


def _picked_metric(request: web.Request) -> str:
    """The metric the page charts: the one in the URL when the catalogue knows it."""
    wanted = request.query.get("metric", DEFAULT_METRIC)
    try:
        CATALOGUE.check(wanted)
    except UnknownMetric:
        return DEFAULT_METRIC
    return wanted if "{" not in wanted else DEFAULT_METRIC


def _guilds(request: web.Request) -> GuildDirectory:
    return request.config_dict[GUILDS_KEY]


def _monitor(request: web.Request) -> Monitor:
    return request.config_dict[MONITOR_KEY]


async def _show_hosts(request: web.Request, guild_id: int) -> bool:
    # the request's cached settings (bot.state_cache): no query per call
    ctx = get_context(request)
    values = await ctx.guild_state.settings(await state_versions(request), guild_id)
    return bool(values.get(SHOW_HOSTS))


async def _names(request: web.Request, guild_id: int) -> HostNames:
    """The hosts this server may see, and how it names them (hosts.HostNames)."""
    return await _monitor(request).names(guild_id, show=await _show_hosts(request, guild_id))


async def _pick_host(request: web.Request, guild_id: int) -> tuple[str, HostNames]:
    """The storage key of the host the request names (`?host=` a label), among those this
    server may see; 404 for any other, another server's included."""
    names = await _names(request, guild_id)
    default = names.keys[0] if names.keys else None
    key = names.resolve(request.query.get("host"), default)
    if key is None:
        wanted = request.query.get("host") or "(none)"
        raise PageError(404, f"No host {wanted!r} reports here. Pick one from the host list.")
    return key, names


async def _render(
    request: web.Request,
    guild_id: int,
    *,
    errors: dict[str, dict[str, str]] | None = None,
    form: dict[str, dict[str, str]] | None = None,
    new_token: str | None = None,
    status: int = 200,
) -> web.Response:
    monitor = _monitor(request)
    names = await _names(request, guild_id)
    show = names.show
    first = names.keys[0] if names.keys else ""
    host = names.resolve(request.query.get("host"), first)
    if host is None and request.method == "GET" and request.query.get("host"):
        await _pick_host(request, guild_id)  # raises the 404 naming the unknown host
    host = host or first  # a form error: show the page with the first host
    latest = await monitor.latest(host) if host else None
    labels = {key: names.label(key) for key in names.keys}
    versions = await state_versions(request)  # read before the configuration
    config = await monitor.guild_config(guild_id, versions.get(CONFIG_SCOPE))
    tokens = config.tokens
    choices = list(labels.items())
    picked = _picked_metric(request)
    metric_names, live_values = _host_lists(latest, picked)
    fragments = _Fragments(request, metric_names, picked, live_values)
    channels = _guilds(request).text_channels(guild_id)
    roles = _guilds(request).roles(guild_id)
    page_range = request.query.get("range", "1h") if request.query.get("range") in RANGES else "1h"
    config_version = versions.get(CONFIG_SCOPE)
    # everything the page shows (a form shown again with its errors is drawn each time)
    key = (
        None
        if errors or form or new_token or config_version is None
        else (
            "monitoring", guild_id, config_version, show, host, tuple(choices), page_range,
            picked, latest[0] if latest else None, len(live_values), tuple(channels),
            tuple(roles), tuple(monitor.games.status.get(g.id) for g in config.games),
            getattr(get_context(request).live.guild(guild_id), "name", None),
        )
    )  # fmt: skip
    return await render_page(
        request,
        "monitoring/page.html",
        {
            **page_context(request, guild_id, "monitoring", "Monitoring"),
            "host": host,
            "host_label": names.label(host) if host else "no host",
            "hosts": choices,
            "ranges": list(RANGES),
            "range": page_range,
            "metric_names": metric_names,
            "metric": picked,
            "live": live_values,
            "fragments": fragments,
            "updated": latest[0] if latest else None,
            "rules": config.rules,
            "channels": channels,
            "roles": roles,
            "channel_names": dict(channels),
            "labels": labels,
            "checks": config.checks,
            "games": config.games,
            "game_status": monitor.games.status,
            "game_interval": f"{monitor.games.interval_s:g}",
            "protocols": PROTOCOLS,
            "tokens": tokens,
            # a manager sees the names they gave their own agents, with the alias shown
            # elsewhere while names are hidden
            "token_aliases": {
                token.id: names.label(agent_key(guild_id, token.host))
                for token in tokens
                if not names.show and names.find(agent_key(guild_id, token.host))
            },
            "show_addresses": show,
            "comparisons": COMPARISONS,
            "severities": SEVERITIES,
            "errors": errors or {},
            "form": form or {},
            "new_token": new_token,
        },
        key=key,
        status=status,
    )


# The page's long lists (a host's hundred metrics in the picker, the datalist and the live
# values) drawn once per content, not per request; the content is the key.
MAX_FRAGMENTS = 128
_FRAGMENTS: dict[tuple[object, ...], Markup] = {}


# The picker's names and the formatted live values of the newest sample a page showed last,
# by that sample: Monitor.latest returns the same object until a new sample comes.
_HOST_LISTS: dict[str, tuple[object, list[tuple[str, str]], list[tuple[str, str]]]] = {}


def _host_lists(
    latest: tuple[float, dict[str, float]] | None, picked: str
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """([(metric, label)] the picker offers, [(metric, formatted value)] of `latest`)."""
    kept = _HOST_LISTS.get(picked)
    if kept is not None and kept[0] is latest:
        return kept[1], kept[2]
    metrics = sorted(latest[1].items()) if latest else []
    # this host's metrics (not other hosts' names: they may belong to another server),
    # every fixed name of the catalogue (speedtests come rarely), and the one asked for
    fixed = {s.pattern for s in CATALOGUE.specs if not s.placeholders} - {SILENCE_METRIC}
    chartable = CATALOGUE.names_for({name for name, _ in metrics} | fixed | {picked})
    names = [(name, CATALOGUE.label(name)) for name in chartable]
    live = [(name, format_value(name, value)) for name, value in metrics]
    if len(_HOST_LISTS) >= MAX_FRAGMENTS:
        _HOST_LISTS.clear()
    _HOST_LISTS[picked] = (latest, names, live)
    return names, live


class _Fragments:
    """Each long list of the page as HTML, from _FRAGMENTS or drawn (and kept) when asked."""

    def __init__(
        self,
        request: web.Request,
        metric_names: list[tuple[str, str]],
        metric: str,
        live: list[tuple[str, str]],
    ) -> None:
        self._request = request
        self._names, self._metric, self._live = tuple(metric_names), metric, live

    def _draw(self, key: tuple[object, ...], template: str, context: dict[str, Any]) -> Markup:
        html = _FRAGMENTS.get(key)
        if html is None:
            if len(_FRAGMENTS) >= MAX_FRAGMENTS:
                _FRAGMENTS.clear()
            drawn = aiohttp_jinja2.render_string(template, self._request, context)
            html = _FRAGMENTS[key] = Markup(drawn)
        return html

    @property
    def metric_options(self) -> Markup:
        return self._draw(
            ("options", self._names, self._metric),
            "monitoring/_metric_options.html",
            {"metric_names": self._names, "metric": self._metric},
        )

    @property
    def metric_datalist(self) -> Markup:
        return self._draw(
            ("datalist", self._names),
            "monitoring/_metric_datalist.html",
            {"metric_names": self._names},
        )

    @property
    def live_rows(self) -> Markup:
        return self._draw(
            ("live", tuple(self._live)),
            "monitoring/_live_rows.html",
            {"live": self._live},
        )


async def _form_error(
    request: web.Request,
    guild_id: int,
    section: str,
    field: str,
    message: str,
    values: dict[str, str],
) -> web.Response:
    """The page again (400) with `message` under `field` of its `section` form (rule, check
    or token), and what the manager typed kept in that form."""
    return await _render(
        request, guild_id, errors={section: {field: message}}, form={section: values}, status=400
    )


async def _back(request: web.Request, guild_id: int, message: str) -> web.Response:
    """After a change: the message flashed, and back to the server's monitoring page."""
    await flash(request, message)
    raise web.HTTPSeeOther(f"/guilds/{guild_id}/monitoring")


def _gone(what: str) -> PageError:
    """The 404 for a row that is not (or no longer) this server's."""
    return PageError(404, f"{what}; reload the page.")


@routes.get("/guilds/{guild_id}/monitoring")
async def page(request: web.Request) -> web.Response:
    guild_id, _ = await managed_guild(request)
    return await _render(request, guild_id)


@routes.get("/guilds/{guild_id}/monitoring/series.json")
async def series(request: web.Request) -> web.Response:
    guild_id, _ = await managed_guild(request)
    host, _ = await _pick_host(request, guild_id)
    metric = request.query.get("metric", DEFAULT_METRIC)
    try:
        CATALOGUE.check(metric)
    except UnknownMetric as exc:
        raise PageError(400, f"metric: {exc}") from None
    span = RANGES.get(request.query.get("range", "1h"))
    if span is None:
        raise PageError(400, f"range must be one of {', '.join(RANGES)}.")
    monitor = _monitor(request)
    now = monitor.clock()
    result = await monitor.history.query(host, metric, now - span, now, now=now)
    # The same Series object means the same points: their JSON is made once, not per request.
    key = (host, metric, span)
    cached = _POINTS_JSON.get(key)
    if cached is None or cached[0] is not result:
        points = json.dumps(
            [
                [ts, round(avg, 4), round(peak, 4)]
                for ts, avg, peak in result.points
                if math.isfinite(avg) and math.isfinite(peak)  # rows stored before the check
            ],
            separators=(",", ":"),
        )
        if len(_POINTS_JSON) >= MAX_POINTS_JSON:
            _POINTS_JSON.clear()
        cached = _POINTS_JSON[key] = (result, points)
    head = json.dumps(
        {
            "metric": metric,
            "label": CATALOGUE.label(metric),
            "unit": CATALOGUE.unit(metric),
            "start": now - span,
            "end": now,
            "tier": result.tier,
            "step": result.step_s,
        }
    )
    return web.Response(
        text=f'{head[:-1]}, "points": {cached[1]}}}', content_type="application/json"
    )


@routes.get("/guilds/{guild_id}/monitoring/live.json")
async def live(request: web.Request) -> web.Response:
    guild_id, _ = await managed_guild(request)
    host, _ = await _pick_host(request, guild_id)
    latest = await _monitor(request).latest(host)
    if latest is None:
        return web.json_response({"ts": None, "values": {}})
    # Monitor.latest returns the same object until a new sample comes: formatted once
    kept = _LIVE_JSON.get(host)
    if kept is None or kept[0] is not latest:
        values = {k: format_value(k, v) for k, v in sorted(latest[1].items())}
        if len(_LIVE_JSON) >= MAX_FRAGMENTS:
            _LIVE_JSON.clear()
        kept = _LIVE_JSON[host] = (latest, json.dumps({"ts": latest[0], "values": values}))
    return web.Response(text=kept[1], content_type="application/json")


# live.json's answer by host, with the sample it was made from
_LIVE_JSON: dict[str, tuple[object, str]] = {}


def _field(reader: Any, form: Any, name: str, **options: Any) -> Any:
    """A form reader's value, its PageError(400) turned into the rule form's field error."""
    try:
        return reader(form, name, **options)
    except PageError as exc:
        raise RuleError(name, exc.message.removeprefix(f"{name}: ")) from None


@routes.post("/guilds/{guild_id}/monitoring/rules")
async def add_rule(request: web.Request) -> web.Response:
    guild_id, user = await managed_guild(request)
    monitor = _monitor(request)
    form = await read_form(request)
    values = {k: str(v) for k, v in form.items() if k != "csrf_token"}
    try:
        given = str(form.get("host") or "").strip()
        names = await _names(request, guild_id)
        host = names.resolve(given, names.keys[0] if names.keys else None)
        if host is None:
            raise RuleError("host", f"no host {given!r} reports here")
        threshold = _field(form_float, form, "threshold")
        duration = _field(form_int, form, "duration", required=False)
        cooldown = _field(form_int, form, "cooldown", required=False)
        rule, severity = validate_rule(
            metric=str(form.get("metric", "")),
            comparison=str(form.get("comparison", "")),
            threshold=threshold,
            duration_s=0 if duration is None else duration,
            cooldown_s=300 if cooldown is None else cooldown,
            hysteresis=_field(form_float, form, "hysteresis", required=False),
            severity=str(form.get("severity") or "warning"),
        )
        channel_id = _field(form_snowflake, form, "channel")
        role_id = _field(form_snowflake, form, "role", required=False)
        directory = _guilds(request)
        try:
            directory.check_channel(guild_id, channel_id)
        except guild_objects.ForeignObject:
            raise RuleError("channel", "pick one of this server's text channels") from None
        if role_id is not None:
            try:
                directory.check_role(guild_id, role_id)
            except guild_objects.ForeignObject:
                raise RuleError("role", "pick one of this server's roles") from None
        row = await monitor.alerts.add(
            guild_id,
            rule,
            host=host,
            severity=severity,
            channel_id=channel_id,
            role_id=role_id,
            created_by=user.id,
        )
    except RuleError as exc:
        return await _form_error(request, guild_id, "rule", exc.field, exc.message, values)
    except TooManyRules as exc:
        return await _form_error(
            request, guild_id, "rule", "rules", f"limit reached: {exc}", values
        )
    log.info("User %s added alert rule %s in guild %s", user.id, row.id, guild_id)
    return await _back(request, guild_id, f"Alert rule #{row.id} added.")


def _check_field(reader: Any, form: Any, name: str, message: str, **options: Any) -> Any:
    try:
        return reader(form, name, **options)
    except PageError:
        raise CheckError(name, message) from None


@routes.post("/guilds/{guild_id}/monitoring/checks")
async def add_check(request: web.Request) -> web.Response:
    guild_id, user = await managed_guild(request)
    form = await read_form(request)
    values = {k: str(v) for k, v in form.items() if k != "csrf_token"}
    monitor = _monitor(request)
    try:
        kind = str(form.get("kind", ""))
        port = _check_field(
            form_int, form, "port", "must be a port number from 1 to 65535", required=False
        )
        timeout = _check_field(
            form_float, form, "timeout", "must be a number of seconds", required=False
        )
        check = ServiceCheck(
            0,
            str(form.get("name", "")),
            kind,
            str(form.get("target", "")).strip(),
            port if kind == "tcp" else None,
            5.0 if timeout is None else timeout,
            str(form.get("expect", "")).strip(),
        ).validate()
        # the bot's own network only with the owner's consent; checked again at each probe
        await monitor.services.policy.addresses(check.host, check.probe_port)
        row = await monitor.config.add_check(guild_id, check)
    except CheckError as exc:
        return await _form_error(request, guild_id, "check", exc.field, exc.message, values)
    except ValueError as exc:
        return await _form_error(request, guild_id, "check", "name", str(exc), values)
    log.info("User %s added service check %s in guild %s", user.id, row.id, guild_id)
    return await _back(request, guild_id, f"Service check {row.name!r} added.")


@routes.post("/guilds/{guild_id}/monitoring/games")
async def add_game(request: web.Request) -> web.Response:
    """Add a game server (protocol, address, port); a wrong field is named on the form and
    nothing is stored."""
    guild_id, user = await managed_guild(request)
    form = await read_form(request)
    values = {k: str(v) for k, v in form.items() if k != "csrf_token"}
    try:
        protocol = str(form.get("protocol", ""))
        if protocol not in PROTOCOLS:
            raise GameServerError("protocol", f"must be one of {', '.join(PROTOCOLS)}")
        port = _game_field(form_int, form, "port", "must be a port number from 1 to 65535")
        server, _ = await _monitor(request).add_game_server(
            guild_id,
            str(form.get("name", "")),
            protocol,
            str(form.get("address", "")),
            PROTOCOLS[protocol][1] if port is None else port,
            user.id,
        )
    except GameServerError as exc:
        return await _form_error(request, guild_id, "game", exc.field, exc.message, values)
    except GameServerLimit as exc:
        return await _form_error(request, guild_id, "game", "name", str(exc), values)
    log.info("User %s added game server %s in guild %s", user.id, server.id, guild_id)
    return await _back(request, guild_id, f"Game server {server.name!r} added.")


def _game_field(reader: Any, form: Any, name: str, message: str) -> Any:
    try:
        return reader(form, name, required=False, minimum=1, maximum=65535)
    except PageError:
        raise GameServerError(name, message) from None


@routes.post("/guilds/{guild_id}/monitoring/{kind:rules|checks|games}/{row_id}/delete")
async def delete_row(request: web.Request) -> web.Response:
    """Delete one of this server's alert rules, service checks or game servers."""
    guild_id, _ = await managed_guild(request)
    row_id = _row_id(request, "row_id")
    monitor = _monitor(request)
    if request.match_info["kind"] == "rules":
        removed = await monitor.alerts.remove(guild_id, row_id)
        what, done = f"alert rule #{row_id}", f"Alert rule #{row_id} removed."
    elif request.match_info["kind"] == "games":
        removed = await monitor.remove_game_server(guild_id, row_id)
        what, done = f"game server #{row_id}", "Game server removed, with its alert rules."
    else:
        removed = await monitor.config.remove_check(guild_id, row_id)
        what, done = f"service check #{row_id}", "Service check removed."
    if not removed:
        raise _gone(f"This server has no {what}")
    return await _back(request, guild_id, done)


@routes.post("/guilds/{guild_id}/monitoring/tokens")
async def create_token(request: web.Request) -> web.Response:
    guild_id, user = await managed_guild(request)
    form = await read_form(request)
    host = str(form.get("host", "")).strip()
    if not host or len(host) > 64 or any(not (c.isalnum() or c in "-_.") for c in host):
        return await _form_error(
            request, guild_id, "token", "host", "must be 1-64 letters, digits, '-', '_' or '.'",
            {"host": host},
        )  # fmt: skip
    monitor = _monitor(request)
    try:
        token = await monitor.config.create_token(guild_id, host, user.id)
    except TokenLimit as exc:
        return await _form_error(request, guild_id, "token", "host", str(exc), {"host": host})
    await monitor.registry.ensure([agent_key(guild_id, host)])  # this server's own host
    log.info("User %s created an agent token for host %s in guild %s", user.id, host, guild_id)
    # Shown once, in this response only: only its hash is stored.
    return await _render(request, guild_id, new_token=token)


@routes.post("/guilds/{guild_id}/monitoring/tokens/{token_id}/revoke")
async def revoke_token(request: web.Request) -> web.Response:
    guild_id, _ = await managed_guild(request)
    token_id = _row_id(request, "token_id")
    if not await _monitor(request).config.revoke_token(guild_id, token_id):
        raise _gone("No such live token in this server")
    return await _back(
        request, guild_id, "Agent token revoked: that agent's posts are refused from now on."
    )


@routes.get(SHARING_PATH)
async def sharing_page(request: web.Request) -> web.Response:
    """Owners only: which servers see the installation's hosts (the bot's own host)."""
    await require_owner(request)
    ctx = get_context(request)
    registry = await _monitor(request).refresh_hosts(force=True)
    guilds = sorted(ctx.live.guilds(), key=lambda g: (g.name.lower(), g.id))
    return aiohttp_jinja2.render_template(
        "monitoring/sharing.html",
        request,
        {
            "title": "Monitoring · sharing the bot's host",
            "guilds": [(g, registry.shared_with(g.id)) for g in guilds],
        },
    )


@routes.post(SHARING_PATH)
async def set_sharing(request: web.Request) -> web.Response:
    await require_owner(request)
    form = await read_form(request)
    guild_id = form_snowflake(form, "guild_id")
    choice = form_str(form, "shared", max_len=3)
    if choice not in ("on", "off"):
        raise PageError(400, "shared: must be on or off.")
    guild = get_context(request).live.guild(guild_id) if guild_id is not None else None
    if guild is None or guild_id is None:
        raise PageError(404, "FoundryCord is not in that server. Pick one from the list.")
    await _monitor(request).registry.set_shared(guild_id, choice == "on")
    state = "now sees" if choice == "on" else "no longer sees"
    await flash(request, f"{guild.name} {state} the bot's host.")
    raise web.HTTPSeeOther(SHARING_PATH)


class RefusalLog:
    """Logs a refused agent once per (source address, reason), not on every retry."""

    def __init__(self, limit: int = 1000) -> None:
        self.seen: set[tuple[str, str]] = set()
        self.limit = limit

    def refuse(self, source: str, reason: str) -> None:
        key = (source, reason)
        if key in self.seen:
            return
        if len(self.seen) >= self.limit:
            self.seen.clear()
        self.seen.add(key)
        log.warning("Refused a monitoring agent post from %s: %s token", source, reason)


REFUSALS = RefusalLog()


def _refused(request: web.Request, reason: str) -> web.Response:
    REFUSALS.refuse(request.remote or "unknown", reason)
    return web.json_response(
        {"error": f"the agent token is {reason}; create a new one on the Monitoring page"},
        status=401,
    )


class BadSamples(ValueError):
    """A post the ingest endpoint refuses whole; the message names the problem."""


def parse_samples(body: object, now: float) -> list[tuple[float, dict[str, float]]]:
    """The samples of an agent's post, each checked; BadSamples names the first problem.
    Nothing is stored unless every sample passes."""
    if not isinstance(body, dict) or not isinstance(body.get("samples"), list):
        raise BadSamples('the body must be an object {"samples": [...]}')
    samples = body["samples"]
    if not 1 <= len(samples) <= MAX_INGEST_SAMPLES:
        raise BadSamples(f"samples must be a list of 1-{MAX_INGEST_SAMPLES}")
    parsed = []
    for index, sample in enumerate(samples):
        where = f"sample {index}"
        if not isinstance(sample, dict):
            raise BadSamples(f"{where} must be an object with ts and metrics")
        ts = sample.get("ts")
        # An int is compared as it is: math.isfinite (and ts - now) would raise
        # OverflowError on one beyond a float's range.
        if (
            isinstance(ts, bool)
            or not isinstance(ts, int | float)
            or (isinstance(ts, float) and not math.isfinite(ts))
        ):
            raise BadSamples(f"{where}: ts must be a finite number of unix seconds")
        if ts > now + MAX_CLOCK_SKEW_S:
            ahead = (
                f"{ts - now:,.0f} s" if ts < now + FAR_AHEAD_S else "more than a year"
            )  # not a 300-digit number for a ts of 1e308
            raise BadSamples(
                f"{where}: ts is {ahead} ahead of the server's clock (at most "
                f"{MAX_CLOCK_SKEW_S} s is accepted); set the agent's clock right (NTP)"
            )
        if ts < now - MAX_SAMPLE_AGE_S:
            raise BadSamples(f"{where}: ts is more than 7 days in the past")
        metrics = sample.get("metrics")
        if not isinstance(metrics, dict) or len(metrics) > MAX_INGEST_METRICS:
            raise BadSamples(f"{where}: metrics must be an object of at most {MAX_INGEST_METRICS}")
        for name, value in metrics.items():
            why = bad_metric_name(name) or bad_value(value)
            if why is not None:
                raise BadSamples(f"{where}, metric {name[:MAX_NAME_LEN]!r}: {why}")
        parsed.append((float(ts), {name: float(value) for name, value in metrics.items()}))
    return parsed


@routes.post(INGEST_PATH)
async def ingest(request: web.Request) -> web.Response:
    """Samples from `python -m bot agent`: `{"samples": [{"ts": .., "metrics": {..}}]}`
    with `Authorization: Bearer <token>`; the token decides the host. A bad post is refused
    whole (400 naming the problem); metric names over a cap are left out and named in
    `not_stored` with the reason; `stored` is the number of values stored."""
    # An HTTP auth scheme is case-insensitive (RFC 9110 11.1): "bearer" is "Bearer".
    scheme, _, credentials = request.headers.get("Authorization", "").strip().partition(" ")
    credentials = credentials.strip()
    if scheme.lower() != "bearer" or not credentials:
        return _refused(request, "missing")
    monitor = _monitor(request)
    host, why = await monitor.config.verify_token(credentials)
    if host is None:
        return _refused(request, "wrong" if why == "unknown" else why)
    try:
        body = await read_json(request, max_bytes=MAX_INGEST_BYTES, max_depth=4)
        parsed = parse_samples(body, time.time())
    except PageError as exc:
        return web.json_response({"error": exc.message}, status=exc.status)
    except BadSamples as exc:
        return web.json_response({"error": f"bad sample: {exc}"}, status=400)
    result = await monitor.ingest_many(host, parsed)
    if host not in monitor.registry.by_key:
        await monitor.registry.ensure([host])
    answer: dict[str, object] = {"stored": result.values, "host": split_key(host)[1]}
    if result.refused:
        shown = dict(sorted(result.refused.items())[:MAX_REFUSED_SHOWN])
        answer["not_stored"] = shown
        answer["not_stored_count"] = len(result.refused)
    return web.json_response(answer)
