"""The shared ground every cog and the web editor receive from the bot process."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.cache import Cache
from bot.cluster import Cluster
from bot.database import Database
from bot.features import FeatureRegistry, FeatureServices
from bot.guild_access import GuildAccess
from bot.guild_settings import GuildSettingsRegistry, GuildSettingsStore
from bot.logbuffer import LogBuffer
from bot.settings import Settings
from bot.shards import ShardRange


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
    # This process's place among the bot's processes: which guilds it holds, whether it
    # leads (bot.cluster). Unclustered unless SHARD_IDS names part of the shards.
    cluster: Cluster = None  # type: ignore[assignment]  # set in __post_init__

    def __post_init__(self) -> None:
        if self.cluster is None:
            self.cluster = Cluster(
                self.db, ShardRange(self.settings.shard_count, self.settings.shard_ids)
            )

    @property
    def settings_registry(self) -> GuildSettingsRegistry:
        return self.guild_settings.registry
