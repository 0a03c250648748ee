"""Reading a child process's output while it runs, for tests that start real processes."""

from __future__ import annotations

import contextlib
import threading
from typing import Any


class LineReader:
    """Collects a pipe's lines in a thread, so a test can wait for one of them."""

    def __init__(self, stream: Any) -> None:
        self.lines: list[str] = []
        self._stream = stream
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        for line in self._stream:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()

    def wait_for(self, marker: str, timeout: float) -> bool:
        with self._changed:
            return self._changed.wait_for(
                lambda: any(marker in line for line in self.lines), timeout
            )

    def text(self) -> str:
        with self._changed:
            return "".join(self.lines)

    def close(self) -> str:
        """Stop reading (the process has ended) and return everything read."""
        self._thread.join(10)
        with contextlib.suppress(Exception):
            self._stream.close()
        return self.text()
