"""/healthz: liveness and readiness for monitors and container health checks."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from aiohttp import web

from bot.cache import cache_state
from bot.coalesce import Coalesced
from web.context import WebContext, get_context

log = logging.getLogger(__name__)

routes = web.RouteTableDef()
PING_TIMEOUT = 3.0
PINGS_FRESH_FOR = 1.0


@dataclass
class HealthPings:
    """Database and cache pings shared by health checks: an answer is reused for a second,
    then while the next ping runs in the background (a monitor or load balancer polling
    hard must neither take a database connection per request nor wait for each ping; an
    answer a second or two old is still a true one)."""

    database: Coalesced[bool]
    cache: Coalesced[bool]

    @classmethod
    def of(cls, ctx: WebContext) -> HealthPings:
        # Late-bound, so a replaced database or cache object is the one asked.
        return cls(
            Coalesced(lambda: ctx.db.ping(), fresh_for=PINGS_FRESH_FOR),
            Coalesced(lambda: ctx.cache.ping(), fresh_for=PINGS_FRESH_FOR),
        )


PINGS_KEY = web.AppKey("foundrycord_health_pings", HealthPings)


async def _ping(name: str, check: object) -> bool:
    try:
        return bool(await asyncio.wait_for(check, PING_TIMEOUT))  # type: ignore[arg-type]
    except Exception as exc:
        log.debug("health check of %s failed: %s", name, type(exc).__name__)
        return False


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    """200 when the gateway is connected and the database answers, else 503.

    The cache never makes it 503: without Redis the bot carries on with the in-process cache,
    shown as "cache": "degraded (memory)"."""
    ctx = get_context(request)
    pings = request.config_dict[PINGS_KEY]
    database, cache = await asyncio.gather(
        _ping("database", pings.database()), _ping("cache", pings.cache())
    )
    gateway = ctx.live.gateway_connected()
    ready = gateway and database
    body = {
        "status": "ok" if ready else "starting",
        "gateway": gateway,
        "latency_ms": ctx.live.latency_ms() if gateway else None,
        "database": database,
        "cache": cache_state(ctx.cache) if cache else "unreachable",
    }
    return web.json_response(
        body, status=200 if ready else 503, headers={"Cache-Control": "no-store"}
    )
