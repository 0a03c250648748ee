"""Discord-like REST rate limits as pure logic: the server asks, this answers with headers.

One :class:`RateLimiter` stands for one bot token. Numbers and header semantics follow
``shared/discord-limits.md``. Windows are fixed: a bucket resets ``per`` seconds after the first
request that opened it, as Discord's do. Clocks are injectable so tests never sleep.

Three kinds of 429 come out of :meth:`RateLimiter.check`:

- per-route and global ones, shaped like Discord's (``Via: 1.1 google``, JSON body with
  ``retry_after``), which nextcord waits out and retries;
- the temporary ban after too many invalid requests (see :meth:`RateLimiter.record_status`):
  it has **no** ``Via`` header, which is how a Cloudflare ban looks, so nextcord raises at once
  instead of retrying.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

__all__ = [
    "BAN_MESSAGE",
    "DEFAULT_LIMITS",
    "NO_HEADER_ROUTES",
    "Decision",
    "RateLimitCounters",
    "RateLimiter",
    "RouteLimit",
    "major_id_of",
]

Clock = Callable[[], float]

RATE_LIMITED_MESSAGE = "You are being rate limited."
SHARED_MESSAGE = "The resource is being rate limited."
BAN_MESSAGE = (
    "You are being blocked from accessing our API temporarily due to exceeding our rate limits "
    "frequently. Please read our docs at https://discord.com/developers/docs/topics/rate-limits "
    "to prevent this moving forward."
)
RENAME_LIMIT = 2
RENAME_WINDOW = 600.0
# Edits of messages older than an hour: 3 per 6 s per channel, on top of the edit bucket.
OLD_MESSAGE_AGE = 3600.0
OLD_EDIT_LIMIT = 3
OLD_EDIT_WINDOW = 6.0
OLD_EDIT_CODE = 30046
OLD_EDIT_MESSAGE = "Maximum number of edits to messages older than 1 hour reached. Try again later"
# Channel creations: 500 per guild per day (no headers on that route).
CHANNEL_CREATE_LIMIT = 500
CHANNEL_CREATE_WINDOW = 86400.0


@dataclass
class RouteLimit:
    """``limit`` requests per ``per`` seconds, counted per (bucket, major id).

    ``bucket`` is the hash sent as ``X-RateLimit-Bucket``; None derives a stable one from the
    route key. Routes with the same bucket share one count unless their ``count_key`` differs
    (Discord counts message edits apart from sends although both show the same hash).
    """

    limit: int
    per: float
    bucket: str | None = None
    count_key: str | None = None


@dataclass
class Decision:
    """What to answer: ``allowed`` means go on and use ``headers``; otherwise send the 429."""

    allowed: bool
    status: int
    headers: dict[str, str]
    body: dict | None = None


@dataclass
class RateLimitCounters:
    too_many: int = 0  # every 429 given, bans included
    invalid: int = 0  # requests counted toward the invalid-request ban
    global_hits: int = 0  # 429s of scope global
    by_route: dict[str, int] = field(default_factory=dict)  # 429s per route key


def _hash(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:32]


_MESSAGES = _hash("channel messages")
_OVERWRITES = _hash("channel permission overwrites")
_WEBHOOK_TOKEN = _hash("webhook token messages")

DEFAULT_LIMITS: dict[str, RouteLimit] = {
    "POST /channels/{channel_id}/messages": RouteLimit(5, 5.0, _MESSAGES, "send"),
    "PATCH /channels/{channel_id}/messages/{message_id}": RouteLimit(5, 5.0, _MESSAGES, "edit"),
    "DELETE /channels/{channel_id}/messages/{message_id}": RouteLimit(5, 5.0),
    "POST /channels/{channel_id}/messages/bulk-delete": RouteLimit(1, 1.0),
    "PATCH /channels/{channel_id}": RouteLimit(5, 15.0),
    "PUT /channels/{channel_id}/permissions/{overwrite_id}": RouteLimit(10, 15.0, _OVERWRITES),
    "DELETE /channels/{channel_id}/permissions/{overwrite_id}": RouteLimit(10, 15.0, _OVERWRITES),
    "POST /guilds/{guild_id}/roles": RouteLimit(250, 48 * 3600.0),
    "PATCH /guilds/{guild_id}/roles/{role_id}": RouteLimit(1000, 24 * 3600.0),
    # Interaction follow-ups and @original: 5 per 2 s per token (major id = the token).
    **{
        f"{method} /webhooks/{{webhook_id}}/{{webhook_token}}{rest}": RouteLimit(
            5, 2.0, _WEBHOOK_TOKEN
        )
        for method, rest in [
            ("POST", ""),
            ("GET", "/messages/@original"),
            ("PATCH", "/messages/@original"),
            ("DELETE", "/messages/@original"),
            ("GET", "/messages/{message_id}"),
            ("PATCH", "/messages/{message_id}"),
            ("DELETE", "/messages/{message_id}"),
        ]
    },
}

# Discord sends no per-route headers here; they still count toward the global limit.
# Any route missing from the limits behaves the same way.
NO_HEADER_ROUTES = frozenset(
    {
        "POST /guilds/{guild_id}/channels",
        "DELETE /channels/{channel_id}",
        "PATCH /guilds/{guild_id}/channels",
    }
)


def major_id_of(path_params: Mapping[str, str]) -> str:
    """The id a bucket is counted under: the webhook token, else channel, guild or webhook."""
    for name in ("webhook_token", "channel_id", "guild_id", "webhook_id"):
        if name in path_params:
            return path_params[name]
    return ""


@dataclass
class _Window:
    reset_at: float  # on the monotonic clock
    count: int = 0


class RateLimiter:
    """Per-route, global and invalid-request limits for one bot token."""

    def __init__(
        self,
        *,
        global_per_second: int = 50,
        limits: dict[str, RouteLimit] | None = None,
        clock: Clock = time.monotonic,
        wall: Clock = time.time,
        invalid_limit: int = 10_000,
        invalid_window: float = 600.0,
        ban_duration: float = 3600.0,
    ) -> None:
        self.global_per_second = global_per_second
        self.limits = dict(DEFAULT_LIMITS if limits is None else limits)
        self.invalid_limit = invalid_limit
        self.invalid_window = invalid_window
        self.ban_duration = ban_duration
        self._clock = clock
        self._wall = wall
        self.reset()

    def reset(self) -> None:
        """Forget windows, storms, bans and counters; configured limits stay."""
        self.counters = RateLimitCounters()
        self._windows: dict[tuple[str, str, str], _Window] = {}
        self._renames: dict[str, _Window] = {}
        self._old_edits: dict[str, _Window] = {}
        self._creations: dict[str, _Window] = {}
        self._global: _Window | None = None
        self._invalid: deque[float] = deque()
        self._banned_until = -math.inf
        self._storms: list[list] = []  # [remaining, retry_after, route_key, scope]

    def follow_clock(self, clock: Clock) -> None:
        """Count windows on ``clock`` (the sandbox's, which tests advance) if this limiter was
        made on the default one; a limiter given its own clock keeps it."""
        if self._clock is time.monotonic:
            self._clock = clock

    def set_limit(self, route_key: str, limit: RouteLimit) -> None:
        self.limits[route_key] = limit

    def storm(
        self,
        count: int,
        retry_after: float = 0.1,
        *,
        route_key: str | None = None,
        scope: str = "user",
    ) -> None:
        """Answer the next ``count`` requests (to ``route_key``, or any) with 429s."""
        if count > 0:
            self._storms.append([count, retry_after, route_key, scope])

    def check(self, route_key: str, major_id: str, *, counts_global: bool = True) -> Decision:
        """Count one request to ``route_key`` (``"METHOD /template"``) under ``major_id``."""
        now = self._clock()
        if now < self._banned_until:
            return self._ban(route_key, now)
        limit = self.limits.get(route_key)
        storm = next((s for s in self._storms if s[2] in (None, route_key)), None)
        if storm is not None:
            storm[0] -= 1
            if storm[0] <= 0:
                self._storms.remove(storm)
            headers = self._bucket_headers(route_key, limit, 0, storm[1]) if limit else {}
            return self._too_many(route_key, headers, storm[1], storm[3])
        if counts_global:
            if self._global is None or now >= self._global.reset_at:
                self._global = _Window(reset_at=now + 1.0)
            if self._global.count >= self.global_per_second:
                return self._too_many(route_key, {}, self._global.reset_at - now, "global")
            self._global.count += 1
        if limit is None:
            return Decision(True, 200, {})
        window = self._window(route_key, limit, major_id, now)
        if window.count >= limit.limit:
            retry_after = window.reset_at - now
            headers = self._bucket_headers(route_key, limit, 0, retry_after)
            return self._too_many(route_key, headers, retry_after, "user")
        window.count += 1
        remaining = limit.limit - window.count
        return Decision(
            True, 200, self._bucket_headers(route_key, limit, remaining, window.reset_at - now)
        )

    def check_channel_rename(self, channel_id: str) -> Decision:
        """The hidden name/topic sub-limit of ``PATCH /channels/{id}``: 2 per 10 min per channel.

        Call it after :meth:`check` allowed a PATCH that changes name or topic. Its 429 shows the
        ordinary bucket's headers (Remaining usually above 0) with ``retry_after`` the time left
        in the 10-minute window, as Discord's does; it does not take from the ordinary bucket.
        """
        route_key = "PATCH /channels/{channel_id}"
        now = self._clock()
        limit = self.limits.get(route_key)
        window = self._renames.get(channel_id)
        if window is None or now >= window.reset_at:
            window = self._renames[channel_id] = _Window(reset_at=now + RENAME_WINDOW)
        if window.count >= RENAME_LIMIT:
            retry_after = window.reset_at - now
            headers = self._peek_headers(route_key, limit, channel_id, now)
            return self._too_many(route_key, headers, retry_after, "user")
        window.count += 1
        return Decision(True, 200, self._peek_headers(route_key, limit, channel_id, now))

    def check_old_message_edit(self, channel_id: str) -> Decision:
        """The hidden sub-limit on editing messages older than an hour: 3 per 6 s per channel.

        Call it after :meth:`check` allowed the edit of such a message. Over it, Discord answers
        429 with code 30046 and the edit bucket's headers (Remaining usually above 0, so
        nextcord retries at once and gives up after 5 tries); it takes nothing from the bucket.
        """
        route_key = "PATCH /channels/{channel_id}/messages/{message_id}"
        now = self._clock()
        limit = self.limits.get(route_key)
        window = self._old_edits.get(channel_id)
        if window is None or now >= window.reset_at:
            window = self._old_edits[channel_id] = _Window(reset_at=now + OLD_EDIT_WINDOW)
        headers = self._peek_headers(route_key, limit, channel_id, now)
        if window.count >= OLD_EDIT_LIMIT:
            decision = self._too_many(route_key, headers, window.reset_at - now, "user")
            assert decision.body is not None
            decision.body = {**decision.body, "message": OLD_EDIT_MESSAGE, "code": OLD_EDIT_CODE}
            return decision
        window.count += 1
        return Decision(True, 200, headers)

    def channel_creations_left(self, guild_id: str) -> Decision:
        """Whether ``guild_id`` may create another channel today (500 per guild per day).

        Allowed decisions count nothing: call :meth:`count_channel_creation` once the channel
        exists, so a refused payload does not use up the day's creations. The route shows no
        rate-limit headers, so the 429 has none either: scope user, ``Retry-After`` and the
        seconds left in the day's window as ``retry_after``.
        """
        now = self._clock()
        window = self._creations.get(guild_id)
        if window is None or now >= window.reset_at or window.count < CHANNEL_CREATE_LIMIT:
            return Decision(True, 200, {})
        return self._too_many("POST /guilds/{guild_id}/channels", {}, window.reset_at - now, "user")

    def count_channel_creation(self, guild_id: str) -> None:
        now = self._clock()
        window = self._creations.get(guild_id)
        if window is None or now >= window.reset_at:
            window = self._creations[guild_id] = _Window(reset_at=now + CHANNEL_CREATE_WINDOW)
        window.count += 1

    def record_status(self, status: int, scope: str | None = None) -> None:
        """Count a response toward the invalid-request ban (401, 403, and 429 unless shared).

        Past ``invalid_limit`` within ``invalid_window`` seconds every request is refused for
        ``ban_duration`` seconds with a Cloudflare-style 429: no ``Via`` header, a plain message.
        """
        if status not in (401, 403) and not (status == 429 and scope != "shared"):
            return
        now = self._clock()
        self.counters.invalid += 1
        self._invalid.append(now)
        while self._invalid and self._invalid[0] <= now - self.invalid_window:
            self._invalid.popleft()
        if len(self._invalid) > self.invalid_limit:
            self._banned_until = now + self.ban_duration
            self._invalid.clear()

    # -- internals ------------------------------------------------------------------------

    def _window(self, route_key: str, limit: RouteLimit, major_id: str, now: float) -> _Window:
        key = (self._bucket(route_key, limit), limit.count_key or "", major_id)
        window = self._windows.get(key)
        if window is None or now >= window.reset_at:
            window = self._windows[key] = _Window(reset_at=now + limit.per)
        return window

    @staticmethod
    def _bucket(route_key: str, limit: RouteLimit) -> str:
        return limit.bucket or _hash(route_key)

    def _bucket_headers(
        self, route_key: str, limit: RouteLimit, remaining: int, reset_after: float
    ) -> dict[str, str]:
        reset_after = max(reset_after, 0.0)
        return {
            "X-RateLimit-Limit": str(limit.limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": f"{self._wall() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": self._bucket(route_key, limit),
        }

    def _peek_headers(
        self, route_key: str, limit: RouteLimit | None, major_id: str, now: float
    ) -> dict[str, str]:
        if limit is None:
            return {}
        key = (self._bucket(route_key, limit), limit.count_key or "", major_id)
        window = self._windows.get(key)
        if window is None or now >= window.reset_at:
            return self._bucket_headers(route_key, limit, limit.limit, limit.per)
        return self._bucket_headers(
            route_key, limit, limit.limit - window.count, window.reset_at - now
        )

    def _too_many(
        self, route_key: str, headers: dict[str, str], retry_after: float, scope: str
    ) -> Decision:
        is_global = scope == "global"
        headers = {
            **headers,
            "X-RateLimit-Scope": scope,
            "Retry-After": str(max(math.ceil(retry_after), 1)),
            "Via": "1.1 google",
        }
        if is_global:
            headers["X-RateLimit-Global"] = "true"
            self.counters.global_hits += 1
        body = {
            "message": SHARED_MESSAGE if scope == "shared" else RATE_LIMITED_MESSAGE,
            "retry_after": round(max(retry_after, 0.0), 3),
            "global": is_global,
        }
        self._count_429(route_key)
        return Decision(False, 429, headers, body)

    def _ban(self, route_key: str, now: float) -> Decision:
        self._count_429(route_key)
        headers = {"Retry-After": str(math.ceil(self._banned_until - now))}
        return Decision(False, 429, headers, {"message": BAN_MESSAGE})

    def _count_429(self, route_key: str) -> None:
        self.counters.too_many += 1
        self.counters.by_route[route_key] = self.counters.by_route.get(route_key, 0) + 1
