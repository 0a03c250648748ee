"""FoundryCord: the bot process, its settings, database, cache and web start-up."""

__version__ = "0.1.0"
