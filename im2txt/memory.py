"""Freed memory handed back to the operating system after large work.

glibc keeps large freed blocks for reuse, in the arena of the thread that freed them, and a
server decodes and captions in several threads (the captioner's workers, each session's script):
without this a server's resident size kept ~400 MB after a 100 MP image, and the next large piece
of work in another thread came on top (bench/bench_upload_memory.py).
"""

from __future__ import annotations

import ctypes
from contextlib import suppress


def give_back_freed_memory() -> None:
    """Return the memory freed so far to the system (malloc_trim). A no-op where the C library
    is not glibc."""
    with suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
