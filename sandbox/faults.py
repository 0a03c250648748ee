"""Faults on demand: failing or slow REST replies, 429 storms, gateway drops."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from sandbox.gateway import Gateway
    from sandbox.ratelimit import RateLimiter


class Served(Protocol):
    """What faults act on: the REST limiter and the gateway of one server."""

    limiter: RateLimiter | None
    gateway: Gateway


@dataclass
class HttpFault:
    """Answer ``remaining`` matching requests with ``status`` (or delay them)."""

    remaining: int | None
    status: int | None = None
    delay: float = 0.0
    route: str | None = None  # "METHOD /template", "/template" or a path substring

    def matches(self, method: str, template: str, path: str) -> bool:
        if self.route is None:
            return True
        if " " in self.route:
            return self.route == f"{method} {template}"
        return self.route == template or self.route in path


@dataclass
class FaultOutcome:
    delay: float = 0.0
    status: int | None = None


class Faults:
    """Fault switches of one server; the REST pipeline and gateway consult them."""

    def __init__(self, server: Served) -> None:
        self._server = server
        self.http: list[HttpFault] = []
        self._gateway_open = asyncio.Event()
        self._gateway_open.set()

    # REST

    def fail_next(self, count: int = 1, status: int = 500, *, route: str | None = None) -> None:
        """The next ``count`` requests (matching ``route``) get ``status`` (500, 502...)."""
        self.http.append(HttpFault(remaining=count, status=status, route=route))

    def slow(self, seconds: float, *, count: int | None = None, route: str | None = None) -> None:
        """Delay replies by ``seconds``; ``count`` None means until :meth:`clear`."""
        self.http.append(HttpFault(remaining=count, delay=seconds, route=route))

    def rate_limit_storm(
        self,
        count: int,
        retry_after: float = 0.1,
        *,
        route_key: str | None = None,
        scope: str = "user",
    ) -> None:
        """The next ``count`` requests get Discord-shaped 429s (via the rate limiter)."""
        limiter = self._server.limiter
        if limiter is None:
            raise RuntimeError("rate limits are disabled on this server")
        limiter.storm(count, retry_after, route_key=route_key, scope=scope)

    def clear(self) -> None:
        self.http.clear()
        self._gateway_open.set()

    def take(self, method: str, template: str, path: str) -> FaultOutcome:
        """What applies to this request; consumes one use of each matching fault."""
        outcome = FaultOutcome()
        for fault in list(self.http):
            if not fault.matches(method, template, path):
                continue
            if fault.status is not None and outcome.status is not None:
                continue
            outcome.delay += fault.delay
            if fault.status is not None:
                outcome.status = fault.status
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self.http.remove(fault)
        return outcome

    # gateway

    def drop_gateway(self, *, hold: bool = False) -> None:
        """Cut every gateway connection without a close frame; clients RESUME.

        With ``hold`` new connections wait until :meth:`release_gateway`, so
        events dispatched meanwhile must come by replay.
        """
        if hold:
            self._gateway_open.clear()
        self._server.gateway.drop_all()

    def release_gateway(self) -> None:
        self._gateway_open.set()

    async def wait_gateway_open(self) -> None:
        await self._gateway_open.wait()

    async def send_invalid_session(self, resumable: bool = False) -> None:
        await self._server.gateway.invalidate_sessions(resumable)

    async def send_reconnect(self) -> None:
        await self._server.gateway.send_to_all(7, None)
