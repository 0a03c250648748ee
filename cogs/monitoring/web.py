"""The monitoring page of each server: live values, history charts, alert rules, service
checks and agent tokens; JSON for the chart; and the agents' ingestion endpoint."""

from __future__ import annotations

import logging
import math
import time
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from cogs.monitoring.agent import INGEST_PATH
from cogs.monitoring.alerts import COMPARISONS, SEVERITIES, RuleError, validate_rule
from cogs.monitoring.collectors.services import CheckError, ServiceCheck
from cogs.monitoring.config_store import TokenLimit
from cogs.monitoring.history import MAX_NAME_LEN, bad_metric_name, bad_value
from cogs.monitoring.hosts import HostNames, agent_key, split_key
from cogs.monitoring.monitor import Monitor
from cogs.monitoring.render import format_value
from web.auth import flash, require_manage, require_owner
from web.context import get_context
from web.errors import PageError
from web.forms import form_snowflake, form_str, read_form
from web.json_body import read_json

log = logging.getLogger(__name__)

routes = web.RouteTableDef()
MONITOR_KEY = web.AppKey("monitoring_monitor", Monitor)
RANGES = {"1h": 3600, "6h": 6 * 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400,
          "1y": 365 * 86400}  # fmt: skip
MAX_INGEST_METRICS = 2000
MAX_INGEST_SAMPLES = 360
MAX_INGEST_BYTES = 4 * 1024 * 1024
MAX_CLOCK_SKEW_S = 120  # an agent's clock may run this far ahead of the server's
MAX_SAMPLE_AGE_S = 7 * 86400
MAX_REFUSED_SHOWN = 50
SHARING_PATH = "/owner/monitoring"


def _guild_id(request: web.Request) -> int:
    raw = request.match_info["guild_id"]
    if not raw.isdigit():
        raise PageError(404, "That is not a server id. Pick a server from the list instead.")
    return int(raw)


def _monitor(request: web.Request) -> Monitor:
    return request.config_dict[MONITOR_KEY]


async def _show_hosts(request: web.Request, guild_id: int) -> bool:
    return bool(await get_context(request).guild_settings.get(guild_id, "monitoring_show_hosts"))


