"""The real FoundryCord against a sandbox, for the monitoring end-to-end tests."""

from tests.bot.conftest import foundry  # noqa: F401
