"""Journeys: what a user does across features and restarts, in Chromium, against the real
`python -m bot` process (offline, with its built-in sandbox), with no fakes in between."""
