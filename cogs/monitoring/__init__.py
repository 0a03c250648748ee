"""Host monitoring."""
