"""FoundryCord connected to a fresh sandbox lives in the `tests.foundry` plugin; these names
stay importable from here for older imports."""

from __future__ import annotations

from tests.foundry import LAB, Foundry, approve, eventually, foundry, start_process

__all__ = ["LAB", "Foundry", "approve", "eventually", "foundry", "start_process"]
