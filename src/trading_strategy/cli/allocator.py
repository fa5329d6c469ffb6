"""The C allocator tuned for one backtest command's array work (glibc only).

A backtest makes many short-lived numpy arrays of the series' length (8 MB for a million
bars). glibc serves each block above its mmap threshold with a fresh ``mmap`` and returns
it with ``munmap``, so every temporary array costs page faults again: a third of a
million-bar CLI run's time was system time. Raising the mmap threshold and keeping freed
memory (trim threshold, top pad) lets those blocks be reused; the peak RSS does not grow.
One arena for every thread: memory that pyarrow's parsing threads free then serves the run
(in arenas of their own it stayed with those threads, some 80 MB more at the peak).
"""

from __future__ import annotations

import ctypes
import ctypes.util

__all__ = ["tune_for_arrays"]

# mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8

_MB = 1 << 20


def tune_for_arrays() -> bool:
    """Apply the tuning; ``False`` where the C library has no ``mallopt`` (not glibc)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    # glibc caps the mmap threshold at 32 MB on 64-bit systems
    return all(mallopt(param, value) == 1 for param, value in (
        (_M_MMAP_THRESHOLD, 32 * _MB), (_M_TRIM_THRESHOLD, 256 * _MB),
        (_M_TOP_PAD, 64 * _MB), (_M_ARENA_MAX, 1)))
