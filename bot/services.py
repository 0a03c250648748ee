"""The shared ground every cog and the web editor receive from the bot process."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.cache import Cache
from bot.database import Database
from bot.features import FeatureRegistry, FeatureServices
from bot.guild_access import GuildAccess
from bot.guild_settings import GuildSettingsRegistry, GuildSettingsStore
from bot.logbuffer import LogBuffer
from bot.settings import Settings


@dataclass
class Services:
    settings: Settings
    db: Database
    cache: Cache
    guild_access: GuildAccess
    guild_settings: GuildSettingsStore
    log_buffer: LogBuffer
    session_key: bytes
    features: FeatureRegistry = field(default_factory=FeatureRegistry)
    provided: FeatureServices = field(default_factory=FeatureServices)

    @property
    def settings_registry(self) -> GuildSettingsRegistry:
        return self.guild_settings.registry
