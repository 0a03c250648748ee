"""The `foundry` fixture (FoundryCord against a fresh sandbox) for the dashboard tests."""

from tests.bot.conftest import foundry

__all__ = ["foundry"]
