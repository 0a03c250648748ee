"""nextcord's REST rate limiter, corrected in two places; everything else is nextcord's own.

Written against nextcord 3.2.0 (``nextcord/http.py``). Drop this module once nextcord fixes:

1. **Buckets shared across channels.** ``HTTPClient.request`` (lines 855-907 and 940) files a
   learned bucket in ``self._buckets`` under the bare ``X-RateLimit-Bucket`` hash, taken by
   ``RateLimit.update`` (line 215), and migrates any route whose response shows a known hash onto
   that bucket. Discord sends the same hash for a route in every channel, guild and webhook
   ("non-inclusive of top-level resources"), so every channel's sends, edits and overwrite PUTs
   end up on one channel's budget. Here a bucket's name is the hash plus the route's major
   parameters (channel_id, guild_id, webhook_id and token), as Discord's docs say; nextcord's
   migration logic then shares a bucket only where Discord does.
2. **A per-route 429 waits at least 1 s.** The 429 branch of
   ``HTTPClient._handle_http_response_errors`` (lines 1049-1084) never reads the body's
   ``retry_after``; the retry waits for ``RateLimit.start_reset_task`` (lines 303-326), which
   with ``assume_unsync_clock=True`` (Client's default) sleeps ``_tracked_reset_time``: 1.0 at
   first (line 173), only ever raised (lines 266-276). Here the bucket is held for what Discord
   says, the later of ``retry_after`` and ``X-RateLimit-Reset-After``, no less and no more;
   a 429 whose bucket still has requests left (a hidden sub-limit such as channel renames)
   makes only that request wait its ``retry_after``.

3. **The global slot is taken before the route's wait.** ``request`` enters ``async with
   global_rate_limit, url_rate_limit`` (line 814), so a request that then waits seconds on its
   route's bucket was counted in a second long past: once (1) lets many channels go at once,
   more than 50 requests can leave in one second, and Discord answers with global 429s. Here
   the global slot is taken after the route's wait, right before the request goes out.

Unchanged: the global limit of 50 a second and global 429s, the ``Via``/Cloudflare check,
5xx and connection-reset retries, the 5-attempt cap, ``on_http_ratelimit``. The webhook
adapter that interaction responses and follow-ups use (``nextcord/webhook/async_.py``) has
none of these defects: it locks per (webhook id, token) and sleeps ``retry_after``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections import deque
from typing import Any

import aiohttp
import nextcord
from nextcord.http import GlobalRateLimit, HTTPClient, RateLimit, Route

__all__ = [
    "CorrectedHTTPClient",
    "MajorParameterRateLimit",
    "SendTimeGlobalRateLimit",
    "count_follow_ups_globally",
    "major_parameters",
    "reset_after_of",
    "retry_after_of",
    "use_corrected_http",
]

BUCKET_HEADER = "x-ratelimit-bucket"


def major_parameters(route: Route) -> str:
    """The top-level resources Discord counts a bucket under (a token only as a digest: bucket
    names show up in logs and ``on_http_ratelimit``)."""
    token = route.webhook_token
    digest = hashlib.sha256(token.encode()).hexdigest()[:16] if token else None
    return f"{route.channel_id}:{route.guild_id}:{route.webhook_id}:{digest}"


def retry_after_of(response: aiohttp.ClientResponse, body: Any) -> float:
    """Seconds a 429 asks this request to wait: the body's ``retry_after``, else the
    ``Retry-After`` header (whole seconds), else nextcord's 1 s."""
    if isinstance(body, dict) and isinstance(body.get("retry_after"), int | float):
        return float(body["retry_after"])
    if (header := response.headers.get("Retry-After")) is not None:
        return float(header)
    return 1.0


def reset_after_of(response: aiohttp.ClientResponse) -> float:
    """``X-RateLimit-Reset-After``: when the bucket itself refills (0 when not given)."""
    return float(response.headers.get("X-RateLimit-Reset-After") or 0.0)


class _KeyedHeaders:
    """A response as ``RateLimit.update`` reads it (headers only), the bucket hash renamed."""

    def __init__(self, response: aiohttp.ClientResponse, bucket: str) -> None:
        self.headers = self
        self._headers = response.headers
        self._bucket = bucket

    def get(self, name: str, default: Any = None) -> Any:
        if name.lower() == BUCKET_HEADER:
            return self._bucket
        return self._headers.get(name, default)


