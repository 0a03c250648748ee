"""Where the gateway is: GET /gateway and /gateway/bot."""

from __future__ import annotations

from typing import Any

from sandbox.rest.base import RestRequest, RouteTable

routes = RouteTable()


@routes.route("GET", "/gateway", auth=False)
async def gateway(req: RestRequest) -> dict[str, Any]:
    return {"url": req.world.gateway_url}


@routes.route("GET", "/gateway/bot")
async def gateway_bot(req: RestRequest) -> dict[str, Any]:
    used = req.world.identify_count
    return {
        "url": req.world.gateway_url,
        "shards": req.world.recommended_shards,
        "session_start_limit": {
            "total": 1000,
            "remaining": max(1000 - used, 0),
            "reset_after": 86_400_000,
            "max_concurrency": req.world.max_concurrency,
        },
    }