async def _names(request: web.Request, guild_id: int) -> HostNames:
    """The hosts this server may see, and how it names them (hosts.HostNames)."""
    return await _monitor(request).names(guild_id)


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
    ctx = get_context(request)
    monitor = _monitor(request)
    names = await _names(request, guild_id)
    first = names.keys[0] if names.keys else ""
    host = names.resolve(request.query.get("host"), first)
    if host is None and request.method == "GET" and request.query.get("host"):
        await _pick_host(request, guild_id)  # raises the 404 naming the unknown host
    host = host or first  # a form error: show the page with the first host
    latest = await monitor.latest(host) if host else None
    metrics = sorted(latest[1].items()) if latest else []
    show = await _show_hosts(request, guild_id)
    labels = {key: names.label(key) for key in names.keys}
    tokens = await monitor.config.tokens(guild_id)
    choices = list(labels.items())
    guild = ctx.live.guild(guild_id)
    return aiohttp_jinja2.render_template(
        "monitoring/page.html",
        request,
        {
            "title": f"Monitoring · {guild.name if guild else guild_id}",
            "guild": guild,
            "guild_id": guild_id,
            "active_tab": "monitoring",
            "host": host,
            "host_label": names.label(host) if host else "no host",
            "hosts": choices,
            "ranges": list(RANGES),
            "range": request.query.get("range", "1h")
            if request.query.get("range") in RANGES
            else "1h",
            "metric_names": [name for name, _ in metrics],
            "live": [(name, format_value(name, value)) for name, value in metrics],
            "updated": latest[0] if latest else None,
            "rules": await monitor.alerts.list(guild_id),
            "labels": labels,
            "checks": await monitor.config.checks(guild_id),
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
        status=status,
    )


@routes.get("/guilds/{guild_id}/monitoring")
async def page(request: web.Request) -> web.Response:
    guild_id = _guild_id(request)
    await require_manage(request, guild_id)
    return await _render(request, guild_id)


@routes.get("/guilds/{guild_id}/monitoring/series.json")
async def series(request: web.Request) -> web.Response:
    guild_id = _guild_id(request)
    await require_manage(request, guild_id)
    host, _ = await _pick_host(request, guild_id)
    metric = request.query.get("metric", "cpu.percent")
    span = RANGES.get(request.query.get("range", "1h"))
    if span is None:
        raise PageError(400, f"range must be one of {', '.join(RANGES)}.")
    monitor = _monitor(request)
    now = monitor.clock()
    result = await monitor.history.query(host, metric, now - span, now, now=now)
    return web.json_response(
        {
            "metric": metric,
            "tier": result.tier,
            "step": result.step_s,
            "points": [
                [ts, round(avg, 4), round(peak, 4)]
                for ts, avg, peak in result.points
                if math.isfinite(avg) and math.isfinite(peak)  # rows stored before the check
            ],
        }
    )


@routes.get("/guilds/{guild_id}/monitoring/live.json")
async def live(request: web.Request) -> web.Response:
    guild_id = _guild_id(request)
    await require_manage(request, guild_id)
    host, _ = await _pick_host(request, guild_id)
    latest = await _monitor(request).latest(host)
    if latest is None:
        return web.json_response({"ts": None, "values": {}})
    return web.json_response(
        {"ts": latest[0], "values": {k: format_value(k, v) for k, v in sorted(latest[1].items())}}
    )


def _float(form: Any, field: str, default: float | None = None) -> float | None:
    raw = str(form.get(field, "")).strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise RuleError(field, "must be a number") from None
    if not math.isfinite(value):
        raise RuleError(field, "must be a finite number")
    return value


def _int(form: Any, field: str, default: int) -> int:
    raw = str(form.get(field, "")).strip()
    if not raw:
        return default
    if not raw.lstrip("-").isdigit():
        raise RuleError(field, "must be a whole number")
    return int(raw)


def _snowflake(form: Any, field: str, *, required: bool) -> int | None:
    raw = str(form.get(field, "")).strip()
    if not raw:
        if required:
            raise RuleError(field, "is required")
        return None
    if not raw.isdigit() or not 15 <= len(raw) <= 20:
        raise RuleError(field, "must be an id of 15-20 digits")
    return int(raw)


@routes.post("/guilds/{guild_id}/monitoring/rules")
async def add_rule(request: web.Request) -> web.Response:
    guild_id = _guild_id(request)
    user = await require_manage(request, guild_id)
    monitor = _monitor(request)
    form = await request.post()
    values = {k: str(v) for k, v in form.items() if k != "csrf_token"}
    try:
        given = str(form.get("host") or "").strip()
        names = await _names(request, guild_id)
        host = names.resolve(given, names.keys[0] if names.keys else None)
        if host is None:
            raise RuleError("host", f"no host {given!r} reports here")
        threshold = _float(form, "threshold")
        if threshold is None:
            raise RuleError("threshold", "is required")
        known = set(await monitor.history.known_metrics())
        if monitor.sampler.latest is not None:
            known |= set(monitor.sampler.latest.metrics)
        rule, severity = validate_rule(
            metric=str(form.get("metric", "")),
            comparison=str(form.get("comparison", "")),
            threshold=threshold,
            known_metrics=known,
            duration_s=_int(form, "duration", 0),
            cooldown_s=_int(form, "cooldown", 300),
            hysteresis=_float(form, "hysteresis"),
            severity=str(form.get("severity") or "warning"),
        )
        channel_id = _snowflake(form, "channel", required=True)
        role_id = _snowflake(form, "role", required=False)
    except RuleError as exc:
        return await _render(
            request,
            guild_id,
            errors={"rule": {exc.field: exc.message}},
            form={"rule": values},
            status=400,
        )
    row = await monitor.alerts.add(
        guild_id,
        rule,
        host=host,
        severity=severity,
        channel_id=channel_id,
        role_id=role_id,
        created_by=user.id,
    )
    log.info("User %s added alert rule %s in guild %s", user.id, row.id, guild_id)
    await flash(request, f"Alert rule #{row.id} added.")
    raise web.HTTPSeeOther(f"/guilds/{guild_id}/monitoring")


@routes.post("/guilds/{guild_id}/monitoring/rules/{rule_id:\\d+}/delete")
async def delete_rule(request: web.Request) -> web.Response:
    guild_id = _guild_id(request)
    await require_manage(request, guild_id)
    rule_id = int(request.match_info["rule_id"])
    if not await _monitor(request).alerts.remove(guild_id, rule_id):
        raise PageError(404, f"This server has no alert rule #{rule_id}; reload the page.")
    await flash(request, f"Alert rule #{rule_id} removed.")
    raise web.HTTPSeeOther(f"/guilds/{guild_id}/monitoring")


@routes.post("/guilds/{guild_id}/monitoring/checks")
async def add_check(request: web.Request) -> web.Response:
    guild_id = _guild_id(request)
    user = await require_manage(request, guild_id)
    form = await request.post()
    values = {k: str(v) for k, v in form.items() if k != "csrf_token"}
    try:
        port_raw = str(form.get("port", "")).strip()
        port: int | None = None
        if port_raw:
            if not port_raw.lstrip("-").isdigit():
                raise CheckError("port", "must be a port number from 1 to 65535")
            port = int(port_raw)
        timeout_raw = str(form.get("timeout", "") or "5").strip()
        try:
            timeout = float(timeout_raw)
        except ValueError:
            raise CheckError("timeout", "must be a number of seconds") from None
        check = ServiceCheck(
            0,
            str(form.get("name", "")),
            str(form.get("kind", "")),
            str(form.get("target", "")).strip(),
            port if form.get("kind") == "tcp" else None,
            timeout,
            str(form.get("expect", "")).strip(),
        ).validate()
        row = await _monitor(request).config.add_check(guild_id, check)
    except CheckError as exc:
        return await _render(
            request,
            guild_id,
            errors={"check": {exc.field: exc.message}},
            form={"check": values},
            status=400,
        )
    except ValueError as exc:
        return await _render(
            request,
            guild_id,
            errors={"check": {"name": str(exc)}},
            form={"check": values},
            status=400,
        )
    log.info("User %s added service check %s in guild %s", user.id, row.id, guild_id)
    await flash(request, f"Service check {row.name!r} added.")
    raise web.HTTPSeeOther(f"/guilds/{guild_id}/monitoring")


@routes.post("/guilds/{guild_id}/monitoring/checks/{check_id:\\d+}/delete")
async def delete_check(request: web.Request) -> web.Response:
    guild_id = _guild_id(request)
    await require_manage(request, guild_id)
    check_id = int(request.match_info["check_id"])
    if not await _monitor(request).config.remove_check(guild_id, check_id):
        raise PageError(404, f"This server has no service check #{check_id}; reload the page.")
    await flash(request, "Service check removed.")
    raise web.HTTPSeeOther(f"/guilds/{guild_id}/monitoring")


@routes.post("/guilds/{guild_id}/monitoring/tokens")
async def create_token(request: web.Request) -> web.Response:
    guild_id = _guild_id(request)
    user = await require_manage(request, guild_id)
    form = await request.post()
    host = str(form.get("host", "")).strip()
    if not host or len(host) > 64 or any(not (c.isalnum() or c in "-_.") for c in host):
        return await _render(
            request, guild_id,
            errors={"token": {"host": "must be 1-64 letters, digits, '-', '_' or '.'"}},
            form={"token": {"host": host}}, status=400,
        )  # fmt: skip
    monitor = _monitor(request)
    try:
        token = await monitor.config.create_token(guild_id, host, user.id)
    except TokenLimit as exc:
        return await _render(
            request, guild_id, errors={"token": {"host": str(exc)}},
            form={"token": {"host": host}}, status=400,
        )  # fmt: skip
    await monitor.registry.ensure([agent_key(guild_id, host)])  # this server's own host
    log.info("User %s created an agent token for host %s in guild %s", user.id, host, guild_id)
    # Shown once, in this response only: only its hash is stored.
    return await _render(request, guild_id, new_token=token)


@routes.post("/guilds/{guild_id}/monitoring/tokens/{token_id:\\d+}/revoke")
async def revoke_token(request: web.Request) -> web.Response:
    guild_id = _guild_id(request)
    await require_manage(request, guild_id)
    token_id = int(request.match_info["token_id"])
    if not await _monitor(request).config.revoke_token(guild_id, token_id):
        raise PageError(404, "No such live token in this server; reload the page.")
    await flash(request, "Agent token revoked: that agent's posts are refused from now on.")
    raise web.HTTPSeeOther(f"/guilds/{guild_id}/monitoring")


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
        if isinstance(ts, bool) or not isinstance(ts, (int, float)) or not math.isfinite(ts):
            raise BadSamples(f"{where}: ts must be a finite number of unix seconds")
        if ts > now + MAX_CLOCK_SKEW_S:
            raise BadSamples(
                f"{where}: ts is {ts - now:.0f} s ahead of the server's clock (at most "
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
    `not_stored` with the reason."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer ") or not header[7:].strip():
        return _refused(request, "missing")
    monitor = _monitor(request)
    host, why = await monitor.config.verify_token(header[7:].strip())
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
    answer: dict[str, object] = {"stored": result.rows, "host": split_key(host)[1]}
    if result.refused:
        shown = dict(sorted(result.refused.items())[:MAX_REFUSED_SHOWN])
        answer["not_stored"] = shown
        answer["not_stored_count"] = len(result.refused)
    return web.json_response(answer)
