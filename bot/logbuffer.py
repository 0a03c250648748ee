"""An in-memory ring of recent log lines, shown on the web editor's owner page."""

from __future__ import annotations

import logging
from collections import deque


class LogBuffer(logging.Handler):
    def __init__(self, capacity: int = 1000) -> None:
        super().__init__()
        self._lines: deque[str] = deque(maxlen=capacity)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._lines.append(self.format(record))
        except Exception:  # a broken record must never take logging down
            self.handleError(record)

    def lines(self, n: int = 200) -> list[str]:
        return list(self._lines)[-n:]
