"""Pointing an unpatched nextcord at the sandbox."""

from __future__ import annotations

from typing import TYPE_CHECKING

import nextcord.http

if TYPE_CHECKING:
    from sandbox.server import SandboxServer

DISCORD_BASE = "https://discord.com/api/v10"


def point_nextcord_at(target: SandboxServer | str) -> str:
    """Send nextcord's REST (and so gateway discovery) to ``target``; returns the old base."""
    old = nextcord.http.Route.BASE
    nextcord.http.Route.BASE = target if isinstance(target, str) else target.base_url
    return old


def restore_nextcord(base: str = DISCORD_BASE) -> None:
    nextcord.http.Route.BASE = base
