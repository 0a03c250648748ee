"""Logging to stderr and a rotating file in the data folder, with secrets redacted."""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from bot.logbuffer import LogBuffer
from bot.private_files import PRIVATE_FILE, private_dir, private_file

LOG_FORMAT = "%(asctime)s %(levelname)-8s %(name)s: %(message)s"


class RedactSecrets(logging.Filter):
    """Replaces every known secret value in a record's final message with ***."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        exc_text = record.exc_text or ""
        for secret in self._secrets:
            message = message.replace(secret, "***")
            exc_text = exc_text.replace(secret, "***")
        record.msg, record.args = message, None
        record.exc_text = exc_text or None
        return True


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating log whose files are created 0600 (rotated files keep the mode)."""

    def _open(self) -> IO[str]:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_FILE)
        return open(fd, self.mode, encoding=self.encoding, errors=self.errors)


def setup_logging(level: str, data_dir: Path | None, secrets: Iterable[str] = ()) -> LogBuffer:
    """Configure the root logger once; returns the buffer the owner page reads."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    root.setLevel(level)
    formatter = logging.Formatter(LOG_FORMAT)
    redact = RedactSecrets(secrets)

    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if data_dir is not None:
        private_dir(data_dir)
        log_dir = data_dir / "logs"
        private_dir(log_dir)
        log_file = log_dir / "foundrycord.log"
        if log_file.exists():
            private_file(log_file)  # a file from an older version may be 0644
        handlers.append(
            PrivateRotatingFileHandler(
                log_file, maxBytes=5 * 1024 * 1024, backupCount=5, delay=True
            )
        )
    buffer = LogBuffer()
    handlers.append(buffer)
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.addFilter(redact)
        root.addHandler(handler)
    # nextcord's gateway chatter at DEBUG is noisy; keep it at INFO unless asked.
    if level != "DEBUG":
        logging.getLogger("nextcord.gateway").setLevel(logging.WARNING)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    return buffer
