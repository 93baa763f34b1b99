"""The server process's memory habits (im2txt/memory.py), in fresh processes: glibc's own report
(malloc_info) counts the arenas that threads alive at once have taken."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from fixtures.paths import REPO

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")

# Eight threads each hold a block from malloc at the same moment; then glibc lists its arenas.
ARENAS = textwrap.dedent(
    """
    import ctypes, sys, threading
    from im2txt.memory import limit_malloc_arenas
    if sys.argv[1] == "limit":
        assert limit_malloc_arenas(2)
    libc = ctypes.CDLL("libc.so.6")
    libc.malloc.restype = ctypes.c_void_p
    libc.open_memstream.restype = ctypes.c_void_p
    together = threading.Barrier(8)

    def hold():
        block = libc.malloc(100_000)
        together.wait()
        libc.free(ctypes.c_void_p(block))

    threads = [threading.Thread(target=hold) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    text, size = ctypes.c_char_p(), ctypes.c_size_t()
    stream = libc.open_memstream(ctypes.byref(text), ctypes.byref(size))
    libc.malloc_info(0, ctypes.c_void_p(stream))
    libc.fclose(ctypes.c_void_p(stream))
    print(text.value.decode().count("<heap nr="))
    """
)


def arenas(mode: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", ARENAS, mode],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)},  # no MALLOC_ARENA_MAX
    )
    return int(done.stdout.strip())


def test_threads_share_two_arenas_once_limited():
    assert arenas("free") > 2  # glibc's default: an arena for each thread here
    assert arenas("limit") == 2