class SendTimeGlobalRateLimit(GlobalRateLimit):
    """nextcord's global limiter, counted when a request leaves rather than when it starts
    waiting: ``request`` enters it before the route's bucket, so entering counts nothing, and
    the route's :class:`MajorParameterRateLimit` takes the slot once its own wait is over.

    Besides nextcord's own window (which a global 429 locks for its ``retry_after``), no span
    of ``1 s + SKEW`` holds more than ``limit`` sends: Discord's second does not start when
    ours does, and a burst at the end of one of our windows and the start of the next would
    otherwise land in one of Discord's."""

    SKEW = 0.1  # seconds of latency and window misalignment allowed for

    def __init__(self, time_offset: float = 0.0) -> None:
        super().__init__(time_offset=time_offset)
        self._sent: deque[float] = deque()

    async def __aenter__(self) -> None:
        return None

    async def take(self) -> None:
        await GlobalRateLimit.acquire(self)
        loop = asyncio.get_running_loop()
        span = 1.0 + self.SKEW + self._time_offset
        while True:
            now = loop.time()
            while self._sent and self._sent[0] <= now - span:
                self._sent.popleft()
            if len(self._sent) < self.limit:
                self._sent.append(now)
                return
            await asyncio.sleep(self._sent[0] + span - now)


