"""`server.malloc_arenas`: a serving process's threads share that many glibc heaps."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# Eight threads allocate at once, then glibc reports its heaps (malloc_info, one
# <heap nr=...> per arena) on stdout.
CHILD = f"""
import ctypes, ctypes.util, sys, threading
import numpy as np
sys.path.insert(0, {str(REPO)!r})
from arena.process_memory import limit_malloc_arenas
print(limit_malloc_arenas(int(sys.argv[1])), flush=True)
start = threading.Barrier(8)
def work():
    start.wait()
    kept = [np.ones(1000) for _ in range(2000)]
threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.malloc_info(0, ctypes.c_void_p.in_dll(libc, "stdout"))
libc.fflush(ctypes.c_void_p.in_dll(libc, "stdout"))
"""


def heaps(arenas: int, **env: str) -> tuple[bool, int]:
    done = subprocess.run([sys.executable, "-c", CHILD, str(arenas)], capture_output=True,
                          text=True, check=True, timeout=60,
                          env={**{k: v for k, v in os.environ.items()
                                  if k != "MALLOC_ARENA_MAX"}, **env})
    first, _, report = done.stdout.partition("\n")
    return first == "True", report.count("<heap nr=")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc is Linux's")
def test_two_arenas_hold_eight_threads_allocations() -> None:
    applied, count = heaps(0)  # glibc's default: the main heap and one per thread
    assert not applied and count > 2
    assert heaps(2) == (True, 2)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc is Linux's")
def test_malloc_arena_max_in_the_environment_wins() -> None:
    applied, count = heaps(2, MALLOC_ARENA_MAX="4")
    assert not applied and count == 4


# After glibc's rule has seen an 8 MiB block freed, fifty 4 MiB blocks: how many bytes
# are in mappings of their own (mallinfo2's hblkhd) while they are held.
MAPPED_CHILD = f"""
import ctypes, ctypes.util, sys
import numpy as np
sys.path.insert(0, {str(REPO)!r})
from arena.process_memory import fix_mmap_threshold
print(fix_mmap_threshold(int(sys.argv[1])), flush=True)
class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
        "uordblks", "fordblks", "keepcost")]
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.mallinfo2.restype = MallInfo2
freed = np.ones(1 << 20)  # 8 MiB, freed: glibc's rule now keeps smaller blocks in the heap
del freed
held = [np.ones(1 << 19) for _ in range(50)]
print(libc.mallinfo2().hblkhd >> 20)
"""


def mapped_mib(kib: int, **env: str) -> tuple[bool, int]:
    done = subprocess.run([sys.executable, "-c", MAPPED_CHILD, str(kib)], capture_output=True,
                          text=True, check=True, timeout=60,
                          env={**{k: v for k, v in os.environ.items()
                                  if not k.startswith("MALLOC_")}, **env})
    applied, mib = done.stdout.split()
    return applied == "True", int(mib)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc is Linux's")
def test_a_fixed_mmap_threshold_maps_big_blocks_after_a_free() -> None:
    assert mapped_mib(0)[1] < 50  # glibc's rule: the 4 MiB blocks came from the heap
    applied, mib = mapped_mib(1024)
    assert applied and mib >= 200  # each in a mapping of its own, given back when freed
    applied, mib = mapped_mib(1024, MALLOC_MMAP_THRESHOLD_="16777216")  # the owner's word
    assert not applied and mib < 50
