"""Route tables, one per area of the web editor."""
