"""Fixtures for the dashboard tests: `foundry` (FoundryCord against a fresh sandbox, from
the tests.foundry plugin) and
`start_offline_stack` (the offline bot with its web editor)."""

from tests.sandbox.conftest import start_offline_stack

__all__ = ["start_offline_stack"]
