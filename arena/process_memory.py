"""How a serving process's C heap is laid out (glibc's malloc).

glibc gives each thread that allocates while others do an arena of its own (up to eight
per core) and reuses freed memory only within the arena that freed it. A serving process
makes its board's temporaries (tens of MB each) in request, warm-up and bootstrap
threads, so its heap grows by a few of them per arena: at ten million votes the peak was
~100 MB higher with glibc's default than with two arenas (benchmarks/README.md).

And glibc serves a block of at least its mmap threshold (128 KiB at start) with a
mapping of its own, given back to the system when freed; but each time such a block is
freed it raises the threshold to that block's size (up to 32 MiB), so the next board
temporaries of a few MB come from the heap and stay in the process after they are
freed. A fixed threshold stops that: at ten million votes the first process's resident
memory after its first board was 893 MB with 1 MiB against 972 MB with glibc's rule.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

M_ARENA_MAX = -8  # glibc's mallopt parameter numbers
M_MMAP_THRESHOLD = -3


def limit_malloc_arenas(arenas: int) -> bool:
    """Cap glibc's malloc arenas at *arenas* for the threads that start afterwards.

    False, and nothing changed, when *arenas* is 0 (glibc's default), when
    ``MALLOC_ARENA_MAX`` is in the environment (glibc read it at start: the owner's
    word), or off glibc (another C library, another system)."""
    return arenas > 0 and _mallopt(M_ARENA_MAX, arenas, "MALLOC_ARENA_MAX")


def fix_mmap_threshold(kib: int) -> bool:
    """Serve every block of *kib* KiB or more by a mapping of its own, whatever was freed
    before (glibc's rule raises the threshold). False, and nothing changed, for 0
    (glibc's rule), with ``MALLOC_MMAP_THRESHOLD_`` in the environment, or off glibc."""
    return kib > 0 and _mallopt(M_MMAP_THRESHOLD, kib * 1024, "MALLOC_MMAP_THRESHOLD_")


def _mallopt(parameter: int, value: int, environment: str) -> bool:
    if environment in os.environ or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.gnu_get_libc_version.restype = ctypes.c_char_p  # glibc only
        glibc = bool(libc.gnu_get_libc_version())
    except (OSError, AttributeError):
        return False
    return glibc and libc.mallopt(parameter, value) == 1


__all__ = ["fix_mmap_threshold", "limit_malloc_arenas"]
