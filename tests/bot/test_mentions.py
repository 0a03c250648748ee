"""What `bot.mentions` puts on the wire: exactly the roles and users asked for, never
@everyone, and nothing at all from `no_mentions()`. The last test documents the nextcord 3.2
defect the module exists for."""

from __future__ import annotations

import nextcord
import pytest

from bot.mentions import no_mentions, only

ROLE, OTHER_ROLE, USER = 111111111111111111, 222222222222222222, 333333333333333333


def test_only_roles_names_those_roles_and_parses_nothing() -> None:
    assert only(roles=[ROLE, OTHER_ROLE]).to_dict() == {
        "parse": [],
        "roles": [ROLE, OTHER_ROLE],
    }


def test_only_users_names_those_users_and_parses_nothing() -> None:
    assert only(users=[USER]).to_dict() == {"parse": [], "users": [USER]}


def test_only_both_and_duplicates_once() -> None:
    payload = only(roles=[ROLE, ROLE, str(OTHER_ROLE)], users=[USER]).to_dict()  # type: ignore[list-item]
    assert payload == {"parse": [], "roles": [ROLE, OTHER_ROLE], "users": [USER]}


@pytest.mark.parametrize("allowed", [only(), no_mentions()], ids=["only-nothing", "no_mentions"])
def test_nothing_may_ping(allowed: nextcord.AllowedMentions) -> None:
    payload = allowed.to_dict()
    assert payload == {"parse": []}
    assert "replied_user" not in payload  # a reply does not ping its author either


def test_merged_with_the_client_default_it_stays_exact() -> None:
    # nextcord merges a message's allowed_mentions into the client's default (no_mentions()):
    # every field is set, so nothing of the default leaks in.
    merged = no_mentions().merge(only(roles=[ROLE]))
    assert merged.to_dict() == {"parse": [], "roles": [ROLE]}
    stock_default = nextcord.AllowedMentions.all().merge(only(roles=[ROLE]))
    assert stock_default.to_dict() == {"parse": [], "roles": [ROLE]}


def test_nextcords_stock_roles_only_allowed_mentions_allows_everything() -> None:
    """Why bot.mentions exists: in nextcord 3.2, a roles list with `users` left unset
    serialises as "ping everyone, every user and every role", and the role list is lost."""
    payload = nextcord.AllowedMentions(roles=[nextcord.Object(ROLE)]).to_dict()
    assert "everyone" in payload["parse"]
    assert "roles" not in payload
    # If nextcord fixes this, the test fails: bot.mentions can then be simplified.
    assert payload == {"parse": ["everyone", "users", "roles"], "replied_user": True}
