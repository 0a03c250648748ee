"""Sends the renderer's payload to Discord exactly as rendered, through nextcord's HTTP
client (and so its rate limiter), translating Discord's answers for the scheduler."""

from __future__ import annotations

import contextlib
from typing import Any

import nextcord
from nextcord.http import HTTPClient, Route

from cogs.dashboards import charts
from cogs.dashboards.render import Rendered
from cogs.dashboards.scheduler import ChannelGone, MessageGone, RateLimited

UNKNOWN_CHANNEL = 10003
UNKNOWN_MESSAGE = 10008


def translate(exc: nextcord.HTTPException) -> Exception:
    """The scheduler's view of a failed request."""
    if exc.status == 429:
        retry_after = 1.0
        response = getattr(exc, "response", None)
        if response is not None:
            with contextlib.suppress(ValueError):
                retry_after = float(response.headers.get("Retry-After", 1.0))
        return RateLimited(retry_after)
    if exc.status == 404 and exc.code == UNKNOWN_MESSAGE:
        return MessageGone()
    if exc.status in (403, 404):
        return ChannelGone(f"{exc.status} {exc.text or 'the channel is gone'}"[:300])
    return exc


def _files(rendered: Rendered) -> list[nextcord.File]:
    import io

    return [
        nextcord.File(io.BytesIO(charts.draw(chart)), filename=chart.filename)
        for chart in rendered.charts
    ]


class NextcordPublisher:
    def __init__(self, http: HTTPClient) -> None:
        self.http = http
        self.too_many = 0  # 429s that reached us (nextcord retries most of them itself)

    async def _call(self, coro: Any) -> Any:
        try:
            return await coro
        except nextcord.HTTPException as exc:
            if exc.status == 429:
                self.too_many += 1
            raise translate(exc) from exc

    async def post(self, channel_id: int, rendered: Rendered, nonce: str | None = None) -> int:
        payload = rendered.payload
        if rendered.charts:
            data = await self._call(
                self.http.send_files(
                    channel_id,
                    files=_files(rendered),
                    embeds=payload["embeds"],
                    components=payload["components"],
                    allowed_mentions=payload["allowed_mentions"],
                    nonce=nonce,
                )
            )
        else:
            route = Route("POST", "/channels/{channel_id}/messages", channel_id=channel_id)
            body = dict(payload)
            if nonce is not None:
                # Discord answers a second post with the same nonce (within minutes) with
                # the first message instead of a new one.
                body.update(nonce=nonce, enforce_nonce=True)
            data = await self._call(self.http.request(route, json=body))
        return int(data["id"])

    async def edit(self, channel_id: int, message_id: int, rendered: Rendered) -> None:
        fields: dict[str, Any] = {**rendered.payload, "attachments": []}
        if rendered.charts:
            fields["files"] = _files(rendered)
        await self._call(self.http.edit_message(channel_id, message_id, **fields))

    async def exists(self, channel_id: int, message_id: int) -> bool:
        try:
            await self._call(self.http.get_message(channel_id, message_id))
        except MessageGone:
            return False
        return True

    async def delete(self, channel_id: int, message_id: int) -> None:
        with contextlib.suppress(MessageGone, ChannelGone):
            await self._call(self.http.delete_message(channel_id, message_id))
