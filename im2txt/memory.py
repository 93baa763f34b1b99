"""How a server process keeps its memory: freed memory handed back to the operating system after
large work, and few malloc arenas.

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


# glibc's mallopt parameter for the number of arenas (malloc.h: M_ARENA_MAX).
_M_ARENA_MAX = -8


def limit_malloc_arenas(count: int = 2) -> bool:
    """Let threads created from now on share `count` malloc arenas instead of up to eight per core
    (glibc's default; MALLOC_ARENA_MAX in the environment does the same for a whole process).

    A server whose work moves between threads (a page's script, the queue's lane, a video job's
    thread, the decoding workers) otherwise leaves freed memory in an arena no other thread uses:
    measured with bench/bench_visitors.py, two photo and six video visitors peaked at 1,668 MB
    with two arenas and 1,864 MB without, one clip alone at 1,290 MB and 1,394 MB, at the same
    speed. Returns whether the C library took it (False where it is not glibc)."""
    with suppress(OSError, AttributeError):
        return bool(ctypes.CDLL("libc.so.6").mallopt(_M_ARENA_MAX, count))
    return False
