"""Feature packages; each one is a nextcord extension loaded at start."""
