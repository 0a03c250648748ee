"""Fixtures for the dashboard tests: `foundry` (FoundryCord against a fresh sandbox) and
`start_offline_stack` (the offline bot with its web editor)."""

from tests.bot.conftest import foundry
from tests.sandbox.conftest import start_offline_stack

__all__ = ["foundry", "start_offline_stack"]
