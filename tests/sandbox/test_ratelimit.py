"""Discord-like rate limits, driven by a fake clock."""

from __future__ import annotations

import pytest

from sandbox.ratelimit import (
    BAN_MESSAGE,
    DEFAULT_LIMITS,
    NO_HEADER_ROUTES,
    RateLimiter,
    RouteLimit,
    major_id_of,
)

SEND = "POST /channels/{channel_id}/messages"
EDIT = "PATCH /channels/{channel_id}/messages/{message_id}"
PATCH_CHANNEL = "PATCH /channels/{channel_id}"
PUT_OVERWRITE = "PUT /channels/{channel_id}/permissions/{overwrite_id}"
DELETE_OVERWRITE = "DELETE /channels/{channel_id}/permissions/{overwrite_id}"
CALLBACK = "POST /interactions/{interaction_id}/{interaction_token}/callback"
WALL_START = 1_700_000_000.0


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def wall(self) -> float:
        return WALL_START + self.now - 1000.0

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def limiter(clock: FakeClock) -> RateLimiter:
    return RateLimiter(clock=clock, wall=clock.wall)


def test_first_request_has_bucket_headers(limiter: RateLimiter) -> None:
    decision = limiter.check(SEND, "1")
    assert decision.allowed and decision.status == 200 and decision.body is None
    headers = decision.headers
    assert headers["X-RateLimit-Limit"] == "5"
    assert headers["X-RateLimit-Remaining"] == "4"
    assert headers["X-RateLimit-Reset-After"] == "5.000"
    assert float(headers["X-RateLimit-Reset"]) == pytest.approx(WALL_START + 5.0)
    assert len(headers["X-RateLimit-Bucket"]) == 32
    assert "X-RateLimit-Scope" not in headers and "Retry-After" not in headers


def test_remaining_counts_down_and_reset_is_fixed_at_first_request(
    limiter: RateLimiter, clock: FakeClock
) -> None:
    seen = []
    for _ in range(5):
        decision = limiter.check(SEND, "1")
        seen.append(
            (decision.headers["X-RateLimit-Remaining"], decision.headers["X-RateLimit-Reset"])
        )
        clock.advance(0.5)
    assert [r for r, _ in seen] == ["4", "3", "2", "1", "0"]
    assert len({reset for _, reset in seen}) == 1


def test_limit_plus_one_is_a_429_like_discords(limiter: RateLimiter, clock: FakeClock) -> None:
    for _ in range(5):
        assert limiter.check(SEND, "1").allowed
    clock.advance(1.25)
    decision = limiter.check(SEND, "1")
    assert not decision.allowed and decision.status == 429
    headers = decision.headers
    assert headers["X-RateLimit-Remaining"] == "0"
    assert headers["X-RateLimit-Reset-After"] == "3.750"
    assert headers["X-RateLimit-Scope"] == "user"
    assert headers["Retry-After"] == "4"
    assert headers["Via"] == "1.1 google"
    assert "X-RateLimit-Global" not in headers
    assert decision.body == {
        "message": "You are being rate limited.",
        "retry_after": 3.75,
        "global": False,
    }
    assert limiter.counters.too_many == 1
    assert limiter.counters.by_route == {SEND: 1}


def test_bucket_resets_after_the_window(limiter: RateLimiter, clock: FakeClock) -> None:
    for _ in range(5):
        limiter.check(SEND, "1")
    assert not limiter.check(SEND, "1").allowed
    clock.advance(5.0)
    decision = limiter.check(SEND, "1")
    assert decision.allowed and decision.headers["X-RateLimit-Remaining"] == "4"


def test_same_hash_across_channels_but_separate_counts(limiter: RateLimiter) -> None:
    for _ in range(5):
        limiter.check(SEND, "1")
    assert not limiter.check(SEND, "1").allowed
    other = limiter.check(SEND, "2")
    assert other.allowed and other.headers["X-RateLimit-Remaining"] == "4"
    assert (
        other.headers["X-RateLimit-Bucket"]
        == limiter.check(SEND, "1").headers["X-RateLimit-Bucket"]
    )


def test_edits_share_the_send_hash_but_are_counted_apart(limiter: RateLimiter) -> None:
    for _ in range(5):
        limiter.check(SEND, "1")
    edit = limiter.check(EDIT, "1")
    assert edit.allowed and edit.headers["X-RateLimit-Remaining"] == "4"
    assert (
        edit.headers["X-RateLimit-Bucket"] == limiter.check(SEND, "1").headers["X-RateLimit-Bucket"]
    )


