"""Bot administration: guild approval for owners, and the web editor sign-in link."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.admin.cog import SETTINGS, AdminCog

if TYPE_CHECKING:
    from bot.client import FoundryBot


def setup(bot: FoundryBot) -> None:
    bot.services.settings_registry.register("admin", *SETTINGS)
    bot.add_cog(AdminCog(bot))
