"""Discord's hard limits on a message, as the renderer and the layout validator use them
(see shared/discord-limits.md)."""

from __future__ import annotations

TITLE = 256
DESCRIPTION = 4096
FIELD_NAME = 256
FIELD_VALUE = 1024
FIELDS = 25
FOOTER = 2048
MESSAGE_TOTAL = 6000  # characters across every embed of one message
EMBEDS = 10
ACTION_ROWS = 5
BUTTONS_PER_ROW = 5
SELECT_OPTIONS = 25
SELECT_PLACEHOLDER = 150
OPTION_TEXT = 100
BUTTON_LABEL = 80
CUSTOM_ID = 100
GRID_COLUMNS = 3  # Discord shows at most three inline fields in a row