def test_overwrite_put_and_delete_share_one_bucket(limiter: RateLimiter) -> None:
    for _ in range(5):
        assert limiter.check(PUT_OVERWRITE, "1").allowed
    for _ in range(5):
        assert limiter.check(DELETE_OVERWRITE, "1").allowed
    assert limiter.check(PUT_OVERWRITE, "1").status == 429
    assert limiter.check(DELETE_OVERWRITE, "1").status == 429


def test_derived_bucket_hash_is_stable(clock: FakeClock) -> None:
    first = RateLimiter(clock=clock, wall=clock.wall).check(PATCH_CHANNEL, "1")
    second = RateLimiter(clock=clock, wall=clock.wall).check(PATCH_CHANNEL, "9")
    assert first.headers["X-RateLimit-Bucket"] == second.headers["X-RateLimit-Bucket"]
    assert first.headers["X-RateLimit-Limit"] == "5"
    assert first.headers["X-RateLimit-Reset-After"] == "15.000"


def test_no_header_routes_only_count_toward_global(clock: FakeClock) -> None:
    limiter = RateLimiter(clock=clock, wall=clock.wall, global_per_second=3)
    for route in sorted(NO_HEADER_ROUTES):
        decision = limiter.check(route, "1")
        assert decision.allowed and decision.headers == {}
    assert limiter.check("DELETE /channels/{channel_id}", "1").status == 429


def test_global_limit_and_exempt_interaction_callbacks(
    limiter: RateLimiter, clock: FakeClock
) -> None:
    for i in range(50):
        assert limiter.check("GET /users/@me", "").allowed, i
        clock.advance(1 / 64)  # exact in binary: 50 requests within 0.78 s
    decision = limiter.check("GET /users/@me", "")
    assert decision.status == 429
    assert decision.headers["X-RateLimit-Global"] == "true"
    assert decision.headers["X-RateLimit-Scope"] == "global"
    assert decision.headers["Via"] == "1.1 google"
    assert decision.headers["Retry-After"] == "1"
    assert decision.body == {
        "message": "You are being rate limited.",
        "retry_after": 0.219,
        "global": True,
    }
    assert limiter.counters.global_hits == 1
    assert limiter.check(CALLBACK, "", counts_global=False).allowed
    clock.advance(0.21875)
    assert limiter.check("GET /users/@me", "").allowed


def test_storm_answers_the_next_requests_with_429s(limiter: RateLimiter) -> None:
    limiter.storm(2, retry_after=0.25, route_key=SEND)
    assert limiter.check(EDIT, "1").allowed
    for _ in range(2):
        decision = limiter.check(SEND, "1")
        assert decision.status == 429
        assert decision.body == {
            "message": "You are being rate limited.",
            "retry_after": 0.25,
            "global": False,
        }
        assert decision.headers["Retry-After"] == "1"
        assert decision.headers["X-RateLimit-Bucket"]
        assert decision.headers["Via"] == "1.1 google"
    assert limiter.check(SEND, "1").allowed


def test_shared_and_global_storms(limiter: RateLimiter) -> None:
    limiter.storm(1, scope="shared")
    limiter.storm(1, 2.5, scope="global")
    shared = limiter.check("GET /users/@me", "")
    assert (
        shared.body is not None and shared.body["message"] == "The resource is being rate limited."
    )
    assert shared.headers["X-RateLimit-Scope"] == "shared"
    glob = limiter.check("GET /users/@me", "")
    assert glob.headers["X-RateLimit-Global"] == "true" and glob.headers["Retry-After"] == "3"
    assert limiter.check("GET /users/@me", "").allowed


def test_rename_sub_limit_keeps_ordinary_headers(limiter: RateLimiter, clock: FakeClock) -> None:
    for _ in range(2):
        assert limiter.check(PATCH_CHANNEL, "7").allowed
        assert limiter.check_channel_rename("7").allowed
        clock.advance(10.0)
    assert limiter.check(PATCH_CHANNEL, "7").allowed
    decision = limiter.check_channel_rename("7")
    assert decision.status == 429
    assert decision.headers["X-RateLimit-Limit"] == "5"
    assert int(decision.headers["X-RateLimit-Remaining"]) > 0
    assert decision.headers["X-RateLimit-Scope"] == "user"
    assert decision.body is not None and decision.body["retry_after"] == pytest.approx(580.0)
    assert decision.headers["Retry-After"] == "580"
    assert limiter.check_channel_rename("8").allowed  # per channel
    clock.advance(580.0)
    assert limiter.check_channel_rename("7").allowed


