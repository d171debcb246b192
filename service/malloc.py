"""glibc's allocator, told to keep a process's memory close to what it uses.

glibc gives each thread that allocates (gRPC's, aiosqlite's, the default executor's) a heap arena of its own,
up to eight per core, and an arena keeps the memory freed in it. Under a burst of large requests each arena
grows to its own peak and stays there: the process's RSS ends up well above the memory bound it keeps
(service/inflight.py). Two arenas keep it close to the bound; Python's own allocator is not affected.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)

M_ARENA_MAX = -8
ARENAS = 2


def limit_arenas(arenas: int = ARENAS) -> bool:
    """Caps glibc's malloc arenas (before the process starts threads); False where there is no glibc."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        return bool(libc.mallopt(M_ARENA_MAX, arenas))
    except (OSError, AttributeError):
        log.debug("mallopt is not available: malloc arenas are not capped")
        return False
