"""What every REST area builds on: the request a handler sees, its reply, route tables."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sandbox.errors import ApiError, FormErrors

if TYPE_CHECKING:
    from aiohttp import web
    from multidict import MultiMapping

    from sandbox.ratelimit import RateLimiter
    from sandbox.state import SandboxState
    from sandbox.world import World


@dataclass
class Reply:
    """A handler's answer; ``body`` None means 204 No Content."""

    body: Any = None
    status: int = 200


@dataclass
class UploadedFile:
    field: str
    filename: str
    content_type: str | None
    data: bytes


@dataclass
class RestRequest:
    """What a handler sees: parsed params, JSON body and uploaded files."""

    world: World
    request: web.Request
    template: str
    params: dict[str, str]
    query: MultiMapping[str]
    json: Any = None
    files: list[UploadedFile] = field(default_factory=list)
    limiter: RateLimiter | None = None

    @property
    def state(self) -> SandboxState:
        return self.world.state

    @property
    def me(self) -> int:
        return self.world.bot_user_id

    def snowflake(self, name: str, kind: str = "Channel") -> int:
        """A path parameter as an int; a malformed one is a 404 like Discord's."""
        value = self.params[name]
        if not value.isdigit():
            errors = FormErrors()
            errors.add((name,), "NUMBER_TYPE_COERCE", f'Value "{value}" is not snowflake.')
            errors.raise_if_any()
        return int(value)

    def body(self) -> dict[str, Any]:
        """The JSON body as an object (``{}`` when empty)."""
        if self.json is None:
            return {}
        if not isinstance(self.json, dict):
            raise ApiError(400, 50109, "The request body contains invalid JSON.")
        return self.json

    def query_int(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.query.get(name)
        if raw is None:
            return default
        errors = FormErrors()
        if not raw.lstrip("-").isdigit():
            errors.add((name,), "NUMBER_TYPE_COERCE", f'Value "{raw}" is not int.')
        else:
            value = int(raw)
            if not low <= value <= high:
                errors.add(
                    (name,),
                    "NUMBER_TYPE_MAX" if value > high else "NUMBER_TYPE_MIN",
                    f"int value should be between {low} and {high}.",
                )
        errors.raise_if_any()
        return int(raw)


Handler = Callable[[RestRequest], Awaitable["Reply | dict[str, Any] | list[Any] | None"]]


@dataclass(frozen=True)
class RouteSpec:
    method: str
    template: str
    handler: Handler
    auth: bool = True
    counts_global: bool = True

    @property
    def key(self) -> str:
        return f"{self.method} {self.template}"


class RouteTable:
    """Routes of one area, registered with ``@routes.route("GET", "/users/@me")``."""

    def __init__(self) -> None:
        self.routes: list[RouteSpec] = []

    def route(
        self, method: str, template: str, *, auth: bool = True, counts_global: bool = True
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.routes.append(RouteSpec(method, template, handler, auth, counts_global))
            return handler

        return register


class RateLimitedReply(Exception):
    """Raised by a handler to answer with the limiter's 429 decision."""

    def __init__(self, decision: Any) -> None:
        super().__init__("rate limited")
        self.decision = decision