def test_invalid_requests_lead_to_a_cloudflare_style_ban(clock: FakeClock) -> None:
    limiter = RateLimiter(clock=clock, wall=clock.wall, invalid_limit=3, invalid_window=10.0)
    limiter.record_status(200)
    limiter.record_status(404)
    limiter.record_status(429, "shared")
    limiter.record_status(401)
    limiter.record_status(403)
    clock.advance(11.0)  # the first two fall out of the window
    limiter.record_status(429, "user")
    limiter.record_status(429, "global")
    assert limiter.counters.invalid == 4
    assert limiter.check(SEND, "1").allowed
    limiter.record_status(403)
    limiter.record_status(401)
    decision = limiter.check(SEND, "1")
    assert decision.status == 429
    assert decision.body == {"message": BAN_MESSAGE}
    assert "Via" not in decision.headers
    assert int(decision.headers["Retry-After"]) == 3600
    assert limiter.check("GET /users/@me", "").status == 429
    clock.advance(3600.0)
    assert limiter.check(SEND, "1").allowed


def test_set_limit_and_reset(limiter: RateLimiter) -> None:
    limiter.set_limit("GET /users/@me", RouteLimit(1, 10.0, bucket="abc"))
    assert limiter.check("GET /users/@me", "").headers["X-RateLimit-Bucket"] == "abc"
    assert limiter.check("GET /users/@me", "").status == 429
    limiter.reset()
    assert limiter.counters.too_many == 0 and limiter.counters.by_route == {}
    assert limiter.check("GET /users/@me", "").allowed


def test_defaults_and_major_ids() -> None:
    assert DEFAULT_LIMITS["POST /guilds/{guild_id}/roles"].limit == 250
    assert DEFAULT_LIMITS["POST /channels/{channel_id}/messages/bulk-delete"].per == 1.0
    followup = DEFAULT_LIMITS["POST /webhooks/{webhook_id}/{webhook_token}"]
    assert (followup.limit, followup.per) == (5, 2.0)
    assert major_id_of({"webhook_id": "1", "webhook_token": "tok"}) == "tok"
    assert major_id_of({"channel_id": "5", "message_id": "6"}) == "5"
    assert major_id_of({"guild_id": "9", "role_id": "3"}) == "9"
    assert major_id_of({}) == ""


def test_followups_are_limited_per_token(limiter: RateLimiter) -> None:
    route = "POST /webhooks/{webhook_id}/{webhook_token}"
    original = "PATCH /webhooks/{webhook_id}/{webhook_token}/messages/@original"
    for _ in range(4):
        assert limiter.check(route, "tok-a").allowed
    assert limiter.check(original, "tok-a").allowed
    assert limiter.check(route, "tok-a").status == 429
    assert limiter.check(route, "tok-b").allowed


def test_old_message_edits_3_per_6_s_per_channel_answer_30046(
    limiter: RateLimiter, clock: FakeClock
) -> None:
    for _ in range(3):
        assert limiter.check(EDIT, "7").allowed
        assert limiter.check_old_message_edit("7").allowed
    assert limiter.check(EDIT, "7").allowed  # the edit bucket (5 per 5 s) still has room
    decision = limiter.check_old_message_edit("7")
    assert decision.status == 429
    assert decision.body == {
        "message": "Maximum number of edits to messages older than 1 hour reached. Try again later",
        "code": 30046,
        "retry_after": 6.0,
        "global": False,
    }
    assert decision.headers["Via"] == "1.1 google"
    assert decision.headers["X-RateLimit-Scope"] == "user"
    assert int(decision.headers["X-RateLimit-Remaining"]) > 0  # the hidden sub-limit
    assert limiter.check_old_message_edit("8").allowed  # per channel
    clock.advance(5.9)
    assert not limiter.check_old_message_edit("7").allowed
    clock.advance(0.1)
    assert limiter.check_old_message_edit("7").allowed


def test_500_channel_creations_per_guild_per_day(limiter: RateLimiter, clock: FakeClock) -> None:
    for _ in range(499):
        limiter.count_channel_creation("1")
    assert limiter.channel_creations_left("1").allowed  # checking counts nothing
    assert limiter.channel_creations_left("1").allowed
    limiter.count_channel_creation("1")
    decision = limiter.channel_creations_left("1")
    assert decision.status == 429 and decision.body is not None
    assert decision.body["retry_after"] == pytest.approx(86400.0)
    assert (
        decision.headers["X-RateLimit-Scope"] == "user"
        and "X-RateLimit-Bucket" not in decision.headers
    )
    assert limiter.channel_creations_left("2").allowed  # per guild
    clock.advance(86399.0)
    assert not limiter.channel_creations_left("1").allowed
    clock.advance(1.0)
    assert limiter.channel_creations_left("1").allowed
