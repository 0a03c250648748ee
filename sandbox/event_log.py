"""The log of REST calls or dispatches: every entry, or only the newest `limit` of them.

Positions are absolute: `len(log)` counts every entry ever appended, and `log[mark:]` gives
the kept entries from position `mark` on, so a mark taken earlier stays valid after the
oldest entries are dropped. Tests keep everything; a long-running sandbox (offline mode)
keeps a bounded ring, so its memory does not grow with every call."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Any, overload

Entry = dict[str, Any]

# What a long-running sandbox keeps of each log: enough for the Sandbox page's recent
# activity and for any wait on a fresh mark, at about 1 KiB an entry.
LONG_RUNNING_LIMIT = 1000


class EventLog:
    def __init__(self, limit: int | None = None) -> None:
        if limit is not None and limit < 1:
            raise ValueError("limit must be at least 1, or None to keep every entry")
        self._entries: deque[Entry] = deque(maxlen=limit)
        self._dropped = 0

    @property
    def limit(self) -> int | None:
        return self._entries.maxlen

    def append(self, entry: Entry) -> None:
        if self._entries.maxlen is not None and len(self._entries) == self._entries.maxlen:
            self._dropped += 1
        self._entries.append(entry)

    def clear(self) -> None:
        self._dropped += len(self._entries)
        self._entries.clear()

    def __len__(self) -> int:
        return self._dropped + len(self._entries)

    def __iter__(self) -> Iterator[Entry]:
        return iter(self._entries)

    @overload
    def __getitem__(self, index: int) -> Entry: ...

    @overload
    def __getitem__(self, index: slice) -> list[Entry]: ...

    def __getitem__(self, index: int | slice) -> Entry | list[Entry]:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            kept = range(max(start, self._dropped), stop, step)
            return [self._entries[i - self._dropped] for i in kept if i >= self._dropped]
        position = index + len(self) if index < 0 else index
        if not self._dropped <= position < len(self):
            raise IndexError(f"entry {index} is not kept (kept: {self._dropped}..{len(self) - 1})")
        return self._entries[position - self._dropped]
