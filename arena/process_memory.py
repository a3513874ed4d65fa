"""How a serving process's C heap is laid out (glibc's malloc).

glibc gives each thread that allocates while others do an arena of its own (up to eight
per core) and reuses freed memory only within the arena that freed it. A serving process
makes its board's temporaries (tens of MB each) in request, warm-up and bootstrap
threads, so its heap grows by a few of them per arena: at ten million votes the peak was
~100 MB higher with glibc's default than with two arenas (benchmarks/README.md).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

M_ARENA_MAX = -8  # glibc's mallopt parameter number


def limit_malloc_arenas(arenas: int) -> bool:
    """Cap glibc's malloc arenas at *arenas* for the threads that start afterwards.

    False, and nothing changed, when *arenas* is 0 (glibc's default), when
    ``MALLOC_ARENA_MAX`` is in the environment (glibc read it at start: the owner's
    word), or off glibc (another C library, another system)."""
    if arenas <= 0 or "MALLOC_ARENA_MAX" in os.environ or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.gnu_get_libc_version.restype = ctypes.c_char_p  # glibc only
        glibc = bool(libc.gnu_get_libc_version())
    except (OSError, AttributeError):
        return False
    return glibc and libc.mallopt(M_ARENA_MAX, arenas) == 1


__all__ = ["limit_malloc_arenas"]
