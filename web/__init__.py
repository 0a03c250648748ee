"""The embedded web editor: an aiohttp application served from the bot's process."""
