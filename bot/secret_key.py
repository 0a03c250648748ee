"""The key behind session cookies and sign-in links: from SECRET_KEY, or generated once
and kept in the data folder with mode 600."""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

from bot.settings import Settings

KEY_FILE = "secret_key"


def load_session_key(settings: Settings) -> bytes:
    """32 bytes; stable across restarts."""
    if settings.secret_key is not None:
        return hashlib.sha256(settings.secret_key.get().encode()).digest()
    path = settings.data_dir / KEY_FILE
    if path.exists():
        text = path.read_text().strip()
        return hashlib.sha256(text.encode()).digest()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    text = secrets.token_urlsafe(48)
    _write_private(path, text)
    return hashlib.sha256(text.encode()).digest()


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text + "\n")
