"""Serving the web app on a TCP port next to the bot, with a clear error for a busy port."""

from __future__ import annotations

import asyncio
import errno
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_request import BaseRequest

from web.connections import ConnectionLimits, GuardedAppRunner, throttle_accept_errors

log = logging.getLogger(__name__)


class WebPortInUse(OSError):
    """Another program listens on the web port."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(
            errno.EADDRINUSE,
            f"web port {port} on {host} is already in use: set WEB_PORT to a free port",
        )
        self.host = host
        self.port = port

    def __str__(self) -> str:
        return str(self.strerror)


class PathOnlyAccessLogger(AbstractAccessLogger):
    """Access log without query strings or sign-in tokens, which would leak into log files."""

    def log(self, request: BaseRequest, response: web.StreamResponse, time: float) -> None:
        path = request.path
        if path.startswith("/login/link/"):
            path = "/login/link/<token>"
        self.logger.info(
            "%s %s %s %s %.1fms", request.remote, request.method, path, response.status, time * 1000
        )


@dataclass
class WebServer:
    """A running web server; `stop()` closes it and the app's resources."""

    runner: web.AppRunner
    host: str
    port: int
    _restore_loop: Callable[[], None] = field(default=lambda: None, repr=False)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def stop(self) -> None:
        try:
            await self.runner.cleanup()
        finally:
            self._restore_loop()


async def start_web(
    app: web.Application, host: str, port: int, limits: ConnectionLimits | None = None
) -> WebServer:
    """Serve `app` on host:port (port 0 picks a free one) and return the running server.

    Connections get the deadlines and the cap of `limits` (see web.connections).
    """
    limits = limits or ConnectionLimits()
    runner = GuardedAppRunner(
        app,
        limits=limits,
        access_log_class=PathOnlyAccessLogger,
        handle_signals=False,
        shutdown_timeout=5.0,
    )
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        if exc.errno == errno.EADDRINUSE:
            raise WebPortInUse(host, port) from None
        raise
    bound_port = port
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            bound_port = address[1]
            break
    restore = throttle_accept_errors(asyncio.get_running_loop(), limits.log_interval)
    server = WebServer(runner, host, bound_port, restore)
    log.info("Web editor listening on %s", server.url)
    return server