class MajorParameterRateLimit(RateLimit):
    """nextcord's per-route limiter, its bucket named by Discord's hash plus major parameters;
    it takes the request's global slot after its own wait."""

    def __init__(
        self, major: str, global_limit: SendTimeGlobalRateLimit | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.major = major
        self.global_limit = global_limit
        self._held_until = 0.0  # loop time before which no refill may happen

    async def acquire(self) -> bool:
        acquired = await super().acquire()
        if self.global_limit is not None:
            await self.global_limit.take()
        return acquired

    async def update(self, response: aiohttp.ClientResponse) -> None:
        bucket = response.headers.get("X-RateLimit-Bucket")
        if bucket is not None:
            response = _KeyedHeaders(response, f"{bucket}:{self.major}")  # type: ignore[assignment]
        await super().update(response)

    def hold(self, seconds: float) -> None:
        """No request for ``seconds`` from now, then the full limit again: what a 429 asks."""
        loop = asyncio.get_running_loop()
        self._held_until = loop.time() + seconds
        if self.resetting:
            self._reset_remaining_task.cancel()  # type: ignore[union-attr]
        self.remaining = 0
        self._ratelimit_ready.clear()
        self._reset_remaining_task = loop.create_task(self.reset_remaining(seconds))

    async def reset_remaining(self, time: float) -> None:
        # update() restarts the reset timer when Reset-After grows; never refill inside a hold.
        held = self._held_until - asyncio.get_running_loop().time()
        await super().reset_remaining(max(time, held))


class CorrectedHTTPClient(HTTPClient):
    """nextcord's HTTPClient with per-major-parameter buckets and Discord's 429 waits.

    It adds no state of its own, so :func:`use_corrected_http` can switch a client's existing
    HTTPClient to it.
    """

    def _make_global_rate_limit(self, auth: str | None, max_per_second: int) -> GlobalRateLimit:
        # Replaces HTTPClient._make_global_rate_limit (lines 568-582): the same settings, on a
        # limiter counted at send time.
        rate_limit = SendTimeGlobalRateLimit(time_offset=self._time_offset)
        rate_limit.limit = rate_limit.remaining = max_per_second
        rate_limit.reset_after = 1 + self._time_offset
        rate_limit.bucket = "Global" if auth else "Global Unauthorized"
        self._global_rate_limits[auth] = rate_limit
        if auth:  # interaction follow-ups spend from it too (count_follow_ups_globally)
            with contextlib.suppress(RuntimeError):  # made outside a loop: nothing to share
                _BOT_GLOBAL[0] = (rate_limit, asyncio.get_running_loop())
        return rate_limit

    def _make_url_rate_limit(self, method: str, route: Route, auth: str | None) -> RateLimit:
        # Replaces HTTPClient._make_url_rate_limit (lines 584-592): the same, keyed, and taking
        # the global slot after its wait. request() makes the global limiter first (line 772).
        global_limit = self._global_rate_limits.get(auth)
        rate_limit = MajorParameterRateLimit(
            major_parameters(route),
            global_limit if isinstance(global_limit, SendTimeGlobalRateLimit) else None,
            time_offset=self._time_offset,
            use_reset_timestamp=self._ratelimit_use_timestamp,
        )
        self._set_url_rate_limit(method, route, auth, rate_limit)
        return rate_limit

    async def _handle_http_response_errors(
        self,
        response: aiohttp.ClientResponse,
        return_value: Any,
        rate_limit_path: tuple[str, str, str | None],
        retry_request: bool,
        retry_count: int,
        url_rate_limit: RateLimit,
        global_rate_limit: Any,
    ) -> bool:
        should_retry = await super()._handle_http_response_errors(
            response=response,
            return_value=return_value,
            rate_limit_path=rate_limit_path,
            retry_request=retry_request,
            retry_count=retry_count,
            url_rate_limit=url_rate_limit,
            global_rate_limit=global_rate_limit,
        )
        is_global = (
            response.headers.get("X-RateLimit-Global") == "true"
            or response.headers.get("X-RateLimit-Scope") == "global"
        )
        if should_retry and response.status == 429 and not is_global:
            await self._wait_out(response, return_value, url_rate_limit)
        return should_retry

    async def _wait_out(
        self, response: aiohttp.ClientResponse, body: Any, url_rate_limit: RateLimit
    ) -> None:
        seconds = retry_after_of(response, body) + self._time_offset
        remaining = response.headers.get("X-RateLimit-Remaining")
        # request() may just have moved this route onto another RateLimit: hold that one.
        target = url_rate_limit
        if url_rate_limit.migrating is not None:
            target = self._buckets.get(url_rate_limit.migrating, url_rate_limit)
        if (remaining is not None and int(remaining) > 0) or not isinstance(
            target, MajorParameterRateLimit
        ):
            # The bucket has room (a hidden sub-limit, such as channel renames): only this
            # request must wait, and Reset-After, the bucket's refill, does not concern it.
            await asyncio.sleep(seconds)
        else:
            # The bucket is spent: no refill before it resets or before retry_after, whichever
            # is later; the retry (and everything else on the bucket) waits in acquire().
            target.hold(max(seconds, reset_after_of(response) + self._time_offset))

    def _shed_ratelimits(self, threshold: int) -> None:
        # Per-channel names make self._buckets grow with every channel ever used; nextcord's
        # shedding (lines 705-714) forgets only routes, so also forget buckets no route uses.
        super()._shed_ratelimits(threshold)
        in_use = {id(rate_limit) for rate_limit in self._url_rate_limits.values()}
        for name, rate_limit in list(self._buckets.items()):
            if id(rate_limit) not in in_use:
                del self._buckets[name]


# The bot's global limiter, for the webhook adapter (below); one bot token per process.
_BOT_GLOBAL: list[tuple[SendTimeGlobalRateLimit, asyncio.AbstractEventLoop] | None] = [None]
CALLBACK_SUFFIX = "/callback"


def count_follow_ups_globally() -> None:
    """Send interaction follow-ups (and edits of an interaction's messages) through the
    bot's global limiter too.

    nextcord 3.2 sends them with its webhook adapter (``nextcord/webhook/async_.py``,
    ``AsyncWebhookAdapter.request``), which locks per webhook and token and never asks the
    HTTPClient's global limiter; Discord counts them against the bot's 50 a second all the
    same (only the interaction callback itself is exempt). Several processes each at their
    share, plus follow-ups uncounted, drew global 429s (bench/cluster.py). Installed once
    per process, before the request goes out; the callback passes untouched."""
    from nextcord.webhook.async_ import AsyncWebhookAdapter

    original = AsyncWebhookAdapter.request
    if getattr(original, "_foundry_counted", False):
        return

    async def request(self, route, session, **kwargs):  # type: ignore[no-untyped-def]
        current = _BOT_GLOBAL[0]
        if (
            current is not None
            and current[1] is asyncio.get_running_loop()  # not a stopped client's (tests)
            and not route.path.endswith(CALLBACK_SUFFIX)
        ):
            await current[0].take()
        return await original(self, route, session, **kwargs)

    request._foundry_counted = True  # type: ignore[attr-defined]
    AsyncWebhookAdapter.request = request  # type: ignore[method-assign]


def use_corrected_http(client: nextcord.Client) -> None:
    """Give ``client`` the corrected REST client; call it before the client sends anything.

    nextcord builds its HTTPClient inside ``Client.__init__`` with no factory hook, and the
    connection state (and through it every model) holds that same object, so its class is
    switched in place; :class:`CorrectedHTTPClient` adds no attributes, so nothing is missing.
    """
    http = client.http
    if isinstance(http, CorrectedHTTPClient):
        return
    if type(http) is not HTTPClient:
        raise TypeError(f"expected nextcord's HTTPClient, got {type(http).__name__}")
    http.__class__ = CorrectedHTTPClient
    count_follow_ups_globally()
