"""SandboxServer: a local Discord API v10 (REST + gateway) for a real nextcord client.

This module only serves the world over HTTP: the REST pipeline (auth, faults, rate
limits, spec validation, the call log) and the gateway endpoint. The world and its
events live in :mod:`sandbox.world`, member actions in :mod:`sandbox.actions`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from sandbox.actions import Actions
from sandbox.errors import ApiError, method_not_allowed, not_found, unauthorized
from sandbox.event_log import EventLog
from sandbox.faults import Faults
from sandbox.gateway import Gateway
from sandbox.ratelimit import RateLimiter, RouteLimit, major_id_of
from sandbox.rest.base import RateLimitedReply, Reply, RestRequest, RouteSpec, UploadedFile
from sandbox.rest.table import all_routes
from sandbox.spec_path import default_spec_path
from sandbox.waiting import Waiters
from sandbox.world import ChannelRef, UserRef

if TYPE_CHECKING:
    from sandbox.spec import SpecValidator

log = logging.getLogger(__name__)

API_PREFIX = "/api/v10"
_DEFAULT: Any = object()
_SPEC_CACHE: dict[Path, SpecValidator] = {}

__all__ = ["API_PREFIX", "ChannelRef", "SandboxServer", "UserRef", "load_spec"]


def load_spec(path: str | os.PathLike[str]) -> SpecValidator:
    """A validator for ``path``, parsed once per process (the spec is large)."""
    key = Path(path).resolve()
    if key not in _SPEC_CACHE:
        from sandbox.spec import SpecValidator  # jsonschema: only when validating

        _SPEC_CACHE[key] = SpecValidator.from_path(key)
    return _SPEC_CACHE[key]


def parse_json_body(raw: str | bytes | bytearray) -> Any:
    """A request body as Discord reads it: 50109 when it is not JSON, too deep to parse, or
    carries a lone surrogate escape."""
    invalid = ApiError(400, 50109, "The request body contains invalid JSON.")
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise invalid from None
    try:
        # A pair of surrogate escapes became one character; a lone one stays and no UTF-8
        # text can carry it.
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise invalid from None
    return body


def _json_response(status: int, body: Any, headers: dict[str, str]) -> web.Response:
    if body is None or status == 204:
        return web.Response(status=204, headers=headers)
    # exactly "application/json": nextcord ignores bodies with a charset suffix
    return web.Response(
        status=status,
        body=json.dumps(body, separators=(",", ":")).encode(),
        headers={**headers, "Content-Type": "application/json"},
    )


class SandboxServer(Actions):
    """A Discord-compatible server on 127.0.0.1 holding guild state in memory.

    Point nextcord at it with :func:`sandbox.client.point_nextcord_at`; drive
    it from tests with the world's methods (``add_guild``, ``post_message_as``,
    ``invoke_command``, ``click_button``...) and ``await wait_for_call(...)``.
    ``log_limit`` keeps only the newest calls and dispatches (None: all, as tests need).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        spec_path: str | os.PathLike[str] | None = _DEFAULT,
        record_path: str | os.PathLike[str] | None = None,
        ratelimits: RateLimiter | dict[str, RouteLimit] | bool | None = None,
        heartbeat_interval: int = 41250,
        heartbeat_grace: float = 5.0,
        interaction_ack_deadline: float | None = 3.0,
        interaction_token_lifetime: float = 900.0,
        allow_privileged_intents: bool = True,
        gateway_events_per_minute: int = 120,
        recommended_shards: int = 1,
        max_concurrency: int = 1,
        identify_window: float = 0.0,
        bot_name: str = "FoundryCord",
        token: str | None = None,
        log_limit: int | None = None,
    ) -> None:
        super().__init__(
            bot_name=bot_name,
            token=token,
            log_limit=log_limit,
            record_path=record_path,
            interaction_ack_deadline=interaction_ack_deadline,
            interaction_token_lifetime=interaction_token_lifetime,
            recommended_shards=recommended_shards,
        )
        if max_concurrency < 1 or identify_window < 0:
            raise ValueError("max_concurrency must be 1 or more and identify_window >= 0")
        self.max_concurrency = max_concurrency
        self.identify_window = identify_window
        self.host = host
        self._requested_port = port
        self.port = port
        self._set_urls()
        if spec_path is _DEFAULT:
            spec_path = default_spec_path()
        self.spec: SpecValidator | None = load_spec(spec_path) if spec_path else None
        if isinstance(ratelimits, RateLimiter):
            self.limiter: RateLimiter | None = ratelimits
            ratelimits.follow_clock(self.clock.monotonic)
        elif ratelimits is False:
            self.limiter = None
        elif isinstance(ratelimits, dict):
            self.limiter = RateLimiter(limits=ratelimits, clock=self.clock.monotonic)
        else:
            self.limiter = RateLimiter(clock=self.clock.monotonic)

        self.calls = EventLog(log_limit)
        self.spec_violations: list[str] = []
        self.handler_errors: list[BaseException] = []
        self._call_waiters = Waiters()

        self.gateway = Gateway(
            self,
            heartbeat_interval=heartbeat_interval,
            heartbeat_grace=heartbeat_grace,
            allow_privileged_intents=allow_privileged_intents,
            events_per_minute=gateway_events_per_minute,
        )
        self.sinks.append(self.gateway)
        self.faults = Faults(self)
        self.gateway.opened = self.faults.wait_gateway_open
        self.routes: list[RouteSpec] = all_routes()
        self._runner: web.AppRunner | None = None

    def _set_urls(self) -> None:
        self.http_url = f"http://{self.host}:{self.port}"
        self.gateway_url = f"ws://{self.host}:{self.port}/gateway"

    # lifecycle

    def make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._unmatched], client_max_size=32 * 1024 * 1024)
        app.router.add_get("/gateway", self.gateway.handle)
        app.router.add_get("/attachments/{channel_id}/{attachment_id}/{filename}", self._file)
        for spec in self.routes:
            app.router.add_route(
                spec.method, API_PREFIX + spec.template, functools.partial(self._serve, spec)
            )
        return app

    async def start(self) -> None:
        if self.recorder is not None:
            self.recorder.open()
        self._runner = web.AppRunner(self.make_app(), handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self._requested_port)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._set_urls()

    async def stop(self) -> None:
        await self.gateway.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self._call_waiters.cancel_all()
        self.close()

    async def __aenter__(self) -> SandboxServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        return self.http_url + API_PREFIX

    # REST pipeline

    @web.middleware
    async def _unmatched(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """Discord-shaped 404/405 for paths no route matches."""
        exc = request.match_info.http_exception
        if exc is None or not request.path.startswith(API_PREFIX):
            return await handler(request)
        error = method_not_allowed() if exc.status == 405 else not_found()
        self._record_call(request, None, error.status, None, error.body())
        return _json_response(error.status, error.body(), {"Via": "1.1 google"})

    async def _read_body(self, request: web.Request) -> tuple[Any, list[UploadedFile]]:
        if request.content_type.startswith("multipart/"):
            form = await request.post()
            payload: Any = None
            files: list[UploadedFile] = []
            for name, value in form.items():
                if name == "payload_json":
                    raw = value.file.read() if isinstance(value, web.FileField) else value
                    payload = parse_json_body(raw)
                elif isinstance(value, web.FileField):
                    files.append(
                        UploadedFile(name, value.filename, value.content_type, value.file.read())
                    )
            return payload, files
        raw = await request.read()
        if not raw:
            return None, []
        return parse_json_body(raw), []

    async def _serve(self, spec: RouteSpec, request: web.Request) -> web.StreamResponse:
        params = dict(request.match_info)
        api_path = request.path[len(API_PREFIX) :]
        headers: dict[str, str] = {"Via": "1.1 google"}
        body_in: Any = None
        try:
            if spec.auth and request.headers.get("Authorization") != f"Bot {self.token}":
                raise unauthorized()
            fault = self.faults.take(spec.method, spec.template, api_path)
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.status is not None:
                raise ApiError(fault.status, 0, f"{fault.status}: Sandbox fault")
            if self.limiter is not None:
                decision = self.limiter.check(
                    spec.key, major_id_of(params), counts_global=spec.counts_global
                )
                if not decision.allowed:
                    raise RateLimitedReply(decision)
                headers.update(decision.headers)
            body_in, files = await self._read_body(request)
            if self.spec is not None and spec.method != "GET":
                self._violations(
                    "request", spec, self.spec.validate_request(spec.method, api_path, body_in)
                )
            result = await spec.handler(
                RestRequest(
                    self,
                    request,
                    spec.template,
                    params,
                    request.query,
                    body_in,
                    files,
                    limiter=self.limiter,
                )
            )
            reply = result if isinstance(result, Reply) else Reply(result, 200)
            status, body_out = (204 if reply.body is None else reply.status), reply.body
        except RateLimitedReply as limited:
            status, body_out = 429, limited.decision.body
            headers = dict(limited.decision.headers)
        except ApiError as error:
            status, body_out = error.status, error.body()
        except Exception as error:  # a sandbox bug: answer 500 and let tests see it
            log.exception("sandbox handler %s failed", spec.key)
            self.handler_errors.append(error)
            status, body_out = 500, {"message": "500: Internal Server Error", "code": 0}
        if self.limiter is not None and status in (401, 403, 429):
            self.limiter.record_status(status, headers.get("X-RateLimit-Scope"))
        # Every answer Discord documents: successes and 4xx errors (the spec has no 5xx, and
        # the invalid-request ban, without Via, is Cloudflare's page rather than the API's).
        if self.spec is not None and status < 500 and "Via" in headers:
            self._violations(
                "response",
                spec,
                self.spec.validate_response(spec.method, api_path, status, body_out),
            )
        self._record_call(request, spec, status, body_in, body_out)
        return _json_response(status, body_out, headers)

    def _violations(self, kind: str, spec: RouteSpec, problems: list[str]) -> None:
        for problem in problems:
            self.spec_violations.append(f"{spec.key} {kind}: {problem}")

    def _record_call(
        self, request: web.Request, spec: RouteSpec | None, status: int, body: Any, response: Any
    ) -> None:
        call = {
            "method": request.method,
            "path": request.path[len(API_PREFIX) :],
            "route": spec.template if spec else None,
            "query": dict(request.query),
            "status": status,
            "json": body,
            "response": response,
            "time": time.time(),
        }
        self.calls.append(call)
        if self.recorder is not None:
            self.recorder.write({"type": "rest", **call})
        self._call_waiters.notify(call)
        if request.method != "GET" and 200 <= status < 300:
            self.notify_changed()

    async def _file(self, request: web.Request) -> web.StreamResponse:
        attachment = self.attachments.get(int(request.match_info["attachment_id"]))
        if attachment is None:
            raise web.HTTPNotFound()
        return web.Response(
            body=attachment.data,
            content_type=attachment.content_type or "application/octet-stream",
        )

    # waiting for the bot

    def mark(self) -> int:
        """Position in :attr:`calls`, for ``wait_for_call(since=...)``."""
        return len(self.calls)

    async def wait_for_call(
        self,
        predicate: Callable[[dict[str, Any]], bool] | None = None,
        *,
        method: str | None = None,
        route: str | None = None,
        status: int | None = None,
        timeout: float = 5.0,
        since: int | None = None,
    ) -> dict[str, Any]:
        """The next REST call matching all filters (``route`` is the template).

        With ``since`` calls already logged from that index count too.
        """

        def matches(call: dict[str, Any]) -> bool:
            return (
                (method is None or call["method"] == method)
                and (route is None or call["route"] == route)
                and (status is None or call["status"] == status)
                and (predicate is None or predicate(call))
            )

        return await self._call_waiters.wait(self.calls, matches, timeout, since)

    async def wait_for_command(self, name: str, *, timeout: float = 5.0) -> Any:
        """Wait until the bot has registered an application command ``name``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for command in self.state.commands.values():
                if command.name == name:
                    return command
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"the bot did not register a command {name!r}")
            with contextlib.suppress(TimeoutError):
                await self.wait_for_call(
                    lambda c: "/commands" in c["path"] and c["method"] != "GET",
                    timeout=remaining,
                )
