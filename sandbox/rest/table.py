"""All REST routes of the sandbox, in match order."""

from __future__ import annotations

from sandbox.rest import (
    audit,
    channels,
    commands,
    gateway_info,
    guilds,
    interactions,
    members,
    messages,
    roles,
    templates,
    threads,
    users,
    webhooks,
)
from sandbox.rest.base import RouteSpec


def all_routes() -> list[RouteSpec]:
    """Every route of every area."""
    tables = [
        users.routes,
        gateway_info.routes,
        guilds.routes,
        channels.routes,
        roles.routes,
        members.routes,
        messages.routes,
        commands.routes,
        interactions.routes,
        webhooks.routes,
        threads.routes,
        templates.routes,
        audit.routes,
    ]
    specs = [spec for table in tables for spec in table.routes]
    # literal segments before parameters, so "/users/@me" wins over "/users/{user_id}"
    return sorted(
        specs,
        key=lambda s: [seg.startswith("{") for seg in s.template.split("/")],
    )
