"""Keep freed heap memory in the process instead of handing it back to the kernel after every tensor.

glibc's malloc returns the top of the heap to the kernel once more than ``M_TRIM_THRESHOLD`` is free
there, and serves large blocks with fresh ``mmap`` calls. A tiny-model forward allocates and frees
tensors of 1-17 MB dozens of times per step, so every step paid page faults on memory it had just
released: on the 2-core CPU measured, the elementwise ops of a decoding step ran at 3 GB/s and a
length-64 Sudoku batch (256 puzzles, 32 forwards, one thread) took 4.4-4.7 s; with the settings
below 3.1 s (``python benchmarks/allocator.py``).

Only where the memory comes from changes, never an arithmetic operation, so every result is bit-for-bit
the one without it (the main job's table is compared in docs/stage-time.md). The process keeps up
to ``TRIM`` of freed memory; blocks above ``MMAP`` (32 MB, glibc's largest allowed threshold: an 8B
model's weights) are still mapped and unmapped one by one. Other C libraries (macOS, musl) are left
alone, as is any process started with ``PIPELINE_MALLOC=default``.
"""

from __future__ import annotations

import ctypes
import os

# mallopt parameter numbers (glibc malloc.h)
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3

MMAP = 32 << 20  # blocks above this are mmap'd (glibc caps the threshold at 32 MB on 64-bit)
TRIM = 1 << 30  # free memory at the top of the heap kept before any is returned
TOP_PAD = 256 << 20  # extra heap asked for at each growth, so growth is rare


def keep_freed_memory() -> bool:
    """Set glibc's thresholds (once per process, at ``import pipeline``); True if they were set."""
    if os.environ.get("PIPELINE_MALLOC") == "default":
        return False
    libc = ctypes.CDLL(None)  # the symbols already loaded: no library search (find_library runs ldconfig)
    try:
        mallopt = libc.mallopt
        libc.gnu_get_libc_version  # noqa: B018 -- only glibc has it (and mallopt's meaning here)
    except AttributeError:
        return False
    # setting any threshold fixes all three (glibc stops adapting them), so all three are set
    return all(
        mallopt(p, v) == 1 for p, v in ((_M_MMAP_THRESHOLD, MMAP), (_M_TRIM_THRESHOLD, TRIM), (_M_TOP_PAD, TOP_PAD))
    )
