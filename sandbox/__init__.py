"""A local Discord-compatible server for end-to-end tests."""
