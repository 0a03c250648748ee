"""The key behind session cookies and sign-in links: from SECRET_KEY, or generated once
and kept in the data folder with mode 600."""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

from bot.private_files import private_dir
from bot.settings import MIN_SECRET_KEY, Settings

KEY_FILE = "secret_key"


class SecretKeyError(Exception):
    """The stored key is unusable; the message says how to fix it."""


def load_session_key(settings: Settings) -> bytes:
    """32 bytes; stable across restarts."""
    if settings.secret_key is not None:
        return hashlib.sha256(settings.secret_key.get().encode()).digest()
    path = settings.data_dir / KEY_FILE
    if path.exists():
        text = path.read_text().strip()
        if len(text) < MIN_SECRET_KEY:
            # An empty or short key would make session cookies forgeable.
            raise SecretKeyError(
                f"{path} holds no usable key (under {MIN_SECRET_KEY} characters); delete it "
                "to have a new one generated, or set SECRET_KEY"
            )
        return hashlib.sha256(text.encode()).digest()
    private_dir(settings.data_dir)
    text = secrets.token_urlsafe(48)
    _write_private(path, text)
    return hashlib.sha256(text.encode()).digest()


def _write_private(path: Path, text: str) -> None:
    """Write to a private temporary file, then rename: the key file is whole or absent."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
