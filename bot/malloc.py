"""glibc malloc tuning for the long-running bot process (issue 16).

glibc gives each new thread a malloc arena of its own, up to 8 per core, and never returns
one. The bot runs a few threads (aiosqlite's one per pooled connection, the monitoring
sampler's executor, nextcord's heartbeat), each of which mostly idles: their arenas are
resident memory held for almost nothing (about 0.4 MiB over the bot's peak, measured with
bench/startup.py). Two arenas, the main thread's and one the other threads share, is the
cap commonly used for such servers; the threads' allocations are few and small, so sharing
costs no measurable time. A MALLOC_ARENA_MAX in the environment is the operator's choice
and wins; elsewhere than glibc this does nothing.
"""

from __future__ import annotations

import os

M_ARENA_MAX = -8  # glibc's malloc.h
ARENAS = 2


def limit_arenas(arenas: int = ARENAS) -> bool:
    """Cap glibc's malloc arenas; call before any thread starts. True when applied."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    import ctypes  # already loaded by the required stack

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (macOS has no mallopt)
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return mallopt(M_ARENA_MAX, arenas) == 1
