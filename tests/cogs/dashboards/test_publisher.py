"""How Discord's answers reach the scheduler: 429 -> back off, 404 Unknown Message -> post
again, a channel that is gone or closed -> stop, anything else as it was."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import nextcord
import pytest

from cogs.dashboards.publisher import translate
from cogs.dashboards.scheduler import ChannelGone, MessageGone, RateLimited


def http_error(status: int, body: Any, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    response = SimpleNamespace(status=status, reason="x", headers=headers or {})
    return nextcord.HTTPException(response, body)  # type: ignore[arg-type]


def test_a_429_becomes_rate_limited_with_its_retry_after() -> None:
    error = translate(http_error(429, {"message": "slow down"}, {"Retry-After": "3"}))
    assert isinstance(error, RateLimited) and error.retry_after == 3.0
    assert translate(http_error(429, {"message": "x"})).retry_after == 1.0  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [(404, 10008, MessageGone), (404, 10003, ChannelGone), (403, 50001, ChannelGone)],
)
def test_gone_messages_and_channels(status: int, code: int, kind: type) -> None:
    assert isinstance(translate(http_error(status, {"message": "m", "code": code})), kind)


def test_other_errors_pass_through() -> None:
    error = http_error(500, {"message": "boom", "code": 0})
    assert translate(error) is error
