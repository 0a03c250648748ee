"""Files only the bot's own user may read: the data folder is 0700, the database, logs and
key files in it 0600 (they hold settings, sign-in tokens and user ids)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def private_dir(path: Path) -> None:
    """Create `path` (and its parents) if needed and make it 0700."""
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    _chmod(path, PRIVATE_DIR)


def private_file(path: Path) -> None:
    """Create `path` empty if it is missing, and make it 0600."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_FILE)
    except OSError as exc:
        log.warning("Could not create %s privately: %s", path, exc)
        return
    os.close(fd)
    _chmod(path, PRIVATE_FILE)


def _chmod(path: Path, mode: int) -> None:
    try:
        if path.stat().st_mode & 0o777 != mode:
            path.chmod(mode)
    except OSError as exc:  # e.g. a folder owned by another user: say so, carry on
        log.warning("Could not make %s private (mode %o): %s", path, mode, exc)
